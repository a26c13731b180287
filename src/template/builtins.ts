/**
 * Go 1.19 text/template builtin functions (funcs.go). Parameters of kind 'value' receive Go's
 * reflect.Value: `undefined` is the invalid (zero) Value, `null` a nil interface{}.
 * Errors are thrown as FuncError; the engine reports `error calling NAME: MESSAGE`.
 */
import type { EngineFunc } from './ast';
import { FuncError } from './funcs/types';
import { compareGoStrings, goTypeName, isASCII, isPrint, sprint, sprintf, sprintln, utf8Len } from './fmt';
import { GoStringSlice, isGoMap } from './values';
import type { GoFunc, GoValue } from './values';

type V = GoValue | undefined;

/** indirectInterface: the concrete value inside an interface, or invalid for a nil one. */
function ii(v: V): V {
  return v === null ? undefined : v;
}

/** Go's isTrue (ok is always true for the values of our model). */
export function truth(v: V): boolean {
  switch (typeof v) {
    case 'undefined':
      return false;
    case 'boolean':
      return v;
    case 'string':
      return v.length > 0;
    case 'bigint':
      return v !== 0n;
    case 'number':
      return v !== 0;
    case 'object':
      if (v === null) return false;
      if (Array.isArray(v)) return v.length > 0;
      if (isGoMap(v)) {
        for (const _ in v) return true;
        return false;
      }
      return true;
  }
  return true;
}

// --- index / slice / len --------------------------------------------------------------------------

function indexArg(index: V, cap: number): number {
  let x: bigint;
  if (typeof index === 'bigint') x = index;
  else if (index === undefined || index === null) throw new FuncError('cannot index slice/array with nil');
  else throw new FuncError(`cannot index slice/array with type ${goTypeName(index)}`);
  if (x < 0n || x > BigInt(cap)) throw new FuncError(`index out of range: ${x}`);
  return Number(x);
}

function stringBytes(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

function index(item: V, ...indexes: V[]): V {
  item = ii(item);
  if (item === undefined) throw new FuncError('index of untyped nil');
  for (let idx of indexes) {
    idx = ii(idx);
    if (item === null) throw new FuncError('index of nil pointer');
    if (typeof item === 'string') {
      const ascii = isASCII(item);
      const len: number = ascii ? item.length : utf8Len(item);
      const x = indexArg(idx, len);
      if (x === len) throw new FuncError(`index out of range: ${x}`);
      item = BigInt(ascii ? item.charCodeAt(x) : stringBytes(item)[x]);
    } else if (Array.isArray(item)) {
      const x: number = indexArg(idx, item.length);
      if (x === item.length) throw new FuncError(`index out of range: ${x}`);
      item = item[x];
    } else if (isGoMap(item)) {
      if (idx === undefined) throw new FuncError('value is nil; should be of type string');
      if (typeof idx !== 'string') throw new FuncError(`value has type ${goTypeName(idx)}; should be string`);
      const x: V = item[idx];
      item = x === undefined ? null : x;
    } else {
      throw new FuncError(`can't index item of type ${goTypeName(item)}`);
    }
  }
  return item;
}

function slice(item: V, ...indexes: V[]): V {
  item = ii(item);
  if (item === undefined) throw new FuncError('slice of untyped nil');
  if (indexes.length > 3) throw new FuncError(`too many slice indexes: ${indexes.length}`);
  let cap: number;
  let len: number;
  let bytes: Buffer | null = null;
  if (typeof item === 'string') {
    if (indexes.length === 3) throw new FuncError('cannot 3-index slice a string');
    if (isASCII(item)) cap = len = item.length;
    else {
      bytes = stringBytes(item);
      cap = len = bytes.length;
    }
  } else if (Array.isArray(item)) {
    cap = len = item.length;
  } else {
    throw new FuncError(`can't slice item of type ${goTypeName(item)}`);
  }
  const idx = [0, len, 0];
  for (let i = 0; i < indexes.length; i++) idx[i] = indexArg(ii(indexes[i]), cap);
  if (idx[0] > idx[1]) throw new FuncError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1] > idx[2]) throw new FuncError(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (typeof item === 'string') {
    return bytes ? bytes.subarray(idx[0], idx[1]).toString('utf8') : item.slice(idx[0], idx[1]);
  }
  if (item instanceof GoStringSlice) return GoStringSlice.fromStrings(item.slice(idx[0], idx[1]));
  return (item as GoValue[]).slice(idx[0], idx[1]);
}

