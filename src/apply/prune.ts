/**
 * `prune` (and `update --prune`): remove the units that are live on a host but that the tree no
 * longer puts there (orphans), per service under its lock. Per orphan (a unit with its timer, on
 * one machine): audit `started`, stop the timer then the service, remove the files keeping each as
 * a revision, reload, forget a failed state, audit the result. A failure stops the prune of that
 * service (the unit stays stopped or removed as far as it got; the audit line says where).
 */
import { contentHash, auditFields, STARTED } from './audit';
import { Driver } from '../drivers/types';
import { toGgnError } from '../errors';
import { isTimer, unitBase } from '../render/names';
import { UnitChange } from '../plan/diff';
import { Clock, Reporter } from './types';

export interface PruneItem {
  id: string;
  service: string;
  machine: string;
  /** The service unit (or a lone timer) first, then its timer. */
  units: string[];
  /** Live bytes of each unit, for the audit's old hash. */
  live: Map<string, string>;
}

export interface PruneSummary {
  pruned: string[];
  skipped: string[];
  failed: { id: string; step: string; message: string }[];
  notStarted: string[];
  stopped?: 'failure' | 'quit' | 'interrupted';
}

export interface PruneDeps {
  driver: Pick<Driver, 'stop' | 'uninstall' | 'reload' | 'resetFailed' | 'appendAudit'>;
  clock: Clock;
  reporter: Reporter;
  audit: { who: string; env: string; runId: string; tree?: string };
  prompt?: (item: PruneItem) => Promise<'yes' | 'skip' | 'quit'>;
  signal?: AbortSignal;
}

/** The orphans of a plan, one item per unit base and machine, in machine then name order. */
export function pruneItems(changes: UnitChange[]): PruneItem[] {
  const groups = new Map<string, PruneItem>();
  for (const c of changes) {
    if (c.kind !== 'orphan') continue;
    const key = `${c.machine}\0${unitBase(c.unit)}`;
    let g = groups.get(key);
    if (!g) {
      g = { id: '', service: c.service, machine: c.machine, units: [], live: new Map() };
      groups.set(key, g);
    }
    g.units.push(c.unit);
    if (c.live !== undefined) g.live.set(c.unit, c.live);
  }
  const items = [...groups.values()];
  for (const g of items) {
    g.units.sort((a, b) => Number(isTimer(a)) - Number(isTimer(b)));
    g.id = `${g.units[0]}@${g.machine}`;
  }
  return items.sort((a, b) => (a.machine === b.machine ? (a.units[0] < b.units[0] ? -1 : 1) : a.machine < b.machine ? -1 : 1));
}

export async function runPrune(items: PruneItem[], deps: PruneDeps): Promise<PruneSummary> {
  const summary: PruneSummary = { pruned: [], skipped: [], failed: [], notStarted: [] };
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const rest = () => items.slice(i).map((x) => x.id);
    if (deps.signal?.aborted) {
      summary.notStarted.push(...rest());
      summary.stopped = 'interrupted';
      break;
    }
    if (deps.prompt) {
      const a = await deps.prompt(item);
      if (a === 'skip') {
        summary.skipped.push(item.id);
        continue;
      }
      if (a === 'quit') {
        summary.notStarted.push(...rest());
        summary.stopped = 'quit';
        break;
      }
    }
    const failure = await pruneOne(item, deps);
    if (failure) {
      summary.failed.push(failure);
      summary.notStarted.push(...items.slice(i + 1).map((x) => x.id));
      summary.stopped = 'failure';
      break;
    }
    summary.pruned.push(item.id);
  }
  return summary;
}

async function pruneOne(item: PruneItem, deps: PruneDeps): Promise<PruneSummary['failed'][number] | undefined> {
  const { driver, clock, reporter } = deps;
  const main = item.units[0];
  const audit = async (result: string) => {
    const fields = auditFields({
      time: new Date(clock.now()).toISOString(),
      who: deps.audit.who,
      env: deps.audit.env,
      service: item.service,
      unit: main,
      action: 'prune',
      oldHash: contentHash(item.live.get(main) ?? null),
      newHash: contentHash(null),
      result,
      runId: deps.audit.runId,
      tree: deps.audit.tree,
    });
    try {
      await driver.appendAudit(item.machine, fields);
    } catch (e) {
      reporter.info(`warning: host ${item.machine}: unit ${main}: could not write the audit line (${result}): ${(e as Error).message}`);
    }
  };
  let step = 'stop';
  const t0 = clock.now();
  reporter.event({ time: t0, unit: main, host: item.machine, step: 'prune', result: 'started' });
  try {
    await audit(STARTED);
    // The timer first, so it cannot start the service again.
    await driver.stop(item.machine, [...item.units].reverse(), { quiet: true });
    step = 'remove';
    await driver.uninstall(item.machine, item.units, { keepRevision: true });
    step = 'reload';
    await driver.reload(item.machine);
    step = 'reset-failed';
    await driver.resetFailed(item.machine, item.units);
    await audit('ok');
    reporter.event({ time: clock.now(), unit: main, host: item.machine, step: 'prune', result: 'ok', durationMs: clock.now() - t0 });
    return undefined;
  } catch (e) {
    const err = toGgnError(e, { host: item.machine, unit: main });
    await audit(`failed at ${step}`);
    reporter.event({ time: clock.now(), unit: main, host: item.machine, step: 'prune', result: 'failed', durationMs: clock.now() - t0, message: err.message });
    return { id: item.id, step, message: err.message };
  }
}

export function describePrune(item: PruneItem): string {
  return `${item.units.join(' + ')} on ${item.machine}`;
}
