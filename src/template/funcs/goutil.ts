/**
 * Small Go-runtime helpers shared by the GGN template functions: reflect-like kinds and type
 * names, reflect.DeepEqual, Go's byte-order string sort, unicode helpers (strings.ToUpper,
 * unicode.IsSpace), path.Base/Dir and strconv-style float formatting.
 */
import { GoStringSlice, isGoMap } from '../values';
import type { GoMap, GoValue } from '../values';

// ---------------------------------------------------------------------------------------------
// reflect: kinds and type names
// ---------------------------------------------------------------------------------------------

/** reflect.Kind().String() of a value (`invalid` for nil, like reflect.ValueOf(nil).Kind()). */
export function goKind(v: GoValue): string {
  if (v === null || v === undefined) return 'invalid';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'bigint':
      return 'int';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
  }
  if (Array.isArray(v)) return 'slice';
  const o = v as any;
  if (o.__goFunc) return 'func';
  if (o.__goOpaque) return kindOfTypeName(String(o.goType));
  return 'map';
}

function kindOfTypeName(t: string): string {
  if (t.startsWith('*')) return 'ptr';
  if (t.startsWith('[]')) return 'slice';
  if (t.startsWith('[')) return 'array';
  if (t.startsWith('map[')) return 'map';
  if (t.startsWith('func')) return 'func';
  if (t.startsWith('chan ') || t.startsWith('<-chan') || t.startsWith('chan<-')) return 'chan';
  switch (t) {
    case 'int':
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'uint':
    case 'uint8':
    case 'uint16':
    case 'uint32':
    case 'uint64':
    case 'uintptr':
    case 'float32':
    case 'float64':
    case 'complex64':
    case 'complex128':
    case 'string':
    case 'bool':
      return t;
    case 'byte':
      return 'uint8';
    case 'rune':
      return 'int32';
  }
  return 'struct';
}

/** reflect.TypeOf(v).String(); null for a nil interface. */
export function goTypeName(v: GoValue): string | null {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'bigint':
      return 'int';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
  }
  if (v instanceof GoStringSlice) return '[]string';
  if (Array.isArray(v)) return '[]interface {}';
  const o = v as any;
  if (o.__goOpaque) return String(o.goType);
  if (o.__goFunc) return String(o.goType ?? 'func()');
  return 'map[string]interface {}';
}

/** Go's reflect.ValueError message: "reflect: call of M on K Value". */
export function reflectCallError(method: string, v: GoValue): string {
  const k = goKind(v);
  return k === 'invalid' ? `reflect: call of ${method} on zero Value` : `reflect: call of ${method} on ${k} Value`;
}

/** The runtime error Go raises when calling a method on a nil reflect.Type. */
export const NIL_DEREF = 'runtime error: invalid memory address or nil pointer dereference';

// ---------------------------------------------------------------------------------------------
// reflect.DeepEqual
// ---------------------------------------------------------------------------------------------

export function deepEqual(a: GoValue, b: GoValue): boolean {
  if (a === null || a === undefined || b === null || b === undefined) {
    return (a === null || a === undefined) && (b === null || b === undefined);
  }
  const ta = typeof a;
  if (ta !== typeof b) return false;
  if (ta !== 'object') return a === b; // NaN !== NaN, like Go
  if (Array.isArray(a)) {
    if (!Array.isArray(b)) return false;
    if (a instanceof GoStringSlice !== b instanceof GoStringSlice) return false;
    if (a === b) return true;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const oa = a as any;
  const ob = b as any;
  if (oa.__goOpaque || ob.__goOpaque) {
    if (!oa.__goOpaque || !ob.__goOpaque || oa.goType !== ob.goType) return false;
    if (oa === ob) return true;
    const va = oa.value;
    const vb = ob.value;
    if (va instanceof Date && vb instanceof Date) return va.getTime() === vb.getTime();
    return va === vb;
  }
  if (oa.__goFunc || ob.__goFunc) return false; // Go: funcs are equal only if both nil
  if (!isGoMap(a) || !isGoMap(b)) return false;
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!deepEqual((a as GoMap)[k], (b as GoMap)[k])) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Strings: byte-order comparison (Go compares UTF-8 bytes; JS compares UTF-16 code units)
// ---------------------------------------------------------------------------------------------

/** Compares like Go's `a < b` on strings (UTF-8 byte order). */
export function goStringCompare(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca !== cb) {
      // Surrogates (supplementary planes, 4-byte UTF-8) sort after U+E000..U+FFFF.
      if (ca >= 0xd800 && cb >= 0xd800) {
        ca = ca >= 0xe000 ? ca - 0x800 : ca + 0x2000;
        cb = cb >= 0xe000 ? cb - 0x800 : cb + 0x2000;
      }
      return ca - cb;
    }
  }
  return a.length - b.length;
}

