/**
 * A fast reader for the plain subset of YAML that attribute files and manifests are made of:
 * block mappings and sequences indented with spaces, single-line plain and quoted scalars,
 * single-line flow collections, comments. Anything else (anchors, aliases, tags, block scalars,
 * multi-line scalars, documents markers, complex keys, tabs, odd indentation, any error) makes
 * it give up by returning undefined, and the caller uses the full parser (src/tree/yaml.ts),
 * which gives the same values (checked by differential tests, and both against go-yaml v2's
 * own answers) and the proper error messages. Scalars resolve by src/tree/go-scalar.ts.
 * It exists because the full parser spends ~30 µs a line, and a 250-node manifest has 750.
 */
import { GoMap, GoValue } from '../template/values';
import { isNonFinite, resolveUntagged } from './go-scalar';

class Bail extends Error {}
const bail = (): never => {
  throw new Bail();
};

/** A plain scalar's value, as go-yaml v2 resolves it; values the full parser refuses (NaN, ±Inf) bail. */
export function resolvePlain(s: string): GoValue {
  const v = resolveUntagged(s);
  return isNonFinite(v) ? bail() : v;
}

interface Line {
  indent: number;
  text: string; // content after the indentation, comment not removed
}

/** Returns the document's value, or undefined when the text is outside the fast subset. */
export function parseYamlFast(text: string): GoValue | undefined {
  try {
    return new FastParser(text).document();
  } catch (e) {
    if (e instanceof Bail) return undefined;
    throw e;
  }
}

class FastParser {
  private lines: Line[] = [];
  private i = 0;

