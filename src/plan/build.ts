/**
 * The path diff, check and update walk: render the units in scope, read every machine once (all
 * units of the env, so conflicts and current placements are known), place the units, and compare.
 */
import { GgnError, toGgnError } from '../errors';
import { Driver, HostSnapshot, LiveUnit } from '../drivers/types';
import { renderUnits, RenderedUnit } from '../render/service';
import { serviceOfTimer, unitMatcher } from '../render/names';
import { Workspace } from '../workspace';
import { DesiredUnit, Plan, planChanges, UnitChange, unitOwner } from './diff';
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
      const r = renderUnits(
        svc,
        scope.unit
          ? nodeMatcher(
              env.name,
              name,
              scope.unit,
              svc.manifest.rollout?.slots.map((x) => x.name),
            )
          : undefined,
      );
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
  // A node's slots (`rollout:`) go together: placed as its first slot, compared as its live one.
  const slotGroups = new Map<string, RenderedUnit[]>();
  for (const u of rendered) if (u.slot) slotGroups.set(`${u.service}\0${u.hostname}`, [...(slotGroups.get(`${u.service}\0${u.hostname}`) ?? []), u]);
  const groupOf = (u: RenderedUnit) => slotGroups.get(`${u.service}\0${u.hostname}`)!;
  const followers = new Set([...slotGroups.values()].flatMap((g) => g.slice(1)));
  const placements: Placement[] = [];
  if (driver.scheduler) {
    // The backend places units: each is where it runs, or pending.
    for (const u of rendered) placements.push({ unit: u.name, machines: current.get(u.name) ?? [driver.scheduler.pending] });
  } else {
    const placed = placeOnClient(
      rendered.filter((u) => !followers.has(u)),
      machines,
      existing,
      current,
    );
    const where = new Map(placed.placements.map((p) => [p.unit, p.machines]));
    placements.push(...placed.placements);
    for (const u of followers) placements.push({ unit: u.name, machines: where.get(groupOf(u)[0].name) ?? [] });
    errors.push(...placed.errors.map((e) => e.withContext({ env: env.dir })));
  }

  const canonical = (u: RenderedUnit) => (driver.canonical ? driver.canonical(u.name, u.content) : u.content);
  const liveUnits = new Map<string, LiveUnit>();
  for (const s of snapshots) for (const u of s.units) liveUnits.set(`${s.machine}\0${u.name}`, u);
  /** The idle slots (`machine\0unit`): not compared, and not orphans. */
  const idle = new Set<string>();
  const desired: DesiredUnit[] = placements.flatMap((p) =>
    p.machines.flatMap((machine) => {
      const u = contentOf.get(p.unit)!;
      const d: DesiredUnit = { name: p.unit, service: u.service, machine, content: canonical(u), ...(u.secrets ? { secrets: u.secrets } : {}) };
      if (!u.slot) return [d];
      const group = groupOf(u);
      const liveOf = (x: RenderedUnit) => liveUnits.get(`${machine}\0${x.name}`);
      if (liveSlot(group, liveOf) !== u) {
        idle.add(`${machine}\0${u.name}`);
        return [];
      }
      const other = group.find((x) => x !== u)!;
      const ol = liveOf(other);
      d.slot = {
        name: u.slot.name,
        port: u.slot.port,
        hostname: u.hostname,
        other: { name: other.slot!.name, port: other.slot!.port, unit: other.name, desired: canonical(other), live: ol?.content ?? null, state: ol?.state },
      };
      return [d];
    }),
  );
  let owner = unitOwner(env.name, allServices, services);
  if (scope.service && scope.unit) {
    const svcSlots = slotNamesOf(rendered, scope.service);
    const match = nodeMatcher(env.name, scope.service, scope.unit, svcSlots);
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
    changes: plan.changes.filter((c) => !(c.kind === 'orphan' && idle.has(`${c.machine}\0${c.unit}`))),
    errors: [...errors, ...plan.errors],
    warnings,
  };
}

/**
 * Which slot of a node serves, as far as the host says: the first active one, else the first
 * with a unit file, else the first slot. (The rollout asks the proxy too before it changes anything.)
 */
export function liveSlot<T>(group: T[], liveOf: (u: T) => LiveUnit | undefined): T {
  return group.find((u) => liveOf(u)?.state?.activeState === 'active') ?? group.find((u) => (liveOf(u)?.content ?? null) !== null) ?? group[0];
}

function slotNamesOf(rendered: RenderedUnit[], service: string): string[] {
  return [...new Set(rendered.filter((u) => u.service === service && u.slot).map((u) => u.slot!.name))];
}

/**
 * unitMatcher, widened to a node's every slot: `w1.blue` (or its full name) means the node, since
 * its slots are updated, compared and switched together.
 */
function nodeMatcher(envName: string, service: string, unit: string, slots: string[] = []): (name: string) => boolean {
  const match = unitMatcher(envName, service, unit, slots);
  if (slots.length === 0) return match;
  const slotSuffix = new RegExp(`\\.(${slots.join('|')})\\.service$`);
  return (n) => {
    if (match(n)) return true;
    const m = slotSuffix.exec(n);
    return m !== null && slots.some((s) => match(n.slice(0, m.index) + `.${s}.service`));
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

/**
 * The unit commands (start, stop, status, ...) on a slot named explicitly (`w1.green`, or its
 * full name) act on that slot, also when it is the idle one; the plan itself compares the node's
 * live slot (`update w1.green` updates the node).
 */
export function focusNamedSlot(plan: LivePlan, unit: string | undefined): LivePlan {
  if (unit === undefined || !plan.changes.some((c) => c.slot)) return plan;
  const changes = plan.changes.map((c): UnitChange => {
    const o = c.slot?.other;
    if (!o || ![o.unit, `${c.slot!.hostname}.${o.name}`, `${c.slot!.hostname}.${o.name}.service`].includes(unit)) return c;
    // The named slot on its own: no longer paired with the node's other slot.
    const { slot: _, ...named } = otherSlotChange(c);
    return named;
  });
  return { ...plan, changes };
}

/** A node's change seen from its other slot (that slot compared with the tree, paired with this one). */
export function otherSlotChange(c: UnitChange): UnitChange {
  const s = c.slot!;
  const o = s.other;
  return {
    kind: o.live === null ? 'new' : o.live === o.desired ? 'unchanged' : 'changed',
    unit: o.unit,
    service: c.service,
    machine: c.machine,
    desired: o.desired,
    live: o.live ?? undefined,
    state: o.state,
    ...(c.secrets ? { secrets: c.secrets } : {}),
    slot: {
      name: o.name,
      port: o.port,
      hostname: s.hostname,
      other: { name: s.name, port: s.port, unit: c.unit, desired: c.desired!, live: c.live ?? null, state: c.state },
    },
  };
}
