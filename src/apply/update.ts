/**
 * `update` and `rollback` at env, service and unit level: for each service (env level: in
 * `updateOrder` from the env config, then by name), hold the service lock as one run (renewed
 * while it works), plan, check that every host's audit log is writable, run the service's early
 * hooks, roll the units out (unit hooks and health gate around each), run the late hooks,
 * release the lock. A failed service stops an env-level update; so does a stop (signal) or a
 * lost lock, after the units in flight are finished or restored.
 * The lock backend is checked before anything changes; so are the plans: at env level a preflight
 * renders, places and reads every service's units first. `prune` (and `update --prune`) removes a
 * service's orphans under the same lock; `--plan` refuses a service whose units moved since the
 * saved plan; `--dry-run` only lists the steps (no lock).
 * A service with `rollout:` gets its proxy (src/proxy, through the driver's exec), which says
 * which slot of each node is live before the items are made; rollback switches to the idle slot.
 */
import { shortUnitName, unitPrefix } from '../render/names';
import { GgnError, toGgnError } from '../errors';
import { Driver, missingCapability } from '../drivers/types';
import { buildPlan, LivePlan, PlanScope } from '../plan/build';
import { nodeHealthCheck, PreparedService } from '../render/service';
import { Env } from '../tree/env';
import { isMapValue } from '../tree/yaml';
import { Workspace } from '../workspace';
import { HealthCheck, readHealthCheck, waitHealthy, describeHealthCheck, withSlot } from './health';
import { GoMap, GoValue } from '../template/values';
import { attributesForHooks } from '../secrets/hooks';
import { hookAttributes, HookInfo, runAvailabilityHooks, runHooks } from './hooks';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { createLockBackend, ServiceLocks, withServiceLock } from './lock';
import { envSettings } from '../config/env-config';
import { didYouMean } from '../report/suggest';
import { mapLimit } from '../parallel';
import { resolveRollbackTargets, Revision, unitKey } from './rollback-target';
import { readHistory } from './history';
import { AuditEntry } from './audit';
import { PlanFile, planMoves } from '../plan/file';
import { PruneItem, pruneItems, PruneSummary, runPrune } from './prune';
import { formatDuration } from '../durations';
import { describeTree, treeCommit } from '../tree/git';
import {
  BatchSize,
  groupUnits,
  interleaveMachines,
  itemFor,
  PromptAnswer,
  RolloutDeps,
  RolloutItem,
  rolloutItems,
  runRollout,
  RolloutSummary,
} from './rollout';
import { createProxy } from '../proxy';
import { liveSlotsByProxy } from './overlap';
import { UnitChange } from '../plan/diff';
import { Clock, Reporter } from './types';

export type Mode = 'update' | 'rollback' | 'prune';

export interface UpdateOptions {
  mode: Mode;
  scope: PlanScope;
  all: boolean;
  force: boolean;
  /** `--parallel`: overrides the manifest's concurrentUpdater. */
  parallel?: number;
  batches?: BatchSize[];
  timeoutMs: number;
  settleMs: number;
  pollMs: number;
  maxFail: number;
  lockTtlMs: number;
  lockWaitMs: number;
  signal?: AbortSignal;
  /** `rollback --to`: a revision's content hash or a tree commit (see rollback-target.ts); default: the newest revision. */
  rollbackTo?: string;
  /** `--dry-run`: plan and list the steps; no lock, no hook, no change. */
  dryRun?: boolean;
  /** `update --prune`: after a service's rollout succeeded, remove its orphans (as `prune`). */
  prune?: boolean;
  /** `--plan`: apply exactly this plan (made by `diff --out`); a service whose units moved since is refused. */
  planFile?: { plan: PlanFile; file: string };
  /** Per orphan, when the user is asked (a TTY without -y). */
  prunePrompt?: (item: PruneItem) => Promise<'yes' | 'skip' | 'quit'>;
}

/** What a dry run would do to one unit (and its timer) on one host. */
export interface PlannedItem {
  unit: string;
  host: string;
  /** new, changed, not running, ... (rollback: the revision put back) */
  reason: string;
  steps: string[];
}

