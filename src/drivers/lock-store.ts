/**
 * The lock store, as the driver port sees it: where a backend keeps service locks (read,
 * compare-and-swap write, remove). The rules of who may take a lock live in
 * src/apply/lock/dance.ts; a driver may offer its machines' own store (`Driver.lockStore`).
 */
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
