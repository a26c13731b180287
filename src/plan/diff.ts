/**
 * The plan: what the tree renders (placed on machines) against what the hosts have.
 * Per unit and machine: new (no file there), changed (other bytes), unchanged, or orphan (a
 * unit of this env and service on a host that the tree no longer puts there).
 */
import { hasUnitSuffix, unitPrefix } from '../render/names';
import { GgnError } from '../errors';
import { HostSnapshot, LiveUnit, UnitState } from '../drivers/types';
import { SecretView } from '../secrets/taint';

export type ChangeKind = 'new' | 'changed' | 'unchanged' | 'orphan';

export interface DesiredUnit {
  name: string;
  service: string;
  machine: string;
  content: string;
  /** Set when secrets reach the unit (how to print it masked). */
  secrets?: SecretView;
  /** A slot unit (`rollout:`): the node's live slot, with its idle sibling. */
  slot?: SlotPair;
}

/**
 * A node of a service with `rollout:` on one machine: the plan compares its live slot (this
 * unit) and carries the other slot, which an update writes and starts next to it.
 */
export interface SlotPair {
  name: string;
  port: number;
  hostname: string;
  other: { name: string; port: number; unit: string; desired: string; live: string | null; state?: UnitState };
}

export interface UnitChange {
  kind: ChangeKind;
  unit: string;
  service: string;
  machine: string;
  desired?: string;
  live?: string;
  state?: UnitState;
  /** Set when secrets reach the desired unit: every printed version of it is masked with it. */
  secrets?: SecretView;
  /** A slot unit (`rollout:`): see SlotPair. */
  slot?: SlotPair;
}

export interface Plan {
  changes: UnitChange[];
  /** Hosts that could not be read, render or placement errors. */
  errors: GgnError[];
}

/**
 * `ownerOf` says which in-scope service a live unit belongs to (see `unitOwner`); a live unit of
 * such a service that is not desired on its machine is an orphan.
 */
export function planChanges(desired: DesiredUnit[], snapshots: HostSnapshot[], ownerOf: (unit: string) => string | undefined): Plan {
  const changes: UnitChange[] = [];
  const errors: GgnError[] = [];
  const live = new Map<string, LiveUnit>();
  const unreadable = new Set<string>();
  for (const s of snapshots) {
    if (s.error) {
      errors.push(s.error);
      unreadable.add(s.machine);
      continue;
    }
    for (const u of s.units) live.set(`${s.machine}\0${u.name}`, u);
  }
  const wanted = new Set<string>();
  for (const d of desired) {
    const key = `${d.machine}\0${d.name}`;
    wanted.add(key);
    if (unreadable.has(d.machine)) continue;
    const l = live.get(key);
    // A private file on the host (written holding a secret) is masked even when the tree's version holds none.
    const secrets = d.secrets ?? (l?.private && l.content !== null ? SecretView.hiding(d.content) : undefined);
    const base = {
      unit: d.name,
      service: d.service,
      machine: d.machine,
      desired: d.content,
      state: l?.state,
      ...(secrets ? { secrets } : {}),
      ...(d.slot ? { slot: d.slot } : {}),
    };
    if (!l || l.content === null) changes.push({ ...base, kind: 'new' });
    else changes.push({ ...base, kind: l.content === d.content ? 'unchanged' : 'changed', live: l.content });
  }
  for (const [key, l] of live) {
    if (wanted.has(key)) continue;
    const service = ownerOf(l.name);
    if (service === undefined) continue;
    if (l.content === null && (!l.state || l.state.loadState === 'not-found')) continue;
    changes.push({
      kind: 'orphan',
      unit: l.name,
      service,
      machine: l.machine,
      live: l.content ?? undefined,
      state: l.state,
      ...(l.private && l.content !== null ? { secrets: SecretView.hiding('') } : {}),
    });
  }
  changes.sort((a, b) => cmp(a.service, b.service) || cmp(a.unit, b.unit) || cmp(a.machine, b.machine));
  return { changes, errors };
}

/**
 * The service a unit name belongs to: the longest `<envName>_<svc>_` prefix among ALL services of
 * the env (so `prod_cassandra_ext_x` belongs to `cassandra_ext`, not `cassandra`), kept only when
 * that service is in scope.
 */
export function unitOwner(envName: string, allServices: string[], inScope: string[]): (unit: string) => string | undefined {
  const byLength = [...allServices].sort((a, b) => b.length - a.length);
  const scope = new Set(inScope);
  return (unit) => {
    if (!hasUnitSuffix(unit)) return undefined;
    const svc = byLength.find((s) => unit.startsWith(unitPrefix(envName, s)));
    return svc !== undefined && scope.has(svc) ? svc : undefined;
  };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function summarize(changes: UnitChange[]): Record<ChangeKind, number> {
  const s: Record<ChangeKind, number> = { new: 0, changed: 0, unchanged: 0, orphan: 0 };
  for (const c of changes) s[c.kind]++;
  return s;
}