export interface UpdateDeps {
  clock: Clock;
  reporter: Reporter;
  /** Per unit, when the user is asked (a TTY without -y). */
  prompt?: (item: RolloutItem, plan: LivePlan) => Promise<PromptAnswer>;
  /**
   * Asked once per service before anything runs, with the whole plan (a TTY without -y): `all`
   * goes on without asking per unit, `each` asks per unit (`prompt`), `quit` changes nothing.
   */
  confirmPlan?: (service: string, items: RolloutItem[], plan: LivePlan) => Promise<'all' | 'each' | 'quit'>;
  who: string;
  logLevel: string;
  /** The tree's commit and subject for the audit lines (describeTree); default: asked from git. */
  tree?: string;
  /** This run's id (locks, audit); default: a new one. */
  runId?: string;
  /** The service locks; default: the env config's backend. */
  locks?: ServiceLocks;
}

export interface ServiceResult {
  service: string;
  summary?: RolloutSummary;
  /** Set when the service could not be rolled out at all (lock held, plan errors, early hook). */
  error?: GgnError;
  nothingToDo?: boolean;
  /** The lock was lost mid-run (taken over, or its backend unreachable): the run stopped. */
  lockLost?: GgnError;
  /** The lock could not be released at the end (it is left behind). */
  releaseError?: GgnError;
  /** `--dry-run`: the units it would go through, in order. */
  planned?: PlannedItem[];
  /** `prune`, `update --prune`: the orphans removed. */
  prune?: PruneSummary;
}

/** The env's services in update order: `updateOrder:` first, then the others by name. */
export function serviceOrder(env: Env, services: string[]): string[] {
  const order = envSettings(env).updateOrder;
  for (const s of order)
    if (!services.includes(s))
      throw new GgnError(`\`updateOrder:\` names "${s}", which is not a service of this env${didYouMean(s, services)}`, { file: env.configFile });
  return [...order, ...services.filter((s) => !order.includes(s))];
}

export function lockBackendFor(ws: Workspace, driver: Driver, envDir: string, clock: Clock): ServiceLocks {
  const env = ws.env(envDir);
  const cfg = envSettings(env).lock;
  if (cfg.backend === 'ssh' && !driver.lockStore) throw missingCapability(driver, 'keep the ssh lock (use `lock: {backend: etcd, ...}`)');
  return createLockBackend(cfg, { hostStore: driver.lockStore ? () => driver.lockStore!(env.name) : undefined, clock });
}

export async function update(ws: Workspace, driver: Driver, deps: UpdateDeps, opts: UpdateOptions): Promise<ServiceResult[]> {
  const env = ws.env(opts.scope.env);
  const services = opts.scope.service ? [opts.scope.service] : serviceOrder(env, ws.serviceNames(env));
  if (opts.dryRun) return dryRun(ws, driver, env, services, deps, opts);
  const lock = deps.locks ?? lockBackendFor(ws, driver, env.dir, deps.clock);
  const results: ServiceResult[] = [];
  try {
    await lock.check();
    // Env level: every unit of every service renders, validates and is placed, and every host
    // answers, before the first service changes anything (each service plans again under its lock).
    if (!opts.scope.service && services.length > 1) {
      const failed = await preflight(ws, driver, env, services);
      if (failed.length) return failed;
    }
    const runId = deps.runId ?? randomUUID();
    const tree = deps.tree ?? describeTree(treeCommit(ws.home.workPath));
    const history = envHistory(driver, env.name);
    for (const service of services) {
      if (opts.signal?.aborted) break;
      const r = await updateService(ws, driver, lock, env, service, { ...deps, runId, tree, history }, opts);
      results.push(r);
      if (
        r.error ||
        r.lockLost ||
        r.releaseError ||
        r.summary?.failed.length ||
        r.summary?.stopped ||
        r.summary?.auditFailures.length ||
        r.prune?.failed.length ||
        r.prune?.stopped
      )
        break;
    }
  } finally {
    await lock.close();
  }
  return results;
}