function length(item: V): bigint {
  if (item === null) throw new FuncError('len of nil pointer');
  if (item === undefined) throw new FuncError('reflect: call of reflect.Value.Type on zero Value');
  if (typeof item === 'string') return BigInt(isASCII(item) ? item.length : utf8Len(item));
  if (Array.isArray(item)) return BigInt(item.length);
  if (isGoMap(item)) return BigInt(Object.keys(item).length);
  throw new FuncError(`len of type ${goTypeName(item)}`);
}

// --- call -------------------------------------------------------------------------------------

function call(fn: V, ...args: V[]): V {
  fn = ii(fn);
  if (fn === undefined) throw new FuncError('call of nil');
  if (typeof fn !== 'object' || !(fn as GoFunc).__goFunc) throw new FuncError(`non-function of type ${goTypeName(fn)}`);
  return (fn as GoFunc).call(...args.map((a) => (a === undefined ? null : a)));
}

// --- comparisons ------------------------------------------------------------------------------

const enum Kind {
  Invalid,
  Bool,
  Int,
  Float,
  String,
}

function basicKind(v: V): Kind {
  switch (typeof v) {
    case 'boolean':
      return Kind.Bool;
    case 'bigint':
      return Kind.Int;
    case 'number':
      return Kind.Float;
    case 'string':
      return Kind.String;
  }
  return Kind.Invalid;
}

function comparable(v: V): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v !== 'object') return true;
  if (Array.isArray(v) || isGoMap(v) || (v as GoFunc).__goFunc) return false;
  return true;
}

function fmtV(v: V): string {
  return sprint([v]);
}

const errBadComparisonType = 'invalid type for comparison';
const errBadComparison = 'incompatible types for comparison';
const errNoComparison = 'missing argument for comparison';

export function eq(arg1: V, ...arg2: V[]): boolean {
  arg1 = ii(arg1);
  if (arg1 !== undefined && !comparable(arg1)) {
    throw new FuncError(`uncomparable type ${goTypeName(arg1)}: ${fmtV(arg1)}`);
  }
  if (arg2.length === 0) throw new FuncError(errNoComparison);
  const k1 = basicKind(arg1);
  for (let arg of arg2) {
    arg = ii(arg);
    const k2 = basicKind(arg);
    let t = false;
    if (k1 !== k2) {
      if (arg1 !== undefined && arg !== undefined) throw new FuncError(errBadComparison);
    } else if (k1 !== Kind.Invalid) {
      t = arg1 === arg;
    } else if (arg === undefined || arg1 === undefined) {
      t = arg1 === arg;
    } else {
      if (!comparable(arg)) throw new FuncError(`uncomparable type ${goTypeName(arg)}: ${fmtV(arg)}`);
      t = arg1 === arg || ((arg1 as any).__goOpaque && (arg as any).__goOpaque && (arg1 as any).value === (arg as any).value);
    }
    if (t) return true;
  }
  return false;
}

function ne(a: V, b: V): boolean {
  return !eq(a, b);
}

function lt(a: V, b: V): boolean {
  a = ii(a);
  const k1 = basicKind(a);
  if (k1 === Kind.Invalid) throw new FuncError(errBadComparisonType);
  b = ii(b);
  const k2 = basicKind(b);
  if (k2 === Kind.Invalid) throw new FuncError(errBadComparisonType);
  if (k1 !== k2) throw new FuncError(errBadComparison);
  switch (k1) {
    case Kind.Bool:
      throw new FuncError(errBadComparisonType);
    case Kind.String:
      return compareGoStrings(a as string, b as string) < 0;
    default:
      return (a as number) < (b as number);
  }
}

