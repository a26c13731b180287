/**
 * What the lock backends share: the lock record, the store each backend implements (read,
 * compare-and-swap write, remove), the "held" errors, and the checks on names and TTLs.
 * The rules of who may take a lock live in one place, `./dance.ts`, over any store.
 */
import { GgnError } from '../../errors';
import { printable } from '../../report/printable';
import { formatDuration } from '../../durations';

export { formatDuration, parseDuration } from '../../durations';

/**
 * One service lock.
 * - kind `run`: held by one run of a command (update, rollback, restart, ...), identified by its
 *   run id. The run renews it (`renewedAt`, `expiresAt` = renewal + TTL) while it lives; once
 *   `expiresAt` has passed without a renewal the run is dead and the lock is stale.
 * - kind `hand`: taken with `ggn <env> <svc> lock -t 1h msg`; it lasts its TTL and is never
 *   renewed. The same user@host may run commands under it, one at a time (`inner`), which
 *   never release it: only `unlock` does.
 */
export interface LockRecord {
  /** `user@host` of whoever took it. */
  holder: string;
  message: string;
  kind: 'run' | 'hand';
  /** The run id (kind run) or an id of the hand lock. */
  id: string;
  takenAt: number;
  renewedAt: number;
  /** Epoch ms (Infinity: a value without expiry, e.g. an etcd key put by hand without a lease). */
  expiresAt: number;
  /** A run of the hand lock's holder working under it. */
  inner?: InnerRun;
}

export interface InnerRun {
  id: string;
  message: string;
  takenAt: number;
  renewedAt: number;
  expiresAt: number;
}

/** What a store holds for a service: a record with its version (for compare-and-swap), or a lock being written. */
export type Stored = { version: string; record: LockRecord } | { pending: true; ageMs: number };

/**
 * A backend's storage: every write is a compare-and-swap on the version read before, so that of
 * two clients racing for the same version exactly one wins.
 */
export interface LockStore {
  /** e.g. "ssh lock on host1" / "etcd lock at http://127.0.0.1:12379" */
  readonly description: string;
  /** Throws a GgnError naming the backend when it cannot be reached (called before any change). */
  check(): Promise<void>;
  read(service: string): Promise<Stored | null>;
  /** Writes `record` if the stored version is still `version` (null: only if there is none). */
  write(service: string, version: string | null, record: LockRecord): Promise<boolean>;
  /** Removes the lock if its version is still `version`; null removes whatever is there (--force). */
  remove(service: string, version: string | null): Promise<boolean>;
  /** Removes a lock left half-written (no record) for at least minAgeMs. */
  reap(service: string, minAgeMs: number): Promise<boolean>;
  close(): Promise<void>;
}

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

/** A record parsed from stored JSON; null when it is not one of ours. */
export function parseRecord(text: string): LockRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  const r = v as Partial<LockRecord> | null;
  if (!r || typeof r !== 'object' || typeof r.holder !== 'string' || typeof r.id !== 'string' || (r.kind !== 'run' && r.kind !== 'hand')) return null;
  const num = (x: unknown) => (typeof x === 'number' ? x : x === null ? Infinity : 0);
  const inner = r.inner && typeof r.inner === 'object' && typeof r.inner.id === 'string' ? { ...r.inner, expiresAt: num(r.inner.expiresAt) } : undefined;
  return {
    holder: r.holder,
    message: typeof r.message === 'string' ? r.message : '',
    kind: r.kind,
    id: r.id,
    takenAt: num(r.takenAt),
    renewedAt: num(r.renewedAt),
    expiresAt: num(r.expiresAt),
    ...(inner ? { inner } : {}),
  };
}

/** JSON of a record (Infinity, which JSON lacks, as null). */
export function serializeRecord(r: LockRecord): string {
  return JSON.stringify(r, (_k, v) => (v === Infinity ? null : v));
}