/** `--dry-run`: the plan of every service and each unit's steps; reads hosts, changes nothing, takes no lock. */
async function dryRun(ws: Workspace, driver: Driver, env: Env, services: string[], deps: UpdateDeps, opts: UpdateOptions): Promise<ServiceResult[]> {
  const results: ServiceResult[] = [];
  const history = envHistory(driver, env.name);
  for (const service of services) {
    const result: ServiceResult = { service };
    results.push(result);
    try {
      const svc = ws.service(env, service);
      const plan = await buildPlan(ws, driver, { env: env.dir, service, unit: opts.scope.unit });
      if (plan.errors.length) throw plan.errors[0];
      const items =
        opts.mode === 'rollback'
          ? await rollbackItems(driver, plan, history, opts.rollbackTo)
          : opts.mode === 'prune'
            ? []
            : rolloutItems(plan.changes, { all: opts.all, force: opts.force });
      const perUnit = healthChecksByUnit(svc, plan);
      const serviceCheck = readHealthCheck(svc.manifest.raw, svc.manifest.file);
      result.planned = items.map((item) => plannedSteps(item, opts, perUnit.get(item.main) ?? serviceCheck));
      if (opts.mode === 'prune' || opts.prune)
        for (const o of pruneItems(plan.changes.filter((c) => c.service === service)))
          result.planned.push({
            unit: o.units.join(' + '),
            host: o.machine,
            reason: 'no longer in the tree',
            steps: ['stop', 'remove (revision kept)', 'reload', 'reset-failed'],
          });
      result.nothingToDo = result.planned.length === 0;
      for (const p of result.planned)
        deps.reporter.info(`would ${p.reason === 'no longer in the tree' ? 'prune' : opts.mode} ${p.unit} on ${p.host} (${p.reason}): ${p.steps.join(', ')}`);
      if (result.nothingToDo) deps.reporter.info(`${service}: nothing to ${opts.mode === 'rollback' ? 'roll back' : opts.mode}`);
    } catch (e) {
      result.error = toGgnError(e, { env: env.dir, service });
      break;
    }
  }
  return results;
}

function plannedSteps(item: RolloutItem, opts: UpdateOptions, check: HealthCheck | undefined): PlannedItem {
  if (item.overlap) return plannedSlotSteps(item, opts, check);
  const written = item.files.filter((f) => f.changed);
  const steps = ['early hooks'];
  for (const f of written) steps.push(f.previous === null ? `write ${f.unit} (new)` : `write ${f.unit} (revision kept)`);
  if (written.length) steps.push('reload');
  steps.push(item.wasActive ? `restart ${item.timer ?? item.main}` : `start ${item.timer ?? item.main}`);
  steps.push(`wait active (up to ${formatDuration(opts.timeoutMs)})`);
  steps.push(check ? `health ${describeHealthCheck(check)}` : 'availability hooks');
  steps.push('late hooks');
  const reason = opts.mode === 'rollback' ? `back to revision ${item.files.find((f) => f.fromRevision)?.fromRevision ?? '?'}` : item.reason;
  return { unit: item.timer ? `${item.main} + ${item.timer}` : item.main, host: item.machine, reason, steps };
}

/** A node with `rollout:`: the new slot next to the old one, then the switch. */
function plannedSlotSteps(item: RolloutItem, opts: UpdateOptions, check: HealthCheck | undefined): PlannedItem {
  const ov = item.overlap!;
  const f = item.files[0];
  const steps = ['early hooks', `check the proxy (slot ${ov.to.slot} must not be serving)`];
  if (f.changed) steps.push(f.previous === null ? `write ${f.unit} (new)` : `write ${f.unit} (revision kept)`, 'reload');
  steps.push(`start ${ov.to.unit} (proxy server ${ov.to.slot}: maint)`, `wait active (up to ${formatDuration(opts.timeoutMs)})`);
  steps.push(check ? `health ${describeHealthCheck(check)}` : 'availability hooks');
  steps.push(`switch: ${ov.to.slot} ready, ${ov.other.slot} ${ov.otherServing ? 'drain' : 'maint'}`);
  if (ov.otherServing) steps.push(`drain ${ov.other.slot}`, `stop ${ov.other.unit} (its file stays)`);
  steps.push('late hooks');
  const reason = opts.mode === 'rollback' ? `back to slot ${ov.to.slot}` : item.reason;
  return { unit: item.main, host: item.machine, reason, steps };
}