function le(a: V, b: V): boolean {
  return lt(a, b) || eq(a, b);
}

function gt(a: V, b: V): boolean {
  return !le(a, b);
}

function ge(a: V, b: V): boolean {
  return !lt(a, b);
}

// --- escapers -----------------------------------------------------------------------------------

/** evalArgs: fmt.Sprint of the args, with invalid/nil printed as "<no value>". */
function evalArgs(args: V[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args.map((a) => (a === null || a === undefined ? '<no value>' : a)));
}

export function htmlEscapeString(s: string): string {
  if (!/['"&<>\0]/.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    switch (c) {
      case '"':
        out += '&#34;';
        break;
      case "'":
        out += '&#39;';
        break;
      case '&':
        out += '&amp;';
        break;
      case '<':
        out += '&lt;';
        break;
      case '>':
        out += '&gt;';
        break;
      case '\0':
        out += '\uFFFD';
        break;
      default:
        out += c;
    }
  }
  return out;
}

export function jsEscapeString(s: string): string {
  let out = '';
  for (const ch of s) {
    const r = ch.codePointAt(0)!;
    if (r < 0x80) {
      switch (ch) {
        case '\\':
          out += '\\\\';
          continue;
        case "'":
          out += "\\'";
          continue;
        case '"':
          out += '\\"';
          continue;
        case '<':
          out += '\\u003C';
          continue;
        case '>':
          out += '\\u003E';
          continue;
        case '&':
          out += '\\u0026';
          continue;
        case '=':
          out += '\\u003D';
          continue;
      }
      if (r < 0x20) {
        out += '\\u00' + '0123456789ABCDEF'[r >> 4] + '0123456789ABCDEF'[r & 15];
        continue;
      }
      out += ch;
    } else if (isPrint(r)) {
      out += ch;
    } else {
      out += '\\u' + r.toString(16).toUpperCase().padStart(4, '0');
    }
  }
  return out;
}

/** url.QueryEscape */
export function urlQueryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e) {
      out += String.fromCharCode(b);
    } else if (b === 0x20) out += '+';
    else out += '%' + '0123456789ABCDEF'[b >> 4] + '0123456789ABCDEF'[b & 15];
  }
  return out;
}

// --- the builtin table --------------------------------------------------------------------------

const notImpl = (): never => {
  throw new Error('unreachable: and/or are evaluated by the engine');
};

export const builtins: { [name: string]: EngineFunc } = Object.assign(Object.create(null), {
  and: { params: ['value'], variadic: 'value', fn: notImpl },
  or: { params: ['value'], variadic: 'value', fn: notImpl },
  call: { params: ['value'], variadic: 'value', fn: call },
  html: { params: [], variadic: 'any', fn: (...a: V[]) => htmlEscapeString(evalArgs(a)) },
  index: { params: ['value'], variadic: 'value', fn: index },
  slice: { params: ['value'], variadic: 'value', fn: slice },
  js: { params: [], variadic: 'any', fn: (...a: V[]) => jsEscapeString(evalArgs(a)) },
  len: { params: ['value'], fn: length },
  not: { params: ['value'], fn: (a: V) => !truth(ii(a)) },
  print: { params: [], variadic: 'any', fn: (...a: V[]) => sprint(a) },
  printf: { params: ['string'], variadic: 'any', fn: (f: string, ...a: V[]) => sprintf(f, a) },
  println: { params: [], variadic: 'any', fn: (...a: V[]) => sprintln(a) },
  urlquery: { params: [], variadic: 'any', fn: (...a: V[]) => urlQueryEscape(evalArgs(a)) },
  eq: { params: ['value'], variadic: 'value', fn: eq },
  ge: { params: ['value', 'value'], fn: ge },
  gt: { params: ['value', 'value'], fn: gt },
  le: { params: ['value', 'value'], fn: le },
  lt: { params: ['value', 'value'], fn: lt },
  ne: { params: ['value', 'value'], fn: ne },
} satisfies { [name: string]: EngineFunc });
