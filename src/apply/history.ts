/**
 * The history of an env or a service: every host's audit log, read in parallel, merged in time
 * order, a `started` line without its result marked INTERRUPTED (foldStarted). And what is
 * deployed where: for a unit's live content, the last change that put exactly those bytes there.
 */
import { Driver } from '../drivers/types';
import { GgnError, toGgnError } from '../errors';
import { mapLimit } from '../parallel';
import { AuditEntry, foldStarted, parseAudit, STARTED, succeeded } from './audit';

export interface History {
  entries: AuditEntry[];
  /** Hosts whose log could not be read. */
  errors: GgnError[];
}

export async function readHistory(driver: Pick<Driver, 'machines' | 'readAudit'>, env: string, service?: string): Promise<History> {
  const machines = driver.machines().map((m) => m.name);
  const reads = await mapLimit(machines, 20, async (m) =>
    parseAudit(await driver.readAudit(m), m, (e) => e.env === env && (!service || e.service === service)),
  );
  const entries: AuditEntry[] = [];
  const errors: GgnError[] = [];
  reads.forEach((r, i) => {
    if (r.ok) entries.push(...r.value);
    else errors.push(toGgnError(r.error, { host: machines[i] }));
  });
  entries.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  return { entries: foldStarted(entries), errors };
}

/** The last change of `unit` on `machine` that left `hash` there (who deployed what runs now). */
export function deployedBy(entries: AuditEntry[], unit: string, machine: string, hash: string): AuditEntry | undefined {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (e.unit !== unit || e.machine !== machine || e.result === STARTED) continue;
    if (e.newHash === hash && succeeded(e)) return e;
  }
  return undefined;
}
