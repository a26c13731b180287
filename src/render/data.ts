/**
 * The data a unit template sees, exactly as GGN built it: the service attributes with the node
 * merged over them, `aciList`, `acis`, `service_nodes` (when the manifest says
 * exposeNodesInUnitEnv), and six derived strings from the JSON of that map (`attributes`,
 * `attributesBase64`, `environmentAttributes[Base64]`, `environmentAttributesVars[Base64]`).
 * The derived strings are costly and most templates never read them, so they are computed on
 * first access.
 */
import { deepClone, mergeInto } from '../tree/attributes';
import { goJsonMarshal } from '../template/funcs/gojson';
import { GoMap, GoStringSlice, GoValue } from '../template/values';
import { environmentLines } from './chunks';

export interface UnitDataInput {
  serviceAttributes: GoMap;
  node: GoMap;
  aciList: string[];
  /** All nodes of the service (after '*' expansion), when exposeNodesInUnitEnv is set. */
  serviceNodes?: GoMap[];
}

export function buildUnitData(input: UnitDataInput): GoMap {
  const base = deepClone(input.serviceAttributes) as GoMap;
  mergeInto(base, input.node);
  base.aciList = GoStringSlice.fromStrings(input.aciList);
  base.acis = input.aciList.map((a) => a + ' ').join('');
  if (input.serviceNodes) base.service_nodes = input.serviceNodes.map((n) => deepClone(n));
  // The six derived keys are not part of the JSON: marshal `base`, expose `data` (base + keys).
  const data: GoMap = Object.assign(Object.create(null) as GoMap, base);

  let json: string | undefined;
  const rawJson = () => (json ??= goJsonMarshal(base));
  let env: ReturnType<typeof environmentLines> | undefined;
  let env64: ReturnType<typeof environmentLines> | undefined;
  const attributes = () => escapeForUnit(rawJson());
  const attributesBase64 = () => 'base64,' + Buffer.from(rawJson(), 'utf8').toString('base64');
  const derived: Record<string, () => GoValue> = {
    attributes,
    attributesBase64,
    environmentAttributes: () => (env ??= environmentLines(attributes(), 'ATTR_')).lines,
    environmentAttributesVars: () => (env ??= environmentLines(attributes(), 'ATTR_')).vars,
    environmentAttributesBase64: () => (env64 ??= environmentLines(attributesBase64(), 'ATTR_BASE64_')).lines,
    environmentAttributesVarsBase64: () => (env64 ??= environmentLines(attributesBase64(), 'ATTR_BASE64_')).vars,
  };
  for (const [key, compute] of Object.entries(derived)) {
    let cached: GoValue | undefined;
    Object.defineProperty(data, key, {
      enumerable: true,
      configurable: true,
      get: () => (cached ??= compute()),
    });
  }
  return data;
}

/** GGN's escaping of the JSON for a unit: every `\"` becomes `\\\"` and every `'` becomes `\'`. */
export function escapeForUnit(json: string): string {
  return json.replace(/\\"/g, '\\\\\\"').replace(/'/g, "\\'");
}
