/**
 * service-manifest.yml: rendered as a template (GGN's functions and whitespace rewrite, no
 * partials) over the `-A` JSON merged with the service attributes (the attributes win), then read
 * as YAML. Any `<no value>` in the result is an error, as in GGN.
 */
import * as fs from 'node:fs';
import { GgnError, toGgnError } from '../errors';
import { ServiceSource } from '../tree/env';
import { deepClone, describe, mergeInto } from '../tree/attributes';
import { isMapValue, parseYaml } from '../tree/yaml';
import { assertConfig } from '../config/check';
import { GoMap, GoValue, newMap } from '../template/values';
import { compileTemplate, executeTemplate } from './compile';
import { checkUnitSize, maxUnitSize, unitLimits } from './size-limit';
import { ggnVersion } from '../version';
import { readRolloutConfig, RolloutConfig } from './rollout-config';

export interface ServiceManifest {
  file: string;
  nodes: GoMap[];
  containers: string[];
  concurrentUpdater: number;
  exposeNodesInUnitEnv: boolean;
  /** `rollout:`: zero-downtime updates with two slots per node (undefined: in place, as GGN). */
  rollout?: RolloutConfig;
  /** The whole rendered manifest, for keys later steps read (healthCheck, ...). */
  raw: GoMap;
}

/** Parses `-A` the way Go's encoding/json does into interface{} (every number is a float64). */
export function parseManifestAttributes(json: string | undefined): GoMap {
  if (json === undefined || json === '') return newMap();
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (e) {
    throw new GgnError(`-A/--manifest-attributes is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new GgnError('-A/--manifest-attributes must be a JSON object');
  return fromJson(v) as GoMap;
}

function fromJson(v: unknown): GoValue {
  if (Array.isArray(v)) return v.map(fromJson);
  if (typeof v === 'object' && v !== null) {
    const m = newMap();
    for (const [k, x] of Object.entries(v)) m[k] = fromJson(x);
    return m;
  }
  return v as GoValue;
}

export function loadManifest(source: ServiceSource, manifestAttributes: GoMap): ServiceManifest {
  const file = source.manifestFile;
  const ctx = { file, env: source.env.dir, service: source.name };
  const text = fs.readFileSync(file, 'utf8');
  const data = mergeInto(deepClone(manifestAttributes) as GoMap, source.attributes);
  const tmpl = compileTemplate(file, text, []);
  const max = maxUnitSize(source.env);
  const rendered = executeTemplate(tmpl, data, ctx, unitLimits(max));
  try {
    checkUnitSize(rendered, max, 'the rendered manifest');
  } catch (e) {
    throw toGgnError(e, ctx);
  }
  const bad = rendered.indexOf('<no value>');
  if (bad >= 0) {
    const line = rendered.slice(0, bad).split('\n').length;
    throw new GgnError('the rendered manifest has `<no value>` (an attribute or -A value is missing)', { ...ctx, line });
  }
  const doc = parseYaml(rendered, file);
  if (!isMapValue(doc)) throw new GgnError('service-manifest.yml must be a map with `nodes:`', ctx);
  const manifest: ServiceManifest = {
    file,
    nodes: readNodes(doc.nodes, ctx),
    containers: readContainers(doc.containers, ctx),
    concurrentUpdater: readPositiveInt(doc.concurrentUpdater, 'concurrentUpdater', ctx) ?? 1,
    exposeNodesInUnitEnv: doc.exposeNodesInUnitEnv === true,
    raw: doc,
  };
  checkMinimalVersion(doc.ggnMinimalVersion, ctx);
  // Line numbers are those of the rendered manifest (the same as the file's unless a template spans lines).
  try {
    assertConfig('manifest', doc, { file, text: rendered });
  } catch (e) {
    throw toGgnError(e, ctx);
  }
  manifest.rollout = readRolloutConfig(doc, file);
  return manifest;
}

function readNodes(v: GoValue | undefined, ctx: { file: string }): GoMap[] {
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) {
    throw new GgnError('no nodes defined in service (`nodes:` must list at least one node with a `hostname`)', ctx);
  }
  if (!Array.isArray(v)) throw new GgnError(`\`nodes:\` must be a list, not ${describe(v)}`, ctx);
  return v.map((n, i) => {
    if (!isMapValue(n)) throw new GgnError(`node #${i + 1} must be a map with a \`hostname\`, not ${describe(n)}`, ctx);
    if (typeof n.hostname !== 'string' || n.hostname === '') {
      throw new GgnError(`node #${i + 1} has no \`hostname\` (a non-empty string)`, ctx);
    }
    return n;
  });
}

function readContainers(v: GoValue | undefined, ctx: { file: string }): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((c) => typeof c !== 'string')) throw new GgnError('`containers:` must be a list of image names', ctx);
  return v as string[];
}

function readPositiveInt(v: GoValue | undefined, key: string, ctx: { file: string }): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'bigint' || v < 0n) throw new GgnError(`\`${key}:\` must be a positive integer`, ctx);
  return v === 0n ? undefined : Number(v); // GGN read 0 as 1
}

/** `ggnMinimalVersion:` (GGN's key): refuse a service that needs a newer ggn. */
export function checkMinimalVersion(v: GoValue | undefined, ctx: { file: string }, version?: string): void {
  if (v === undefined || v === null || v === '') return;
  const current = version ?? ggnVersion();
  const semver = require('semver') as typeof import('semver');
  const wanted = semver.coerce(String(v));
  if (!wanted) throw new GgnError(`\`ggnMinimalVersion:\` ${JSON.stringify(String(v))} is not a version such as 1.2.0`, ctx);
  if (semver.lt(current, wanted)) {
    throw new GgnError(`this service needs ggn ${wanted.version} or newer (ggnMinimalVersion), and this is ggn ${current}: upgrade ggn`, ctx);
  }
}
