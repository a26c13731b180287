/**
 * Checks a config file's values against its JSON Schema (schemas/*.schema.json, compiled into
 * ./validators.generated.ts) and turns the validator's findings into one-line problems that name
 * the file, line and column, the key by its dotted path, and for an unknown key the likely one.
 * Positions are looked up only when there is a problem (it needs the full YAML parser).
 */
import type * as YAMLTypes from 'yaml';
import { GgnError } from '../errors';
import { didYouMean } from '../report/suggest';
import { GoValue, GoUint64, isGoMap } from '../template/values';
import * as generated from './validators.generated';

export type SchemaName = 'home' | 'env' | 'manifest';

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}
type Validator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

const VALIDATORS: Record<SchemaName, Validator> = { home: generated.home, env: generated.env, manifest: generated.manifest };
const SCHEMAS = generated.schemas as unknown as Record<SchemaName, Schema>;

export const SCHEMA_FILES: Record<SchemaName, string> = {
  home: 'schemas/home-config.schema.json',
  env: 'schemas/env-config.schema.json',
  manifest: 'schemas/service-manifest.schema.json',
};

export interface ConfigProblem {
  message: string;
  /** Keys and indexes from the file's root. */
  path: (string | number)[];
  file: string;
  line?: number;
  col?: number;
}

export interface ConfigSource {
  file: string;
  /** The file's text, to find line and column (omit when the values were not read from it as is). */
  text?: string;
  /** Where these values sit in the file (e.g. `overrideConfig.prod` in the home config). */
  at?: string[];
}

/** Every problem of `value` against schema `name`, in file order. */
export function checkConfig(name: SchemaName, value: GoValue, source: ConfigSource): ConfigProblem[] {
  const validate = VALIDATORS[name];
  if (validate(toJson(value))) return [];
  const at = source.at ?? [];
  const seen = new Set<string>();
  const problems: ConfigProblem[] = [];
  for (const e of validate.errors ?? []) {
    if (e.keyword === 'if' || e.keyword === 'anyOf' || e.keyword === 'oneOf') continue;
    const rel = pointerToPath(e.instancePath);
    const path = [...at, ...rel];
    const problem = describe(name, e, rel, path);
    if (!problem || seen.has(problem.message)) continue;
    seen.add(problem.message);
    problems.push({ ...problem, file: source.file });
  }
  if (source.text !== undefined) locate(problems, source.text);
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}

/** Throws the first problem as a GgnError (with file:line:col), saying how many more there are. */
export function assertConfig(name: SchemaName, value: GoValue, source: ConfigSource): void {
  const problems = checkConfig(name, value, source);
  if (problems.length === 0) return;
  throw problemError(problems[0], problems.length - 1);
}

export function problemError(p: ConfigProblem, more = 0): GgnError {
  const tail = more > 0 ? ` (and ${more} more problem${more > 1 ? 's' : ''}: \`ggn <env> validate\` lists them all)` : '';
  return new GgnError(p.message + tail, { file: p.file, line: p.line, col: p.col });
}

function describe(name: SchemaName, e: AjvError, rel: (string | number)[], path: (string | number)[]): Omit<ConfigProblem, 'file'> | undefined {
  const where = dotted(path);
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const known = knownKeys(SCHEMAS[name], rel);
      const hint = didYouMean(key, known) || (known.length ? ` (known: ${known.join(', ')})` : '');
      return { message: `unknown key \`${dotted([...path, key])}\`${hint}`, path: [...path, key] };
    }
    case 'required': {
      const key = String(e.params.missingProperty);
      return { message: `${where ? `\`${where}\`` : 'the file'} needs \`${key}\``, path };
    }
    case 'type': {
      const types = String(e.params.type).split(',');
      return { message: `\`${where}\` must be ${types.map(article).join(' or ')}${example(SCHEMAS[name], rel)}`, path };
    }
    case 'enum':
      return { message: `\`${where}\` must be one of ${(e.params.allowedValues as unknown[]).map(String).join(', ')}`, path };
    case 'pattern':
      return { message: `\`${where}\` has the wrong form${example(SCHEMAS[name], rel) || ` (expected ${String(e.params.pattern)})`}`, path };
    case 'minItems':
      return { message: `\`${where}\` must list at least ${String(e.params.limit)}`, path };
    case 'minimum':
      return { message: `\`${where}\` must be at least ${String(e.params.limit)}`, path };
    case 'maximum':
      return { message: `\`${where}\` must be at most ${String(e.params.limit)}`, path };
    case 'minLength':
      return { message: `\`${where}\` must not be empty`, path };
    default:
      return { message: `\`${where}\` ${e.message ?? 'is not valid'}`, path };
  }
}

