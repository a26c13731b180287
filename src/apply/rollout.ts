/**
 * The rollout: units are updated host by host, each through the same steps, and a unit that
 * fails any step is put back the way it was.
 *
 *   hooks-early -> write (atomic; the replaced bytes become a revision) -> reload ->
 *   restart (start; a unit with a timer: restart the timer) -> wait-active -> health -> hooks-late
 *
 * On failure: the previous bytes go back (a new unit is removed), reload, the unit is
 * restarted if it was running before (and must be active again), and the rollout stops starting
 * new units; units in flight finish their own steps or restore. `maxFail` lets it go on past
 * that many failed units. A stop (Ctrl-C, SIGTERM, SIGHUP, the lock lost) starts no new unit,
 * interrupts the waits of the units in flight and restores them; a unit past its gates ends.
 *
 * A service is restarted without blocking (`--no-block`) and then waited for, so `timeoutMs`
 * bounds its whole start, ExecStartPre included.
 *
 * When the driver can (`installAndStart`), the last file's write, the reload and the restart go
 * in one round trip; the steps are still reported one by one, each with the time the host says
 * it took (the write's event keeps the rest of the round trip; without the host's figures,
 * reload and restart show 0 ms), and a failure still names the step that failed.
 *
 * A node of a service with `rollout:` (an item with `overlap`) takes the two-slot path instead:
 * the new version started next to the old one, the proxy switched, the old one drained and
 * stopped (./overlap.ts); batches, prompts, stops and the summary are the same.
 *
 * Every dependency (driver calls, clock, hooks, health gate, prompt, proxy) is injected.
 */
import * as os from 'node:os';
import { isService, isTimer, unitBase } from '../render/names';
import { GgnError } from '../errors';
import { auditFields, contentHash, STARTED } from './audit';
import { Driver, FailureDetail, InstallAndStartError, InstallAndStartResult, StartTicket, StartWatch } from '../drivers/types';
import { UnitChange } from '../plan/diff';
import { Clock, Reporter, RolloutStep } from './types';
import { TrafficProxy } from '../proxy/types';
import { updateSlots } from './overlap';

/** A service unit and its timer on one machine: updated together. */
export interface RolloutItem {
  id: string;
  machine: string;
  service: string;
  /** The .service (or the lone .timer). */
  main: string;
  timer?: string;
  files: {
    unit: string;
    desired: string;
    previous: string | null;
    changed: boolean /** rollback: the revision being put back, deleted once the unit is up */;
    fromRevision?: string;
    /** Secrets reach the unit: it (and what a restore puts back) is written private. */
    secret?: boolean;
  }[];
  /** Whether the main unit (or its timer) was active before: a restore restarts only then. */
  wasActive: boolean;
  /** What the diff said: new, changed, or unchanged (touched because not running, --all, --force). */
  reason: string;
  /**
   * A node of a service with `rollout:` (src/apply/overlap.ts): `to` (the main unit, whose file
   * is `files`) is started next to `other`, the proxy switched to it, `other` drained and stopped.
   * `otherServing`: `other` runs (and, the proxy says, serves); else `to` is simply brought up.
   */
  overlap?: { hostname: string; to: SlotRef; other: SlotRef; otherServing: boolean };
}

/** One slot of a node: its name, port and unit. */
export interface SlotRef {
  slot: string;
  port: number;
  unit: string;
}

/** What the rollout asks of a driver. */
export type RolloutDriver = Pick<
  Driver,
  'install' | 'uninstall' | 'reload' | 'stop' | 'resetFailed' | 'beginStart' | 'waitUp' | 'appendAudit' | 'dropRevision' | 'installAndStart' | 'failureDetail'
>;

/**
 * `--settle`'s default: how long a started service must stay up to count. bench/settle.ts
 * measures how long typical broken services look up before they die: a missing binary or a
 * shell `exit 1` under 30 ms, a Python import error ~100 ms, Node's missing module or port in
 * use ~200-350 ms, Java's missing main class ~500-700 ms on this machine; 1 s outlasts them all.
 */
export const DEFAULT_SETTLE = '1s';

