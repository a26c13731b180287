/**
 * `update` and `rollback` at env, service and unit level: for each service (env level: in
 * `updateOrder` from the env config, then by name), take the service lock, plan, run the
 * service's early hooks, roll the units out (unit hooks and health gate around each), run the
 * late hooks, release the lock. A failed service stops an env-level update.
 * The lock backend is checked before anything changes; so are the plans.
 */
import { GgnError, toGgnError } from '../errors';
import { SshSystemdDriver } from '../drivers/systemd/driver';
import { readDriverConfig } from '../drivers/config';
import { buildPlan, LivePlan, PlanScope } from '../plan/build';
import { PreparedService } from '../render/service';
import { Env } from '../tree/env';
import { isMapValue } from '../tree/yaml';
import { Workspace } from '../workspace';
import { readHealthCheck, waitHealthy, describeHealthCheck } from './health';
import { hookAttributes, HookInfo, runAvailabilityHooks, runHooks } from './hooks';
import { createLockBackend, LockBackend, readLockConfig } from './lock';
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
}

export interface ServiceResult {
  service: string;
  summary?: RolloutSummary;
  /** Set when the service could not be rolled out at all (lock held, plan errors, early hook). */
  error?: GgnError;
  nothingToDo?: boolean;
}

/** The env's services in update order: `updateOrder:` first, then the others by name. */
export function serviceOrder(env: Env, services: string[]): string[] {
  const order = env.config.updateOrder;
  if (order === undefined || order === null) return services;
  if (!Array.isArray(order) || order.some((s) => typeof s !== 'string')) throw new GgnError('`updateOrder:` must be a list of service names', { file: env.configFile });
  for (const s of order as string[]) if (!services.includes(s)) throw new GgnError(`\`updateOrder:\` names "${s}", which is not a service of this env`, { file: env.configFile });
  return [...(order as string[]), ...services.filter((s) => !(order as string[]).includes(s))];
}

export function lockBackendFor(ws: Workspace, driver: SshSystemdDriver, envDir: string, clock: Clock): LockBackend {
  const env = ws.env(envDir);
  const cfg = readDriverConfig(env);
  return createLockBackend(readLockConfig(env.config, env.configFile), {
    exec: (m, argv, o) => driver.exec(m, argv, o),
    firstMachine: cfg.machines[0].name,
    scope: cfg.ssh.scope,
    sudo: cfg.ssh.sudo,
    envName: env.name,
    clock,
  });
}

export async function update(ws: Workspace, driver: SshSystemdDriver, deps: UpdateDeps, opts: UpdateOptions): Promise<ServiceResult[]> {
  const env = ws.env(opts.scope.env);
  const services = opts.scope.service ? [opts.scope.service] : serviceOrder(env, ws.serviceNames(env));
  const lock = lockBackendFor(ws, driver, env.dir, deps.clock);
  const results: ServiceResult[] = [];
  try {
    await lock.check();
    for (const service of services) {
      if (opts.signal?.aborted) break;
      const r = await updateService(ws, driver, lock, env, service, deps, opts);
      results.push(r);
      if (r.error || r.summary?.failed.length || r.summary?.stopped) break;
    }
  } finally {
    await lock.close();
  }
  return results;
}

