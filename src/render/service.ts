/**
 * A service ready to render: attributes merged, manifest rendered, nodes expanded and checked,
 * containers resolved, unit templates compiled once. Then one unit per node (and a timer per
 * node when unit.timer.tmpl exists).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GgnError, toGgnError } from '../errors';
import { deepClone } from '../tree/attributes';
import { Env, loadServiceSource, ServiceSource } from '../tree/env';
import { machineNames } from '../tree/machines';
import { Template } from '../template';
import { GoMap, GoValue, newMap } from '../template/values';
import { secretRegistry } from '../secrets/registry';
import { buildView, mergeVariants, SecretVariants, secretVariants, SecretView } from '../secrets/taint';

const secretLeaves = () => secretRegistry.size > 0;
import { compileTemplate, executeTemplate } from './compile';
import { LocalManifests, resolveContainers } from './containers';
import { buildUnitData, serviceDataContext } from './data';
import { loadManifest, ServiceManifest } from './manifest';
import { checkNamePart, slotUnitName, UnitKind, unitFileName } from './names';
import { Slot } from './rollout-config';
import { checkUnitSize, maxUnitSize, unitLimits } from './size-limit';
import { envSettings } from '../config/env-config';

export interface RenderOptions {
  /** `-A`: data for manifest templating. */
  manifestAttributes: GoMap;
  /** `-M`: local ACI and pod manifests. */
  localManifests: LocalManifests;
  /** Machine names for `hostname: '*'` (defaults to the env config or GGN's cache). */
  machineNames?: (env: Env) => string[];
  /** `--strict`: a missing attribute is an error (also `strict: true` in the env config). */
  strict?: boolean;
}

export interface PreparedService {
  source: ServiceSource;
  manifest: ServiceManifest;
  /** Nodes after `'*'` expansion, in manifest order. */
  nodes: GoMap[];
  aciList: string[];
  templates: { kind: UnitKind; file: string; template: Template }[];
  unitsDir: string;
  /** Bytes; `maxUnitSize:` in the env config. */
  maxUnitSize: number;
  /** Missing attributes are errors. */
  strict: boolean;
}

export interface RenderedUnit {
  /** e.g. `prod_cassandra_cass1.service` */
  name: string;
  kind: UnitKind;
  hostname: string;
  service: string;
  node: GoMap;
  content: string;
  /** Where `generate` writes it. */
  localPath: string;
  /** Set when secrets reach the unit: how to show it (and other versions of it) masked. */
  secrets?: SecretView;
  /** A service with `rollout:`: the slot this unit is (its node then holds `slot` and `slotPort`). */
  slot?: Slot;
}

export interface RenderResult {
  units: RenderedUnit[];
  errors: GgnError[];
  /** Missing attributes (rendered as `<no value>`, as GGN did), one per use. */
  warnings: GgnError[];
}

export function prepareService(env: Env, name: string, opts: RenderOptions): PreparedService {
  const ctx = { env: env.dir, service: name };
  void env.attributes; // env-level errors are not this service's
  try {
    checkNamePart(name, 'service name', ctx);
    checkNamePart(env.name, 'envName', { ...ctx, file: env.configFile });
    const max = maxUnitSize(env);
    const source = loadServiceSource(env, name);
    const manifest = loadManifest(source, opts.manifestAttributes);
    const nodes = expandNodes(manifest, env, opts.machineNames ?? machineNames);
    const aciList = resolveContainers(manifest.containers, opts.localManifests, manifest.file);
    const templates: PreparedService['templates'] = [];
    const partials = env.partials;
    templates.push({ kind: 'service', file: source.unitTemplateFile, template: compileUnitTemplate(source.unitTemplateFile, partials, ctx) });
    if (source.timerTemplateFile && manifest.rollout) {
      throw new GgnError('a service with `rollout:` (slots) cannot have a timer (unit.timer.tmpl)', { ...ctx, file: manifest.file });
    }
    if (source.timerTemplateFile) {
      templates.push({ kind: 'timer', file: source.timerTemplateFile, template: compileUnitTemplate(source.timerTemplateFile, partials, ctx) });
    }
    return {
      source,
      manifest,
      nodes,
      aciList,
      templates,
      unitsDir: path.join(source.path, 'units'),
      maxUnitSize: max,
      strict: opts.strict === true || envSettings(env).strict,
    };
  } catch (e) {
    throw toGgnError(e, ctx);
  }
}

