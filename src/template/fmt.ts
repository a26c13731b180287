/**
 * A port of the parts of Go's fmt and strconv that text/template output depends on:
 * Sprint / Sprintln / Sprintf with Go's verbs, flags and error forms, %v of every GoValue kind,
 * strconv.Quote, and float formatting ('e', 'f', 'g' with shortest or fixed precision).
 *
 * Values follow src/template/values.ts; `null` and `undefined` both print as a nil interface.
 */
import { GoStringSlice, GoUint64, isGoMap } from './values';
import type { GoMap, GoOpaque, GoValue } from './values';

// ---------------------------------------------------------------------------------------------
// Go type names and string helpers
// ---------------------------------------------------------------------------------------------

/** Go's reflect type name of a value, as printed by %T and in error messages. */
export function goTypeName(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'bigint':
      return 'int';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
    case 'undefined':
      return '<nil>';
    case 'function':
      return 'func()';
    case 'object':
      if (v === null) return '<nil>';
      if (v instanceof GoStringSlice) return '[]string';
      if (Array.isArray(v)) return '[]interface {}';
      if ((v as GoOpaque).__goOpaque) return (v as GoOpaque).goType;
      if ((v as any).__goFunc) return 'func(...interface {}) interface {}';
      return 'map[string]interface {}';
  }
  return '<nil>';
}

