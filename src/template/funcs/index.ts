/**
 * GGN's template FuncMap: dgr's TemplateFunctions, then gtf's GtfFuncMap merged over them
 * (GGN calls `.Funcs(dgr).Funcs(gtf.GtfFuncMap)`), so gtf wins on a name clash
 * (`join`, `replace`). These entries also override text/template builtins of the same name:
 * dgr's `eq` (variadic, any-of) and gtf's `slice`.
 */
import type { FuncMap } from './types';
import { dgrFuncs } from './dgr';
import { gtfFuncs } from './gtf';

export { FuncError } from './types';
export type { FuncDef, FuncMap, ParamKind } from './types';
export { goJsonMarshal, goJsonUnmarshal, goJsonQuote, GoJsonError } from './gojson';
export { goYamlMarshal } from './goyaml';
export { GoCell, hasMethods } from './cell';
export type { GoMethodHolder } from './cell';
export { dgrFuncs } from './dgr';
export { gtfFuncs } from './gtf';
export { sortedKeys, goStringCompare, deepEqual, formatFloatG, goTypeName, goKind } from './goutil';

let cached: FuncMap | null = null;

/** The function map GGN gives every template (built once). */
export function ggnFuncs(): FuncMap {
  if (cached === null) {
    const m: FuncMap = Object.create(null);
    Object.assign(m, dgrFuncs());
    Object.assign(m, gtfFuncs());
    cached = Object.freeze(m) as FuncMap;
  }
  return cached;
}
