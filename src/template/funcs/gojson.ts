/**
 * Go encoding/json for the template value model.
 *
 * goJsonMarshal: json.Marshal (compact) / json.MarshalIndent(v, "", indent):
 *   - map keys sorted by UTF-8 byte order,
 *   - strings: `"` `\` escaped, \n \r \t short escapes, other controls as \u00XX (lowercase hex,
 *     so \b and \f are \u0008 / \u000c as in Go 1.19), `<` `>` `&` as \u003c \u003e \u0026,
 *     U+2028/U+2029 escaped, lone surrogates (invalid UTF-8 in Go) as \ufffd, other non-ASCII raw,
 *   - bigint (Go int) exact, float64 in Go's shortest form ('e' only below 1e-6 or from 1e21 up,
 *     exponent without a leading zero: 5e-7, 1e+21), NaN/±Inf are errors,
 *   - empty map `{}` and empty list `[]` even when indenting.
 * goJsonUnmarshal: json.Unmarshal into interface{} (numbers become float64) with Go's error texts.
 */
import { isGoMap, newMap } from '../values';
import type { GoMap, GoValue } from '../values';
import { sortedKeys } from './goutil';

/** A Go json.Marshal error (UnsupportedValueError / UnsupportedTypeError). */
export class GoJsonError extends Error {}

// Characters that need the slow path: controls, `"`, `\`, `<`, `>`, `&`, U+2028/9, surrogates.
const NEEDS_ESCAPE = /[\u0000-\u001f"\\<>&\u2028\u2029\ud800-\udfff]/;
const HEX = '0123456789abcdef';

/** Go's encodeState.string with HTML escaping on. */
export function goJsonQuote(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  let out = '"';
  let start = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    let rep: string | null = null;
    if (c < 0x20) {
      rep = c === 0x0a ? '\\n' : c === 0x0d ? '\\r' : c === 0x09 ? '\\t' : '\\u00' + HEX[c >> 4] + HEX[c & 15];
    } else if (c === 0x22) {
      rep = '\\"';
    } else if (c === 0x5c) {
      rep = '\\\\';
    } else if (c === 0x3c) {
      rep = '\\u003c';
    } else if (c === 0x3e) {
      rep = '\\u003e';
    } else if (c === 0x26) {
      rep = '\\u0026';
    } else if (c === 0x2028) {
      rep = '\\u2028';
    } else if (c === 0x2029) {
      rep = '\\u2029';
    } else if (c >= 0xd800 && c <= 0xdfff) {
      if (c <= 0xdbff && i + 1 < n) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          i++;
          continue;
        } // valid pair: raw
      }
      rep = '\\ufffd';
    }
    if (rep !== null) {
      if (start < i) out += s.slice(start, i);
      out += rep;
      start = i + 1;
    }
  }
  if (start < n) out += s.slice(start);
  return out + '"';
}

/** encoding/json float64 formatting. */
export function goJsonFloat(f: number): string {
  if (!Number.isFinite(f)) {
    throw new GoJsonError('json: unsupported value: ' + (Number.isNaN(f) ? 'NaN' : f > 0 ? '+Inf' : '-Inf'));
  }
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  // JS Number#toString uses the same shortest digits and the same thresholds (1e-6, 1e21)
  // as Go's encoder, and writes exponents without leading zeros like Go's cleanup does.
  return String(f);
}

function marshalOpaque(v: any, indent: string | undefined, prefix: string): string {
  const inner = v.value;
  if (inner instanceof Date) return goJsonQuote(rfc3339Nano(inner));
  if (typeof v.marshalJSON === 'function') return v.marshalJSON(indent, prefix);
  if (String(v.goType).startsWith('*') || v.goType === 'time.Time') return '{}';
  return 'null';
}

