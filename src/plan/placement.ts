/**
 * Where each unit goes, honouring `[X-Fleet]` on the client (no fleet needed):
 *   1. the node's `machine:` field;
 *   2. else `MachineID=` (a machine's `name`);
 *   3. else, when the unit has MachineMetadata=, Conflicts= or Global=: the machines whose
 *      metadata match (repeated key = OR, different keys = AND) minus those holding a
 *      conflicting unit (glob, both directions); Global=true places it on every such machine;
 *   4. else the machine named like the node's hostname.
 * Among several candidates: where the unit already runs if that machine still matches, else the
 * least loaded, ties by name. No candidate: an error that says which constraint excluded which
 * machine.
 */
import { GgnError } from '../errors';
import { readXFleet, XFleet } from './unitfile';

import { Machine } from '../drivers/types';

export { Machine };

export interface UnitToPlace {
  name: string;
  content: string;
  hostname: string;
  /** The node's `machine:` field. */
  machine?: string;
}

export interface ExistingUnit {
  name: string;
  /** Conflicts= patterns of that unit, when known. */
  conflicts: string[];
}

export interface PlacementInput {
  units: UnitToPlace[];
  machines: Machine[];
  /** Units already on each machine (other services included), for conflicts and load. */
  existing?: Map<string, ExistingUnit[]>;
  /** Machines each unit currently runs on. */
  current?: Map<string, string[]>;
}

export interface Placement {
  unit: string;
  machines: string[];
}

export interface PlacementResult {
  placements: Placement[];
  errors: GgnError[];
}

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        let cls = glob.slice(i + 1, end);
        if (cls.startsWith('!') || cls.startsWith('^')) cls = '^' + cls.slice(1);
        re += `[${cls.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const conflictsWith = (patterns: string[], name: string) => patterns.some((p) => globToRegExp(p).test(name));

export function placeUnits(input: PlacementInput): PlacementResult {
  const byName = new Map(input.machines.map((m) => [m.name, m]));
  // Working state: what each machine holds (existing + placed so far) and its load.
  const holds = new Map<string, ExistingUnit[]>();
  for (const m of input.machines) holds.set(m.name, [...(input.existing?.get(m.name) ?? [])]);
  const placements: Placement[] = [];
  const errors: GgnError[] = [];

  for (const unit of input.units) {
    const x = readXFleet(unit.content);
    try {
      const machines = chooseMachines(unit, x, input, byName, holds);
      for (const m of machines) {
        const list = holds.get(m)!;
        if (!list.some((u) => u.name === unit.name)) list.push({ name: unit.name, conflicts: x.conflicts });
      }
      placements.push({ unit: unit.name, machines });
    } catch (e) {
      errors.push(e as GgnError);
    }
  }
  return { placements, errors };
}

function chooseMachines(unit: UnitToPlace, x: XFleet, input: PlacementInput, byName: Map<string, Machine>, holds: Map<string, ExistingUnit[]>): string[] {
  const ctx = { unit: unit.name };
  const names = () => input.machines.map((m) => m.name).join(', ') || '(none)';
  if (unit.machine !== undefined) {
    if (!byName.has(unit.machine)) throw new GgnError(`the node's machine "${unit.machine}" is not in machines (${names()})`, ctx);
    return [unit.machine];
  }
  if (x.machineId !== undefined) {
    if (!byName.has(x.machineId)) throw new GgnError(`[X-Fleet] MachineID=${x.machineId} names no machine (machines: ${names()})`, ctx);
    return [x.machineId];
  }
  if (x.metadata.size === 0 && x.conflicts.length === 0 && !x.global) {
    if (!byName.has(unit.hostname)) {
      throw new GgnError(
        `no machine is named "${unit.hostname}" (machines: ${names()}); set the node's machine:, or [X-Fleet] MachineID= or MachineMetadata=`,
        ctx,
      );
    }
    return [unit.hostname];
  }

  const reasons: string[] = [];
  const candidates = input.machines.filter((m) => {
    for (const [key, values] of x.metadata) {
      const have = m.metadata[key];
      if (have === undefined || !values.includes(have)) {
        reasons.push(`${m.name}: MachineMetadata ${key}=${values.join('|')} does not match ${have === undefined ? `(no ${key})` : `${key}=${have}`}`);
        return false;
      }
    }
    const clash = holds
      .get(m.name)!
      .find((other) => other.name !== unit.name && (conflictsWith(x.conflicts, other.name) || conflictsWith(other.conflicts, unit.name)));
    if (clash) {
      reasons.push(`${m.name}: conflicts with ${clash.name}`);
      return false;
    }
    return true;
  });
  if (candidates.length === 0) {
    throw new GgnError(`no machine can take this unit: ${reasons.join('; ') || 'there are no machines'}`, ctx);
  }
  if (x.global) return candidates.map((m) => m.name);
  const current = input.current?.get(unit.name) ?? [];
  const stay = candidates.find((m) => current.includes(m.name));
  if (stay) return [stay.name];
  const load = (m: Machine) => holds.get(m.name)!.length;
  const best = [...candidates].sort((a, b) => load(a) - load(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))[0];
  return [best.name];
}
