/**
 * What the lock backends share: the lock record, the store each backend implements (read,
 * compare-and-swap write, remove), the "held" errors, and the checks on names and TTLs.
 * The rules of who may take a lock live in one place, `./dance.ts`, over any store.
 */
import { GgnError } from '../../errors';
import { printable } from '../../report/printable';
import { formatDuration } from '../../durations';

export { formatDuration, parseDuration } from '../../durations';

export { LockRecord, InnerRun, Stored, LockStore, parseRecord, serializeRecord } from '../../drivers/lock-store';
import type { LockRecord } from '../../drivers/lock-store';

/** How a lock is described to the user: `[alice@box] update web (run 3f2a9c1e, renewed 2s ago)`. */
export function describeLock(r: LockRecord, now: number): string {
  const who = `[${printable(r.holder)}] ${printable(r.message)}`;
  if (r.id === 'half-written') return who;
  if (r.kind === 'hand') {
    const inner = r.inner && now < r.inner.expiresAt ? `; its owner's run ${shortId(r.inner.id)} is working under it` : '';
    return `${who} (locked by hand, ${timeLeft(r.expiresAt, now)}${inner})`;
  }
  return `${who} (run ${shortId(r.id)}, renewed ${formatDuration(Math.max(0, now - r.renewedAt))} ago, ${timeLeft(r.expiresAt, now)})`;
}

export const shortId = (id: string) => id.slice(0, 8);

export class LockHeldError extends GgnError {
  /** How long we waited before giving up (0: did not wait). */
  readonly waitedMs: number;
  constructor(
    readonly service: string,
    readonly record: LockRecord,
    now: number,
    waitedMs = 0,
    why?: string,
  ) {
    super(`service ${service} is locked by ${describeLock(record, now)}${why ? `: ${why}` : ''}`, { service });
    this.name = 'LockHeldError';
    this.waitedMs = waitedMs;
  }
}

/** The run's lock was taken over or could not be renewed: the run must stop starting units. */
export class LockLostError extends GgnError {
  constructor(message: string, service: string) {
    super(message, { service });
    this.name = 'LockLostError';
  }
}

export function timeLeft(expiresAt: number, now: number): string {
  if (!Number.isFinite(expiresAt)) return 'no expiry';
  return `${formatDuration(Math.max(0, expiresAt - now))} left`;
}

/** `user@host` goes between brackets in the lock value and on one line in the ssh lock file. */
export function checkHolder(holder: string): void {
  if (!holder || /[\]\n\r\0]/.test(holder) || holder.startsWith('[')) throw new GgnError(`invalid lock holder ${JSON.stringify(holder)} (expected user@host)`);
}

/** Service names become a file name (ssh) or a key segment (etcd). */
export function checkService(service: string): void {
  if (!/^[A-Za-z0-9_@:+-][A-Za-z0-9_.@:+-]*$/.test(service)) throw new GgnError(`refusing invalid service name ${JSON.stringify(service)} for a lock`);
}

/** The shortest lock TTL: a run renews every third of it, and one renewal round trip must fit. */
export const MIN_TTL_MS = 3000;

export function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs < MIN_TTL_MS)
    throw new GgnError(`invalid lock TTL ${formatDuration(ttlMs)}: it must be at least ${formatDuration(MIN_TTL_MS)}`);
}