function rfc3339Nano(d: Date): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const ms = d.getMilliseconds();
  const frac = ms ? '.' + String(ms).padStart(3, '0').replace(/0+$/, '') : '';
  const tz = off === 0 ? 'Z' : (off > 0 ? '+' : '-') + pad(Math.floor(Math.abs(off) / 60)) + ':' + pad(Math.abs(off) % 60);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${frac}${tz}`;
}

/**
 * `cache` (optional) memoises the JSON of maps and lists by identity, for callers that marshal
 * many values sharing immutable subtrees (the renderer: every unit of a service shares most of
 * its attributes).
 */
function marshalCompact(v: GoValue, cache?: WeakMap<object, string>): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'string':
      return goJsonQuote(v);
    case 'bigint':
      return v.toString();
    case 'number':
      return goJsonFloat(v);
    case 'boolean':
      return v ? 'true' : 'false';
  }
  if (cache !== undefined) {
    const hit = cache.get(v as object);
    if (hit !== undefined) return hit;
  }
  if (Array.isArray(v)) {
    const n = v.length;
    if (n === 0) return '[]';
    let out = '[' + marshalCompact(v[0], cache);
    for (let i = 1; i < n; i++) out += ',' + marshalCompact(v[i], cache);
    out += ']';
    if (cache !== undefined) cache.set(v, out);
    return out;
  }
  const o = v as any;
  if (o.__goOpaque) return marshalOpaque(o, undefined, '');
  if (o.__goFunc) throw new GoJsonError('json: unsupported type: ' + (o.goType ?? 'func()'));
  const keys = sortedKeys(v as GoMap);
  const n = keys.length;
  if (n === 0) return '{}';
  let out = '{';
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    if (i > 0) out += ',';
    out += goJsonQuote(k) + ':' + marshalCompact((v as GoMap)[k], cache);
  }
  out += '}';
  if (cache !== undefined) cache.set(v as object, out);
  return out;
}

function marshalIndent(v: GoValue, indent: string, prefix: string): string {
  if (v === null || v === undefined || typeof v !== 'object') return marshalCompact(v);
  if (Array.isArray(v)) {
    const n = v.length;
    if (n === 0) return '[]';
    const inner = prefix + indent;
    let out = '[';
    for (let i = 0; i < n; i++) {
      out += (i > 0 ? ',\n' : '\n') + inner + marshalIndent(v[i], indent, inner);
    }
    return out + '\n' + prefix + ']';
  }
  const o = v as any;
  if (o.__goOpaque) return marshalOpaque(o, indent, prefix);
  if (o.__goFunc) return marshalCompact(v);
  const keys = sortedKeys(v as GoMap);
  const n = keys.length;
  if (n === 0) return '{}';
  const inner = prefix + indent;
  let out = '{';
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    out += (i > 0 ? ',\n' : '\n') + inner + goJsonQuote(k) + ': ' + marshalIndent((v as GoMap)[k], indent, inner);
  }
  return out + '\n' + prefix + '}';
}

/**
 * json.Marshal(v) when `indent` is undefined, json.MarshalIndent(v, "", indent) otherwise.
 * Throws GoJsonError for values Go refuses (NaN, ±Inf, funcs).
 */
export function goJsonMarshal(v: GoValue, indent?: string): string {
  return indent === undefined ? marshalCompact(v) : marshalIndent(v, indent, '');
}

/** Compact json.Marshal with an identity cache for subtrees that never change (see marshalCompact). */
export function goJsonMarshalCached(v: GoValue, cache: WeakMap<object, string>): string {
  return marshalCompact(v, cache);
}

// ---------------------------------------------------------------------------------------------
// Unmarshal
// ---------------------------------------------------------------------------------------------

/** Go's quoteChar for scanner error messages (the byte is shown as a Latin-1 rune). */
function quoteByte(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  switch (c) {
    case 0x07:
      return `'\\a'`;
    case 0x08:
      return `'\\b'`;
    case 0x0c:
      return `'\\f'`;
    case 0x0a:
      return `'\\n'`;
    case 0x0d:
      return `'\\r'`;
    case 0x09:
      return `'\\t'`;
    case 0x0b:
      return `'\\v'`;
    case 0x5c:
      return `'\\\\'`;
  }
  if (c < 0x20 || c === 0x7f) return `'\\x${HEX[c >> 4]}${HEX[c & 15]}'`;
  if ((c >= 0x80 && c < 0xa1) || c === 0xad) return `'\\u00${HEX[c >> 4]}${HEX[c & 15]}'`;
  return `'${String.fromCharCode(c)}'`;
}

class Parser {
  pos = 0;
  /** First Go UnmarshalTypeError met (Go keeps decoding and reports the first one). */
  typeError: string | null = null;
  constructor(readonly s: string) {}

  /** The first UTF-8 byte of the character at pos. */
  byteAt(i: number): number {
    const c = this.s.codePointAt(i)!;
    if (c < 0x80) return c;
    if (c < 0x800) return 0xc0 | (c >> 6);
    if (c < 0x10000) return 0xe0 | (c >> 12);
    return 0xf0 | (c >> 18);
  }

  fail(context: string): never {
    if (this.pos >= this.s.length) throw new GoJsonError('unexpected end of JSON input');
    throw new GoJsonError(`invalid character ${quoteByte(this.byteAt(this.pos))} ${context}`);
  }

  skipWs(): void {
    const s = this.s;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos++;
      else break;
    }
  }

  value(): GoValue {
    this.skipWs();
    const s = this.s;
    if (this.pos >= s.length) this.fail('');
    const c = s.charCodeAt(this.pos);
    switch (c) {
      case 0x7b:
        return this.object();
      case 0x5b:
        return this.array();
      case 0x22:
        return this.string();
      case 0x74:
        this.literal('true');
        return true;
      case 0x66:
        this.literal('false');
        return false;
      case 0x6e:
        this.literal('null');
        return null;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    return this.fail('looking for beginning of value');
  }

  literal(word: string): void {
    for (let k = 1; k < word.length; k++) {
      this.pos++;
      if (this.pos >= this.s.length || this.s[this.pos] !== word[k]) {
        this.fail(`in literal ${word} (expecting '${word[k]}')`);
      }
    }
    this.pos++;
  }

  number(): number {
    const s = this.s;
    const start = this.pos;
    const digit = (i: number) => i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39;
    if (s[this.pos] === '-') {
      this.pos++;
      if (!digit(this.pos)) this.fail('in numeric literal');
    }
    if (s[this.pos] === '0') this.pos++;
    else while (digit(this.pos)) this.pos++;
    if (s[this.pos] === '.') {
      this.pos++;
      if (!digit(this.pos)) this.fail('after decimal point in numeric literal');
      while (digit(this.pos)) this.pos++;
    }
    if (s[this.pos] === 'e' || s[this.pos] === 'E') {
      this.pos++;
      if (s[this.pos] === '+' || s[this.pos] === '-') this.pos++;
      if (!digit(this.pos)) this.fail('in exponent of numeric literal');
      while (digit(this.pos)) this.pos++;
    }
    const lit = s.slice(start, this.pos);
    const f = Number(lit);
    if (!Number.isFinite(f)) {
      this.typeError ??= `json: cannot unmarshal number ${lit} into Go value of type float64`;
      return 0;
    }
    return f;
  }

  string(): string {
    const s = this.s;
    this.pos++; // opening quote
    let out = '';
    let start = this.pos;
    for (;;) {
      if (this.pos >= s.length) this.fail('');
      const c = s.charCodeAt(this.pos);
      if (c === 0x22) {
        out += s.slice(start, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail('in string literal');
      if (c >= 0xd800 && c <= 0xdfff) {
        // Lone surrogates stand for invalid UTF-8, which Go replaces with U+FFFD.
        const pair = c <= 0xdbff && this.pos + 1 < s.length && s.charCodeAt(this.pos + 1) >= 0xdc00 && s.charCodeAt(this.pos + 1) <= 0xdfff;
        if (pair) {
          this.pos += 2;
          continue;
        }
        out += s.slice(start, this.pos) + '\ufffd';
        this.pos++;
        start = this.pos;
        continue;
      }
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += s.slice(start, this.pos);
      this.pos++;
      if (this.pos >= s.length) this.fail('');
      const e = s[this.pos];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const r = this.hex4();
          if (r >= 0xd800 && r <= 0xdbff) {
            // Needs a following \uDC00-\uDFFF escape, else U+FFFD.
            if (s[this.pos + 1] === '\\' && s[this.pos + 2] === 'u') {
              const save = this.pos;
              this.pos += 2;
              const r2 = this.hex4();
              if (r2 >= 0xdc00 && r2 <= 0xdfff) {
                out += String.fromCharCode(r, r2);
                break;
              }
              // Not a low surrogate: emit U+FFFD and decode the second escape on its own.
              this.pos = save;
            }
            out += '\ufffd';
          } else if (r >= 0xdc00 && r <= 0xdfff) {
            out += '\ufffd';
          } else {
            out += String.fromCharCode(r);
          }
          break;
        }
        default:
          this.fail('in string escape code');
      }
      this.pos++;
      start = this.pos;
    }
  }

  /** Reads XXXX after `\u` (pos at 'u'); leaves pos on the last hex digit. */
  hex4(): number {
    let r = 0;
    for (let k = 0; k < 4; k++) {
      this.pos++;
      if (this.pos >= this.s.length) this.fail('');
      const h = this.s[this.pos];
      const d = parseInt(h, 16);
      if (!/[0-9a-fA-F]/.test(h)) this.fail('in \\u hexadecimal character escape');
      r = r * 16 + d;
    }
    return r;
  }

  array(): GoValue[] {
    this.pos++;
    const out: GoValue[] = [];
    this.skipWs();
    if (this.s[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.skipWs();
      const c = this.s[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return out;
      }
      this.fail('after array element');
    }
  }

  object(): GoMap {
    this.pos++;
    const out = newMap();
    this.skipWs();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (this.s[this.pos] !== '"') this.fail('looking for beginning of object key string');
      const k = this.string();
      this.skipWs();
      if (this.s[this.pos] !== ':') this.fail('after object key');
      this.pos++;
      out[k] = this.value();
      this.skipWs();
      const c = this.s[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        return out;
      }
      this.fail('after object key:value pair');
    }
  }
}

function jsonKind(v: GoValue): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

/**
 * json.Unmarshal(data, &target) with target map[string]interface{} ('object'),
 * []interface{} ('array') or interface{} ('any'). A JSON null gives an empty map/list (Go's
 * nil map/slice, which prints the same). Throws GoJsonError with Go's message.
 */
export function goJsonUnmarshal(data: string, target: 'object' | 'array' | 'any' = 'any'): GoValue {
  const p = new Parser(data);
  p.skipWs();
  if (p.pos >= data.length) throw new GoJsonError('unexpected end of JSON input');
  const v = p.value();
  p.skipWs();
  if (p.pos < data.length) p.fail('after top-level value');
  if (target === 'object') {
    if (v === null) return newMap();
    if (!isGoMap(v)) throw new GoJsonError(`json: cannot unmarshal ${jsonKind(v)} into Go value of type map[string]interface {}`);
  } else if (target === 'array') {
    if (v === null) return [];
    if (!Array.isArray(v)) throw new GoJsonError(`json: cannot unmarshal ${jsonKind(v)} into Go value of type []interface {}`);
  }
  if (p.typeError) throw new GoJsonError(p.typeError);
  return v;
}