const NON_BMP_OR_HIGH = /[\ud800-\uffff]/;

const codeUnitCompare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Map keys sorted like Go's fmt / encoding/json / text/template range (byte order). */
export function sortedKeys(m: GoMap): string[] {
  const keys = Object.keys(m);
  const n = keys.length;
  if (n < 2) return keys;
  let sorted = true;
  let special = false;
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    if (sorted && i > 0 && keys[i - 1] > k) sorted = false;
    if (!special && NON_BMP_OR_HIGH.test(k)) special = true;
  }
  // Code-unit order equals UTF-8 byte order unless a key has characters from U+D800 up.
  if (special) return keys.sort(goStringCompare);
  return sorted ? keys : keys.sort(codeUnitCompare);
}

/** Number of Unicode code points (Go's len([]rune(s)), ignoring invalid UTF-8). */
export function runeCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** unicode.IsSpace */
export function isGoSpace(c: number): boolean {
  if (c <= 0xff) {
    return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x85 || c === 0xa0;
  }
  return c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/** strings.TrimSpace */
export function goTrimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isGoSpace(s.charCodeAt(start))) start++;
  while (end > start && isGoSpace(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

/** strings.Fields */
export function goFields(s: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < s.length; i++) {
    if (isGoSpace(s.charCodeAt(i))) {
      if (start >= 0) {
        out.push(s.slice(start, i));
        start = -1;
      }
    } else if (start < 0) {
      start = i;
    }
  }
  if (start >= 0) out.push(s.slice(start));
  return out;
}

const ASCII_ONLY = /^[\x00-\x7f]*$/;

// Runes whose Go simple case mapping is not what JS's full case mapping gives as one rune.
const UPPER_FIX: Record<number, number> = { 0x131: 0x49, 0x17f: 0x53, 0x1c5: 0x1c4, 0x1c8: 0x1c7, 0x1cb: 0x1ca, 0x1f2: 0x1f1 };
const LOWER_FIX: Record<number, number> = { 0x130: 0x69 };

function mapRunes(s: string, upper: boolean): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const fix = upper ? UPPER_FIX[cp] : LOWER_FIX[cp];
    if (fix !== undefined) {
      out += String.fromCodePoint(fix);
      continue;
    }
    const m = upper ? ch.toUpperCase() : ch.toLowerCase();
    // Go maps rune by rune (simple case mapping); a multi-rune JS result means "no mapping".
    out += m.length === ch.length || [...m].length === 1 ? m : ch;
  }
  return out;
}

/** strings.ToUpper */
export function goToUpper(s: string): string {
  return ASCII_ONLY.test(s) ? s.toUpperCase() : mapRunes(s, true);
}

/** strings.ToLower */
export function goToLower(s: string): string {
  return ASCII_ONLY.test(s) ? s.toLowerCase() : mapRunes(s, false);
}

/** Number of UTF-8 bytes of a JS string. */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

// ---------------------------------------------------------------------------------------------
// path package
// ---------------------------------------------------------------------------------------------