/**
 * How long the start's own round trip may watch a service from its host before ggn looks from
 * here (a driver that can: StartWatch); `--settle` comes on top. A stop asked meanwhile takes
 * effect when that round trip returns, so this stays short.
 */
export const WATCH_BUDGET_MS = 1000;

/** Journal lines shown with a unit that did not come up. */
export const FAILURE_JOURNAL_LINES = 10;

export type PromptAnswer = 'yes' | 'skip' | 'quit';

export interface RolloutDeps {
  driver: RolloutDriver;
  clock: Clock;
  reporter: Reporter;
  /** Unit-level hooks; an early hook that throws fails the unit before any change. */
  hooks?: { early(item: RolloutItem): Promise<void>; late(item: RolloutItem): Promise<void> };
  /** The health gate after the unit is active: isAvailable hooks and the manifest's healthCheck. */
  health?: (item: RolloutItem, signal: AbortSignal) => Promise<{ ok: boolean; message?: string }>;
  /** Asked before each unit when set (a TTY without -y). */
  prompt?: (item: RolloutItem) => Promise<PromptAnswer>;
  /** The proxy and drain timeout of items with `overlap` (a service with `rollout:`). */
  slots?: { proxy: TrafficProxy; drainTimeoutMs: number };
  audit: { who: string; env: string; action: string; runId: string; tree?: string };
}

export interface RolloutOptions {
  /** Units at once (sliding window), when no batches are given. */
  concurrency: number;
  /** `--batch 1,25%,100%`: sizes of successive batches; the last one repeats. */
  batches?: BatchSize[];
  timeoutMs: number;
  /** After a service is active, how long it must stay up (same PID, no restart) to count. */
  settleMs: number;
  pollMs: number;
  /** Failed units tolerated before the rollout stops (0: stop at the first). */
  maxFail: number;
  signal?: AbortSignal;
}

export type BatchSize = { count: number } | { percent: number };

export interface UnitFailure {
  unit: string;
  machine: string;
  step: RolloutStep;
  message: string;
  restored: boolean;
  /** Why it did not come up, as systemd says (a unit that failed to start or to pass its health gate). */
  detail?: FailureDetail;
}

export interface RolloutSummary {
  ok: string[];
  skipped: string[];
  failed: UnitFailure[];
  /** Units never started because the rollout stopped (failure, quit, Ctrl-C). */
  notStarted: string[];
  stopped?: 'failure' | 'quit' | 'interrupted';
  /** Audit lines that could not be written: `host: unit: why`. */
  auditFailures: string[];
}

export class StepError extends Error {
  constructor(
    readonly step: RolloutStep,
    message: string,
  ) {
    super(message);
  }
}

/** One unit's events, steps and audit lines (shared by the in-place and the overlap rollout). */
export function unitSteps(item: RolloutItem, deps: RolloutDeps, signal: AbortSignal, auditFailures: string[]) {
  const { driver, clock, reporter } = deps;
  const ev = (step: RolloutStep, result: 'started' | 'ok' | 'failed' | 'restored' | 'restore-failed', extra: { durationMs?: number; message?: string } = {}) =>
    reporter.event({ time: clock.now(), unit: item.main, host: item.machine, step, result, ...extra });
  /** `moveMs`: time that belongs to another step (a round trip that did several), added to this one's. */
  const step = async <T>(name: RolloutStep, fn: () => Promise<T>, opts: { interruptible?: boolean; moveMs?: () => number } = {}): Promise<T> => {
    // Stopped (signal, lock lost): no further step; the unit is restored.
    if (signal.aborted && opts.interruptible !== false) throw new StepError(name, 'interrupted');
    const t0 = clock.now();
    const took = () => Math.max(0, clock.now() - t0 + (opts.moveMs?.() ?? 0));
    ev(name, 'started');
    try {
      const v = await fn();
      // A backend that placed the unit itself says where (waitUp's note).
      const note = typeof v === 'object' && v !== null ? (v as { note?: unknown }).note : undefined;
      ev(name, 'ok', { durationMs: took(), ...(typeof note === 'string' ? { message: note } : {}) });
      return v;
    } catch (e) {
      // A wait or health check cut short by a stop says so, not "timed out after 0.0 s".
      const message =
        signal.aborted && (name === 'wait-active' || name === 'health' || name === 'hooks-early') ? 'interrupted' : e instanceof Error ? e.message : String(e);
      ev(name, 'failed', { durationMs: took(), message });
      throw e instanceof StepError && e.message === message ? e : new StepError(name, message);
    }
  };
  const oldHash = contentHash(item.files.find((f) => f.unit === item.main)?.previous ?? null);
  const newHash = contentHash(item.files.find((f) => f.unit === item.main)!.desired);
  const { who, env, action, runId, tree } = deps.audit;
  const fieldsFor = (result: string) =>
    auditFields({
      time: new Date(clock.now()).toISOString(),
      who,
      env,
      service: item.service,
      unit: item.main,
      action,
      oldHash,
      newHash,
      result,
      runId,
      tree,
    });
  const auditFailed = (result: string, why: string) => {
    auditFailures.push(`${item.machine}: ${item.main}: ${why}`);
    reporter.info(`warning: host ${item.machine}: unit ${item.main}: could not write the audit line (${result}): ${why}`);
  };
  const audit = async (result: string) => {
    try {
      await driver.appendAudit(item.machine, fieldsFor(result));
    } catch (e) {
      auditFailed(result, e instanceof Error ? e.message : String(e));
    }
  };
  return { ev, step, fieldsFor, audit, auditFailed };
}

