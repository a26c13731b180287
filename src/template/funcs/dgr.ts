/**
 * dgr's template functions (github.com/blablacar/dgr/bin-templater/template, TemplateFunctions),
 * as vendored by GGN. Parameter kinds mirror the Go signatures; Go errors and recovered panics
 * are thrown as FuncError with Go's message.
 */
import { GoStringSlice, isGoMap } from '../values';
import type { GoMap, GoValue } from '../values';
import { FuncError, LimitError } from './types';
import { currentLimits } from '../limits';
import type { FuncDef, FuncMap } from './types';
import { GoCell } from './cell';
import { GoJsonError, goJsonMarshal, goJsonUnmarshal } from './gojson';
import { GoYamlError, goYamlMarshal } from './goyaml';
import { NIL_DEREF, deepEqual, goKind, goPathBase, goPathDir, goStringCompare, goToLower, goToUpper, goTypeName, reflectCallError } from './goutil';

const I64 = (x: bigint): bigint => BigInt.asIntN(64, x);

function rethrow(e: unknown): never {
  if (e instanceof GoJsonError || e instanceof GoYamlError) throw new FuncError(e.message);
  if (e instanceof RangeError) throw new FuncError('runtime error: ' + e.message);
  throw e;
}

/** strings.Split */
function goSplit(s: string, sep: string): GoStringSlice {
  if (sep === '') return GoStringSlice.fromStrings(Array.from(s));
  return GoStringSlice.fromStrings(s.split(sep));
}

/** strings.Repeat */
function goRepeat(s: string, count: bigint): string {
  if (count < 0n) throw new FuncError('strings: negative Repeat count');
  if (count === 0n || s === '') return '';
  if (BigInt(s.length) * count > 0x1fffffe8n) throw new FuncError('strings: Repeat output length overflow');
  // checked before allocating: the result would be refused after the call anyway
  const { maxString, what } = currentLimits();
  if (BigInt(s.length) * count > BigInt(Math.min(maxString, 0x1fffffe8))) {
    throw new LimitError(`its result (${BigInt(s.length) * count} characters) would be larger than ${what}`);
  }
  return s.repeat(Number(count));
}

/** Sorted key list used by isMapFirst / isMapLast (sort.Strings: byte order). */
function sortedMapKeys(data: GoValue): string[] | null {
  if (data === null || data === undefined) throw new FuncError(NIL_DEREF);
  if (goKind(data) !== 'map') return null;
  if (!isGoMap(data)) return []; // opaque map types: none in practice
  return Object.keys(data).sort(goStringCompare);
}

function isMapFirst(data: GoValue, element: GoValue): boolean {
  const keys = sortedMapKeys(data);
  if (keys === null) return false;
  if (keys.length === 0) throw new FuncError('runtime error: index out of range [0] with length 0');
  return typeof element === 'string' && keys[0] === element;
}

function isMapLast(data: GoValue, element: GoValue): boolean {
  const keys = sortedMapKeys(data);
  if (keys === null) return false;
  if (keys.length === 0) throw new FuncError('runtime error: index out of range [-1]');
  return typeof element === 'string' && keys[keys.length - 1] === element;
}

function howDeepIsIt(data: GoValue, element: GoValue, deep: bigint): bigint {
  if (element === null || element === undefined) throw new FuncError(NIL_DEREF);
  if (goKind(element) !== 'map') return deep;
  if (goKind(data) !== 'map') throw new FuncError(reflectCallError('reflect.Value.MapKeys', data));
  if (!isGoMap(data)) return deep;
  // Go ranges MapKeys in random order; use sorted order to be deterministic.
  for (const k of Object.keys(data).sort(goStringCompare)) {
    const item = (data as GoMap)[k];
    if (deepEqual(item, element)) return deep + 1n;
    if (goKind(item) === 'map') {
      const index = howDeepIsIt(item, element, deep + 1n);
      if (index === deep + 2n) return index;
    }
  }
  return deep;
}

/** dgr's eq: basic types compare with ==, anything else with reflect.DeepEqual. */
function dgrEq(...args: GoValue[]): boolean {
  if (args.length === 0) return false;
  const x = args[0];
  const t = typeof x;
  if (t === 'string' || t === 'bigint' || t === 'number') {
    for (let i = 1; i < args.length; i++) if (x === args[i]) return true;
    return false;
  }
  for (let i = 1; i < args.length; i++) if (deepEqual(x, args[i])) return true;
  return false;
}

function isNilValue(v: GoValue): boolean {
  return v === null || v === undefined;
}

const p = (params: FuncDef['params'], fn: FuncDef['fn'], variadic?: FuncDef['variadic']): FuncDef => (variadic ? { params, variadic, fn } : { params, fn });

