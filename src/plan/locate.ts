/** Where a unit is, for status, journal and ssh: the machines that have it, else where the tree puts it. */
import { isService, isTimer } from '../render/names';
import { GgnError } from '../errors';
import { LivePlan } from './build';

export interface Located {
  machine: string;
  unit: string;
}

/** Machines that have the unit's files (the service file of a service with a timer), else where the tree places it. */
export function machinesOf(plan: LivePlan, preferTimer = false): Located[] {
  const pick = (cs: LivePlan['changes']) => {
    const timer = cs.find((c) => isTimer(c.unit));
    return (preferTimer && timer) || cs.find((c) => isService(c.unit)) || cs[0];
  };
  const live = plan.changes.filter((c) => c.kind !== 'new');
  const chosen = live.length ? live : plan.changes;
  const byMachine = new Map<string, LivePlan['changes']>();
  for (const c of chosen) byMachine.set(c.machine, [...(byMachine.get(c.machine) ?? []), c]);
  return [...byMachine].map(([machine, cs]) => ({ machine, unit: pick(cs).unit }));
}

/** machinesOf, or the error that says why there is none (a host that could not be read first). */
export function locateUnit(plan: LivePlan, unit: string | undefined): Located[] {
  if (plan.changes.length === 0) {
    const hostError = plan.errors.find((e) => e.ctx.host);
    if (hostError) throw hostError;
    throw new GgnError(`unit ${unit} is on no machine`, { unit });
  }
  return machinesOf(plan);
}
