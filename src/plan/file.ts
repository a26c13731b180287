/**
 * Plan files: `diff --out plan.json` saves what the plan was computed from (per unit and host: the
 * live content hash and state, the desired content and its hash), with the ggn version and the
 * tree's git commit; `update --plan` / `prune --plan` apply exactly that plan: under each service's
 * lock the plan is made again and compared, and any unit whose live content, state or desired
 * content moved is named and the service refused (Nomad's check-index, for systemd units).
 * A unit that holds a secret keeps only its hashes: it is re-rendered at apply time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { contentHash } from '../apply/audit';
import { GgnError } from '../errors';
import { ggnVersion } from '../version';
import { treeCommit } from '../tree/git';
import { LivePlan } from './build';
import { UnitChange } from './diff';

export const PLAN_FORMAT = 'ggn-plan/1';

export interface PlanUnit {
  service: string;
  unit: string;
  machine: string;
  kind: UnitChange['kind'];
  /** What is on the host: its content hash ('-': none) and systemd's active/sub state (null: not loaded). */
  live: { hash: string; state: string | null; content?: string };
  /** What the tree renders (null: an orphan). `content` is left out when it holds a secret. */
  desired: { hash: string; content?: string } | null;
}

export interface PlanFile {
  format: typeof PLAN_FORMAT;
  ggnVersion: string;
  createdAt: string;
  env: string;
  service: string | null;
  unit: string | null;
  tree: { commit: string | null; dirty: boolean | null };
  units: PlanUnit[];
}

export const stateOf = (c: Pick<UnitChange, 'state'>): string | null => (c.state ? `${c.state.activeState}/${c.state.subState}` : null);

export function planFile(plan: LivePlan, scope: { env: string; service?: string; unit?: string }, workPath: string, now: Date): PlanFile {
  return {
    format: PLAN_FORMAT,
    ggnVersion: ggnVersion(),
    createdAt: now.toISOString(),
    env: scope.env,
    service: scope.service ?? null,
    unit: scope.unit ?? null,
    tree: ((t) => ({ commit: t?.commit ?? null, dirty: t?.dirty ?? null }))(treeCommit(workPath)),
    units: plan.changes.map((c) => {
      const secret = c.secrets?.holdsSecrets === true;
      return {
        service: c.service,
        unit: c.unit,
        machine: c.machine,
        kind: c.kind,
        live: { hash: contentHash(c.live ?? null), state: stateOf(c), ...(c.live !== undefined && !secret && !c.secrets ? { content: c.live } : {}) },
        desired: c.kind === 'orphan' ? null : { hash: contentHash(c.desired ?? null), ...(secret ? {} : { content: c.desired }) },
      };
    }),
  };
}

/** Written whole or not at all (a temporary file beside it, then a rename); private: it holds unit contents. */
export function writePlanFile(file: string, plan: PlanFile): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, JSON.stringify(plan, null, 2) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new GgnError(`cannot write the plan: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
}

export function readPlanFile(file: string): PlanFile {
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new GgnError(code ? `cannot read the plan: ${code}` : `not a plan file (invalid JSON: ${(e as Error).message})`, { file });
  }
  const p = v as PlanFile;
  if (typeof p !== 'object' || p === null || p.format !== PLAN_FORMAT || !Array.isArray(p.units) || typeof p.env !== 'string')
    throw new GgnError(`not a ggn plan file (expected "format": "${PLAN_FORMAT}"; make one with \`ggn <env> diff --out <file>\`)`, { file });
  return p;
}

/**
 * What moved between the saved plan and the plan made now, for the units of `service`: one line
 * per unit and host. Empty: apply it.
 */
export function planMoves(saved: PlanFile, now: LivePlan, service: string): string[] {
  const key = (u: { unit: string; machine: string }) => `${u.unit} on ${u.machine}`;
  const before = new Map(saved.units.filter((u) => u.service === service).map((u) => [key(u), u]));
  const moved: string[] = [];
  const seen = new Set<string>();
  for (const c of now.changes.filter((x) => x.service === service)) {
    const k = key(c);
    seen.add(k);
    const b = before.get(k);
    if (!b) {
      moved.push(`${k}: not in the plan (${c.kind} now)`);
      continue;
    }
    const liveHash = contentHash(c.live ?? null);
    if (b.live.hash !== liveHash) moved.push(`${k}: changed on the host since the plan (content ${b.live.hash} -> ${liveHash})`);
    else if (b.live.state !== stateOf(c))
      moved.push(`${k}: its state changed since the plan (${b.live.state ?? 'not loaded'} -> ${stateOf(c) ?? 'not loaded'})`);
    const desiredHash = c.kind === 'orphan' ? null : contentHash(c.desired ?? null);
    if ((b.desired?.hash ?? null) !== desiredHash)
      moved.push(`${k}: the tree renders it differently now (${b.desired?.hash ?? 'not in the tree'} -> ${desiredHash ?? 'not in the tree'})`);
  }
  for (const k of before.keys()) if (!seen.has(k)) moved.push(`${k}: in the plan, but neither in the tree nor on the host now`);
  return moved;
}
