/**
 * YAML 1.1 as GGN read it through go-yaml v2: yes/no/on/off/y/n are booleans, 0644 is octal,
 * `<<` merge keys work, duplicate keys keep the last value, integers are exact 64-bit (bigint),
 * unquoted dates and sexagesimal numbers (12:30) stay strings, and map keys must be strings or
 * integers (integers become strings).
 */
import type * as YAMLTypes from 'yaml';
import { GgnError } from '../errors';
import { GoMap, GoValue, newMap } from '../template/values';
import { parseYamlFast } from './yaml-fast';

const DROPPED_FORMATS = new Set(['TIME']);

// Loaded only when the fast reader gives up: most trees never need it, and it costs ~50 ms to load.
let yamlModule: typeof YAMLTypes | undefined;
const yamlLib = (): typeof YAMLTypes => (yamlModule ??= require('yaml') as typeof YAMLTypes);

const OPTIONS: YAMLTypes.ParseOptions & YAMLTypes.DocumentOptions & YAMLTypes.SchemaOptions = {
  version: '1.1',
  intAsBigInt: true,
  merge: true,
  uniqueKeys: false,
  prettyErrors: true,
  customTags: (tags) =>
    tags.filter((t) => {
      const tag = t as YAMLTypes.ScalarTag;
      return tag.tag !== 'tag:yaml.org,2002:timestamp' && !DROPPED_FORMATS.has(tag.format ?? '');
    }),
};

/** Deeper than this is refused: no attribute tree needs it, and every later step recurses. */
export const MAX_YAML_DEPTH = 1000;

/** Parses YAML text into Go-like values. Errors carry file, line and column. */
export function parseYaml(text: string, file: string): GoValue {
  let v: GoValue;
  try {
    const fast = parseYamlFast(text);
    v = fast !== undefined ? fast : parseYamlFull(text, file);
  } catch (e) {
    throw asYamlError(e, file);
  }
  checkDepth(v, file);
  return v;
}

/**
 * The `yaml` package's own refusals (an alias "billion laughs", a stack overflow on deep
 * nesting) arrive as plain errors: give them the file, like any other YAML error.
 */
function asYamlError(e: unknown, file: string): GgnError {
  if (e instanceof GgnError) return e.withContext({ file });
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof RangeError && /call stack/i.test(msg)) {
    return new GgnError(`invalid YAML: nested too deeply (more than ${MAX_YAML_DEPTH} levels are refused)`, { file }, { cause: e });
  }
  if (/alias count/i.test(msg)) {
    return new GgnError('invalid YAML: aliases expand to too many nodes (an alias bomb?); at most 10000 alias expansions are allowed', { file }, { cause: e });
  }
  return new GgnError(`invalid YAML: ${msg.split('\n')[0]}`, { file }, { cause: e });
}

/** Refuses values nested deeper than MAX_YAML_DEPTH (iterative: safe at any depth). */
function checkDepth(root: GoValue, file: string): void {
  const stack: Array<[GoValue, number]> = [[root, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d >= MAX_YAML_DEPTH) throw new GgnError(`invalid YAML: nested too deeply (more than ${MAX_YAML_DEPTH} levels are refused)`, { file });
    for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push([x, d + 1]);
  }
}

/** The full `yaml` package: every construct, and the error messages. */
export function parseYamlFull(text: string, file: string): GoValue {
  const YAML = yamlLib();
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { ...OPTIONS, lineCounter });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    let msg = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    if (/call stack/i.test(msg)) msg = `nested too deeply (more than ${MAX_YAML_DEPTH} levels are refused)`;
    throw new GgnError(`invalid YAML: ${msg}`, { file, line: pos?.line, col: pos?.col });
  }
  return convert(doc.toJS({ mapAsMap: true, maxAliasCount: 10000 }), file, doc, lineCounter);
}

function convert(v: unknown, file: string, doc: YAMLTypes.Document, lc: YAMLTypes.LineCounter): GoValue {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'string':
    case 'boolean':
    case 'bigint':
    case 'number':
      return v;
  }
  if (v instanceof Map) {
    const out = newMap();
    for (const [k, val] of v) {
      out[mapKey(k, file, doc, lc)] = convert(val, file, doc, lc);
    }
    return out;
  }
  if (Array.isArray(v)) return v.map((x) => convert(x, file, doc, lc));
  if (v instanceof Set) return [...v].map((x) => convert(x, file, doc, lc));
  if (v instanceof Uint8Array) return Buffer.from(v).toString('latin1');
  throw new GgnError(`unsupported YAML value of type ${Object.prototype.toString.call(v)}`, { file });
}

function mapKey(k: unknown, file: string, doc: YAMLTypes.Document, lc: YAMLTypes.LineCounter): string {
  if (typeof k === 'string') return k;
  if (typeof k === 'bigint') return k.toString();
  const goType = k === null ? 'nil' : typeof k === 'boolean' ? 'bool' : typeof k === 'number' ? 'float64' : 'map';
  const line = findKeyLine(doc, k, lc);
  const hint = typeof k === 'boolean' ? ` (YAML 1.1 reads an unquoted y/n/yes/no/on/off key as a boolean: quote it)` : '';
  throw new GgnError(`map key ${JSON.stringify(String(k))} is a ${goType}; keys must be strings or integers${hint}`, {
    file,
    line,
  });
}

/** Best effort: the line of the first key node whose value is `k`, for the error message. */
function findKeyLine(doc: YAMLTypes.Document, k: unknown, lc: YAMLTypes.LineCounter): number | undefined {
  const YAML = yamlLib();
  let found: number | undefined;
  YAML.visit(doc, {
    Pair(_, pair) {
      const key = pair.key as YAMLTypes.Scalar | null;
      if (found === undefined && key && YAML.isScalar(key) && key.value === k && key.range) {
        found = lc.linePos(key.range[0]).line;
        return YAML.visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

export function isMapValue(v: GoValue): v is GoMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