function compileUnitTemplate(file: string, partials: Env['partials'], ctx: { env: string; service: string }): Template {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new GgnError(code === 'ENOENT' ? 'the service has no unit.tmpl' : `cannot read unit template: ${code}`, { ...ctx, file });
  }
  return compileTemplate(file, text, partials);
}

function expandNodes(manifest: ServiceManifest, env: Env, names: (env: Env) => string[]): GoMap[] {
  const ctx = { file: manifest.file };
  let nodes = manifest.nodes;
  if (nodes.some((n) => n.hostname === '*')) {
    if (nodes.length > 1) throw new GgnError("hostname '*' (every machine) cannot be mixed with other nodes", ctx);
    nodes = names(env).map((machine) => {
      const copy = deepClone(nodes[0]) as GoMap;
      copy.hostname = machine;
      return copy;
    });
  }
  const seen = new Set<string>();
  for (const n of nodes) {
    const host = n.hostname as string;
    checkNamePart(host, 'hostname', ctx);
    if (seen.has(host)) throw new GgnError(`duplicate hostname "${host}" in nodes`, ctx);
    seen.add(host);
  }
  return nodes;
}

/**
 * The unit rendered with the canaries instead of the secrets (in the service's attributes and in
 * the node's own keys, which the manifest template may have filled from them), masked where the
 * renders differ.
 */
function secretView(
  template: Template,
  content: string,
  node: GoMap,
  nodeVariants: SecretVariants | undefined,
  variants: SecretVariants | undefined,
  shared: ReturnType<typeof serviceDataContext>,
  canaryShared: ReturnType<typeof serviceDataContext>[] | undefined,
  ctx: { file: string; env: string; service: string; unit: string },
  limits: ReturnType<typeof unitLimits>,
): SecretView {
  let canaries: [string, string] | undefined;
  try {
    canaries = [0, 1].map((i) => executeTemplate(template, buildUnitData(canaryShared?.[i] ?? shared, nodeVariants?.canary[i] ?? node), ctx, limits)) as [
      string,
      string,
    ];
  } catch {
    canaries = undefined; // the template refuses a canary: every line is then masked
  }
  return buildView(content, canaries, mergeVariants(variants, nodeVariants)!);
}