async function updateService(ws: Workspace, driver: SshSystemdDriver, lock: LockBackend, env: Env, service: string, deps: UpdateDeps, opts: UpdateOptions): Promise<ServiceResult> {
  const ctx = { env: env.dir, service };
  let locked = false;
  try {
    const svc = ws.service(env, service);
    await lock.acquire(service, { holder: deps.who, message: `${opts.mode} ${opts.scope.unit ?? service}`, ttlMs: opts.lockTtlMs, waitMs: opts.lockWaitMs });
    locked = true;
    deps.reporter.info(`${service}: locked (${lock.description})`);
    const plan = await buildPlan(ws, driver, { env: env.dir, service, unit: opts.scope.unit });
    if (plan.errors.length) throw plan.errors[0].withContext(ctx);
    const items = opts.mode === 'rollback' ? await rollbackItems(driver, plan) : rolloutItems(plan.changes, { all: opts.all, force: opts.force });
    if (items.length === 0) {
      deps.reporter.info(`${service}: nothing to ${opts.mode === 'rollback' ? 'roll back' : 'update'}`);
      return { service, nothingToDo: true };
    }
    const hookBase: Omit<HookInfo, 'unit' | 'action'> = {
      env,
      service,
      command: opts.mode,
      who: deps.who,
      attributes: hookAttributes(svc.source.attributes),
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
          early: async (item) => void (await runHooks('early', { ...hookBase, unit: ggnUnitName(env, service, item), action: `unit/${opts.mode}` })),
          late: async (item) => {
            const runs = await runHooks('late', { ...hookBase, unit: ggnUnitName(env, service, item), action: `unit/${opts.mode}` });
            const bad = runs.find((r) => !r.ok);
            if (bad) deps.reporter.info(`late hook ${bad.name} failed on ${item.id} (exit ${bad.code}); the unit stays updated`);
          },
        },
        health: healthGate(svc, env, driver, deps, hookBase),
        prompt: deps.prompt ? (item) => deps.prompt!(item, plan) : undefined,
        audit: { who: deps.who, env: env.name, action: opts.mode },
      },
      { concurrency, batches: opts.batches, timeoutMs: opts.timeoutMs, settleMs: opts.settleMs, pollMs: opts.pollMs, maxFail: opts.maxFail, signal: opts.signal },
    );
    const late = await runHooks('late', { ...hookBase, action: `service/${opts.mode}` });
    const badLate = late.find((r) => !r.ok);
    if (badLate) deps.reporter.info(`late hook ${badLate.name} failed (exit ${badLate.code})`);
    return { service, summary };
  } catch (e) {
    return { service, error: toGgnError(e, ctx) };
  } finally {
    if (locked) {
      await lock.release(service, deps.who).catch((e) => deps.reporter.info(`could not release the lock of ${service}: ${(e as Error).message}`));
    }
  }
}

/** GGN's unit name for hooks: the node hostname (`w1`), or `w1.timer` for a lone timer. */
function ggnUnitName(env: Env, service: string, item: RolloutItem): string {
  const prefix = `${env.name}_${service}_`;
  const n = item.main.startsWith(prefix) ? item.main.slice(prefix.length) : item.main;
  return n.endsWith('.service') ? n.slice(0, -'.service'.length) : n;
}

/** isAvailable hooks (`hooks/command/*`) then the manifest's healthCheck, if any. */
function healthGate(svc: PreparedService, env: Env, driver: SshSystemdDriver, deps: UpdateDeps, hookBase: Omit<HookInfo, 'unit' | 'action'>) {
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
      machineAddress: driver.host(item.machine).address,
      exec: (m, argv, o) => driver.exec(m, argv, o),
      clock: deps.clock,
      signal,
    });
    return r.ok ? { ok: true } : { ok: false, message: `${describeHealthCheck(check)}: ${r.last} (after ${r.attempts} attempt(s))` };
  };
}

/** Rollback: for each unit of the service on its machine, the newest revision kept there. */
async function rollbackItems(driver: SshSystemdDriver, plan: LivePlan): Promise<RolloutItem[]> {
  const items: RolloutItem[] = [];
  for (const cs of groupUnits(plan.changes.filter((c) => c.kind !== 'new' && c.live !== undefined))) {
    const files: RolloutItem['files'] = [];
    for (const c of cs) {
      const rev = await driver.readRevision(c.machine, c.unit);
      if (rev && rev.content !== c.live) files.push({ unit: c.unit, desired: rev.content, previous: c.live!, changed: true, fromRevision: rev.revision });
    }
    if (files.length === 0) continue;
    // Unchanged companions (a timer whose bytes did not change) still restart with the item.
    for (const c of cs) if (!files.some((f) => f.unit === c.unit)) files.push({ unit: c.unit, desired: c.live!, previous: c.live!, changed: false });
    items.push(itemFor(cs, files, 'rollback'));
  }
  return interleaveMachines(items.sort((a, b) => (a.id < b.id ? -1 : 1)));
}
