/**
 * `update` and `rollback` at env, service and unit level: for each service (env level: in
 * `updateOrder` from the env config, then by name), hold the service lock as one run (renewed
 * while it works), plan, check that every host's audit log is writable, run the service's early
 * hooks, roll the units out (unit hooks and health gate around each), run the late hooks,
 * release the lock. A failed service stops an env-level update; so does a stop (signal) or a
 * lost lock, after the units in flight are finished or restored.
 * The lock backend is checked before anything changes; so are the plans.
 */
import { shortUnitName } from '../render/names';
import { GgnError, toGgnError } from '../errors';
import { Driver, missingCapability } from '../drivers/types';
import { buildPlan, LivePlan, PlanScope } from '../plan/build';
import { PreparedService } from '../render/service';
import { Env } from '../tree/env';
import { isMapValue } from '../tree/yaml';
import { Workspace } from '../workspace';
import { readHealthCheck, waitHealthy, describeHealthCheck } from './health';
import { attributesForHooks } from '../secrets/hooks';
import { hookAttributes, HookInfo, runAvailabilityHooks, runHooks } from './hooks';
import { randomUUID } from 'node:crypto';
import { createLockBackend, readLockConfig, ServiceLocks, withServiceLock } from './lock';
import { mapLimit } from '../parallel';
import { BatchSize, groupUnits, interleaveMachines, itemFor, PromptAnswer, RolloutItem, rolloutItems, runRollout, RolloutSummary } from './rollout';
import { Clock, Reporter } from './types';

export type Mode = 'update' | 'rollback';

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
}

export interface UpdateDeps {
  clock: Clock;
  reporter: Reporter;
  /** Per unit, when the user is asked (a TTY without -y). */
  prompt?: (item: RolloutItem, plan: LivePlan) => Promise<PromptAnswer>;
  who: string;
  logLevel: string;
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
}

/** The env's services in update order: `updateOrder:` first, then the others by name. */
export function serviceOrder(env: Env, services: string[]): string[] {
  const order = env.config.updateOrder;
  if (order === undefined || order === null) return services;
  if (!Array.isArray(order) || order.some((s) => typeof s !== 'string'))
    throw new GgnError('`updateOrder:` must be a list of service names', { file: env.configFile });
  for (const s of order as string[])
    if (!services.includes(s)) throw new GgnError(`\`updateOrder:\` names "${s}", which is not a service of this env`, { file: env.configFile });
  return [...(order as string[]), ...services.filter((s) => !(order as string[]).includes(s))];
}

export function lockBackendFor(ws: Workspace, driver: Driver, envDir: string, clock: Clock): ServiceLocks {
  const env = ws.env(envDir);
  const cfg = readLockConfig(env.config, env.configFile);
  const target = driver.lockTarget?.();
  const exec = driver.exec?.bind(driver);
  if (cfg.backend === 'ssh' && (!target || !exec)) throw missingCapability(driver, 'keep the ssh lock (use `lock: {backend: etcd, ...}`)');
  return createLockBackend(cfg, {
    exec: exec ?? (async () => Promise.reject(missingCapability(driver, 'run commands'))),
    firstMachine: driver.machines()[0].name,
    scope: target?.scope ?? 'user',
    sudo: target?.sudo ?? false,
    envName: env.name,
    clock,
  });
}

export async function update(ws: Workspace, driver: Driver, deps: UpdateDeps, opts: UpdateOptions): Promise<ServiceResult[]> {
  const env = ws.env(opts.scope.env);
  const services = opts.scope.service ? [opts.scope.service] : serviceOrder(env, ws.serviceNames(env));
  const lock = deps.locks ?? lockBackendFor(ws, driver, env.dir, deps.clock);
  const results: ServiceResult[] = [];
  try {
    await lock.check();
    const runId = deps.runId ?? randomUUID();
    for (const service of services) {
      if (opts.signal?.aborted) break;
      const r = await updateService(ws, driver, lock, env, service, { ...deps, runId }, opts);
      results.push(r);
      if (r.error || r.lockLost || r.releaseError || r.summary?.failed.length || r.summary?.stopped || r.summary?.auditFailures.length) break;
    }
  } finally {
    await lock.close();
  }
  return results;
}