/** True when s has only ASCII characters (so JS length == UTF-8 byte length == rune count). */
export function isASCII(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Length of s in UTF-8 bytes (Go's len(string)). */
export function utf8Len(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Number of runes (code points) in s. */
export function runeCount(s: string): number {
  if (isASCII(s)) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Compares two strings in UTF-8 byte order (Go's string ordering). */
export function compareGoStrings(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca !== cb) {
      // Surrogates encode code points >= U+10000, which sort after every BMP character in UTF-8.
      if (ca >= 0xd800) ca = ca <= 0xdfff ? ca + 0x2000 : ca - 0x800;
      if (cb >= 0xd800) cb = cb <= 0xdfff ? cb + 0x2000 : cb - 0x800;
      return ca < cb ? -1 : 1;
    }
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * The last sort of each map, with the keys it was made from: a unit template's `range` over a
 * shared attribute map sorts the same keys for every unit. Reused only when the map's keys are
 * still the same ones in the same order (so a map changed since, e.g. by `set`, is sorted again).
 */
const sortCache = new WeakMap<object, { from: string[]; sorted: string[] }>();

/** The keys of a Go map in Go's sorted order (byte order). Callers get their own array. */
export function sortedKeys(m: GoMap): string[] {
  const keys = Object.keys(m);
  if (keys.length < 8) return sortKeys(keys);
  const hit = sortCache.get(m);
  if (hit !== undefined && sameKeys(hit.from, keys)) return hit.sorted.slice();
  const sorted = sortKeys(keys.slice());
  sortCache.set(m, { from: keys, sorted });
  return sorted.slice();
}

function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sortKeys(keys: string[]): string[] {
  if (keys.length > 1) {
    // UTF-16 order equals UTF-8 byte order unless surrogates are involved.
    let simple = true;
    for (let i = 0; i < keys.length && simple; i++) {
      const k = keys[i];
      for (let j = 0; j < k.length; j++) {
        if (k.charCodeAt(j) >= 0xd800) {
          simple = false;
          break;
        }
      }
    }
    if (simple) keys.sort();
    else keys.sort(compareGoStrings);
  }
  return keys;
}

const printRe = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const graphicSpaceRe = /^\p{Zs}$/u;

/** strconv.IsPrint: letters, marks, numbers, punctuation, symbols and U+0020. */
export function isPrint(r: number): boolean {
  if (r < 0x80) return r >= 0x20 && r < 0x7f;
  if (r >= 0xd800 && r <= 0xdfff) return false;
  if (r > 0x10ffff) return false;
  return printRe.test(String.fromCodePoint(r));
}

/** unicode.IsGraphic (used by %q with '#'? no: by CanBackquote only for tabs). */
export function isGraphic(r: number): boolean {
  return isPrint(r) || graphicSpaceRe.test(String.fromCodePoint(r));
}

const hexDigits = '0123456789abcdef';

function appendEscapedRune(r: number, quote: number, asciiOnly: boolean): string {
  if (r === quote || r === 0x5c) return '\\' + String.fromCharCode(r);
  if (asciiOnly) {
    if (r < 0x80 && isPrint(r)) return String.fromCharCode(r);
  } else if (isPrint(r)) {
    return String.fromCodePoint(r);
  }
  switch (r) {
    case 7:
      return '\\a';
    case 8:
      return '\\b';
    case 12:
      return '\\f';
    case 10:
      return '\\n';
    case 13:
      return '\\r';
    case 9:
      return '\\t';
    case 11:
      return '\\v';
  }
  if (r < 0x20 || r === 0x7f) return '\\x' + hexDigits[r >> 4] + hexDigits[r & 15];
  if (r >= 0xd800 && r <= 0xdfff) return '\\ufffd';
  if (r < 0x10000) return '\\u' + r.toString(16).padStart(4, '0');
  return '\\U' + r.toString(16).padStart(8, '0');
}

/** strconv.Quote (asciiOnly: strconv.QuoteToASCII). */
export function goQuote(s: string, asciiOnly = false): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    let r = s.charCodeAt(i);
    if (r >= 0x20 && r < 0x7f && r !== 0x22 && r !== 0x5c) {
      out += s[i];
      continue;
    }
    if (r >= 0xd800 && r <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        r = ((r - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        i++;
      }
    }
    out += appendEscapedRune(r, 0x22, asciiOnly);
  }
  return out + '"';
}

/** strconv.QuoteRune (asciiOnly: QuoteRuneToASCII). */
export function goQuoteRune(r: number, asciiOnly = false): string {
  if (r > 0x10ffff || r < 0 || (r >= 0xd800 && r <= 0xdfff)) r = 0xfffd;
  return "'" + appendEscapedRune(r, 0x27, asciiOnly) + "'";
}

/** strconv.CanBackquote. */
function canBackquote(s: string): boolean {
  for (const ch of s) {
    const r = ch.codePointAt(0)!;
    if (r === 0xfeff) return false;
    if (r < 0x80) {
      if ((r < 0x20 && r !== 9) || r === 0x60 || r === 0x7f) return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Float formatting (strconv.FormatFloat for 'e', 'E', 'f', 'g', 'G')
// ---------------------------------------------------------------------------------------------

interface Digits {
  d: string; // decimal digits, no leading/trailing zeros ("" for zero)
  dp: number; // decimal point position
}

/** Shortest digits that round-trip (same as Go's shortest mode). v > 0, finite. */
function shortestDigits(v: number): Digits {
  const s = v.toExponential(); // d.ddddde±x with the shortest round-trip digits
  const e = s.indexOf('e');
  const mant = s.slice(0, e).replace('.', '');
  const exp = parseInt(s.slice(e + 1), 10);
  let d = mant;
  let end = d.length;
  while (end > 0 && d.charCodeAt(end - 1) === 48) end--;
  d = d.slice(0, end);
  return { d, dp: exp + 1 };
}

const f64 = new DataView(new ArrayBuffer(8));

/** The exact decimal expansion of v (> 0, finite). */
function exactDigits(v: number): Digits {
  f64.setFloat64(0, v);
  const hi = f64.getUint32(0);
  const lo = f64.getUint32(4);
  let e = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (e === 0) e = 1;
  else m |= 1n << 52n;
  e -= 1075;
  let s: string;
  let dp: number;
  if (e >= 0) {
    s = (m << BigInt(e)).toString();
    dp = s.length;
  } else {
    s = (m * 5n ** BigInt(-e)).toString();
    dp = s.length + e;
  }
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 48) end--;
  return { d: s.slice(0, end), dp };
}

/** Rounds to nd digits, half to even on exact ties (Go's decimal.Round). */
function roundDigits(x: Digits, nd: number): Digits {
  const d = x.d;
  if (nd < 0 || nd >= d.length) return x;
  let up: boolean;
  const c = d.charCodeAt(nd);
  if (c === 53 /* '5' */ && nd + 1 === d.length) {
    up = nd > 0 && (d.charCodeAt(nd - 1) - 48) % 2 === 1;
  } else {
    up = c >= 53;
  }
  if (!up) {
    let end = nd;
    while (end > 0 && d.charCodeAt(end - 1) === 48) end--;
    if (end === 0) return { d: '', dp: 0 };
    return { d: d.slice(0, end), dp: x.dp };
  }
  let i = nd - 1;
  while (i >= 0 && d.charCodeAt(i) === 57) i--;
  if (i < 0) return { d: '1', dp: x.dp + 1 };
  return { d: d.slice(0, i) + String.fromCharCode(d.charCodeAt(i) + 1), dp: x.dp };
}

function fmtE(neg: boolean, x: Digits, prec: number, fmt: string): string {
  let s = neg ? '-' : '';
  const d = x.d;
  s += d.length === 0 ? '0' : d[0];
  if (prec > 0) {
    s += '.';
    let i = 1;
    const m = Math.min(d.length, prec + 1);
    if (i < m) {
      s += d.slice(i, m);
      i = m;
    }
    for (; i <= prec; i++) s += '0';
  }
  s += fmt;
  let exp = d.length === 0 ? 0 : x.dp - 1;
  if (exp < 0) {
    s += '-';
    exp = -exp;
  } else s += '+';
  s += exp < 10 ? '0' + exp : String(exp);
  return s;
}

function fmtF(neg: boolean, x: Digits, prec: number): string {
  let s = neg ? '-' : '';
  const d = x.d;
  if (x.dp > 0) {
    const m = Math.min(d.length, x.dp);
    s += d.slice(0, m);
    for (let i = m; i < x.dp; i++) s += '0';
  } else s += '0';
  if (prec > 0) {
    s += '.';
    for (let i = 1; i <= prec; i++) {
      const j = x.dp + i - 1;
      s += j >= 0 && j < d.length ? d[j] : '0';
    }
  }
  return s;
}

/** The sign, mantissa (implicit bit added) and unbiased exponent of a float64, as strconv sees them. */
function floatBits(v: number): { neg: boolean; mant: bigint; exp: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const bits = view.getBigUint64(0);
  let exp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  if (exp === 0) exp++;
  else mant |= 1n << 52n;
  return { neg: bits >> 63n === 1n, mant, exp: exp - 1023 };
}

/** strconv's 'b' format: decimal mantissa, 'p', binary exponent (`4503599627370496p-53`). */
function fmtB(v: number): string {
  const { neg, mant, exp } = floatBits(v);
  const e = exp - 52;
  return (neg ? '-' : '') + mant.toString() + 'p' + (e >= 0 ? '+' : '') + e;
}

/** strconv's 'x'/'X' format: `-0x1.yyyp±dd`, rounded to prec hex digits when prec >= 0. */
function fmtX(v: number, prec: number, fmt: string): string {
  const M64 = (1n << 64n) - 1n;
  let { neg, mant, exp } = floatBits(v);
  if (mant === 0n) exp = 0;
  mant <<= 8n; // leading 1 at bit 60
  while (mant !== 0n && (mant & (1n << 60n)) === 0n) {
    mant <<= 1n;
    exp--;
  }
  if (prec >= 0 && prec < 15) {
    const shift = BigInt(prec * 4);
    const extra = (mant << shift) & ((1n << 60n) - 1n);
    mant >>= 60n - shift;
    if ((extra | (mant & 1n)) > 1n << 59n) mant++;
    mant <<= 60n - shift;
    if ((mant & (1n << 61n)) !== 0n) {
      mant >>= 1n;
      exp++;
    }
  }
  const hex = fmt === 'X' ? '0123456789ABCDEF' : '0123456789abcdef';
  let s = (neg ? '-' : '') + '0' + fmt + ((mant >> 60n) & 1n).toString();
  mant = (mant << 4n) & M64;
  if ((prec < 0 && mant !== 0n) || prec > 0) {
    s += '.';
    for (let i = 0; prec < 0 ? mant !== 0n : i < prec; i++) {
      s += hex[Number((mant >> 60n) & 15n)];
      mant = (mant << 4n) & M64;
    }
  }
  s += (fmt === 'X' ? 'P' : 'p') + (exp < 0 ? '-' : '+');
  const a = Math.abs(exp);
  return s + (a < 10 ? '0' + a : String(a));
}

/** strconv.FormatFloat(v, fmt, prec, 64) for fmt in b e E f g G x X (prec -1 = shortest). */
export function formatFloat(v: number, fmt: string, prec: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (fmt === 'b') return fmtB(v);
  if (fmt === 'x' || fmt === 'X') return fmtX(v, prec, fmt);
  if (fmt === 'F') fmt = 'f';
  if (fmt !== 'e' && fmt !== 'E' && fmt !== 'f' && fmt !== 'g' && fmt !== 'G') fmt = 'g';
  const neg = v < 0 || (v === 0 && 1 / v < 0);
  const a = neg ? -v : v;
  const shortest = prec < 0;
  let digs: Digits;
  if (a === 0) {
    digs = { d: '', dp: 0 };
  } else if (shortest) {
    digs = shortestDigits(a);
  } else {
    const ex = exactDigits(a);
    if (fmt === 'f') digs = roundDigits(ex, ex.dp + prec);
    else if (fmt === 'e' || fmt === 'E') digs = roundDigits(ex, prec + 1);
    else {
      if (prec === 0) prec = 1;
      digs = roundDigits(ex, prec);
    }
  }
  if (shortest) {
    if (fmt === 'e' || fmt === 'E') prec = Math.max(digs.d.length - 1, 0);
    else if (fmt === 'f') prec = Math.max(digs.d.length - digs.dp, 0);
    else prec = digs.d.length;
  }
  switch (fmt) {
    case 'e':
    case 'E':
      return fmtE(neg, digs, prec, fmt);
    case 'f':
      return fmtF(neg, digs, prec);
    default: {
      let eprec = prec;
      const nd = digs.d.length;
      if (eprec > nd && nd >= digs.dp) eprec = nd;
      if (shortest) eprec = 6;
      const exp = digs.dp - 1;
      if (exp < -4 || exp >= eprec) {
        if (prec > nd) prec = nd;
        return fmtE(neg, digs, prec - 1, fmt === 'g' ? 'e' : 'E');
      }
      if (prec > digs.dp) prec = nd;
      return fmtF(neg, digs, Math.max(prec - digs.dp, 0));
    }
  }
}

/** Go's %v of a float64. */
export function formatFloatV(v: number): string {
  // In [1e-4, 1e6) Go's shortest %g and JS's Number#toString agree (decimal form).
  const a = v < 0 ? -v : v;
  if (a >= 1e-4 && a < 1e6) return String(v);
  return formatFloat(v, 'g', -1);
}

// ---------------------------------------------------------------------------------------------
// The printer (fmt.pp + fmt.fmt)
// ---------------------------------------------------------------------------------------------

const nilAngle = '<nil>';

class Printer {
  buf = '';
  // flags
  plus = false;
  minus = false;
  sharp = false;
  space = false;
  zero = false;
  plusV = false;
  sharpV = false;
  wid = 0;
  widPresent = false;
  prec = 0;
  precPresent = false;

  clearFlags(): void {
    this.plus = this.minus = this.sharp = this.space = this.zero = false;
    this.plusV = this.sharpV = false;
    this.wid = this.prec = 0;
    this.widPresent = this.precPresent = false;
  }

  writePadding(n: number): void {
    if (n <= 0) return;
    this.buf += (this.zero ? '0' : ' ').repeat(n);
  }

  /** fmt.pad: pads s (a string of runes) to the width. */
  pad(s: string): void {
    if (!this.widPresent || this.wid === 0) {
      this.buf += s;
      return;
    }
    const width = this.wid - runeCount(s);
    if (!this.minus) {
      this.writePadding(width);
      this.buf += s;
    } else {
      this.buf += s;
      this.writePadding(width);
    }
  }

  padString(s: string): void {
    this.pad(s);
  }

  truncateString(s: string): string {
    if (this.precPresent) {
      if (isASCII(s)) return s.length > this.prec ? s.slice(0, this.prec) : s;
      let n = this.prec;
      let i = 0;
      for (const ch of s) {
        n--;
        if (n < 0) return s.slice(0, i);
        i += ch.length;
      }
    }
    return s;
  }

  // --- booleans -------------------------------------------------------------------------------

  fmtBool(v: boolean, verb: string): void {
    if (verb === 't' || verb === 'v') this.padString(v ? 'true' : 'false');
    else this.badVerb(verb, v);
  }

  // --- integers -------------------------------------------------------------------------------

  fmtIntegerBase(v: bigint, base: number, verb: string, upper: boolean): void {
    const negative = v < 0n;
    let u = negative ? -v : v;
    let prec = 0;
    if (this.precPresent) {
      prec = this.prec;
      if (prec === 0 && u === 0n) {
        const oldZero = this.zero;
        this.zero = false;
        this.writePadding(this.wid);
        this.zero = oldZero;
        return;
      }
    } else if (this.zero && this.widPresent) {
      prec = this.wid;
      if (negative || this.plus || this.space) prec--;
    }
    let digits = u.toString(base);
    if (upper) digits = digits.toUpperCase();
    if (digits.length < prec) digits = '0'.repeat(prec - digits.length) + digits;
    if (this.sharp) {
      if (base === 2) digits = '0b' + digits;
      else if (base === 8) {
        if (digits[0] !== '0') digits = '0' + digits;
      } else if (base === 16) digits = (upper ? '0X' : '0x') + digits;
    }
    if (verb === 'O') digits = '0o' + digits;
    if (negative) digits = '-' + digits;
    else if (this.plus) digits = '+' + digits;
    else if (this.space) digits = ' ' + digits;
    const oldZero = this.zero;
    this.zero = false;
    this.pad(digits);
    this.zero = oldZero;
    u = 0n;
  }

  fmtInteger(v: bigint, verb: string): void {
    switch (verb) {
      case 'v':
      case 'd':
        this.fmtIntegerBase(v, 10, verb, false);
        return;
      case 'b':
        this.fmtIntegerBase(v, 2, verb, false);
        return;
      case 'o':
      case 'O':
        this.fmtIntegerBase(v, 8, verb, false);
        return;
      case 'x':
        this.fmtIntegerBase(v, 16, verb, false);
        return;
      case 'X':
        this.fmtIntegerBase(v, 16, verb, true);
        return;
      case 'c': {
        let r = v > 0x10ffffn || v < 0n ? 0xfffd : Number(v);
        if (r >= 0xd800 && r <= 0xdfff) r = 0xfffd;
        this.pad(String.fromCodePoint(r));
        return;
      }
      case 'q': {
        const r = v > 0x10ffffn || v < 0n ? 0xfffd : Number(v);
        this.pad(goQuoteRune(r, this.plus));
        return;
      }
      case 'U': {
        // fmtUnicode
        let hex = (v < 0n ? BigInt.asUintN(64, v) : v).toString(16).toUpperCase();
        let prec = 4;
        if (this.precPresent && this.prec > 4) prec = this.prec;
        if (hex.length < prec) hex = '0'.repeat(prec - hex.length) + hex;
        let s = 'U+' + hex;
        if (this.sharp && v >= 0n && v <= 0x10ffffn && isPrint(Number(v))) {
          s += " '" + String.fromCodePoint(Number(v)) + "'";
        }
        const oldZero = this.zero;
        this.zero = false;
        this.pad(s);
        this.zero = oldZero;
        return;
      }
      default:
        this.badVerb(verb, v);
    }
  }

  /** fmt's unsigned integers: like fmtInteger, but %#v is 0x-hex (Go's fmt0x64). */
  fmtUnsigned(u: GoUint64, verb: string): void {
    const v = u.value;
    if (!'vdboOxXcqU'.includes(verb)) return this.badVerb(verb, u);
    if (verb === 'v' && this.sharpV) {
      const oldSharp = this.sharp;
      this.sharp = true;
      this.fmtIntegerBase(v, 16, verb, false);
      this.sharp = oldSharp;
      return;
    }
    this.fmtInteger(v, verb);
  }

  // --- floats ---------------------------------------------------------------------------------

  fmtFloat(v: number, verb: string): void {
    switch (verb) {
      case 'v':
        this.fmtFloatFmt(v, 'g', -1, verb);
        return;
      case 'b':
      case 'g':
      case 'G':
      case 'x':
      case 'X':
        this.fmtFloatFmt(v, verb, -1, verb);
        return;
      case 'f':
      case 'e':
      case 'E':
        this.fmtFloatFmt(v, verb, 6, verb);
        return;
      case 'F':
        this.fmtFloatFmt(v, 'f', 6, verb);
        return;
      default:
        this.badVerb(verb, v);
    }
  }

  fmtFloatFmt(v: number, fmtc: string, prec: number, origVerb: string): void {
    if (this.precPresent) prec = this.prec;
    let num = formatFloat(v, fmtc, prec);
    if (num[0] === '-' || num[0] === '+') {
      // keep sign
    } else num = '+' + num;
    if (this.space && num[0] === '+' && !this.plus) num = ' ' + num.slice(1);
    if (num[1] === 'I' || num[1] === 'N') {
      const oldZero = this.zero;
      this.zero = false;
      if (num[1] === 'N' && !this.space && !this.plus) num = num.slice(1);
      this.pad(num);
      this.zero = oldZero;
      return;
    }
    if (this.sharp && fmtc !== 'b') {
      let digits = 0;
      if (fmtc === 'v' || fmtc === 'g' || fmtc === 'G' || fmtc === 'x' || origVerb === 'v') {
        digits = prec;
        if (digits === -1) digits = 6;
      }
      let tail = '';
      let hasDecimalPoint = false;
      let sawNonzero = false;
      let body = num;
      for (let i = 1; i < body.length; i++) {
        const c = body[i];
        if (c === '.') hasDecimalPoint = true;
        else if (c === 'p' || c === 'P' || ((c === 'e' || c === 'E') && fmtc !== 'x' && fmtc !== 'X')) {
          tail = body.slice(i);
          body = body.slice(0, i);
          break;
        } else {
          if (c !== '0') sawNonzero = true;
          if (sawNonzero) digits--;
        }
      }
      if (!hasDecimalPoint) {
        if (body.length === 2 && body[1] === '0') digits--;
        body += '.';
      }
      while (digits > 0) {
        body += '0';
        digits--;
      }
      num = body + tail;
    }
    if (this.plus || num[0] !== '+') {
      if (this.zero && this.widPresent && this.wid > num.length) {
        this.buf += num[0];
        this.writePadding(this.wid - num.length);
        this.buf += num.slice(1);
        return;
      }
      this.pad(num);
      return;
    }
    this.pad(num.slice(1));
  }

  // --- strings --------------------------------------------------------------------------------

  fmtString(v: string, verb: string): void {
    switch (verb) {
      case 'v':
        if (this.sharpV) this.fmtQ(v);
        else this.padString(this.truncateString(v));
        return;
      case 's':
        this.padString(this.truncateString(v));
        return;
      case 'x':
        this.fmtSx(v, false);
        return;
      case 'X':
        this.fmtSx(v, true);
        return;
      case 'q':
        this.fmtQ(v);
        return;
      default:
        this.badVerb(verb, v);
    }
  }

  fmtQ(s: string): void {
    s = this.truncateString(s);
    if (this.sharp && canBackquote(s)) {
      this.padString('`' + s + '`');
      return;
    }
    this.pad(goQuote(s, this.plus));
  }

  fmtSx(s: string, upper: boolean): void {
    const bytes = Buffer.from(s, 'utf8');
    let length = bytes.length;
    if (this.precPresent && this.prec < length) length = this.prec;
    let width = 2 * length;
    if (width > 0) {
      if (this.space) {
        if (this.sharp) width *= 2;
        width += length - 1;
      } else if (this.sharp) width += 2;
    } else {
      if (this.widPresent) this.writePadding(this.wid);
      return;
    }
    if (this.widPresent && this.wid > width && !this.minus) this.writePadding(this.wid - width);
    const digits = upper ? '0123456789ABCDEF' : hexDigits;
    const px = upper ? '0X' : '0x';
    let out = '';
    if (this.sharp) out += px;
    for (let i = 0; i < length; i++) {
      if (this.space && i > 0) {
        out += ' ';
        if (this.sharp) out += px;
      }
      const c = bytes[i];
      out += digits[c >> 4] + digits[c & 15];
    }
    this.buf += out;
    if (this.widPresent && this.wid > width && this.minus) this.writePadding(this.wid - width);
  }

  // --- errors ---------------------------------------------------------------------------------

  /** %!verb(type=value) */
  badVerb(verb: string, value: unknown): void {
    this.buf += '%!' + verb + '(';
    if (value === null || value === undefined) {
      this.buf += nilAngle;
    } else {
      this.buf += goTypeName(value) + '=';
      this.printArg(value, 'v');
    }
    this.buf += ')';
  }

  // --- dispatch -------------------------------------------------------------------------------

  printArg(arg: unknown, verb: string): void {
    if (arg === null || arg === undefined) {
      if (verb === 'T' || verb === 'v') this.padString(nilAngle);
      else this.badVerb(verb, arg);
      return;
    }
    if (verb === 'T') {
      this.padString(this.truncateString(goTypeName(arg)));
      return;
    }
    if (arg instanceof GoUint64) {
      this.fmtUnsigned(arg, verb);
      return;
    }
    switch (typeof arg) {
      case 'boolean':
        this.fmtBool(arg, verb);
        return;
      case 'number':
        this.fmtFloat(arg, verb);
        return;
      case 'bigint':
        this.fmtInteger(arg, verb);
        return;
      case 'string':
        this.fmtString(arg, verb);
        return;
    }
    this.printValue(arg, verb, 0);
  }

  printValue(value: unknown, verb: string, depth: number): void {
    if (value === null || value === undefined) {
      // A nil interface inside a container.
      if (depth === 0) {
        this.printArg(value, verb);
        return;
      }
      this.buf += this.sharpV ? 'interface {}(nil)' : nilAngle;
      return;
    }
    switch (typeof value) {
      case 'boolean':
        this.fmtBool(value, verb);
        return;
      case 'number':
        this.fmtFloat(value, verb);
        return;
      case 'bigint':
        this.fmtInteger(value, verb);
        return;
      case 'string':
        this.fmtString(value, verb);
        return;
    }
    if (Array.isArray(value)) {
      if (this.sharpV) {
        this.buf += goTypeName(value) + '{';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) this.buf += ', ';
          this.printValue(value[i], verb, depth + 1);
        }
        this.buf += '}';
        return;
      }
      this.buf += '[';
      for (let i = 0; i < value.length; i++) {
        if (i > 0) this.buf += ' ';
        this.printValue(value[i], verb, depth + 1);
      }
      this.buf += ']';
      return;
    }
    if (value instanceof GoUint64) {
      this.fmtUnsigned(value, verb);
      return;
    }
    const o = value as GoOpaque;
    if (o.__goOpaque) {
      const s = o.format ? o.format() : String(o.value);
      switch (verb) {
        case 'v':
        case 's':
        case 'x':
        case 'X':
        case 'q':
          if (o.format || typeof o.value === 'string') this.fmtString(s, verb);
          else this.padString(s);
          return;
      }
      this.badVerb(verb, value);
      return;
    }
    if ((value as any).__goFunc) {
      this.padString('0x0');
      return;
    }
    if (isGoMap(value)) {
      const keys = sortedKeys(value);
      if (this.sharpV) {
        this.buf += 'map[string]interface {}{';
        for (let i = 0; i < keys.length; i++) {
          if (i > 0) this.buf += ', ';
          this.printValue(keys[i], verb, depth + 1);
          this.buf += ':';
          this.printValue(value[keys[i]], verb, depth + 1);
        }
        this.buf += '}';
        return;
      }
      this.buf += 'map[';
      for (let i = 0; i < keys.length; i++) {
        if (i > 0) this.buf += ' ';
        this.printValue(keys[i], verb, depth + 1);
        this.buf += ':';
        this.printValue(value[keys[i]], verb, depth + 1);
      }
      this.buf += ']';
      return;
    }
    this.padString(String(value));
  }

  // --- Printf ---------------------------------------------------------------------------------

  doPrintf(format: string, a: readonly unknown[]): void {
    const end = format.length;
    let argNum = 0;
    let afterIndex = false;
    let reordered = false;
    let goodArgNum = true;

    const parsenum = (s: string, start: number, e: number): [number, boolean, number] => {
      if (start >= e) return [0, false, e];
      let num = 0;
      let isnum = false;
      let i = start;
      for (; i < e; i++) {
        const c = s.charCodeAt(i);
        if (c < 48 || c > 57) break;
        if (num > 1e6 || num < -1e6) return [0, false, e]; // tooLarge
        num = num * 10 + (c - 48);
        isnum = true;
      }
      return [num, isnum, i];
    };
    const argNumber = (argN: number, i: number, numArgs: number): [number, number, boolean] => {
      if (format.length <= i || format[i] !== '[') return [argN, i, false];
      reordered = true;
      // parseArgNumber
      const sub = format.slice(i);
      let index = 0;
      let wid = 1;
      let ok = false;
      if (sub.length >= 3) {
        for (let j = 1; j < sub.length; j++) {
          if (sub[j] === ']') {
            const [w, okn, newi] = parsenum(sub, 1, j);
            if (!okn || newi !== j) {
              index = 0;
              wid = j + 1;
              ok = false;
            } else {
              index = w - 1;
              wid = j + 1;
              ok = true;
            }
            break;
          }
        }
      }
      if (ok && index >= 0 && index < numArgs) return [index, i + wid, true];
      goodArgNum = false;
      return [argN, i + wid, ok];
    };
    const intFromArg = (argN: number): [number, boolean, number] => {
      let num = 0;
      let isInt = false;
      let newArgNum = argN;
      if (argN < a.length) {
        const v = a[argN];
        if (typeof v === 'bigint') {
          if (v >= -(2n ** 63n) && v < 2n ** 63n) {
            num = Number(v);
            isInt = true;
          }
        }
        newArgNum = argN + 1;
        if (num > 1e6 || num < -1e6) {
          num = 0;
          isInt = false;
        }
      }
      return [num, isInt, newArgNum];
    };

    for (let i = 0; i < end; ) {
      goodArgNum = true;
      const lasti = i;
      while (i < end && format.charCodeAt(i) !== 37 /* % */) i++;
      if (i > lasti) this.buf += format.slice(lasti, i);
      if (i >= end) break;
      i++; // skip %
      this.clearFlags();
      let simple = false;
      simpleFormat: for (; i < end; i++) {
        const c = format[i];
        switch (c) {
          case '#':
            this.sharp = true;
            break;
          case '0':
            this.zero = !this.minus;
            break;
          case '+':
            this.plus = true;
            break;
          case '-':
            this.minus = true;
            this.zero = false;
            break;
          case ' ':
            this.space = true;
            break;
          default:
            if (c >= 'a' && c <= 'z' && argNum < a.length) {
              if (c === 'v') {
                this.sharpV = this.sharp;
                this.sharp = false;
                this.plusV = this.plus;
                this.plus = false;
              }
              this.printArg(a[argNum], c);
              argNum++;
              i++;
              simple = true;
            }
            break simpleFormat;
        }
      }
      if (simple) continue;

      [argNum, i, afterIndex] = argNumber(argNum, i, a.length);

      if (i < end && format[i] === '*') {
        i++;
        [this.wid, this.widPresent, argNum] = intFromArg(argNum);
        if (!this.widPresent) this.buf += '%!(BADWIDTH)';
        if (this.wid < 0) {
          this.wid = -this.wid;
          this.minus = true;
          this.zero = false;
        }
        afterIndex = false;
      } else {
        [this.wid, this.widPresent, i] = parsenum(format, i, end);
        if (afterIndex && this.widPresent) goodArgNum = false;
      }

      if (i + 1 < end && format[i] === '.') {
        i++;
        if (afterIndex) goodArgNum = false;
        [argNum, i, afterIndex] = argNumber(argNum, i, a.length);
        if (i < end && format[i] === '*') {
          i++;
          [this.prec, this.precPresent, argNum] = intFromArg(argNum);
          if (this.prec < 0) {
            this.prec = 0;
            this.precPresent = false;
          }
          if (!this.precPresent) this.buf += '%!(BADPREC)';
          afterIndex = false;
        } else {
          [this.prec, this.precPresent, i] = parsenum(format, i, end);
          if (!this.precPresent) {
            this.prec = 0;
            this.precPresent = true;
          }
        }
      }

      if (!afterIndex) [argNum, i, afterIndex] = argNumber(argNum, i, a.length);

      if (i >= end) {
        this.buf += '%!(NOVERB)';
        break;
      }

      const cp = format.codePointAt(i)!;
      const verb = String.fromCodePoint(cp);
      i += verb.length;

      if (verb === '%') {
        this.buf += '%';
      } else if (!goodArgNum) {
        this.buf += '%!' + verb + '(BADINDEX)';
      } else if (argNum >= a.length) {
        this.buf += '%!' + verb + '(MISSING)';
      } else {
        if (verb === 'v') {
          this.sharpV = this.sharp;
          this.sharp = false;
          this.plusV = this.plus;
          this.plus = false;
        }
        this.printArg(a[argNum], verb);
        argNum++;
      }
    }

    if (!reordered && argNum < a.length) {
      this.clearFlags();
      this.buf += '%!(EXTRA ';
      for (let k = argNum; k < a.length; k++) {
        if (k > argNum) this.buf += ', ';
        const arg = a[k];
        if (arg === null || arg === undefined) this.buf += nilAngle;
        else {
          this.buf += goTypeName(arg) + '=';
          this.printArg(arg, 'v');
        }
      }
      this.buf += ')';
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** fmt.Sprint of one value with %v (fast paths for the common kinds). */
export function formatValue(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return formatFloatV(v);
  }
  const p = new Printer();
  p.printArg(v, 'v');
  return p.buf;
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: readonly unknown[]): string {
  const p = new Printer();
  let prevString = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const isString = typeof arg === 'string';
    if (i > 0 && !isString && !prevString) p.buf += ' ';
    p.clearFlags();
    p.printArg(arg, 'v');
    prevString = isString;
  }
  return p.buf;
}

/** fmt.Sprintln: always a space between operands, newline at the end. */
export function sprintln(args: readonly unknown[]): string {
  const p = new Printer();
  for (let i = 0; i < args.length; i++) {
    if (i > 0) p.buf += ' ';
    p.clearFlags();
    p.printArg(args[i], 'v');
  }
  return p.buf + '\n';
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: readonly unknown[]): string {
  const p = new Printer();
  p.doPrintf(format, args);
  return p.buf;
}

/** Exposed for tests and for funcs that need Go-like number printing. */
export function formatGoValueForError(v: GoValue | undefined): string {
  return formatValue(v);
}