function buildDgrFuncs(): FuncMap {
  const m: FuncMap = Object.create(null);

  m.base = p(['string'], (s) => goPathBase(s as string));
  m.split = p(['string', 'string'], (s, sep) => goSplit(s as string, sep as string));
  m.json = p(['string'], (s) => {
    try {
      return goJsonUnmarshal(s as string, 'object');
    } catch (e) {
      rethrow(e);
    }
  });
  m.jsonArray = p(['string'], (s) => {
    try {
      return goJsonUnmarshal(s as string, 'array');
    } catch (e) {
      rethrow(e);
    }
  });
  m.dir = p(['string'], (s) => goPathDir(s as string));
  m.getenv = p(['string'], (k) => process.env[k as string] ?? '');
  // strings.Join(elems []string, sep string) -- overridden by gtf's join in GGN.
  m.join = p(['stringList', 'string'], (list, sep) => (list as string[]).join(sep as string));
  m.datetime = p([], () => goTimeNow());
  m.toUpper = p(['string'], (s) => goToUpper(s as string));
  m.toLower = p(['string'], (s) => goToLower(s as string));
  m.contains = p(['string', 'string'], (s, sub) => (s as string).includes(sub as string));
  // strings.Replace(s, old, new string, n int) -- overridden by gtf's replace in GGN.
  m.replace = p(['string', 'string', 'string', 'int'], (s, o, n, count) => goReplace(s as string, o as string, n as string, count as bigint));
  m.repeat = p(['string', 'int'], (s, n) => goRepeat(s as string, n as bigint));
  m.hasPrefix = p(['string', 'string'], (s, x) => (s as string).startsWith(x as string));
  m.hasSuffix = p(['string', 'string'], (s, x) => (s as string).endsWith(x as string));
  m.orDef = p(['any', 'any'], (v, d) => (isNilValue(v) ? d : v));
  m.orDefs = p(['list', 'any'], (v, d) => {
    const list = v as GoValue[] | null;
    if (list !== null && list !== undefined && list.length !== 0) return list;
    return [d];
  });
  m.ifOrDef = p(['any', 'any', 'any'], (c, yes, no) => (isNilValue(c) ? no : yes));
  m.isType = p(['any', 'string'], (v, t) => {
    const name = goTypeName(v);
    return name !== null && name === t;
  });
  m.isMap = p(['any'], (v) => goKind(v) === 'map');
  m.isArray = p(['any'], (v) => {
    const k = goKind(v);
    return k === 'slice' || k === 'array';
  });
  m.isKind = p(['any', 'string'], (v, t) => !isNilValue(v) && goKind(v) === t);
  m.isString = p(['any'], (v) => typeof v === 'string');
  m.isMapFirst = p(['any', 'any'], (d, e) => isMapFirst(d, e));
  m.isNil = p(['any'], (v) => isNilValue(v));
  m.isMapLast = p(['any', 'any'], (d, e) => isMapLast(d, e));
  m.howDeep = p(['any', 'any'], (d, e) => howDeepIsIt(d, e, 0n));
  m.add = p(['int', 'int'], (x, y) => I64((x as bigint) + (y as bigint)));
  m.mul = p(['int', 'int'], (x, y) => I64((x as bigint) * (y as bigint)));
  m.div = p(['int', 'int'], (x, y) => {
    if (y === 0n) throw new FuncError('runtime error: integer divide by zero');
    return I64((x as bigint) / (y as bigint));
  });
  m.sub = p(['int', 'int'], (x, y) => I64((x as bigint) - (y as bigint)));
  m.mod = p(['int', 'int'], (x, y) => {
    if (y === 0n) throw new FuncError('runtime error: integer divide by zero');
    return I64((x as bigint) % (y as bigint));
  });
  m.toJson = p(['any'], (v) => {
    try {
      return goJsonMarshal(v, '  ');
    } catch (e) {
      rethrow(e);
    }
  });
  m.toYaml = p(['any'], (v) => {
    try {
      return goYamlMarshal(v);
    } catch (e) {
      rethrow(e);
    }
  });
  m.cell = p(
    [],
    (...args) => {
      if (args.length > 1) throw new FuncError(`wrong number of args: want 0 or 1, got ${args.length}`);
      return new GoCell(args.length === 1 ? args[0] : null);
    },
    'any',
  );
  m.eq = p([], (...args) => dgrEq(...args), 'any');

  m.IsMapFirst = m.isMapFirst;
  m.IsMapLast = m.isMapLast;
  m.HowDeep = m.howDeep;
  return m;
}

/** time.Now() as an opaque time.Time (printed like Go's Time.String, without the m=± part). */
function goTimeNow(): GoValue {
  const d = new Date();
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const zone = (off >= 0 ? '+' : '-') + pad(Math.floor(Math.abs(off) / 60)) + pad(Math.abs(off) % 60);
  const frac = d.getMilliseconds() ? '.' + pad(d.getMilliseconds(), 3).replace(/0+$/, '') : '';
  const text =
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${frac} ${zone}` +
    (off === 0 ? ' UTC' : '');
  return { __goOpaque: true, goType: 'time.Time', value: d, format: () => text };
}

/** strings.Replace */
export function goReplace(s: string, old: string, nw: string, n: bigint): string {
  if (old === nw || n === 0n) return s;
  if (old === '') {
    // Inserts `nw` before each rune and at the end, up to n times.
    const runes = Array.from(s);
    let out = '';
    let done = 0n;
    for (let i = 0; i <= runes.length; i++) {
      if (n < 0n || done < n) {
        out += nw;
        done++;
      }
      if (i < runes.length) out += runes[i];
    }
    return out;
  }
  if (n < 0n) return s.split(old).join(nw);
  let out = '';
  let pos = 0;
  let done = 0n;
  while (done < n) {
    const i = s.indexOf(old, pos);
    if (i < 0) break;
    out += s.slice(pos, i) + nw;
    pos = i + old.length;
    done++;
  }
  return out + s.slice(pos);
}

let cached: FuncMap | null = null;

/** dgr's TemplateFunctions map (without gtf). */
export function dgrFuncs(): FuncMap {
  if (cached === null) cached = buildDgrFuncs();
  return cached;
}