/** The env-level check before any change: one error per failing service (none: go). */
async function preflight(ws: Workspace, driver: Driver, env: Env, services: string[]): Promise<ServiceResult[]> {
  const plan = await buildPlan(ws, driver, { env: env.dir });
  const failed: ServiceResult[] = [];
  for (const e of plan.errors) {
    // A placement error names its unit, not its service: the longest matching prefix owns it.
    const byUnit = e.ctx.unit ? services.filter((s) => e.ctx.unit!.startsWith(unitPrefix(env.name, s))).sort((a, b) => b.length - a.length)[0] : undefined;
    const service = e.ctx.service && services.includes(e.ctx.service) ? e.ctx.service : (byUnit ?? services[0]);
    failed.push({ service, error: new GgnError(`${e.message} (preflight: nothing was changed)`, e.ctx) });
  }
  return failed;
}

async function updateService(
  ws: Workspace,
  driver: Driver,
  lock: ServiceLocks,
  env: Env,
  service: string,
  deps: RunDeps,
  opts: UpdateOptions,
): Promise<ServiceResult> {
  const ctx = { env: env.dir, service };
  const result: ServiceResult = { service };
  try {
    const svc = ws.service(env, service);
    const outcome = await withServiceLock(
      lock,
      service,
      {
        holder: deps.who,
        message: `${opts.mode} ${opts.scope.unit ?? service}`,
        ttlMs: opts.lockTtlMs,
        waitMs: opts.lockWaitMs,
        signal: opts.signal,
        runId: deps.runId,
        clock: deps.clock,
        onInfo: (line) => deps.reporter.info(line),
        unlockCommand: `ggn ${env.dir} ${service} unlock --force`,
      },
      async (run) => {
        // Stop starting units on a signal or when the lock is lost.
        const stop = opts.signal ? AbortSignal.any([opts.signal, run.lost]) : run.lost;
        return rollOutService(ws, driver, env, service, svc, deps, { ...opts, signal: stop });
      },
    );
    if (outcome.error) result.error = outcome.error;
    if (outcome.value) Object.assign(result, outcome.value);
    result.lockLost = outcome.lost;
    result.releaseError = outcome.releaseError;
  } catch (e) {
    result.error = toGgnError(e, ctx);
  }
  return result;
}

/** A run's dependencies: UpdateDeps, the run's id, and the env's history read once for all its services. */
type RunDeps = UpdateDeps & { runId: string; history: () => Promise<AuditEntry[]> };

/**
 * The env's audit history (every host's log), read on first use and then shared by the run's
 * services: `rollback --to` of an env resolves every service against one read of each host's log,
 * not one per service. Lines the run itself appends later concern units already rolled back.
 */
function envHistory(driver: Driver, envName: string): () => Promise<AuditEntry[]> {
  let read: Promise<AuditEntry[]> | undefined;
  return () => (read ??= readHistory(driver, envName).then((h) => h.entries));
}