/** The plan's units per machine, a service with its timer: `<machine>\0<base name>` -> changes. */
export function groupUnits(changes: UnitChange[]): UnitChange[][] {
  const groups = new Map<string, UnitChange[]>();
  for (const c of changes) {
    const key = `${c.machine}\0${unitBase(c.unit)}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return [...groups.values()];
}

/** A rollout item for a group: the service is the main unit (a lone timer is its own main). */
export function itemFor(cs: UnitChange[], files: RolloutItem['files'], reason: string): RolloutItem {
  const svc = cs.find((c) => isService(c.unit));
  const timer = cs.find((c) => isTimer(c.unit));
  const main = svc ?? timer!;
  return {
    id: `${main.unit}@${main.machine}`,
    machine: main.machine,
    service: main.service,
    main: main.unit,
    timer: svc && timer ? timer.unit : undefined,
    files: [...files].sort((a, b) => (a.unit < b.unit ? -1 : 1)),
    wasActive: (timer ?? svc)?.state?.activeState === 'active',
    reason,
  };
}

const byServiceUnitMachine = (a: RolloutItem, b: RolloutItem) =>
  a.service < b.service ? -1 : a.service > b.service ? 1 : a.main < b.main ? -1 : a.main > b.main ? 1 : a.machine < b.machine ? -1 : 1;

/** What an update touches: units that are new, changed or not running (all with --all/--force). */
export function rolloutItems(changes: UnitChange[], opts: { all: boolean; force: boolean }): RolloutItem[] {
  const items: RolloutItem[] = [];
  for (const cs of groupUnits(changes.filter((c) => c.kind !== 'orphan'))) {
    if (cs[0].slot) {
      const item = slotItem(cs[0], opts);
      if (item) items.push(item);
      continue;
    }
    const files = cs.map((c) => ({
      unit: c.unit,
      desired: c.desired!,
      previous: c.live ?? null,
      changed: c.kind !== 'unchanged',
      secret: c.secrets?.holdsSecrets === true,
    }));
    const changed = files.some((f) => f.changed);
    const item = itemFor(cs, files, '');
    if (!changed && item.wasActive && !opts.all && !opts.force) continue;
    item.reason = cs.some((c) => c.kind === 'new') ? 'new' : changed ? 'changed' : item.wasActive ? 'forced' : 'not running';
    items.push(item);
  }
  return interleaveMachines(items.sort(byServiceUnitMachine));
}

/**
 * A node's update with `rollout:`: when its live slot runs, the other slot gets the new version
 * (skipped when the live one is up to date, unless --all/--force); when none runs, the live slot
 * (by the plan: the one with a file, else the first) is brought up.
 */
function slotItem(c: UnitChange, opts: { all: boolean; force: boolean }): RolloutItem | undefined {
  const s = c.slot!;
  const serving = c.state?.activeState === 'active';
  if (serving && c.kind === 'unchanged' && !opts.all && !opts.force) return undefined;
  const live: SlotRef = { slot: s.name, port: s.port, unit: c.unit };
  const idle: SlotRef = { slot: s.other.name, port: s.other.port, unit: s.other.unit };
  const secret = c.secrets?.holdsSecrets === true;
  const to = serving ? idle : live;
  const file = serving
    ? { unit: idle.unit, desired: s.other.desired, previous: s.other.live, changed: s.other.live !== s.other.desired, secret }
    : { unit: live.unit, desired: c.desired!, previous: c.live ?? null, changed: c.kind !== 'unchanged', secret };
  return {
    id: `${to.unit}@${c.machine}`,
    machine: c.machine,
    service: c.service,
    main: to.unit,
    files: [file],
    wasActive: false,
    reason: c.kind === 'new' ? 'new' : c.kind === 'changed' ? 'changed' : serving ? 'forced' : 'not running',
    overlap: { hostname: s.hostname, to, other: serving ? live : idle, otherServing: serving },
  };
}

/**
 * Within each service, takes machines in turn (m1, m2, m3, m1, ...) so that units updated at the
 * same time land on different hosts: a canary batch spans hosts, and one host's systemd is not
 * asked to reload for several units at once.
 */
export function interleaveMachines(items: RolloutItem[]): RolloutItem[] {
  const out: RolloutItem[] = [];
  for (let i = 0; i < items.length; ) {
    let j = i;
    while (j < items.length && items[j].service === items[i].service) j++;
    const byMachine = new Map<string, RolloutItem[]>();
    for (const it of items.slice(i, j)) byMachine.set(it.machine, [...(byMachine.get(it.machine) ?? []), it]);
    const queues = [...byMachine.keys()].sort().map((m) => byMachine.get(m)!);
    while (queues.some((q) => q.length)) for (const q of queues) if (q.length) out.push(q.shift()!);
    i = j;
  }
  return out;
}

export function parseBatches(spec: string): BatchSize[] {
  const parts = spec.split(',').map((s) => s.trim());
  return parts.map((p) => {
    const pct = /^(\d+(?:\.\d+)?)%$/.exec(p);
    if (pct && Number(pct[1]) > 0 && Number(pct[1]) <= 100) return { percent: Number(pct[1]) };
    if (/^\d+$/.test(p) && Number(p) > 0) return { count: Number(p) };
    throw new GgnError(`--batch: "${p}" is not a count (e.g. 1) or a percentage (e.g. 25%); example: --batch 1,25%,100%`);
  });
}

/** Splits `total` items into batches: each size applies in turn, the last one repeats. */
export function batchSizes(total: number, sizes: BatchSize[]): number[] {
  const out: number[] = [];
  let done = 0;
  let i = 0;
  while (done < total) {
    const s = sizes[Math.min(i++, sizes.length - 1)];
    const n = 'count' in s ? s.count : Math.max(1, Math.floor((total * s.percent) / 100));
    const take = Math.min(n, total - done);
    out.push(take);
    done += take;
  }
  return out;
}

export async function runRollout(items: RolloutItem[], deps: RolloutDeps, opts: RolloutOptions): Promise<RolloutSummary> {
  const summary: RolloutSummary = { ok: [], skipped: [], failed: [], notStarted: [], auditFailures: [] };
  deps.reporter.plan(items.map((i) => ({ unit: i.main, host: i.machine })));
  const stopAsked = () => summary.stopped !== undefined || opts.signal?.aborted === true;
  const failedTooMuch = () => summary.failed.length > opts.maxFail;
  const stopSignal = opts.signal ?? new AbortController().signal;

  const runOne = async (item: RolloutItem) => {
    if (stopAsked()) {
      summary.notStarted.push(item.id);
      return;
    }
    if (deps.prompt) {
      const answer = await deps.prompt(item);
      if (answer === 'skip') {
        summary.skipped.push(item.id);
        deps.reporter.event({ time: deps.clock.now(), unit: item.main, host: item.machine, step: 'pending', result: 'skipped' });
        return;
      }
      if (answer === 'quit') {
        summary.stopped ??= 'quit';
        summary.notStarted.push(item.id);
        return;
      }
    }
    const failure = await updateItem(item, deps, opts, stopSignal, summary.auditFailures);
    if (failure) {
      summary.failed.push(failure);
      if (failedTooMuch() && failure.message !== 'interrupted') summary.stopped ??= 'failure';
    } else summary.ok.push(item.id);
  };

  const queue = [...items];
  if (opts.batches && opts.batches.length) {
    for (const size of batchSizes(items.length, opts.batches)) {
      const batch = queue.splice(0, size);
      if (stopAsked()) {
        summary.notStarted.push(...batch.map((i) => i.id));
        continue;
      }
      deps.reporter.info(`batch of ${batch.length}: ${batch.map((i) => i.id).join(', ')}`);
      await Promise.all(batch.map(runOne));
    }
  } else {
    // Sequential prompts need one unit at a time; otherwise a sliding window of `concurrency`.
    const width = deps.prompt ? 1 : Math.max(1, opts.concurrency);
    await Promise.all(
      Array.from({ length: Math.min(width, queue.length) }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await runOne(next);
      }),
    );
  }
  if (opts.signal?.aborted && summary.stopped === undefined && summary.notStarted.length) summary.stopped = 'interrupted';
  else if (opts.signal?.aborted) summary.stopped ??= 'interrupted';
  return summary;
}

async function updateItem(
  item: RolloutItem,
  deps: RolloutDeps,
  opts: RolloutOptions,
  signal: AbortSignal,
  auditFailures: string[],
): Promise<UnitFailure | undefined> {
  if (item.overlap) return updateSlots(item, deps, opts, signal, auditFailures);
  const { driver, clock } = deps;
  const { ev, step, fieldsFor, audit, auditFailed } = unitSteps(item, deps, signal, auditFailures);
  const written: { unit: string; previous: string | null; revision?: string; secret?: boolean }[] = [];
  const units = item.files.map((f) => f.unit);
  let audited = false;

  try {
    if (deps.hooks) await step('hooks-early', () => deps.hooks!.early(item));
    if (signal.aborted) throw new StepError('write', 'interrupted');
    const target = item.timer ?? item.main;
    const changed = item.files.filter((f) => f.changed);
    const combined = driver.installAndStart && changed.length > 0 ? changed[changed.length - 1] : undefined;
    // One file to write in one round trip: the `started` line goes with it, still before the change.
    const startedLine = combined && changed.length === 1 ? fieldsFor(STARTED) : undefined;
    if (!startedLine) await audit(STARTED);
    audited = true;
    let deadline = 0;
    let ticket: StartTicket | undefined;
    let hostMs: InstallAndStartResult['hostMs'];
    let later: LaterStepError | undefined;
    // The round trip's time on the host after the write is the later steps' (reported with them).
    const movedOn = () => (hostMs ? -(hostMs.reload + hostMs.restart + hostMs.watch) : 0);
    await step(
      'write',
      async () => {
        for (const f of changed) {
          // A rollback does not keep the bytes it replaces; its revision is dropped once the unit is up.
          const keepRevision = f.fromRevision === undefined;
          if (f === combined) {
            deadline = clock.now() + opts.timeoutMs;
            try {
              ({ ticket, hostMs } = await installAndStart(
                driver,
                item,
                f,
                { keepRevision, target, auditFirst: startedLine, watch: watchFor(opts) },
                written,
                (why) => auditFailed(STARTED, why),
              ));
            } catch (e) {
              if (!(e instanceof LaterStepError)) throw e;
              later = e;
            }
          } else {
            const { revision } = await driver.install(item.machine, f.unit, f.desired, { keepRevision, secret: f.secret });
            written.push({ unit: f.unit, previous: f.previous, revision, secret: f.secret });
          }
        }
      },
      { moveMs: movedOn },
    );
    if (later) {
      // The write went through; the reload or the restart in the same round trip did not.
      if (later.step === 'restart') {
        ev('reload', 'started');
        ev('reload', 'ok', { durationMs: 0 });
      }
      ev(later.step, 'started');
      ev(later.step, 'failed', { durationMs: 0, message: later.message });
      throw new StepError(later.step, later.message);
    }
    if (ticket) {
      // Reloaded and restarted in the write's round trip: the host's time for each, when it said.
      for (const name of ['reload', 'restart'] as const) {
        ev(name, 'started');
        ev(name, 'ok', { durationMs: hostMs?.[name] ?? 0 });
      }
    } else {
      if (written.length) await step('reload', () => driver.reload(item.machine));
      deadline = clock.now() + opts.timeoutMs;
      ticket = await step('restart', () => driver.beginStart(item.machine, target, { watch: watchFor(opts) }));
    }
    // The host's watch of the start (in the write's round trip) is part of this wait.
    await step('wait-active', () => waitUp(driver, item, ticket!, opts, deadline, signal, clock), { moveMs: () => hostMs?.watch ?? 0 });
    if (deps.health) {
      await step('health', async () => {
        const r = await deps.health!(item, signal);
        if (!r.ok) throw new StepError('health', r.message ?? 'health check failed');
        return r;
      });
    }
    if (deps.hooks) await step('hooks-late', () => deps.hooks!.late(item));
    for (const f of item.files) if (f.fromRevision !== undefined) await driver.dropRevision(item.machine, f.unit, f.fromRevision);
    ev('done', 'ok');
    await audit('ok');
    return undefined;
  } catch (e) {
    const failedStep = e instanceof StepError ? e.step : 'write';
    const message = e instanceof Error ? e.message : String(e);
    const what = message === 'interrupted' ? `interrupted at ${failedStep}` : `failed at ${failedStep}`;
    if (written.length === 0 && failedStep !== 'restart' && failedStep !== 'wait-active') {
      // Nothing changed on the host (an early hook failed, the run stopped, or the first write failed).
      if (audited) await audit(what);
      return { unit: item.main, machine: item.machine, step: failedStep, message, restored: true };
    }
    // Asked before the restore restarts it: afterwards systemd would describe the old version.
    const detail = message !== 'interrupted' && (failedStep === 'wait-active' || failedStep === 'health') ? await failureDetail(driver, item) : undefined;
    const restored = await restore(item, written, deps, opts, units);
    await audit(restored ? `${what}, restored` : `${what}, RESTORE FAILED`);
    return { unit: item.main, machine: item.machine, step: failedStep, message: message + describeDetail(detail), restored, detail };
  }
}

export async function failureDetail(driver: RolloutDriver, item: RolloutItem): Promise<FailureDetail | undefined> {
  if (!driver.failureDetail) return undefined;
  try {
    return await driver.failureDetail(item.machine, item.main, FAILURE_JOURNAL_LINES);
  } catch {
    return undefined; // the failure itself is what matters; its details are a bonus
  }
}

/** `; systemd: exit-code, exit status 3` (the journal lines are printed apart). */
export function describeDetail(d: FailureDetail | undefined): string {
  // Only what the wait's own message does not say already: systemd's verdict and the exit.
  if (!d) return '';
  const parts = [d.result && d.result !== 'success' ? d.result : ''];
  if (d.exitStatus !== undefined) parts.push(`exit status ${d.exitStatus}`);
  if (d.signal !== undefined) parts.push(`signal ${signalName(d.signal)}`);
  const said = parts.filter(Boolean);
  return said.length ? `; systemd: ${[...said.slice(0, 1), d.state, ...said.slice(1)].join(', ')}` : '';
}

function signalName(n: number): string {
  const name = Object.entries(os.constants.signals as Record<string, number>).find(([, v]) => v === n)?.[0];
  return name ? `${name} (${n})` : String(n);
}

/**
 * The driver's installAndStart for the item's last changed file. A failure at reload or restart
 * is reported as that step (the write before it succeeded), after the write's own events.
 */
async function installAndStart(
  driver: RolloutDriver,
  item: RolloutItem,
  f: RolloutItem['files'][number],
  opts: { keepRevision: boolean; target: string; auditFirst?: string[]; watch: StartWatch },
  written: { unit: string; previous: string | null; revision?: string; secret?: boolean }[],
  auditFailed: (why: string) => void,
): Promise<Pick<InstallAndStartResult, 'ticket' | 'hostMs'>> {
  try {
    const r = await driver.installAndStart!(item.machine, {
      unit: f.unit,
      content: f.desired,
      keepRevision: opts.keepRevision,
      start: opts.target,
      auditFirst: opts.auditFirst,
      secret: f.secret,
      watch: opts.watch,
    });
    if (r.auditError) auditFailed(r.auditError);
    written.push({ unit: f.unit, previous: f.previous, revision: r.revision, secret: f.secret });
    return r;
  } catch (e) {
    if (!(e instanceof InstallAndStartError)) throw e;
    if (e.auditError) auditFailed(e.auditError);
    if (e.mayHaveChanged) written.push({ unit: f.unit, previous: f.previous, revision: e.revision, secret: f.secret });
    if (e.step === 'write') throw e;
    throw new LaterStepError(e.step, e.message);
  }
}

/** installAndStart failed after its write succeeded: the write step ends ok, then this step fails. */
class LaterStepError extends Error {
  constructor(
    readonly step: 'reload' | 'restart',
    message: string,
  ) {
    super(message);
  }
}

/** What the start's round trip watches (WATCH_BUDGET_MS, bounded by the unit's timeout). */
function watchFor(opts: Pick<RolloutOptions, 'settleMs' | 'timeoutMs'>): StartWatch {
  return { settleMs: opts.settleMs, budgetMs: Math.min(WATCH_BUDGET_MS, opts.timeoutMs) };
}

/** The driver's wait, bounded by the deadline taken before the start was asked for. */
async function waitUp(
  driver: RolloutDriver,
  item: RolloutItem,
  ticket: StartTicket,
  opts: RolloutOptions,
  deadline: number,
  signal: AbortSignal,
  clock: RolloutDeps['clock'],
): Promise<unknown> {
  try {
    return await driver.waitUp(item.machine, ticket, { deadline, timeoutMs: opts.timeoutMs, settleMs: opts.settleMs, pollMs: opts.pollMs, clock, signal });
  } catch (e) {
    throw new StepError('wait-active', e instanceof Error ? e.message : String(e));
  }
}

/** Puts the previous bytes back (a new unit is removed), reloads, restarts what ran before. */
async function restore(
  item: RolloutItem,
  written: { unit: string; previous: string | null; revision?: string; secret?: boolean }[],
  deps: RolloutDeps,
  opts: RolloutOptions,
  units: string[],
): Promise<boolean> {
  const { driver, clock, reporter } = deps;
  const t0 = clock.now();
  reporter.event({ time: t0, unit: item.main, host: item.machine, step: 'restore', result: 'started' });
  try {
    const removed = written.filter((w) => w.previous === null).map((w) => w.unit);
    if (removed.length) {
      await driver.stop(item.machine, removed, { quiet: true });
      await driver.uninstall(item.machine, removed);
    }
    for (const w of written) {
      if (w.previous !== null) await driver.install(item.machine, w.unit, w.previous, { keepRevision: false, dropRevision: w.revision, secret: w.secret });
    }
    await driver.reload(item.machine);
    await driver.resetFailed(item.machine, units);
    const target = item.timer ?? item.main;
    if (item.wasActive && written.every((w) => w.previous !== null || w.unit !== target)) {
      const timeoutMs = Math.min(opts.timeoutMs, 30_000);
      const deadline = clock.now() + timeoutMs;
      const ticket = await driver.beginStart(item.machine, target, { watch: watchFor({ ...opts, timeoutMs }) });
      // A restore is never interrupted: it is what leaves the host as it was.
      await waitUp(driver, item, ticket, { ...opts, timeoutMs }, deadline, new AbortController().signal, clock);
    } else if (!item.wasActive) {
      await driver.stop(item.machine, [target], { quiet: true });
    }
    reporter.event({ time: clock.now(), unit: item.main, host: item.machine, step: 'restore', result: 'restored', durationMs: clock.now() - t0 });
    return true;
  } catch (e) {
    reporter.event({
      time: clock.now(),
      unit: item.main,
      host: item.machine,
      step: 'restore',
      result: 'restore-failed',
      durationMs: clock.now() - t0,
      message: e instanceof Error ? e.message : String(e),
    });
    return false;
  }
}
