import type { GoValue } from '../values';

/**
 * The Go parameter type a template function declares. The engine converts and checks every
 * argument against it exactly as Go's text/template does through reflection, and reports Go's
 * message on mismatch ("wrong type for value; expected string; got int").
 *   any        interface{}: untyped constants become int (bigint) or float64 (number)
 *   string     string
 *   int        int (bigint); untyped integer constants convert, floats do not
 *   float      float64 (number); untyped numeric constants convert
 *   bool       bool
 *   stringList []string (GoStringSlice)
 *   list       []interface{} (a plain array)
 *   map        map[string]interface{}
 */
export type ParamKind = 'any' | 'string' | 'int' | 'float' | 'bool' | 'stringList' | 'list' | 'map';

export interface FuncDef {
  /** Declared parameter types, in order. */
  params: ParamKind[];
  /** Type of the trailing variadic parameter, if the Go function is variadic. */
  variadic?: ParamKind;
  /**
   * The implementation. Runtime errors (Go's returned `error`, or a panic that Go's template
   * engine turns into "error calling NAME: ...") are signalled by throwing a FuncError.
   */
  fn: (...args: GoValue[]) => GoValue;
}

/** Thrown by a template function; the engine reports `error calling <name>: <message>`. */
export class FuncError extends Error {}

export type FuncMap = Record<string, FuncDef>;

/** A function refused to build a string over the execution's size limit (never recovered). */
export class LimitError extends FuncError {}
