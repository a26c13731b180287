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
    throw new GgnError(
      `${what} ${JSON.stringify(value)} cannot be used in a systemd unit name (allowed: letters, digits, ":", "_", ".", "-")`,
      ctx,
    );
  }
}

export function unitBaseName(envName: string, service: string, hostname: string): string {
  return `${envName}_${service}_${hostname}`;
}

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