/** path.Clean */
export function goPathClean(p: string): string {
  if (p === '') return '.';
  const rooted = p[0] === '/';
  const parts = p.split('/');
  const out: string[] = [];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

/** path.Base */
export function goPathBase(p: string): string {
  if (p === '') return '.';
  let end = p.length;
  while (end > 0 && p[end - 1] === '/') end--;
  p = p.slice(0, end);
  const i = p.lastIndexOf('/');
  if (i >= 0) p = p.slice(i + 1);
  return p === '' ? '/' : p;
}

/** path.Dir */
export function goPathDir(p: string): string {
  const i = p.lastIndexOf('/');
  return goPathClean(p.slice(0, i + 1));
}

// ---------------------------------------------------------------------------------------------
// strconv-like float formatting
// ---------------------------------------------------------------------------------------------

/** Shortest decimal digits and decimal-point position (value = 0.DIGITS × 10^dp). */
function shortestDigits(x: number): { digits: string; dp: number } {
  const e = Math.abs(x).toExponential(); // shortest round-trip mantissa
  const [mant, exp] = e.split('e');
  const digits = mant.replace('.', '');
  return { digits, dp: Number(exp) + 1 };
}

/** strconv.FormatFloat(x, 'g', -1, 64), which is also fmt's %v for float64. */
export function formatFloatG(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  if (x === 0) return neg ? '-0' : '0';
  const { digits, dp } = shortestDigits(x);
  const exp = dp - 1;
  let s: string;
  if (exp < -4 || exp >= 6) {
    // shortest 'g' uses precision 6 for this decision
    s = expForm(digits, exp);
  } else if (exp < 0) {
    s = '0.' + '0'.repeat(-exp - 1) + digits;
  } else if (digits.length <= exp + 1) {
    s = digits + '0'.repeat(exp + 1 - digits.length);
  } else {
    s = digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
  }
  return neg ? '-' + s : s;
}

/** strconv.FormatFloat(x, 'g', -1, 32): x rounded to float32, then its shortest digits. */
export function formatFloat32G(x: number): string {
  const f = Math.fround(x);
  if (!Number.isFinite(f) || f === 0) return formatFloatG(f);
  const neg = f < 0;
  const a = Math.abs(f);
  // The shortest precision whose correctly rounded decimal reads back as the same float32.
  let mant = '';
  let exp = 0;
  for (let p = 1; p <= 9; p++) {
    const e = roundHalfEven(a, p);
    if (Math.fround(Number(e)) === a) {
      const [m, x10] = e.split('e');
      mant = m.replace('.', '').replace(/0+$/, '') || '0';
      exp = Number(x10);
      break;
    }
  }
  let s: string;
  if (exp < -4 || exp >= 6) s = expForm(mant, exp);
  else if (exp < 0) s = '0.' + '0'.repeat(-exp - 1) + mant;
  else if (mant.length <= exp + 1) s = mant + '0'.repeat(exp + 1 - mant.length);
  else s = mant.slice(0, exp + 1) + '.' + mant.slice(exp + 1);
  return neg ? '-' + s : s;
}

/** a.toExponential(p - 1), but an exact tie rounds to the even digit, as strconv does. */
function roundHalfEven(a: number, p: number): string {
  const e = a.toExponential(p - 1);
  const long = a.toExponential(p + 40); // exact for a float32: a tie ends right after digit p + 1
  const [m, x10] = long.split('e');
  const digits = m.replace('.', '');
  if (digits[p] !== '5' || !/^0*$/.test(digits.slice(p + 1))) return e;
  const kept = digits.slice(0, p);
  if (Number(kept[p - 1]) % 2 === 0) return (p > 1 ? kept[0] + '.' + kept.slice(1) : kept) + 'e' + x10;
  return e; // toExponential rounds a tie up, which is the even choice here
}

function expForm(digits: string, exp: number): string {
  const m = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
  const ae = Math.abs(exp);
  return m + 'e' + (exp < 0 ? '-' : '+') + (ae < 10 ? '0' + ae : String(ae));
}

/**
 * fmt's %.Nf (strconv 'f' with a precision): correctly rounded, ties to even on the exact
 * binary value (JS toFixed rounds ties away from zero).
 */
export function formatFloatFixed(x: number, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  let s: string;
  if (a >= 1e21) {
    s = BigInt(a).toString() + (prec > 0 ? '.' + '0'.repeat(prec) : '');
  } else {
    s = a.toFixed(prec);
    const extra = Math.min(100, prec + 60);
    const ext = a.toFixed(extra);
    const dot = ext.indexOf('.');
    const cut = prec === 0 ? dot : dot + 1 + prec;
    const rest = ext.slice(cut + (prec === 0 ? 1 : 0));
    if (rest[0] === '5' && /^50*$/.test(rest)) {
      // Exact tie: Go rounds to even.
      const truncated = ext.slice(0, cut);
      const lastDigit = Number(truncated[truncated.length - 1]);
      if (lastDigit % 2 === 0) s = truncated;
    }
  }
  return neg ? '-' + s : s;
}
