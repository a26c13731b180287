/**
 * go-yaml v2's scalar resolution (resolve.go, as vendored by GGN), with Go's strconv rules:
 * which plain scalars are booleans, null, ints, uint64s, floats or strings, and which explicit
 * tags are accepted. Shared by the fast reader and the full parser so both give Go's values.
 *
 *   - `0x1F`, `0X1F`, `0o17`, `0O17`, `0b11`, `017` are ints (strconv.ParseInt with base 0);
 *   - ints that overflow int64 are uint64 up to 2^64-1, then float64 (`18446744073709551616`);
 *   - what ParseInt rejects but ParseFloat takes is a float: `08`, `0648`, `0x1p4`, `1_0.5`;
 *   - a float out of range (`1e400`) and a lone `.` are strings;
 *   - `+inf`, `-Infinity` (any case) are infinite floats, like `.inf`.
 */
import { GoUint64, GoValue } from '../template/values';

export const TAG_PREFIX = 'tag:yaml.org,2002:';
const STR = TAG_PREFIX + 'str';
const BINARY = TAG_PREFIX + 'binary';
const RESOLVABLE = new Set(['', STR, TAG_PREFIX + 'bool', TAG_PREFIX + 'int', TAG_PREFIX + 'float', TAG_PREFIX + 'null']);

const MAP: Record<string, GoValue> = Object.create(null);
for (const s of ['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']) MAP[s] = true;
for (const s of ['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']) MAP[s] = false;
for (const s of ['', '~', 'null', 'Null', 'NULL']) MAP[s] = null;
for (const s of ['.nan', '.NaN', '.NAN']) MAP[s] = NaN;
for (const s of ['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF']) MAP[s] = Infinity;
for (const s of ['-.inf', '-.Inf', '-.INF']) MAP[s] = -Infinity;

/** A scalar whose explicit tag does not match its value (`!!float 1`): go-yaml refuses it. */
export class TagMismatch extends Error {}

const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** Go's resolve(tag, in) for a scalar; tag is '' for a plain scalar without a tag. */
export function resolveScalar(tag: string, s: string): GoValue {
  if (!RESOLVABLE.has(tag)) return s; // unknown tags (`!foo`) keep the text
  if (tag === STR) return s;
  const v = resolveUntagged(s);
  if (tag !== '') {
    const got = kindTag(v);
    if (got !== tag) throw new TagMismatch(`cannot decode !!${got.slice(TAG_PREFIX.length)} \`${s}\` as a !!${tag.slice(TAG_PREFIX.length)}`);
  }
  return v;
}

function kindTag(v: GoValue): string {
  if (v === null) return TAG_PREFIX + 'null';
  switch (typeof v) {
    case 'boolean':
      return TAG_PREFIX + 'bool';
    case 'bigint':
      return TAG_PREFIX + 'int';
    case 'number':
      return TAG_PREFIX + 'float';
    case 'string':
      return STR;
  }
  return TAG_PREFIX + 'int'; // GoUint64
}

/** A plain scalar's value (Go's resolve with an empty tag). */
export function resolveUntagged(s: string): GoValue {
  const hit = MAP[s];
  if (hit !== undefined) return hit;
  const c = s.charCodeAt(0);
  if (c === 46 /* . */) {
    // ParseFloat takes Go-literal underscores, each one between two digits (`.5_0`).
    if (s.includes('_') && /(?:^|[^0-9])_|_(?:$|[^0-9])/.test(s)) return s;
    return parseFloatGo(s.replace(/_/g, '')) ?? s;
  }
  const digit = c >= 48 && c <= 57;
  if (!digit && c !== 43 && c !== 45) return s; // neither digit nor sign: a string
  // Two dots (an IP address, a version): no integer, float or binary literal has them.
  if (s.indexOf('.') !== s.lastIndexOf('.')) return s;
  const plain = s.includes('_') ? s.replace(/_/g, '') : s;
  const i = parseIntGo(plain);
  if (i !== undefined) return i;
  const u = parseUintGo(plain);
  if (u !== undefined) return new GoUint64(u);
  const f = parseFloatGo(plain);
  if (f !== undefined) return f;
  // go-yaml's own binary fallback, for what strconv refused (e.g. 0b with 64 digits).
  if (plain.startsWith('0b')) {
    const b = parseUintBase(plain.slice(2), 2);
    if (b !== undefined) return b <= INT64_MAX ? b : new GoUint64(b);
  } else if (plain.startsWith('-0b')) {
    const b = parseUintBase(plain.slice(3), 2);
    if (b !== undefined && b <= INT64_MAX) return -b;
  }
  return s;
}

