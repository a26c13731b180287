/**
 * Which values are secrets: every leaf decrypted from a SOPS attribute file, by its attribute
 * path (`db.password`) and value. One registry per process (like the process's output streams,
 * which it guards): the tree reader adds to it, the renderer and every printer read it.
 *
 * `redact` is the last line of defence on anything printed: it replaces a secret's literal forms
 * (as is, JSON-escaped as Go writes it, escaped for a unit like GGN's `attributes`, and base64
 * at each of the three byte alignments) with `‹secret db.password›`. Units are masked before
 * that, line by line, by what the secrets change in them (taint.ts), which also covers the
 * transformations no literal search can (chunks, printf, upper-casing...).
 */
import { goJsonQuote } from '../template/funcs/gojson';
import { GoValue } from '../template/values';

export interface SecretLeaf {
  /** `db.password`, `hosts[0]`: the attribute path after `default`/`override`. */
  name: string;
  /** The same path as keys (list indices as numbers). */
  path: (string | number)[];
  value: GoValue;
  file: string;
}

/** Values shorter than this are masked in units but not searched for in free text. */
export const MIN_REDACTED_LENGTH = 4;

export function mask(names: readonly string[]): string {
  return names.length ? `‹secret ${names.join(', ')}›` : '‹secret›';
}

export function pathName(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : (out ? '.' : '') + p;
  return out;
}

/** The base64 characters that depend only on `value`, when it starts `offset` bytes into a 3-byte group. */
export function base64Cores(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const out: string[] = [];
  for (let o = 0; o < 3; o++) {
    const b64 = Buffer.concat([Buffer.alloc(o), bytes]).toString('base64');
    const from = Math.ceil((8 * o) / 6);
    const to = Math.floor((8 * (o + bytes.length)) / 6);
    if (to - from >= MIN_REDACTED_LENGTH) out.push(b64.slice(from, to));
  }
  return out;
}

/** The forms in which a string value can appear in what ggn prints. */
export function literalForms(value: string): string[] {
  const json = goJsonQuote(value).slice(1, -1);
  const forUnit = json.replace(/\\"/g, '\\\\\\"').replace(/'/g, "\\'");
  return [...new Set([value, json, forUnit, JSON.stringify(value).slice(1, -1), ...base64Cores(value)])].filter((f) => f.length >= MIN_REDACTED_LENGTH);
}

export class SecretRegistry {
  private readonly list: SecretLeaf[] = [];
  private matcher?: { re: RegExp; names: Map<string, string> } | null;

  add(leaf: SecretLeaf): void {
    this.list.push(leaf);
    this.matcher = undefined;
  }

  get leaves(): readonly SecretLeaf[] {
    return this.list;
  }

  get size(): number {
    return this.list.length;
  }

  /** For tests. */
  clear(): void {
    this.list.length = 0;
    this.matcher = undefined;
  }

  private build(): { re: RegExp; names: Map<string, string> } | null {
    const names = new Map<string, string>();
    for (const l of this.list) {
      if (typeof l.value !== 'string' || l.value.length < MIN_REDACTED_LENGTH) continue;
      for (const f of literalForms(l.value)) {
        const prev = names.get(f);
        names.set(f, prev && !prev.split(', ').includes(l.name) ? `${prev}, ${l.name}` : (prev ?? l.name));
      }
    }
    if (names.size === 0) return null;
    const forms = [...names.keys()].sort((a, b) => b.length - a.length);
    return { re: new RegExp(forms.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g'), names };
  }

  /** `text` with every literal form of every secret masked. */
  redact(text: string): string {
    if (this.list.length === 0) return text;
    if (this.matcher === undefined) this.matcher = this.build();
    const m = this.matcher;
    if (!m) return text;
    return text.replace(m.re, (f) => mask(m.names.get(f)!.split(', ')));
  }
}

export const secretRegistry = new SecretRegistry();