/** One service's rollout, under its lock. */
async function rollOutService(
  ws: Workspace,
  driver: Driver,
  env: Env,
  service: string,
  svc: PreparedService,
  deps: RunDeps,
  opts: UpdateOptions,
): Promise<Pick<ServiceResult, 'summary' | 'nothingToDo' | 'prune'>> {
  const ctx = { env: env.dir, service };
  const plan = await buildPlan(ws, driver, { env: env.dir, service, unit: opts.scope.unit });
  if (plan.errors.length) throw plan.errors[0].withContext(ctx);
  if (opts.planFile) {
    const moved = planMoves(opts.planFile.plan, plan, service);
    if (moved.length)
      throw new GgnError(
        `the plan is out of date: ${moved.length} unit(s) moved since it was made, nothing was changed: ${moved.join('; ')} (review a new one: ggn ${env.dir} diff --out <file>)`,
        { ...ctx, file: opts.planFile.file },
      );
  }
  if (opts.mode === 'prune') return pruneService(driver, env, service, plan, deps, opts);
  const rel = (p: string) => (path.relative(ws.home.workPath, p).startsWith('..') ? p : path.relative(ws.home.workPath, p));
  for (const w of plan.warnings) deps.reporter.info(`warning: ${w.oneLine(rel)}`);
  const slots = slotDeps(svc, driver);
  // A service with `rollout:`: which slot is live, the proxy says first.
  const changes = slots ? await liveSlotsByProxy(plan.changes, slots.proxy) : plan.changes;
  const items =
    opts.mode === 'rollback'
      ? await rollbackItems(driver, { ...plan, changes }, deps.history, opts.rollbackTo)
      : rolloutItems(changes, { all: opts.all, force: opts.force });
  if (items.length === 0) {
    deps.reporter.info(`${service}: nothing to ${opts.mode === 'rollback' ? 'roll back' : 'update'}`);
    return { nothingToDo: true };
  }
  let prompt = deps.prompt;
  if (deps.confirmPlan) {
    const answer = await deps.confirmPlan(service, items, plan);
    if (answer === 'quit') {
      const none: RolloutSummary = { ok: [], skipped: [], failed: [], notStarted: items.map((i) => i.id), stopped: 'quit', auditFailures: [] };
      return { summary: none };
    }
    if (answer === 'all') prompt = undefined;
  }
  const hookBase: Omit<HookInfo, 'unit' | 'action'> = {
    env,
    service,
    command: opts.mode,
    who: deps.who,
    attributes: hookAttributes(attributesForHooks(svc.source.attributes, svc.source.env)),
    logLevel: deps.logLevel,
  };
  const health = healthGate(svc, env, driver, deps, hookBase, healthChecksByUnit(svc, plan));
  // Every host that will change must be able to record it: checked before the first change.
  const machines = [...new Set(items.map((i) => i.machine))].sort();
  const checks = await mapLimit(machines, 20, (m) => driver.checkAudit(m));
  checks.forEach((c, i) => {
    if (!c.ok) throw toGgnError(c.error, { ...ctx, host: machines[i] });
  });

  await runHooks('early', { ...hookBase, action: `service/${opts.mode}` }, { signal: opts.signal });
  const concurrency = opts.parallel ?? svc.manifest.concurrentUpdater;
  const summary = await runRollout(
    items,
    {
      driver,
      clock: deps.clock,
      reporter: deps.reporter,
      hooks: {
        early: async (item) =>
          void (await runHooks('early', { ...hookBase, unit: ggnUnitName(env, service, item), action: `unit/${opts.mode}` }, { signal: opts.signal })),
        late: async (item) => {
          const runs = await runHooks('late', { ...hookBase, unit: ggnUnitName(env, service, item), action: `unit/${opts.mode}` });
          const bad = runs.find((r) => !r.ok);
          if (bad) deps.reporter.info(`late hook ${bad.name} failed on ${item.id} (exit ${bad.code}); the unit stays updated`);
        },
      },
      health,
      slots,
      prompt: prompt ? (item) => prompt!(item, plan) : undefined,
      audit: { who: deps.who, env: env.name, action: opts.mode, runId: deps.runId, tree: deps.tree },
    },
    { concurrency, batches: opts.batches, timeoutMs: opts.timeoutMs, settleMs: opts.settleMs, pollMs: opts.pollMs, maxFail: opts.maxFail, signal: opts.signal },
  );
  const late = await runHooks('late', { ...hookBase, action: `service/${opts.mode}` });
  const badLate = late.find((r) => !r.ok);
  if (badLate) deps.reporter.info(`late hook ${badLate.name} failed (exit ${badLate.code})`);
  const clean = summary.failed.length === 0 && !summary.stopped && summary.auditFailures.length === 0;
  if (opts.prune && opts.mode === 'update' && clean && !opts.signal?.aborted) {
    return { summary, prune: (await pruneService(driver, env, service, plan, deps, opts)).prune };
  }
  return { summary };
}

