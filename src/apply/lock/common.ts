/**
 * What the lock backends share: the lock's shape, the "held" error, durations, and the
 * try / wait loop (on the injected clock, so waiting is testable without waiting).
 */
import { GgnError } from '../../errors';
import { Clock } from '../types';

export interface LockInfo {
  /** `user@host` of whoever holds the lock. */
  holder: string;
  message: string;
  /** Epoch ms (Infinity: a value without expiry, e.g. an etcd key put by hand without a lease). */
  expiresAt: number;
}

export interface AcquireOptions {
  holder: string;
  message: string;
  ttlMs: number;
  /** How long to wait for a held lock (`--lock-wait`); 0 or absent: fail at once. */
  waitMs?: number;
}

export interface LockBackend {
  /** e.g. "ssh lock on host1" / "etcd lock at http://127.0.0.1:12379" */
  readonly description: string;
  /** Throws a GgnError naming the backend when it cannot be reached (called before any change). */
  check(): Promise<void>;
  /** Takes the lock (or re-takes it: same holder), or throws LockHeldError. */
  acquire(service: string, opts: AcquireOptions): Promise<LockInfo>;
  /** false when the lock is not held by `holder` (and not forced) or not held at all. */
  release(service: string, holder: string, opts?: { force?: boolean }): Promise<boolean>;
  read(service: string): Promise<LockInfo | null>;
  close(): Promise<void>;
}

export class LockHeldError extends GgnError {
  /** How long we waited before giving up (0: did not wait). */
  readonly waitedMs: number;
  constructor(readonly service: string, readonly info: LockInfo, now: number, waitedMs = 0) {
    super(`service ${service} is locked by [${info.holder}] ${info.message} (${timeLeft(info.expiresAt, now)})`, { service });
    this.name = 'LockHeldError';
    this.waitedMs = waitedMs;
  }
}

export function timeLeft(expiresAt: number, now: number): string {
  if (!Number.isFinite(expiresAt)) return 'no expiry';
  return `${formatDuration(Math.max(0, expiresAt - now))} left`;
}

/** Go's time.Duration style at second precision: "1h2m3s", "58m12s", "5s", "1h0m0s". Rounds up. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'forever';
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "1h", "5m", "90s", "1h30m", "1.5h", "500ms", "0" → ms. Throws a GgnError for anything else. */
export function parseDuration(text: string): number {
  const s = String(text).trim();
  const bad = () => new GgnError(`invalid duration ${JSON.stringify(text)}: use a number with a unit, e.g. 90s, 5m, 1h or 1h30m`);
  if (s === '0') return 0;
  if (!/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(s)) throw bad();
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) total += Number(m[1]) * UNIT_MS[m[2]];
  if (!Number.isFinite(total) || total > Number.MAX_SAFE_INTEGER) throw bad();
  return Math.round(total);
}

/** `user@host` goes between brackets in the lock value and on one line in the ssh lock file. */
export function checkHolder(holder: string): void {
  if (!holder || /[\]\n\r\0]/.test(holder) || holder.startsWith('[')) throw new GgnError(`invalid lock holder ${JSON.stringify(holder)} (expected user@host)`);
}

/** Service names become a file name (ssh) or a key segment (etcd). */
export function checkService(service: string): void {
  if (!/^[A-Za-z0-9_@:+-][A-Za-z0-9_.@:+-]*$/.test(service)) throw new GgnError(`refusing invalid service name ${JSON.stringify(service)} for a lock`);
}

export function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new GgnError(`invalid lock TTL ${ttlMs} ms: it must be positive`);
}

/** One attempt: the lock is ours (info), or held by someone else (info of the holder). */
export type Attempt = { won: true; info: LockInfo } | { won: false; info: LockInfo };

/** Polls `attempt` until it wins or waitMs (on `clock`) has passed; then throws LockHeldError. */
export async function acquireLoop(service: string, clock: Clock, waitMs: number, pollMs: number, attempt: () => Promise<Attempt>): Promise<LockInfo> {
  const start = clock.now();
  const deadline = start + Math.max(0, waitMs);
  for (;;) {
    const r = await attempt();
    if (r.won) return r.info;
    const now = clock.now();
    if (now >= deadline) throw new LockHeldError(service, r.info, now, now - start);
    // Poll, but wake up at the lock's expiry or the deadline when they come first.
    // (at least 200 ms apart, so a lock that is about to expire is not hammered).
    const untilExpiry = Number.isFinite(r.info.expiresAt) ? Math.max(Math.min(pollMs, 200), r.info.expiresAt - now) : pollMs;
    await clock.sleep(Math.max(1, Math.min(pollMs, untilExpiry, deadline - now)));
  }
}
