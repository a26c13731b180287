/**
 * The data a unit template sees, exactly as GGN built it: the service attributes with the node
 * merged over them, `aciList`, `acis`, `service_nodes` (when the manifest says
 * exposeNodesInUnitEnv), and six derived strings from the JSON of that map (`attributes`,
 * `attributesBase64`, `environmentAttributes[Base64]`, `environmentAttributesVars[Base64]`).
 * The derived strings are costly and most templates never read them, so they are computed on
 * first access.
 */
import { isMapValue } from '../tree/yaml';
import { goJsonMarshalCached, goJsonQuote } from '../template/funcs/gojson';
import { goStringCompare, sortedKeys } from '../template/funcs/goutil';
import { GoMap, GoStringSlice, GoValue } from '../template/values';
import { environmentLines } from './chunks';

/**
 * What every unit of a service shares. Attribute maps are never mutated once loaded, so unit data
 * shares them (only the paths a node overrides are copied) and their JSON is cached by identity.
 */
export interface ServiceDataContext {
  serviceAttributes: GoMap;
  aciList: GoStringSlice;
  acis: string;
  /** All nodes of the service (after '*' expansion), when exposeNodesInUnitEnv is set. */
  serviceNodes?: GoMap[];
  jsonCache: WeakMap<object, string>;
  /** Keys of serviceAttributes, for fast copies. */
  keys: string[];
  /** A new unit map holding serviceAttributes' keys and values (see sharedCopier). */
  newUnitMap: () => GoMap;
  /** `"key":<json>` of each shared top-level value, computed on first use. */
  fragments: Map<string, string>;
  /** The same fragments escaped for a unit (escapeForUnit), computed on first use. */
  escapedFragments: Map<string, string>;
  /** jsonKeys by the node's own keys (nodes of a service mostly have the same ones). */
  keysByOwn: Map<string, string[]>;
  /** Top-level keys every unit has, in Go's JSON order (computed on first use). */
  sortedShared?: string[];
}

export function serviceDataContext(serviceAttributes: GoMap, aciList: string[], serviceNodes?: GoMap[]): ServiceDataContext {
  return {
    serviceAttributes,
    aciList: GoStringSlice.fromStrings(aciList),
    acis: aciList.map((a) => a + ' ').join(''),
    serviceNodes,
    jsonCache: new WeakMap(),
    keys: Object.keys(serviceAttributes),
    newUnitMap: sharedCopier(serviceAttributes),
    fragments: new Map(),
    escapedFragments: new Map(),
    keysByOwn: new Map(),
  };
}

/**
 * `base` with `over` deep-merged on top, copying only the maps on the paths `over` touches.
 * (A loop over known keys copies a null-prototype map about 4x faster than Object.assign.)
 */
export function overlay(base: GoMap, over: GoMap, baseKeys: string[] = Object.keys(base), out = Object.create(null) as GoMap): GoMap {
  for (let i = 0; i < baseKeys.length; i++) out[baseKeys[i]] = base[baseKeys[i]];
  for (const k in over) {
    const o = over[k];
    const b = base[k];
    out[k] = isMapValue(o) && b !== undefined && isMapValue(b) ? overlay(b, o) : o;
  }
  return out;
}

const DERIVED = [
  'attributes',
  'attributesBase64',
  'environmentAttributes',
  'environmentAttributesVars',
  'environmentAttributesBase64',
  'environmentAttributesVarsBase64',
] as const;
type Derived = (typeof DERIVED)[number];

/** Per unit: the JSON and the derived strings, computed on first access. */
class DerivedValues {
  private json?: string;
  private env?: { lines: string; vars: string };
  private env64?: { lines: string; vars: string };
  private escaped?: string;
  private b64?: string;

  constructor(
    private readonly data: GoMap,
    /** User attributes that had one of the derived names: they stay in the JSON, as in GGN. */
    private readonly shadowed: GoMap | undefined,
    private readonly svc: ServiceDataContext,
    /** Top-level keys whose value differs from the shared one (the node's keys). */
    private readonly own: string[],
  ) {}

