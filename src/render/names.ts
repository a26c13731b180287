/**
 * Unit names: `<envName>_<service>_<hostname>.service|.timer`. Every part must be safe both as a
 * systemd unit name and as a file name (no `/`, no `@` which would make a template unit, no
 * spaces or shell characters), so a name from the tree can never escape the units directory or
 * reach a remote shell unquoted.
 */
import { GgnError, ErrorContext } from '../errors';

const PART = /^[A-Za-z0-9:_.-]+$/;
export const UNIT_KINDS = ['service', 'timer'] as const;
export type UnitKind = (typeof UNIT_KINDS)[number];

export function checkNamePart(value: string, what: string, ctx: ErrorContext): void {
  if (!PART.test(value) || value === '.' || value === '..') {
    throw new GgnError(`${what} ${JSON.stringify(value)} cannot be used in a systemd unit name (allowed: letters, digits, ":", "_", ".", "-")`, ctx);
  }
}

/** `<envName>_<service>_`: what every unit name of a service starts with. */
export function unitPrefix(envName: string, service: string): string {
  return `${envName}_${service}_`;
}

export function unitBaseName(envName: string, service: string, hostname: string): string {
  return unitPrefix(envName, service) + hostname;
}

export const isTimer = (name: string): boolean => name.endsWith('.timer');
export const isService = (name: string): boolean => name.endsWith('.service');
/** A unit kind's suffix (`.service`, `.timer`) is on the name: a unit ggn knows how to handle. */
export const hasUnitSuffix = (name: string): boolean => isService(name) || isTimer(name);
/** The name without its `.service` / `.timer` suffix: a service and its timer share it. */
export const unitBase = (name: string): string => name.replace(/\.(service|timer)$/, '');
/** The service a timer starts (`x.timer` -> `x.service`). */
export const serviceOfTimer = (timer: string): string => `${unitBase(timer)}.service`;

/**
 * GGN's short name of a unit of a service (hooks' UNIT, the CLI's unit argument): the hostname
 * for a service unit, `<hostname>.timer` for a timer.
 */
export function shortUnitName(envName: string, service: string, name: string): string {
  const prefix = unitPrefix(envName, service);
  const n = name.startsWith(prefix) ? name.slice(prefix.length) : name;
  return isService(n) ? unitBase(n) : n;
}

/**
 * Which units a GGN unit argument means: `cass1` (the service unit and its timer), `cass1.timer`,
 * or a full name. With `slots` (a service with `rollout:`), `cass1` also means each slot's unit
 * (`cass1.blue.service`), and `cass1.blue` that slot's unit alone.
 */
export function unitMatcher(envName: string, service: string, unit: string, slots: readonly string[] = []): (name: string) => boolean {
  const prefix = unitPrefix(envName, service);
  if (unit.startsWith(prefix) && hasUnitSuffix(unit)) return (n) => n === unit;
  if (hasUnitSuffix(unit)) return (n) => n === `${prefix}${unit}`;
  const slotted = new Set(slots.map((s) => `${prefix}${unit}.${s}.service`));
  return (n) => n === `${prefix}${unit}.service` || n === `${prefix}${unit}.timer` || slotted.has(n);
}

/**
 * A slot's unit of a node (`rollout:` in the manifest): `<envName>_<service>_<hostname>.<slot>.service`.
 * A dot, not `@` (which would make a template unit), so the name stays a plain unit name that
 * `unitBase`, `shortUnitName` (`w1.blue`) and the unit commands handle like any other.
 */
export function slotUnitName(envName: string, service: string, hostname: string, slot: string): string {
  const name = `${unitBaseName(envName, service, hostname)}.${slot}.service`;
  if (name.length > 255) throw new GgnError(`unit name ${name} is longer than systemd's 255 characters`, { service });
  return name;
}

/** Slot names: short lowercase words (they end up in unit names and in proxy server names). */
export const SLOT_NAME = /^[a-z][a-z0-9-]{0,30}$/;

export function unitFileName(envName: string, service: string, hostname: string, kind: UnitKind): string {
  const name = `${unitBaseName(envName, service, hostname)}.${kind}`;
  if (name.length > 255) throw new GgnError(`unit name ${name} is longer than systemd's 255 characters`, { service });
  return name;
}

/** Strict check for a full unit name received from outside (CLI, a host). */
export function isValidUnitName(name: string): boolean {
  const m = /^(.+)\.(service|timer)$/.exec(name);
  return !!m && name.length <= 255 && PART.test(m[1]);
}
