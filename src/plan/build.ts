/**
 * The path diff, check and update walk: render the units in scope, read every machine once (all
 * units of the env, so conflicts and current placements are known), place the units, and compare.
 */
import { GgnError, toGgnError } from '../errors';
import { Driver, HostSnapshot } from '../drivers/types';
import { renderUnits, RenderedUnit } from '../render/service';
import { serviceOfTimer, unitMatcher } from '../render/names';
import { Workspace } from '../workspace';
import { DesiredUnit, Plan, planChanges, unitOwner } from './diff';
import { ExistingUnit, Machine, Placement, placeUnits } from './placement';
import { readXFleet } from './unitfile';

export interface PlanScope {
  env: string;
  /** Omitted: every service of the env. */
  service?: string;
  /** A hostname, `<hostname>.timer` or a full unit name, within `service`. */
  unit?: string;
}

export interface LivePlan extends Plan {
  envName: string;
  services: string[];
  rendered: RenderedUnit[];
  placements: Placement[];
  snapshots: HostSnapshot[];
  /** Missing attributes in the rendered units (errors instead with --strict). */
  warnings: GgnError[];
}

export async function buildPlan(ws: Workspace, driver: Driver, scope: PlanScope): Promise<LivePlan> {
  const env = ws.env(scope.env);
  void env.attributes;
  const allServices = ws.serviceNames(env);
  const services = scope.service ? [scope.service] : allServices;
  const errors: GgnError[] = [];
  const rendered: RenderedUnit[] = [];
  const warnings: GgnError[] = [];
  for (const name of services) {
    try {
      const svc = ws.service(env, name);
      const r = renderUnits(svc, scope.unit ? unitMatcher(env.name, name, scope.unit) : undefined);
      rendered.push(...r.units);
      errors.push(...r.errors);
      warnings.push(...r.warnings);
    } catch (e) {
      errors.push(toGgnError(e, { env: env.dir, service: name }));
    }
  }

  const machines = driver.machines();
  const snapshots = await driver.read(
    machines.map((m) => m.name),
    [`${env.name}_`],
  );
  const current = new Map<string, string[]>();
  const existing = new Map<string, ExistingUnit[]>();
  for (const s of snapshots) {
    const list: ExistingUnit[] = [];
    for (const u of s.units) {
      if (u.content === null && u.state?.loadState !== 'loaded') continue;
      list.push({ name: u.name, conflicts: u.content ? readXFleet(u.content).conflicts : [] });
      current.set(u.name, [...(current.get(u.name) ?? []), s.machine]);
    }
    existing.set(s.machine, list);
  }

  const contentOf = new Map(rendered.map((u) => [u.name, u]));
  const placements: Placement[] = [];
  if (driver.scheduler) {
    // The backend places units: each is where it runs, or pending.
    for (const u of rendered) placements.push({ unit: u.name, machines: current.get(u.name) ?? [driver.scheduler.pending] });
  } else {
    const placed = placeOnClient(rendered, machines, existing, current);
    placements.push(...placed.placements);
    errors.push(...placed.errors.map((e) => e.withContext({ env: env.dir })));
  }

  const canonical = (u: RenderedUnit) => (driver.canonical ? driver.canonical(u.name, u.content) : u.content);
  const desired: DesiredUnit[] = placements.flatMap((p) =>
    p.machines.map((machine) => {
      const u = contentOf.get(p.unit)!;
      return { name: p.unit, service: u.service, machine, content: canonical(u), ...(u.secrets ? { secrets: u.secrets } : {}) };
    }),
  );
  let owner = unitOwner(env.name, allServices, services);
  if (scope.service && scope.unit) {
    const match = unitMatcher(env.name, scope.service, scope.unit);
    const base = owner;
    owner = (u) => (match(u) ? base(u) : undefined);
  }
  const plan = planChanges(desired, snapshots, owner);
  return {
    envName: env.name,
    services,
    rendered,
    placements,
    snapshots,
    changes: plan.changes,
    errors: [...errors, ...plan.errors],
    warnings,
  };
}

/** Placement on the client ([X-Fleet] rules, ./placement.ts): services first, then each timer where its service went. */
function placeOnClient(
  rendered: RenderedUnit[],
  machines: Machine[],
  existing: Map<string, ExistingUnit[]>,
  current: Map<string, string[]>,
): { placements: Placement[]; errors: GgnError[] } {
  const toPlace = (us: RenderedUnit[]) =>
    us.map((u) => ({ name: u.name, content: u.content, hostname: u.hostname, machine: typeof u.node.machine === 'string' ? u.node.machine : undefined }));
  const placed = placeUnits({ units: toPlace(rendered.filter((u) => u.kind === 'service')), machines, existing, current });
  const byService = new Map(placed.placements.map((p) => [p.unit, p.machines]));
  const placements = [...placed.placements];
  const lonelyTimers: RenderedUnit[] = [];
  for (const t of rendered.filter((u) => u.kind === 'timer')) {
    const m = byService.get(serviceOfTimer(t.name));
    if (m) placements.push({ unit: t.name, machines: m });
    else lonelyTimers.push(t);
  }
  const placedTimers = placeUnits({ units: toPlace(lonelyTimers), machines, existing, current });
  placements.push(...placedTimers.placements);
  return { placements, errors: [...placed.errors, ...placedTimers.errors] };
}