/** strconv.ParseUint(s, 0, 64) without underscores; undefined on a syntax or range error. */
function parseUintGo(s: string): bigint | undefined {
  if (s === '') return undefined;
  if (s[0] === '0') {
    const p = s.length >= 3 ? s[1].toLowerCase() : '';
    if (p === 'b') return parseUintBase(s.slice(2), 2);
    if (p === 'o') return parseUintBase(s.slice(2), 8);
    if (p === 'x') return parseUintBase(s.slice(2), 16);
    return s.length === 1 ? 0n : parseUintBase(s.slice(1), 8);
  }
  return parseUintBase(s, 10);
}

const DIGITS: Record<number, RegExp> = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ };
const RADIX: Record<number, string> = { 2: '0b', 8: '0o', 10: '', 16: '0x' };

function parseUintBase(s: string, base: number): bigint | undefined {
  if (!DIGITS[base].test(s)) return undefined;
  const v = BigInt(RADIX[base] + s);
  return v <= UINT64_MAX ? v : undefined;
}

/** strconv.ParseInt(s, 0, 64). */
function parseIntGo(s: string): bigint | undefined {
  const neg = s[0] === '-';
  const u = parseUintGo(s[0] === '-' || s[0] === '+' ? s.slice(1) : s);
  if (u === undefined) return undefined;
  if (neg) return u <= INT64_MAX + 1n ? -u : undefined;
  return u <= INT64_MAX ? u : undefined;
}

const DECIMAL_FLOAT = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const HEX_FLOAT = /^([+-]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+))[pP]([+-]?[0-9]+)$/;
const INFINITY = /^[+-]?(?:inf|infinity)$/i;

/** strconv.ParseFloat(s, 64): undefined on a syntax error or out of range (go-yaml then keeps a string). */
export function parseFloatGo(s: string): number | undefined {
  if (INFINITY.test(s)) return s[0] === '-' ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  let v: number;
  if (DECIMAL_FLOAT.test(s)) v = Number(s);
  else {
    const m = HEX_FLOAT.exec(s);
    if (m === null) return undefined;
    v = hexFloat(m[2], Number(m[3]));
    if (m[1] === '-') v = -v;
  }
  return Number.isFinite(v) ? v : undefined;
}

/** mantissa (hex digits, optional point) * 2^exp, rounded to nearest even like strconv. */
function hexFloat(digits: string, exp: number): number {
  const dot = digits.indexOf('.');
  const frac = dot < 0 ? 0 : digits.length - dot - 1;
  let mant = BigInt('0x' + (digits.replace('.', '') || '0'));
  let e = exp - 4 * frac;
  if (mant === 0n) return 0;
  // Keep 53 significant bits (fewer for subnormals), rounding half to even with a sticky bit.
  const bits = mant.toString(2).length;
  let keep = 53;
  const top = e + bits - 1; // exponent of the leading bit
  if (top < -1022) keep = Math.max(0, 53 - (-1022 - top));
  if (bits > keep) {
    const drop = BigInt(bits - keep);
    const rem = mant & ((1n << drop) - 1n);
    const half = 1n << (drop - 1n);
    mant >>= drop;
    e += Number(drop);
    if (rem > half || (rem === half && (mant & 1n) === 1n)) mant++;
  }
  if (top > 1023 + 1) return Infinity;
  let v = Number(mant);
  // Scale in steps so neither factor overflows or underflows on the way.
  while (e > 0) {
    const k = Math.min(e, 1000);
    v *= 2 ** k;
    e -= k;
  }
  while (e < 0) {
    const k = Math.min(-e, 1000);
    v /= 2 ** k;
    e += k;
  }
  return v;
}

export const isNonFinite = (v: GoValue): v is number => typeof v === 'number' && !Number.isFinite(v);