function article(t: string): string {
  const names: Record<string, string> = {
    object: 'a map',
    array: 'a list',
    string: 'a string',
    integer: 'an integer',
    number: 'a number',
    boolean: 'true or false',
    null: 'empty',
  };
  return names[t] ?? t;
}

export function dotted(path: (string | number)[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s;
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

// ---------------------------------------------------------------------------------------------
// The schema at a path (for the known keys and examples)

interface Schema {
  description?: string;
  $id?: string;
  $ref?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  examples?: unknown[];
  definitions?: Record<string, Schema>;
}

function schemaAt(name: SchemaName, path: (string | number)[]): Schema | undefined {
  let root: Schema = SCHEMAS[name];
  let s: Schema | undefined = root;
  const deref = (x: Schema | undefined): Schema | undefined => {
    for (let i = 0; x?.$ref && i < 10; i++) {
      const ref: string = x.$ref;
      if (ref.startsWith('#/definitions/')) x = root.definitions?.[ref.slice('#/definitions/'.length)];
      else {
        const target = (Object.keys(SCHEMAS) as SchemaName[]).find((n) => SCHEMAS[n].$id?.endsWith(`/${ref}`));
        root = target ? SCHEMAS[target] : root;
        x = target ? root : undefined;
      }
    }
    return x;
  };
  s = deref(s);
  for (const p of path) {
    if (!s) return undefined;
    if (typeof p === 'number') s = deref(s.items);
    else s = deref(s.properties?.[p] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined));
  }
  return s;
}

function knownKeys(schema: Schema, path: (string | number)[]): string[] {
  const name = (Object.keys(SCHEMAS) as SchemaName[]).find((n) => SCHEMAS[n] === schema)!;
  return Object.keys(schemaAt(name, path)?.properties ?? {});
}

function example(schema: Schema, path: (string | number)[]): string {
  const name = (Object.keys(SCHEMAS) as SchemaName[]).find((n) => SCHEMAS[n] === schema)!;
  const ex = schemaAt(name, path)?.examples?.[0];
  return ex === undefined ? '' : `, e.g. ${typeof ex === 'string' ? ex : JSON.stringify(ex)}`;
}

// ---------------------------------------------------------------------------------------------
// Values and positions

/** Go-like values as JSON for the validator: integers are numbers there. */
function toJson(v: GoValue | undefined): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof GoUint64) return Number(v.value);
  if (Array.isArray(v)) return v.map(toJson);
  if (isGoMap(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toJson(x);
    return out;
  }
  return v;
}

function locate(problems: ConfigProblem[], text: string): void {
  // Loaded only here: a config without problems never needs the full parser.
  const YAML = require('yaml') as typeof YAMLTypes;
  const lines = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { version: '1.1', schema: 'failsafe', uniqueKeys: false, lineCounter: lines });
  for (const p of problems) {
    const offset = offsetOf(YAML, doc.contents, p.path, p.message.startsWith('unknown key'));
    if (offset === undefined) continue;
    const pos = lines.linePos(offset);
    p.line = pos.line;
    p.col = pos.col;
  }
}

/** The offset of the deepest node of `path` found (its key for an unknown key; a missing key points at its parent map). */
function offsetOf(YAML: typeof YAMLTypes, node: unknown, path: (string | number)[], atKey: boolean): number | undefined {
  let cur = node as YAMLTypes.Node | null;
  let offset = cur?.range?.[0];
  for (const p of path) {
    if (YAML.isMap(cur)) {
      // Duplicate keys: the last one wins, as when the file was read.
      const pair = [...cur.items].reverse().find((it) => YAML.isScalar(it.key) && String(it.key.value) === String(p));
      if (!pair) break;
      const key = pair.key as YAMLTypes.Scalar;
      cur = pair.value as YAMLTypes.Node | null;
      offset = cur?.range?.[0] ?? key.range?.[0];
      if (atKey && p === path[path.length - 1] && key.range) offset = key.range[0];
    } else if (YAML.isSeq(cur) && typeof p === 'number') {
      cur = cur.items[p] as YAMLTypes.Node | null;
      if (!cur) break;
      offset = cur.range?.[0] ?? offset;
    } else break;
  }
  return offset;
}
