/**
 * dgr's `*template.Cell` (returned by `cell`): a mutable box with the methods
 * `Set(v interface{}) *Cell` and `Get() interface{}`.
 *
 * Method-call convention for the engine: a GoOpaque may carry `methods`, a table of FuncDefs
 * keyed by Go method name. `{{$c.Set 1}}` / `{{$c.Get}}` call `methods.Set.fn(1)` /
 * `methods.Get.fn()` with the same argument checking as functions.
 */
import type { GoOpaque, GoValue } from '../values';
import type { FuncDef } from './types';

export interface GoMethodHolder {
  readonly methods: Readonly<Record<string, FuncDef>>;
}

export class GoCell implements GoOpaque, GoMethodHolder {
  readonly __goOpaque = true as const;
  readonly goType = '*template.Cell';
  /** The boxed value (Go's unexported field `v`). */
  value: GoValue;
  readonly methods: Readonly<Record<string, FuncDef>>;

  /** Go prints a *Cell with %v as `&{<value>}`. */
  format(): string {
    // Loaded lazily: the engine's fmt module imports the value model, not the functions.
    const { formatValue } = require('../fmt') as { formatValue(v: GoValue): string };
    return '&{' + formatValue(this.value) + '}';
  }

  /** An action `{{$c}}` prints `{<value>}`: text/template dereferences a pointer before printing. */
  formatDeref(): string {
    return this.format().slice(1);
  }

  constructor(v: GoValue = null) {
    this.value = v;
    this.methods = {
      Set: {
        params: ['any'],
        fn: (x: GoValue) => {
          this.value = x;
          return this;
        },
      },
      Get: { params: [], fn: () => this.value },
    };
  }
}

/** Whether a value carries Go methods (GoCell and other opaque values with a method table). */
export function hasMethods(v: unknown): v is GoMethodHolder {
  return typeof v === 'object' && v !== null && typeof (v as any).methods === 'object' && (v as any).methods !== null;
}