/** The service's orphans removed, under the lock the caller holds. */
async function pruneService(
  driver: Driver,
  env: Env,
  service: string,
  plan: LivePlan,
  deps: RunDeps,
  opts: UpdateOptions,
): Promise<Pick<ServiceResult, 'prune' | 'nothingToDo'>> {
  const items = pruneItems(plan.changes.filter((c) => c.service === service));
  if (items.length === 0) {
    deps.reporter.info(`${service}: nothing to prune`);
    return { nothingToDo: opts.mode === 'prune', prune: { pruned: [], skipped: [], failed: [], notStarted: [] } };
  }
  const machines = [...new Set(items.map((i) => i.machine))].sort();
  const checks = await mapLimit(machines, 20, (m) => driver.checkAudit(m));
  checks.forEach((c, i) => {
    if (!c.ok) throw toGgnError(c.error, { env: env.dir, service, host: machines[i] });
  });
  const prune = await runPrune(items, {
    driver,
    clock: deps.clock,
    reporter: deps.reporter,
    audit: { who: deps.who, env: env.name, runId: deps.runId, tree: deps.tree },
    prompt: opts.prunePrompt,
    signal: opts.signal,
  });
  return { prune };
}

/** A service with `rollout:`: its proxy, reached through the driver's exec. */
function slotDeps(svc: PreparedService, driver: Driver): RolloutDeps['slots'] {
  const r = svc.manifest.rollout;
  if (!r) return undefined;
  if (!driver.exec) throw missingCapability(driver, 'drive a proxy for `rollout:` (it runs the proxy commands on the host)');
  return { proxy: createProxy(r.proxy, driver.exec.bind(driver)), drainTimeoutMs: r.drainTimeoutMs };
}

/** GGN's unit name for hooks: the node hostname (`w1`), or `w1.timer` for a lone timer. */
function ggnUnitName(env: Env, service: string, item: RolloutItem): string {
  return shortUnitName(env.name, service, item.main);
}

/** isAvailable hooks (`hooks/command/*`) then the manifest's healthCheck, if any. */
function healthGate(
  svc: PreparedService,
  env: Env,
  driver: Driver,
  deps: UpdateDeps,
  hookBase: Omit<HookInfo, 'unit' | 'action'>,
  perUnit: Map<string, HealthCheck>,
) {
  const serviceCheck = isMapValue(svc.manifest.raw) ? readHealthCheck(svc.manifest.raw, svc.manifest.file) : undefined;
  return async (item: RolloutItem, signal: AbortSignal): Promise<{ ok: boolean; message?: string }> => {
    const check = perUnit.get(item.main) ?? serviceCheck;
    const avail = await runAvailabilityHooks(
      { ...hookBase, unit: ggnUnitName(env, item.service, item), action: 'unit/isAvailable', host: item.machine },
      { clock: deps.clock, timeoutMs: check?.timeoutMs ?? 30_000, intervalMs: check?.intervalMs ?? 1000, signal },
    );
    if (!avail.ok) return { ok: false, message: avail.last ?? 'availability hook failed' };
    if (!check) return { ok: true };
    const r = await waitHealthy(check, {
      machine: item.machine,
      machineAddress: driver.address?.(item.machine) ?? item.machine,
      exec: (m, argv, o) => (driver.exec ? driver.exec(m, argv, o) : Promise.reject(missingCapability(driver, 'run exec health checks'))),
      clock: deps.clock,
      signal,
    });
    return r.ok ? { ok: true } : { ok: false, message: `${describeHealthCheck(check)}: ${r.last} (after ${r.attempts} attempt(s))` };
  };
}

/** Nodes with their own `healthCheck:` (templated with the node's data), by unit name. Checked before any change. */
function healthChecksByUnit(svc: PreparedService, plan: LivePlan): Map<string, HealthCheck> {
  const out = new Map<string, HealthCheck>();
  for (const u of plan.rendered) {
    if (u.service !== svc.source.name || u.kind !== 'service') continue;
    let raw: GoValue | undefined = nodeHealthCheck(svc, u.node);
    // A slot's check: `$SLOT_PORT` and `$SLOT` in the node's or the manifest's check are the slot's.
    if (u.slot) raw = withSlot(raw ?? svc.manifest.raw.healthCheck, u.slot);
    const check = raw ? readHealthCheck({ healthCheck: raw } as GoMap, svc.manifest.file) : undefined;
    if (check) out.set(u.name, check);
  }
  return out;
}

/**
 * Rollback: for each unit of the service on its machine, the newest revision kept there, or with
 * `to` the revision it names (resolved for every unit before anything changes).
 */