async function updateService(
  ws: Workspace,
  driver: Driver,
  lock: ServiceLocks,
  env: Env,
  service: string,
  deps: UpdateDeps & { runId: string },
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

/** One service's rollout, under its lock. */
async function rollOutService(
  ws: Workspace,
  driver: Driver,
  env: Env,
  service: string,
  svc: PreparedService,
  deps: UpdateDeps & { runId: string },
  opts: UpdateOptions,
): Promise<Pick<ServiceResult, 'summary' | 'nothingToDo'>> {
  const ctx = { env: env.dir, service };
  const plan = await buildPlan(ws, driver, { env: env.dir, service, unit: opts.scope.unit });
  if (plan.errors.length) throw plan.errors[0].withContext(ctx);
  const items = opts.mode === 'rollback' ? await rollbackItems(driver, plan) : rolloutItems(plan.changes, { all: opts.all, force: opts.force });
  if (items.length === 0) {
    deps.reporter.info(`${service}: nothing to ${opts.mode === 'rollback' ? 'roll back' : 'update'}`);
    return { nothingToDo: true };
  }
  // Every host that will change must be able to record it: checked before the first change.
  const machines = [...new Set(items.map((i) => i.machine))].sort();
  const checks = await mapLimit(machines, 20, (m) => driver.checkAudit(m));
  checks.forEach((c, i) => {
    if (!c.ok) throw toGgnError(c.error, { ...ctx, host: machines[i] });
  });
  const hookBase: Omit<HookInfo, 'unit' | 'action'> = {
    env,
    service,
    command: opts.mode,
    who: deps.who,
    attributes: hookAttributes(attributesForHooks(svc.source.attributes, svc.source.env)),
    logLevel: deps.logLevel,
  };
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
      health: healthGate(svc, env, driver, deps, hookBase),
      prompt: deps.prompt ? (item) => deps.prompt!(item, plan) : undefined,
      audit: { who: deps.who, env: env.name, action: opts.mode, runId: deps.runId },
    },
    { concurrency, batches: opts.batches, timeoutMs: opts.timeoutMs, settleMs: opts.settleMs, pollMs: opts.pollMs, maxFail: opts.maxFail, signal: opts.signal },
  );
  const late = await runHooks('late', { ...hookBase, action: `service/${opts.mode}` });
  const badLate = late.find((r) => !r.ok);
  if (badLate) deps.reporter.info(`late hook ${badLate.name} failed (exit ${badLate.code})`);
  return { summary };
}

/** GGN's unit name for hooks: the node hostname (`w1`), or `w1.timer` for a lone timer. */
function ggnUnitName(env: Env, service: string, item: RolloutItem): string {
  return shortUnitName(env.name, service, item.main);
}

/** isAvailable hooks (`hooks/command/*`) then the manifest's healthCheck, if any. */
function healthGate(svc: PreparedService, env: Env, driver: Driver, deps: UpdateDeps, hookBase: Omit<HookInfo, 'unit' | 'action'>) {
  const check = isMapValue(svc.manifest.raw) ? readHealthCheck(svc.manifest.raw, svc.manifest.file) : undefined;
  return async (item: RolloutItem, signal: AbortSignal): Promise<{ ok: boolean; message?: string }> => {
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

/** Rollback: for each unit of the service on its machine, the newest revision kept there. */
async function rollbackItems(driver: Driver, plan: LivePlan): Promise<RolloutItem[]> {
  const items: RolloutItem[] = [];
  for (const cs of groupUnits(plan.changes.filter((c) => c.kind !== 'new' && c.live !== undefined))) {
    const files: RolloutItem['files'] = [];
    for (const c of cs) {
      const rev = await driver.readRevision(c.machine, c.unit);
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
