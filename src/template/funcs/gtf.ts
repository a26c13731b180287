/**
 * gtf's filters (github.com/leekchan/gtf, GtfFuncMap of the version vendored by GGN: plain
 * names, every function with `defer recovery()`). A panic inside a gtf function is swallowed
 * and the function returns the zero value of its Go result type ("" / 0 / false / nil).
 * Reflect-based functions switch on the Go kind: bigint is an int kind, number a float kind.
 */
import { GoStringSlice } from '../values';
import type { GoValue } from '../values';
import { LimitError } from './types';
import type { FuncDef, FuncMap, ParamKind } from './types';
import { currentLimits } from '../limits';
import { formatFloatFixed, goFields, goKind, goToLower, goToUpper, goTrimSpace, runeCount } from './goutil';

/** Signals a Go panic inside a gtf function (recovered into the zero value). */
class GoPanic extends Error {}

type Zero = '' | 0n | false | null;

function recovered(params: ParamKind[], zero: Zero, fn: (...args: any[]) => GoValue): FuncDef {
  return {
    params,
    fn: (...args: GoValue[]) => {
      try {
        return fn(...args);
      } catch (e) {
        if (e instanceof LimitError) throw e; // a size limit is ggn's, not a Go panic
        return zero;
      }
    },
  };
}

const panic = (): never => {
  throw new GoPanic('panic');
};

function isIntKind(v: GoValue): v is bigint {
  return typeof v === 'bigint';
}
function isFloatKind(v: GoValue): v is number {
  return typeof v === 'number';
}

/** reflect Len for slice/array/map values; null when the kind has no length. */
function reflectLen(v: GoValue): number | null {
  const k = goKind(v);
  if (k === 'slice' || k === 'array') return (v as GoValue[]).length;
  if (k === 'map') return v !== null && typeof v === 'object' && !(v as any).__goOpaque ? Object.keys(v).length : 0;
  return null;
}

/** net/url.QueryEscape */
export function goQueryEscape(s: string): string {
  const bytes = Buffer.from(s, 'utf8');
  let out = '';
  for (const b of bytes) {
    if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x5f || b === 0x2e || b === 0x7e) {
      out += String.fromCharCode(b);
    } else if (b === 0x20) {
      out += '+';
    } else {
      out += '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
    }
  }
  return out;
}

/**
 * gtf capfirst: upper-cases the first character. GGN upper-cased the first *byte*, which broke
 * a multi-byte character into invalid UTF-8; ggn keeps the character whole (README).
 */
function capfirst(s: string): string {
  if (s.length === 0) return panic();
  const first = String.fromCodePoint(s.codePointAt(0)!);
  return goToUpper(first) + s.slice(first.length);
}

function truncatechars(n: bigint, s: string): string {
  if (n < 0n) return s;
  const r = Array.from(s);
  const len = BigInt(r.length);
  if (n >= len) return s;
  const k = Number(n);
  if (n > 3n && len > 3n) return r.slice(0, k - 3).join('') + '...';
  return r.slice(0, k).join('');
}

function pad(arg: bigint, value: string, mode: 'r' | 'l' | 'c'): string {
  const n = arg - BigInt(runeCount(value));
  if (n > 0n) {
    if (n > 0x1fffffe8n) return panic();
    const { maxString, what } = currentLimits();
    if (n > BigInt(Math.min(maxString, 0x1fffffe8))) throw new LimitError(`its result (${n} spaces) would be larger than ${what}`);
    const k = Number(n);
    if (mode === 'r') return ' '.repeat(k) + value;
    if (mode === 'l') return value + ' '.repeat(k);
    const left = Math.floor(k / 2);
    return ' '.repeat(left) + value + ' '.repeat(k - left);
  }
  return value;
}

function filesizeformat(value: GoValue): string {
  let size: number;
  if (isIntKind(value)) size = Number(value);
  else if (isFloatKind(value)) size = value;
  else return '';
  const KB = 1024;
  const MB = KB * 1024;
  const GB = MB * 1024;
  const TB = GB * 1024;
  const PB = TB * 1024;
  const fmt = (f: number, suffix: string) => (formatFloatFixed(f, 1) + ' ' + suffix).split('.0').join('');
  if (size < KB) return fmt(size, 'bytes');
  if (size < MB) return fmt(size / KB, 'KB');
  if (size < GB) return fmt(size / MB, 'MB');
  if (size < TB) return fmt(size / GB, 'GB');
  if (size < PB) return fmt(size / TB, 'TB');
  return fmt(size / PB, 'PB');
}

const AP_NAMES = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', ''];

function apnumber(value: GoValue): GoValue {
  if (isIntKind(value) && value < 10n) {
    if (value - 1n < 0n) return panic();
    return AP_NAMES[Number(value - 1n)];
  }
  return value;
}

function intcomma(value: GoValue): string {
  if (!isIntKind(value)) return '';
  const minus = value < 0n;
  let x = minus ? -value : value;
  let result = '';
  while (x >= 1000n) {
    result = ',' + (x % 1000n).toString().padStart(3, '0') + result;
    x /= 1000n;
  }
  result = x.toString() + result;
  return minus ? '-' + result : result;
}

const ORD_SUFFIXES = ['th', 'st', 'nd', 'rd', 'th', 'th', 'th', 'th', 'th', 'th'];

function ordinal(value: GoValue): string {
  if (!isIntKind(value)) return '';
  if (value < 0n) return '';
  const m100 = value % 100n;
  if (m100 === 11n || m100 === 12n || m100 === 13n) return value.toString() + ORD_SUFFIXES[0];
  return value.toString() + ORD_SUFFIXES[Number(value % 10n)];
}