  constructor(text: string) {
    if (text.charCodeAt(0) === 0xfeff) bail();
    for (const raw of text.split('\n')) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      let n = 0;
      while (n < line.length && line.charCodeAt(n) === 32) n++;
      const rest = line.slice(n);
      if (rest === '' || rest[0] === '#') continue;
      if (rest[0] === '\t') bail();
      this.lines.push({ indent: n, text: rest });
    }
  }

  document(): GoValue {
    if (this.lines.length === 0) return null;
    const first = this.lines[0];
    if (first.indent !== 0 || first.text.startsWith('---') || first.text.startsWith('...') || first.text[0] === '%') bail();
    const v = this.block(0);
    if (this.i !== this.lines.length) bail();
    return v;
  }

  private block(indent: number): GoValue {
    const l = this.lines[this.i];
    if (isSeqItem(l.text)) return this.sequence(indent);
    if (findMapColon(l.text) >= 0) return this.mapping(indent, undefined);
    // A lone scalar document.
    if (indent !== 0 || this.lines.length !== 1) bail();
    this.i++;
    return this.scalarValue(l.text);
  }

  private sequence(indent: number): GoValue[] {
    const out: GoValue[] = [];
    while (this.i < this.lines.length) {
      const l = this.lines[this.i];
      if (l.indent !== indent || !isSeqItem(l.text)) break;
      // The item starts after `-` and its spaces; a `- key: value` mapping's keys sit there.
      let skip = 1;
      while (l.text.charCodeAt(skip) === 32) skip++;
      const item = l.text.slice(skip);
      if (stripComment(item) === '') {
        this.i++;
        out.push(this.nested(indent, false));
        continue;
      }
      if (isSeqItem(item)) bail();
      if (findMapColon(item) >= 0) {
        // `- key: value` starts a mapping whose keys sit at indent + 2 + extra spaces.
        out.push(this.mapping(indent + skip, item));
        continue;
      }
      this.i++;
      out.push(this.scalarValue(item));
    }
    return out;
  }

  /** The value after `key:` or `-` with nothing on the line: a deeper block, or null. */
  private nested(parentIndent: number, allowSameIndentSeq: boolean): GoValue {
    if (this.i >= this.lines.length) return null;
    const next = this.lines[this.i];
    if (next.indent > parentIndent) return this.block(next.indent);
    if (allowSameIndentSeq && next.indent === parentIndent && isSeqItem(next.text)) return this.sequence(parentIndent);
    return null;
  }

  /** A block mapping at `indent`; `firstInline` is the rest of a `- key: value` line. */
  private mapping(indent: number, firstInline: string | undefined): GoMap {
    const out = Object.create(null) as GoMap;
    let first = firstInline;
    for (;;) {
      let text: string;
      if (first !== undefined) {
        text = first;
        first = undefined;
      } else {
        if (this.i >= this.lines.length) break;
        const l = this.lines[this.i];
        if (l.indent !== indent || isSeqItem(l.text)) {
          if (l.indent > indent) bail();
          break;
        }
        text = l.text;
      }
      const colon = findMapColon(text);
      if (colon < 0) bail();
      const key = this.key(text.slice(0, colon));
      const rest = stripComment(text.slice(colon + 1));
      this.i++;
      if (rest === '') out[key] = this.nested(indent, true);
      else out[key] = this.scalarValue(rest);
    }
    return out;
  }

  private key(raw: string): string {
    const k = raw.trimEnd();
    if (k === '' || k[0] === '?' || k[0] === '[' || k[0] === '{' || k[0] === '&' || k[0] === '*' || k[0] === '!' || k === '<<') bail();
    if (k[0] === '"' || k[0] === "'") {
      const r = quoted(k, 0);
      if (r.end !== k.length) bail();
      return r.value;
    }
    const v = resolvePlain(k);
    if (typeof v === 'string') return v;
    if (typeof v === 'bigint') return v.toString();
    return bail(); // bool/null/float/uint64 keys: the full parser reports them with their line
  }

  /** A value on one line: quoted, flow, or plain (comment already allowed after it). */
  private scalarValue(raw: string): GoValue {
    const s = raw.trimEnd();
    const c = s[0];
    if (c === '"' || c === "'") {
      const r = quoted(s, 0);
      if (stripComment(s.slice(r.end)) !== '') bail();
      return r.value;
    }
    if (c === '[' || c === '{') {
      const f = new FlowParser(s);
      const v = f.value();
      if (stripComment(s.slice(f.pos)) !== '') bail();
      return v;
    }
    if ('&*!|>%@`,]}#'.includes(c) || (c === '-' && (s.length === 1 || s[1] === ' ')) || (c === '?' && (s.length === 1 || s[1] === ' '))) bail();
    const plain = stripComment(s);
    if (plain.includes(': ') || plain.endsWith(':') || plain.includes(' #')) bail();
    return resolvePlain(plain);
  }
}

const isSeqItem = (t: string) => t[0] === '-' && (t.length === 1 || t[1] === ' ');

/** Index of the `:` that ends a mapping key on this line (followed by space or end), or -1. */
function findMapColon(t: string): number {
  if (t[0] === '"' || t[0] === "'") {
    let end: number;
    try {
      end = quoted(t, 0).end;
    } catch {
      return -1;
    }
    return t[end] === ':' && (end + 1 === t.length || t[end + 1] === ' ') ? end : -1;
  }
  if (t[0] === '[' || t[0] === '{') return -1;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 58 /* : */ && (i + 1 === t.length || t.charCodeAt(i + 1) === 32)) return i;
    if (c === 35 /* # */ && i > 0 && t.charCodeAt(i - 1) === 32) return -1;
  }
  return -1;
}

/** Removes a trailing ` # comment` from a plain fragment, and surrounding spaces. */
function stripComment(s: string): string {
  let i = 0;
  while (i < s.length && s.charCodeAt(i) === 32) i++;
  if (s[i] === '#') return '';
  const hash = s.indexOf(' #', i);
  return (hash >= 0 ? s.slice(i, hash) : s.slice(i)).trimEnd();
}

const ESCAPES: Record<string, string> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  t: '\t',
  '\t': '\t',
  n: '\n',
  v: '\v',
  f: '\f',
  r: '\r',
  e: '\x1b',
  ' ': ' ',
  '"': '"',
  "'": "'",
  '\\': '\\',
  N: '\x85',
  _: '\xa0',
  L: '\u2028',
  P: '\u2029',
};