/** Renders the units of a service; a unit whose template fails is reported, not produced. */
export function renderUnits(svc: PreparedService, onlyUnit?: (unitName: string) => boolean): RenderResult {
  const env = svc.source.env;
  const result: RenderResult = { units: [], errors: [], warnings: [] };
  const exposed = svc.manifest.exposeNodesInUnitEnv ? svc.nodes : undefined;
  const shared = serviceDataContext(svc.source.attributes, svc.aciList, exposed);
  const variants = secretVariants(svc.source.attributes);
  const canaryShared = variants?.canary.map((a) => serviceDataContext(a, svc.aciList, exposed));
  const unitsDir = svc.unitsDir + path.sep;
  let missing: GgnError[] = [];
  const limits = {
    ...unitLimits(svc.maxUnitSize),
    onNoValue: (at: { file: string; line: number; col: number; context: string }) =>
      void missing.push(new GgnError(noValueMessage(at.context), { file: at.file, line: at.line, col: at.col })),
  };
  for (const variant of unitVariants(svc)) {
    const { node, slot } = variant;
    const hostname = node.hostname as string;
    let data: GoMap | undefined;
    for (const t of svc.templates) {
      const name = slot ? slotUnitName(env.name, svc.source.name, hostname, slot.name) : unitFileName(env.name, svc.source.name, hostname, t.kind);
      if (onlyUnit && !onlyUnit(name)) continue;
      data ??= buildUnitData(shared, node);
      try {
        const ctx = { file: t.file, env: env.dir, service: svc.source.name, unit: name };
        missing = [];
        const content = executeTemplate(t.template, data, ctx, limits);
        try {
          checkUnitSize(content, svc.maxUnitSize, 'the rendered unit');
        } catch (e) {
          throw toGgnError(e, ctx);
        }
        const noValues = missing.map((w) => w.withContext(ctx));
        if (svc.strict && noValues.length) {
          result.errors.push(...noValues.map((w) => new GgnError(`${w.message} (strict)`, w.ctx)));
          continue;
        }
        result.warnings.push(...noValues);
        const unit: RenderedUnit = {
          name,
          kind: t.kind,
          hostname,
          service: svc.source.name,
          node,
          content,
          localPath: unitsDir + name,
          ...(slot ? { slot } : {}),
        };
        const nodeVariants = secretLeaves() ? secretVariants(node, undefined, variants?.names.length ?? 0) : undefined;
        if (variants || nodeVariants) unit.secrets = secretView(t.template, content, node, nodeVariants, variants, shared, canaryShared, ctx, limits);
        result.units.push(unit);
      } catch (e) {
        result.errors.push(toGgnError(e, { env: env.dir, service: svc.source.name, unit: name }));
      }
    }
  }
  return result;
}

/**
 * What each unit is rendered from: the node, or (a service with `rollout:`) the node once per
 * slot with `slot` (its name) and `slotPort` added to the node's data.
 */
function unitVariants(svc: PreparedService): { node: GoMap; slot?: Slot }[] {
  const slots = svc.manifest.rollout?.slots;
  if (!slots) return svc.nodes.map((node) => ({ node }));
  return svc.nodes.flatMap((node) =>
    slots.map((slot) => {
      const n = Object.assign(newMap(), node);
      n.slot = slot.name;
      n.slotPort = BigInt(slot.port);
      return { node: n, slot };
    }),
  );
}

/** `{{.thread}}` -> the message for an action that printed nothing (a key not in the data, an empty `first`, ...). */
function noValueMessage(action: string): string {
  const m = /^\{\{-?\s*(.*?)\s*-?\}\}$/s.exec(action);
  const expr = m ? m[1] : action;
  return `no value: \`${expr}\` renders as <no value> (a missing attribute?)`;
}

/**
 * A node's own `healthCheck:` (in `nodes:`), its strings rendered as templates with the node's unit
 * data (`http://$HOST:{{.port}}/health`); undefined when the node has none (the manifest's applies).
 */
export function nodeHealthCheck(svc: PreparedService, node: GoMap): GoMap | undefined {
  const raw = node.healthCheck;
  if (raw === undefined || raw === null) return undefined;
  const data = buildUnitData(serviceDataContext(svc.source.attributes, svc.aciList, svc.manifest.exposeNodesInUnitEnv ? svc.nodes : undefined), node);
  const ctx = { file: svc.manifest.file, env: svc.source.env.dir, service: svc.source.name };
  const render = (v: GoValue, where: string): GoValue => {
    if (typeof v === 'string') {
      try {
        return executeTemplate(compileTemplate(svc.manifest.file, v, []), data, ctx);
      } catch (e) {
        const err = toGgnError(e, ctx);
        throw new GgnError(`node ${String(node.hostname)}: ${where}: ${err.message}`, { ...err.ctx, line: undefined, col: undefined });
      }
    }
    if (Array.isArray(v)) return v.map((x, i) => render(x, `${where}[${i}]`));
    if (v !== null && typeof v === 'object') {
      const out = newMap();
      for (const [k, x] of Object.entries(v as GoMap)) out[k] = render(x, where ? `${where}.${k}` : k);
      return out;
    }
    return v;
  };
  return render(raw, 'healthCheck') as GoMap;
}