function firstOrLast(value: GoValue, last: boolean): GoValue {
  if (typeof value === 'string') {
    const r = Array.from(value);
    if (r.length === 0) return panic();
    return last ? r[r.length - 1] : r[0];
  }
  const k = goKind(value);
  if (k === 'slice' || k === 'array') {
    const a = value as GoValue[];
    if (a.length === 0) return panic();
    return last ? a[a.length - 1] : a[0];
  }
  return '';
}

function slice(startArg: bigint, endArg: bigint, value: GoValue): GoValue {
  const start = startArg < 0n ? 0n : startArg;
  let end = endArg;
  if (typeof value === 'string') {
    const r = Array.from(value);
    if (end > BigInt(r.length)) end = BigInt(r.length);
    if (end < 0n || start > end) return panic();
    return r.slice(Number(start), Number(end)).join('');
  }
  if (goKind(value) === 'slice') {
    const a = value as GoValue[];
    if (end < 0n || end > BigInt(a.length) || start > end) return panic();
    const part = a.slice(Number(start), Number(end));
    return a instanceof GoStringSlice ? GoStringSlice.fromStrings(part as string[]) : part;
  }
  return '';
}

function random(value: GoValue): GoValue {
  if (typeof value === 'string') {
    const r = Array.from(value);
    if (r.length === 0) return panic();
    return r[Math.floor(Math.random() * r.length)];
  }
  const k = goKind(value);
  if (k === 'slice' || k === 'array') {
    const a = value as GoValue[];
    if (a.length === 0) return panic();
    return a[Math.floor(Math.random() * a.length)];
  }
  return '';
}

function gtfDefault(arg: GoValue, value: GoValue): GoValue {
  const k = goKind(value);
  if (k === 'string') return (value as string).length === 0 ? arg : value;
  if (k === 'slice' || k === 'array' || k === 'map') return reflectLen(value) === 0 ? arg : value;
  if (k === 'bool') return value === false ? arg : value;
  return value;
}

function length(value: GoValue): bigint {
  if (typeof value === 'string') return BigInt(runeCount(value));
  const n = reflectLen(value);
  return n === null ? 0n : BigInt(n);
}

function lengthis(arg: bigint, value: GoValue): boolean {
  if (typeof value === 'string') return BigInt(runeCount(value)) === arg;
  const n = reflectLen(value);
  return n === null ? false : BigInt(n) === arg;
}

function toFloat(v: GoValue): number | null {
  if (isIntKind(v)) return Number(v);
  if (isFloatKind(v)) return v;
  return null;
}

function divisibleby(arg: GoValue, value: GoValue): boolean {
  const v = toFloat(value);
  if (v === null) return false;
  const a = toFloat(arg);
  if (a === null) return false;
  return v % a === 0; // math.Mod semantics (NaN for a == 0)
}

function pluralize(arg: string, value: GoValue): string {
  if (!isIntKind(value)) return '';
  const flag = value === 1n;
  if (!arg.includes(',')) arg = ',' + arg;
  const bits = arg.split(',');
  if (bits.length > 2) return '';
  return flag ? bits[0] : bits[1];
}

const STRIPTAGS = /<[^>]*?>/g;

function buildGtfFuncs(): FuncMap {
  const m: FuncMap = Object.create(null);
  m.replace = recovered(['string', 'string'], '', (s1: string, s2: string) => (s1 === '' ? s2 : s2.split(s1).join('')));
  m.default = recovered(['any', 'any'], null, gtfDefault);
  m.length = recovered(['any'], 0n, length);
  m.lower = recovered(['string'], '', (s: string) => goToLower(s));
  m.upper = recovered(['string'], '', (s: string) => goToUpper(s));
  m.truncatechars = recovered(['int', 'string'], '', truncatechars);
  m.urlencode = recovered(['string'], '', goQueryEscape);
  m.wordcount = recovered(['string'], 0n, (s: string) => BigInt(goFields(s).length));
  m.divisibleby = recovered(['any', 'any'], false, divisibleby);
  m.lengthis = recovered(['int', 'any'], false, lengthis);
  m.trim = recovered(['string'], '', goTrimSpace);
  m.capfirst = recovered(['string'], '', capfirst);
  m.pluralize = recovered(['string', 'any'], '', pluralize);
  m.yesno = recovered(['string', 'string', 'bool'], '', (yes: string, no: string, v: boolean) => (v ? yes : no));
  m.rjust = recovered(['int', 'string'], '', (n: bigint, s: string) => pad(n, s, 'r'));
  m.ljust = recovered(['int', 'string'], '', (n: bigint, s: string) => pad(n, s, 'l'));
  m.center = recovered(['int', 'string'], '', (n: bigint, s: string) => pad(n, s, 'c'));
  m.filesizeformat = recovered(['any'], '', filesizeformat);
  m.apnumber = recovered(['any'], null, apnumber);
  m.intcomma = recovered(['any'], '', intcomma);
  m.ordinal = recovered(['any'], '', ordinal);
  m.first = recovered(['any'], null, (v: GoValue) => firstOrLast(v, false));
  m.last = recovered(['any'], null, (v: GoValue) => firstOrLast(v, true));
  m.join = recovered(['string', 'stringList'], '', (sep: string, list: string[]) => list.join(sep));
  m.slice = recovered(['int', 'int', 'any'], null, slice);
  m.random = recovered(['any'], null, random);
  m.striptags = recovered(['string'], '', (s: string) => goTrimSpace(s.replace(STRIPTAGS, '')));
  return m;
}

let cached: FuncMap | null = null;

/** gtf's GtfFuncMap. */
export function gtfFuncs(): FuncMap {
  if (cached === null) cached = buildGtfFuncs();
  return cached;
}