/** A single-line quoted scalar starting at `start`; returns its value and the index after it. */
export function quoted(s: string, start: number): { value: string; end: number } {
  const q = s[start];
  let out = '';
  let i = start + 1;
  if (q === "'") {
    for (;;) {
      const j = s.indexOf("'", i);
      if (j < 0) bail();
      out += s.slice(i, j);
      if (s[j + 1] === "'") {
        out += "'";
        i = j + 2;
        continue;
      }
      return { value: out, end: j + 1 };
    }
  }
  for (;;) {
    if (i >= s.length) bail();
    const c = s[i];
    if (c === '"') return { value: out, end: i + 1 };
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = s[i + 1];
    if (e === undefined) bail();
    if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = s.slice(i + 2, i + 2 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) bail();
      out += String.fromCodePoint(parseInt(hex, 16));
      i += 2 + n;
      continue;
    }
    const r = ESCAPES[e];
    if (r === undefined) bail();
    out += r;
    i += 2;
  }
}

/** Single-line flow collections: `[a, "b", {c: 1}]`, `{a: 1, b: [x]}`. */
class FlowParser {
  pos = 0;
  constructor(private readonly s: string) {}

  private ws(): void {
    while (this.s.charCodeAt(this.pos) === 32) this.pos++;
  }

  value(): GoValue {
    this.ws();
    const c = this.s[this.pos];
    if (c === '[') return this.seq();
    if (c === '{') return this.map();
    if (c === '"' || c === "'") {
      const r = quoted(this.s, this.pos);
      this.pos = r.end;
      return r.value;
    }
    return resolvePlain(this.plain());
  }

  private plain(): string {
    const start = this.pos;
    const c = this.s[start];
    if (c === undefined || '&*!|>%@`#,[]{}?'.includes(c) || (c === '-' && this.s[start + 1] === ' ')) bail();
    while (this.pos < this.s.length) {
      const ch = this.s[this.pos];
      if (ch === ',' || ch === ']' || ch === '}' || ch === '[' || ch === '{') break;
      if (
        ch === ':' &&
        (this.s[this.pos + 1] === ' ' ||
          this.s[this.pos + 1] === ',' ||
          this.s[this.pos + 1] === ']' ||
          this.s[this.pos + 1] === '}' ||
          this.pos + 1 === this.s.length)
      )
        break;
      if (ch === '#' && this.s[this.pos - 1] === ' ') bail();
      this.pos++;
    }
    return this.s.slice(start, this.pos).trimEnd();
  }

  private seq(): GoValue[] {
    const out: GoValue[] = [];
    this.pos++;
    this.ws();
    if (this.s[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      const v = this.value();
      this.ws();
      if (this.s[this.pos] === ':') bail(); // single-pair maps inside sequences
      out.push(v);
      const c = this.s[this.pos++];
      if (c === ']') return out;
      if (c !== ',') bail();
      this.ws();
      if (this.s[this.pos] === ']') {
        this.pos++;
        return out;
      }
    }
  }

  private map(): GoMap {
    const out = Object.create(null) as GoMap;
    this.pos++;
    this.ws();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      const c = this.s[this.pos];
      let key: string;
      if (c === '"' || c === "'") {
        const r = quoted(this.s, this.pos);
        this.pos = r.end;
        key = r.value;
      } else {
        const k = resolvePlain(this.plain());
        if (typeof k === 'bigint') key = k.toString();
        else if (typeof k === 'string' && k !== '' && k !== '<<') key = k;
        else bail();
      }
      this.ws();
      if (this.s[this.pos] !== ':') bail();
      this.pos++;
      this.ws();
      const nc = this.s[this.pos];
      out[key!] = nc === ',' || nc === '}' ? null : this.value();
      this.ws();
      const d = this.s[this.pos++];
      if (d === '}') return out;
      if (d !== ',') bail();
      this.ws();
      if (this.s[this.pos] === '}') {
        this.pos++;
        return out;
      }
    }
  }
}
