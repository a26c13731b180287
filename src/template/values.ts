/**
 * The value model shared by the YAML loader, the renderer and the template engine.
 *
 * It mirrors what Go sees after go-yaml v2 / encoding/json decode into interface{}:
 *   Go int / int64      -> JS bigint        (exact 64-bit; YAML integers)
 *   Go float64          -> JS number        (YAML floats, every -A JSON number)
 *   Go string           -> JS string
 *   Go bool             -> JS boolean
 *   Go nil              -> null             (YAML ~/null/empty, missing values)
 *   Go []interface{}    -> GoValue[]
 *   Go map[string]interface{} -> GoMap (a null-prototype object; Go prints/ranges keys sorted)
 * Keeping ints and floats apart matters: Go's `eq 2 2.0` is false and `%v` of 2.0 prints "2".
 */
import type { FuncDef } from './funcs/types';

export type GoMap = { [key: string]: GoValue };
export type GoValue = null | boolean | bigint | number | string | GoValue[] | GoMap | GoFunc | GoOpaque;

/** A Go func value (only produced by the engine; rarely needed). */
export interface GoFunc {
  readonly __goFunc: true;
  call(...args: GoValue[]): GoValue;
}

/**
 * A value of another Go type that some functions return (e.g. []string from `split`, time.Time).
 * `goType` is the Go type name used in error messages and `%T` ("[]string", "int", ...).
 */
export interface GoOpaque {
  readonly __goOpaque: true;
  goType: string;
  value: unknown;
  /**
   * Go methods callable from a template (`$c.Set 1`, `$c.Get`), e.g. dgr's `cell` (*Cell).
   * Each FuncDef is already bound to the receiver. The engine looks methods up before
   * reporting "can't evaluate field X in type <goType>", exactly like Go.
   */
  methods?: { [name: string]: FuncDef };
  /** How fmt prints the value (%v / %s). Defaults to String(value). */
  format?: () => string;
  /** How an action prints the value, when it differs from %v (text/template dereferences pointers). */
  formatDeref?: () => string;
}

export function isGoMap(v: unknown): v is GoMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v as any).__goOpaque && !(v as any).__goFunc;
}

export function newMap(): GoMap {
  return Object.create(null) as GoMap;
}

/**
 * Go's []string (returned by dgr's `split`, required by gtf's `join`). It is a real JS array,
 * so range/index/len work unchanged; `instanceof GoStringSlice` tells it from []interface{}.
 */
export class GoStringSlice extends Array<string> {
  static fromStrings(items: Iterable<string>): GoStringSlice {
    const s = new GoStringSlice();
    for (const i of items) s.push(i);
    return s;
  }
}

/**
 * Go's uint64: go-yaml v2 reads an integer in [2^63, 2^64) as uint64, so `%T` prints "uint64"
 * and `%#v` prints it in hex. JSON and YAML write its digits.
 */
export class GoUint64 implements GoOpaque {
  readonly __goOpaque = true as const;
  readonly goType = 'uint64';
  constructor(readonly value: bigint) {}
  format(): string {
    return this.value.toString();
  }
  marshalJSON(): string {
    return this.value.toString();
  }
}