async function rollbackItems(driver: Driver, plan: LivePlan, history: () => Promise<AuditEntry[]>, to?: string): Promise<RolloutItem[]> {
  // A node with `rollout:` switches back to its idle slot, which holds the previous version.
  const slotted = plan.changes.filter((c) => c.slot && c.kind !== 'new' && c.live !== undefined);
  if (slotted.length && to !== undefined)
    throw new GgnError(
      `rollback --to does not apply to a service with \`rollout:\` (${slotted[0].service}): its rollback switches back to the idle slot, which holds the previous version; to go further back, update from an older tree`,
    );
  const slotItems = slotted.flatMap((c) => slotRollbackItem(c) ?? []);
  const groups = groupUnits(plan.changes.filter((c) => !c.slot && c.kind !== 'new' && c.live !== undefined));
  const kept = await readKept(driver, groups.flat());
  const newest = new Map([...kept].flatMap(([k, revs]) => (revs.length ? [[k, revs[revs.length - 1]] as const] : [])));
  const targets = to
    ? resolveRollbackTargets(
        to,
        groups.flatMap((cs) =>
          cs.map((c) => ({
            unit: c.unit,
            machine: c.machine,
            group: cs[0].machine + cs[0].unit,
            live: c.live!,
            revisions: kept.get(unitKey(c.unit, c.machine))!,
          })),
        ),
        await history(),
      ).targets
    : newest;
  const items: RolloutItem[] = slotItems;
  for (const cs of groups) {
    const files: RolloutItem['files'] = [];
    for (const c of cs) {
      const rev = targets.get(unitKey(c.unit, c.machine));
      // A revision may hold a secret: it is put back private when the tree has secrets for the unit or the host file is private.
      if (rev && rev.content !== c.live)
        files.push({ unit: c.unit, desired: rev.content, previous: c.live!, changed: true, fromRevision: rev.revision, secret: c.secrets !== undefined });
    }
    if (files.length === 0) continue;
    // Unchanged companions (a timer whose bytes did not change) still restart with the item.
    for (const c of cs) if (!files.some((f) => f.unit === c.unit)) files.push({ unit: c.unit, desired: c.live!, previous: c.live!, changed: false });
    items.push(itemFor(cs, files, 'rollback'));
  }
  return interleaveMachines(items.sort((a, b) => (a.id < b.id ? -1 : 1)));
}

/** The revisions kept of each unit: one round trip per machine where the driver can (readRevisionsOf), else one per unit. */
async function readKept(driver: Driver, changes: UnitChange[]): Promise<Map<string, Revision[]>> {
  const kept = new Map<string, Revision[]>();
  const byMachine = new Map<string, string[]>();
  for (const c of changes) {
    const units = byMachine.get(c.machine);
    if (units) units.push(c.unit);
    else byMachine.set(c.machine, [c.unit]);
  }
  const reads = driver.readRevisionsOf
    ? await mapLimit([...byMachine], 20, async ([m, units]) => {
        const revs = await driver.readRevisionsOf!(m, units);
        for (const u of units) kept.set(unitKey(u, m), revs.get(u) ?? []);
      })
    : await mapLimit(changes, 20, async (c) => kept.set(unitKey(c.unit, c.machine), await driver.readRevisions(c.machine, c.unit)));
  for (const r of reads) if (!r.ok) throw r.error;
  return kept;
}

/**
 * Rollback of a node with `rollout:`: the idle slot still holds the previous version (its file
 * stays when it is stopped), so it is started, checked and switched to; nothing is written.
 */
export function slotRollbackItem(c: UnitChange): RolloutItem | undefined {
  const s = c.slot!;
  if (c.state?.activeState !== 'active' || s.other.live === null) return undefined;
  const content = s.other.live;
  return {
    id: `${s.other.unit}@${c.machine}`,
    machine: c.machine,
    service: c.service,
    main: s.other.unit,
    files: [{ unit: s.other.unit, desired: content, previous: content, changed: false, secret: c.secrets !== undefined }],
    wasActive: false,
    reason: 'rollback',
    overlap: {
      hostname: s.hostname,
      to: { slot: s.other.name, port: s.other.port, unit: s.other.unit },
      other: { slot: s.name, port: s.port, unit: c.unit },
      otherServing: true,
    },
  };
}
