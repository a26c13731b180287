/**
 * One unit's actions on its machine(s): load, start, stop, restart, unload, destroy, status.
 * A GGN unit name means the service unit and, when the service has one, its timer; `x.timer`
 * means the timer alone.
 *   load     write the unit files the tree renders where they are missing or differ; reload
 *   start    load what is missing, then start (the timer when there is one, else the service)
 *   stop     stop the timer, then the service
 *   restart  restart the service
 *   unload   stop, keep the files
 *   destroy  stop, remove the files, reload, forget a failed state
 */
import { isService, isTimer } from '../render/names';
import { GgnError, toGgnError } from '../errors';
import { Driver } from '../drivers/types';
import { buildPlan, focusNamedSlot, LivePlan, PlanScope } from '../plan/build';
import { UnitChange } from '../plan/diff';
import { Workspace } from '../workspace';

export type UnitAction = 'load' | 'start' | 'stop' | 'restart' | 'unload' | 'destroy';

export interface ActionOutcome {
  machine: string;
  units: string[];
  done: string[];
  error?: GgnError;
}

/** Per machine, the changes of the unit(s) in scope (desired placements and live copies). */
export function byMachine(plan: LivePlan): Map<string, UnitChange[]> {
  const out = new Map<string, UnitChange[]>();
  for (const c of plan.changes) out.set(c.machine, [...(out.get(c.machine) ?? []), c]);
  return out;
}

export async function unitAction(
  ws: Workspace,
  driver: Driver,
  scope: Required<PlanScope>,
  action: UnitAction,
): Promise<{ plan: LivePlan; outcomes: ActionOutcome[] }> {
  const plan = focusNamedSlot(await buildPlan(ws, driver, scope), scope.unit);
  if (plan.errors.length) return { plan, outcomes: [] };
  if (plan.changes.length === 0)
    throw new GgnError(`unit ${scope.unit} is neither in the tree of service ${scope.service} nor on any host`, { service: scope.service });
  const outcomes: ActionOutcome[] = [];
  for (const [machine, changes] of byMachine(plan)) {
    const units = changes.map((c) => c.unit).sort((a, b) => (isTimer(a) ? 1 : 0) - (isTimer(b) ? 1 : 0));
    const outcome: ActionOutcome = { machine, units, done: [] };
    outcomes.push(outcome);
    try {
      await actOn(driver, machine, changes, action, outcome.done);
    } catch (e) {
      outcome.error = toGgnError(e, { host: machine });
    }
  }
  return { plan, outcomes };
}

async function actOn(d: Driver, machine: string, changes: UnitChange[], action: UnitAction, done: string[]): Promise<void> {
  const desired = changes.filter((c) => c.kind !== 'orphan');
  const live = changes.filter((c) => c.kind !== 'new');
  const service = changes.find((c) => isService(c.unit));
  const timer = changes.find((c) => isTimer(c.unit));
  const stopOrder = [timer, service].filter((c): c is UnitChange => !!c && c.kind !== 'new').map((c) => c.unit);
  switch (action) {
    case 'load': {
      const toWrite = desired.filter((c) => c.kind === 'new' || c.kind === 'changed');
      for (const c of toWrite) {
        await d.install(machine, c.unit, c.desired!, { keepRevision: false, secret: c.secrets?.holdsSecrets === true });
        done.push(`wrote ${c.unit}`);
      }
      await d.reload(machine);
      done.push('reloaded');
      return;
    }
    case 'start': {
      const missing = desired.filter((c) => c.kind === 'new');
      for (const c of missing) {
        await d.install(machine, c.unit, c.desired!, { keepRevision: false, secret: c.secrets?.holdsSecrets === true });
        done.push(`wrote ${c.unit}`);
      }
      if (missing.length) {
        await d.reload(machine);
        done.push('reloaded');
      }
      const target = (timer ?? service)!.unit;
      await d.start(machine, [target]);
      done.push(`started ${target}`);
      return;
    }
    case 'stop':
    case 'unload':
      if (stopOrder.length) {
        // Disabled too (as `systemctl disable --now`), a unit with an [Install] section that
        // start enabled: a stopped unit stays stopped when the host reboots.
        await d.stop(machine, stopOrder, { disable: true });
        done.push(`stopped ${stopOrder.join(' ')}`);
      }
      return;
    case 'restart': {
      if (!service || service.kind === 'new')
        throw new GgnError(`${service?.unit ?? 'the unit'} is not on this host: load or start it first`, { host: machine });
      await d.restart(machine, [service.unit]);
      done.push(`restarted ${service.unit}`);
      return;
    }
    case 'destroy': {
      if (stopOrder.length) {
        await d.stop(machine, stopOrder);
        done.push(`stopped ${stopOrder.join(' ')}`);
      }
      const files = live.map((c) => c.unit);
      if (files.length) {
        await d.uninstall(machine, files);
        done.push(`removed ${files.join(' ')}`);
        await d.reload(machine);
        await d.resetFailed(machine, files);
        done.push('reloaded');
      }
      return;
    }
  }
}