  private rawJson(): string {
    if (this.json !== undefined) return this.json;
    if (this.shadowed === undefined) return (this.json = this.jsonFromFragments());
    const cache = this.svc.jsonCache;
    const m = this.data;
    const keys = sortedKeys(m).filter((k) => !IS_DERIVED.has(k) || (this.shadowed !== undefined && k in this.shadowed));
    let out = '{';
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const v = this.shadowed !== undefined && k in this.shadowed ? this.shadowed[k] : m[k];
      out += (i > 0 ? ',' : '') + goJsonQuote(k) + ':' + goJsonMarshalCached(v, cache);
    }
    return (this.json = out + '}');
  }

  /**
   * The same JSON, built from the service's cached `"key":value` fragments for every top-level
   * value the unit shares, and fresh ones only for the node's own keys. `escaped`: each fragment
   * through escapeForUnit, which gives escapeForUnit of the whole JSON (no `\"` or `'` can span two
   * fragments: a value never ends with a backslash, and `,` or `}` joins them), without escaping
   * the shared part again for every unit.
   */
  private jsonFromFragments(escaped = false): string {
    const m = this.data;
    const svc = this.svc;
    const cache = svc.jsonCache;
    const fragments = escaped ? svc.escapedFragments : svc.fragments;
    // Joined once (a flat string), not appended to (a rope flattened again by every reader).
    const parts: string[] = [];
    for (const k of this.jsonKeys()) {
      const own = this.own.includes(k);
      let frag = own ? undefined : fragments.get(k);
      if (frag === undefined) {
        frag = goJsonQuote(k) + ':' + goJsonMarshalCached(m[k], cache);
        if (escaped) frag = escapeForUnit(frag);
        if (!own) fragments.set(k, frag);
      }
      parts.push(frag);
    }
    return '{' + parts.join(',') + '}';
  }

  /** Sorted top-level keys without the derived ones: the service's shared keys merged with the node's. */
  private jsonKeys(): string[] {
    const svc = this.svc;
    if (!svc.sortedShared) {
      const shared = [...svc.keys, 'aciList', 'acis', ...(svc.serviceNodes ? ['service_nodes'] : [])];
      svc.sortedShared = [...new Set(shared)].filter((k) => !IS_DERIVED.has(k)).sort(goStringCompare);
    }
    const id = JSON.stringify(this.own);
    let out = svc.keysByOwn.get(id);
    if (out === undefined)
      svc.keysByOwn.set(
        id,
        (out = mergeKeys(
          svc.sortedShared,
          this.own.filter((k) => !IS_DERIVED.has(k) && !svc.keys.includes(k)),
        )),
      );
    return out;
  }

  get(key: Derived): string {
    switch (key) {
      case 'attributes':
        return (this.escaped ??= this.shadowed === undefined ? this.jsonFromFragments(true) : escapeForUnit(this.rawJson()));
      case 'attributesBase64':
        return (this.b64 ??= 'base64,' + Buffer.from(this.rawJson(), 'utf8').toString('base64'));
      case 'environmentAttributes':
        return (this.env ??= environmentLines(this.get('attributes'), 'ATTR_')).lines;
      case 'environmentAttributesVars':
        return (this.env ??= environmentLines(this.get('attributes'), 'ATTR_')).vars;
      case 'environmentAttributesBase64':
        return (this.env64 ??= environmentLines(this.get('attributesBase64'), 'ATTR_BASE64_')).lines;
      case 'environmentAttributesVarsBase64':
        return (this.env64 ??= environmentLines(this.get('attributesBase64'), 'ATTR_BASE64_')).vars;
    }
  }
}

const IS_DERIVED = new Set<string>(DERIVED);

/**
 * A unit's top-level map. Object.create(null) maps are hash tables in V8 (a 50-key one, grown
 * step by step, was most of the bytes allocated per unit); objects made by one constructor and
 * filled in the same key order share a shape and are compact. Its prototype is a null-prototype
 * object, so it still has no inherited keys (`'toString' in data` is false), like newMap().
 */
const NO_INHERITED_KEYS = Object.create(null) as object;
const UnitMap = function UnitMap() {} as unknown as new () => GoMap;
UnitMap.prototype = NO_INHERITED_KEYS;

/**
 * A constructor made for the service (once, for all its units) that stores each of its
 * attributes' keys by name, in order: V8 then gives every unit's map the same compact shape, and a
 * copy is a run of plain stores instead of a loop of keyed ones (which turns a map of more than a
 * few dozen keys into a hash table). Services with very many keys use the loop.
 */
function sharedCopier(base: GoMap): () => GoMap {
  const keys = Object.keys(base);
  const values = keys.map((k) => base[k]);
  if (keys.length > 500) {
    return () => {
      const out = new UnitMap();
      for (let i = 0; i < keys.length; i++) out[keys[i]] = values[i];
      return out;
    };
  }
  const body = keys.map((k, i) => `this[${JSON.stringify(k)}] = v[${i}];`).join('\n');
  const Ctor = new Function('v', body) as unknown as new (v: GoValue[]) => GoMap;
  Ctor.prototype = NO_INHERITED_KEYS;
  return () => new Ctor(values);
}

/** The service's sorted keys with the node's own (not sorted yet) merged in, in Go's order. */
function mergeKeys(shared: string[], ownKeys: string[]): string[] {
  const own = ownKeys.sort(goStringCompare);
  if (own.length === 0) return shared;
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < shared.length || j < own.length) {
    if (j >= own.length || (i < shared.length && goStringCompare(shared[i], own[j]) < 0)) out.push(shared[i++]);
    else out.push(own[j++]);
  }
  return out;
}

export function buildUnitData(svc: ServiceDataContext, node: GoMap): GoMap {
  const data = overlay(svc.serviceAttributes, node, [], svc.newUnitMap());
  data.aciList = svc.aciList;
  data.acis = svc.acis;
  if (svc.serviceNodes) data.service_nodes = svc.serviceNodes;
  let shadowed: GoMap | undefined;
  for (const k of DERIVED) {
    if (k in data) (shadowed ??= Object.create(null) as GoMap)[k] = data[k];
  }
  (data as unknown as { [DERIVED_OF]: DerivedValues })[DERIVED_OF] = new DerivedValues(data, shadowed, svc, Object.keys(node));
  for (const key of DERIVED) Object.defineProperty(data, key, DESCRIPTORS[key]);
  return data;
}

/**
 * The unit's DerivedValues, under a symbol (not a key the template or the JSON can see), so the
 * getters and their descriptors are the same for every unit: no six closures per unit.
 */
const DERIVED_OF = Symbol('derived');
const DESCRIPTORS = Object.fromEntries(
  DERIVED.map((key) => [
    key,
    {
      enumerable: true,
      configurable: true,
      get(this: { [DERIVED_OF]: DerivedValues }): string {
        return this[DERIVED_OF].get(key);
      },
    },
  ]),
) as Record<Derived, PropertyDescriptor>;

/** GGN's escaping of the JSON for a unit: every `\"` becomes `\\\"` and every `'` becomes `\'`. */
export function escapeForUnit(json: string): string {
  return json.replace(/\\"/g, '\\\\\\"').replace(/'/g, "\\'");
}
