/**
 * The lock dance, one owner for every backend: who may take a service lock, renew it, release
 * it, and when a lock is stale. Each step reads the lock, decides, and writes with
 * compare-and-swap, so two clients that race for the same lock never both win.
 *
 * - A run (update, rollback, start, stop, restart, destroy) holds the lock as itself, by run id:
 *   a second run is refused whoever started it. It renews the lock every third of its TTL;
 *   a lock whose run stopped renewing is stale once its TTL has passed, and the next run takes
 *   it over (and says so).
 * - A lock taken by hand (`lock -t 1h msg`) lasts its TTL. Its holder's own runs may work under
 *   it, one at a time, and leave it in place; only `unlock` releases it.
 */
import { randomUUID } from 'node:crypto';
import { GgnError } from '../../errors';
import { Clock } from '../types';
import { formatDuration } from '../../durations';
import { printable } from '../../report/printable';
import { checkHolder, checkService, checkTtl, describeLock, LockHeldError, LockLostError, LockRecord, LockStore, shortId, Stored } from './common';

/** A lock directory with no record for this long was left by a killed writer: it is reaped. */
export const PENDING_REAP_MS = 30_000;
/** The id of the record that stands for a half-written lock. */
export const PENDING_ID = 'half-written';
/** Poll interval while waiting for a held lock (`--lock-wait`). */
const DEFAULT_POLL_MS = 1000;

export interface RunLockOptions {
  holder: string;
  message: string;
  ttlMs: number;
  /** How long to wait for a held lock (`--lock-wait`); 0 or absent: fail at once. */
  waitMs?: number;
  /** Aborts a wait (Ctrl-C, SIGTERM). */
  signal?: AbortSignal;
  /** The run's id (default: a new random one). */
  runId?: string;
}

/** A lock held by a run: on its own (`own`), or under its holder's hand lock (`hand`). */
export interface HeldRun {
  service: string;
  runId: string;
  holder: string;
  message: string;
  ttlMs: number;
  under: 'own' | 'hand';
  expiresAt: number;
  /** Said to the user when the lock was taken over from a dead run. */
  tookOver?: string;
}

export type UnlockResult = { done: 'unlocked' | 'not-locked' } | { refused: string };

/** The effective end of a lock: a hand lock lives while its inner run does. */
function endOf(r: LockRecord): number {
  return r.inner ? Math.max(r.expiresAt, r.inner.expiresAt) : r.expiresAt;
}

export class ServiceLocks {
  readonly description: string;

  constructor(
    readonly store: LockStore,
    private readonly clock: Clock,
    private readonly pollMs = DEFAULT_POLL_MS,
  ) {
    this.description = store.description;
  }

  check(): Promise<void> {
    return this.store.check();
  }

  close(): Promise<void> {
    return this.store.close();
  }

  /** The record, or null when free (a half-written lock reads as an unknown holder). */
  async read(service: string): Promise<LockRecord | null> {
    checkService(service);
    const s = await this.store.read(service);
    if (!s) return null;
    return 'pending' in s ? this.pendingRecord(s.ageMs) : s.record;
  }

  /** Takes the lock for one run, waiting up to waitMs for a held one. */
  async acquireRun(service: string, opts: RunLockOptions): Promise<HeldRun> {
    checkService(service);
    checkHolder(opts.holder);
    checkTtl(opts.ttlMs);
    const runId = opts.runId ?? randomUUID();
    const settle = this.pendingSettler();
    return this.waitFor<HeldRun>(service, opts.waitMs ?? 0, opts.signal, async () => {
      const now = this.clock.now();
      const cur = await this.store.read(service);
      const fresh: LockRecord = {
        holder: opts.holder,
        message: opts.message,
        kind: 'run',
        id: runId,
        takenAt: now,
        renewedAt: now,
        expiresAt: now + opts.ttlMs,
      };
      const held = (r: Omit<HeldRun, 'service' | 'runId' | 'holder' | 'message' | 'ttlMs'>): HeldRun => ({
        service,
        runId,
        holder: opts.holder,
        message: opts.message,
        ttlMs: opts.ttlMs,
        ...r,
      });
      if (!cur) return (await this.store.write(service, null, fresh)) ? held({ under: 'own', expiresAt: fresh.expiresAt }) : 'again';
      if ('pending' in cur) return this.reapPending(service, cur.ageMs, settle);
      const r = cur.record;
      if (now >= endOf(r)) {
        if (!(await this.store.write(service, cur.version, fresh))) return 'again';
        const what =
          r.kind === 'run'
            ? `run ${shortId(r.id)}, last renewed ${formatDuration(now - r.renewedAt)} ago`
            : `locked by hand, expired ${formatDuration(now - endOf(r))} ago`;
        return held({ under: 'own', expiresAt: fresh.expiresAt, tookOver: `taking over a stale lock of [${printable(r.holder)}] ${what}` });
      }
      if (r.kind === 'hand' && r.holder === opts.holder) {
        if (r.inner && now < r.inner.expiresAt)
          return { held: r, why: `your own run ${shortId(r.inner.id)} (${printable(r.inner.message)}) is working under your lock` };
        const inner = { id: runId, message: opts.message, takenAt: now, renewedAt: now, expiresAt: now + opts.ttlMs };
        return (await this.store.write(service, cur.version, { ...r, inner })) ? held({ under: 'hand', expiresAt: inner.expiresAt }) : 'again';
      }
      return { held: r };
    });
  }

  /** Renews a run's lock; throws LockLostError when it is no longer the run's. */
  async renew(run: HeldRun, races = 0): Promise<void> {
    if (races >= 10) throw new GgnError(`${this.description}: the lock of ${run.service} keeps changing; could not renew it`, { service: run.service });
    const now = this.clock.now();
    const cur = await this.store.read(run.service);
    const r = cur && !('pending' in cur) ? cur.record : undefined;
    const expiresAt = now + run.ttlMs;
    if (r && run.under === 'own' && r.kind === 'run' && r.id === run.runId) {
      if (await this.store.write(run.service, (cur as { version: string }).version, { ...r, renewedAt: now, expiresAt }))
        return void (run.expiresAt = expiresAt);
    } else if (r && run.under === 'hand' && r.inner?.id === run.runId) {
      if (await this.store.write(run.service, (cur as { version: string }).version, { ...r, inner: { ...r.inner, renewedAt: now, expiresAt } }))
        return void (run.expiresAt = expiresAt);
    } else {
      throw new LockLostError(
        `the lock of ${run.service} is no longer this run's: ${r ? `now held by ${describeLock(r, now)}` : 'it was removed'} (${this.description})`,
        run.service,
      );
    }
    // The lock changed between our read and write (someone read-and-failed, or took it over): look again.
    return this.renew(run, races + 1);
  }

  /** Releases a run's lock (or leaves its holder's hand lock in place). false: it was not ours any more. */
  async releaseRun(run: HeldRun): Promise<boolean> {
    for (let i = 0; i < 10; i++) {
      const cur = await this.store.read(run.service);
      if (!cur || 'pending' in cur) return false;
      const r = cur.record;
      if (run.under === 'own' && r.kind === 'run' && r.id === run.runId) {
        if (await this.store.remove(run.service, cur.version)) return true;
      } else if (run.under === 'hand' && r.inner?.id === run.runId) {
        const { inner: _done, ...rest } = r;
        if (await this.store.write(run.service, cur.version, rest)) return true;
      } else return false;
    }
    throw new GgnError(`${this.description}: the lock of ${run.service} keeps changing; could not release it`, { service: run.service });
  }

  /** `lock -t`: takes the lock by hand, or re-takes one's own hand lock (new message and TTL). */
  async acquireHand(service: string, opts: { holder: string; message: string; ttlMs: number }): Promise<LockRecord> {
    checkService(service);
    checkHolder(opts.holder);
    checkTtl(opts.ttlMs);
    const id = randomUUID();
    const settle = this.pendingSettler();
    return this.waitFor<LockRecord>(service, 0, undefined, async () => {
      const now = this.clock.now();
      const fresh: LockRecord = { holder: opts.holder, message: opts.message, kind: 'hand', id, takenAt: now, renewedAt: now, expiresAt: now + opts.ttlMs };
      const cur = await this.store.read(service);
      if (!cur) return (await this.store.write(service, null, fresh)) ? fresh : 'again';
      if ('pending' in cur) return this.reapPending(service, cur.ageMs, settle);
      const r = cur.record;
      if (now >= endOf(r)) return (await this.store.write(service, cur.version, fresh)) ? fresh : 'again';
      if (r.kind === 'hand' && r.holder === opts.holder) {
        const next = { ...fresh, id: r.id, takenAt: r.takenAt, ...(r.inner ? { inner: r.inner } : {}) };
        return (await this.store.write(service, cur.version, next)) ? next : 'again';
      }
      if (r.kind === 'run' && r.holder === opts.holder)
        return { held: r, why: `your own run ${shortId(r.id)} holds it; lock it by hand once that run has ended` };
      return { held: r };
    });
  }

  /** `unlock [--force]`: only a hand lock is released by its holder; --force removes any lock. */
  async unlock(service: string, holder: string, force: boolean): Promise<UnlockResult> {
    checkService(service);
    if (force) return { done: (await this.store.remove(service, null)) ? 'unlocked' : 'not-locked' };
    checkHolder(holder);
    const cur = await this.store.read(service);
    const now = this.clock.now();
    if (!cur) return { done: 'not-locked' };
    if ('pending' in cur) return { refused: `the lock of ${service} is half-written (a ggn was killed while taking it); \`unlock --force\` removes it` };
    const r = cur.record;
    if (r.kind === 'run') {
      return {
        refused: `${describeLock(r, now)} is held by a running command and is released when it ends; if that run is dead, its lock is stale in ${formatDuration(Math.max(0, r.expiresAt - now))}; \`unlock --force\` removes it now`,
      };
    }
    if (r.holder !== holder) return { refused: `locked by ${describeLock(r, now)}; \`unlock --force\` releases a lock that is not yours` };
    if (r.inner && now < r.inner.expiresAt)
      return {
        refused: `your run ${shortId(r.inner.id)} (${printable(r.inner.message)}) is working under this lock; unlock once it has ended, or \`unlock --force\``,
      };
    return { done: (await this.store.remove(service, cur.version)) ? 'unlocked' : 'not-locked' };
  }

  /** Polls `attempt` until it wins, is refused past the deadline, or the signal aborts. */
  private async waitFor<T>(
    service: string,
    waitMs: number,
    signal: AbortSignal | undefined,
    attempt: () => Promise<T | 'again' | { held: LockRecord; why?: string }>,
  ): Promise<T> {
    const start = this.clock.now();
    const deadline = start + Math.max(0, waitMs);
    let races = 0;
    for (;;) {
      if (signal?.aborted) throw new GgnError(`interrupted while waiting for the lock of ${service}`, { service });
      const r = await attempt();
      if (r === 'again') {
        // Lost a compare-and-swap race: look again at once, a few times.
        if (++races < 20) continue;
        throw new GgnError(`${this.description}: the lock of ${service} keeps changing; try again`, { service });
      }
      races = 0;
      if (!(r && typeof r === 'object' && 'held' in r)) return r as T;
      const now = this.clock.now();
      if (now >= deadline) throw new LockHeldError(service, r.held, now, now - start, r.why);
      // Poll, but wake up at the lock's end or the deadline when they come first.
      const untilEnd = Number.isFinite(endOf(r.held)) ? Math.max(50, endOf(r.held) - now) : this.pollMs;
      try {
        await this.clock.sleep(Math.max(1, Math.min(this.pollMs, untilEnd, deadline - now)), signal);
      } catch {
        throw new GgnError(`interrupted while waiting for the lock of ${service}`, { service });
      }
    }
  }

  /**
   * A lock seen without its record is usually being written by a racing client at this very
   * moment: look again a few times, 100 ms apart, before calling it held.
   */
  private pendingSettler(): () => Promise<boolean> {
    let tries = 0;
    return async () => {
      if (tries++ >= 10) return false;
      await this.clock.sleep(100);
      return true;
    };
  }

  private async reapPending(service: string, ageMs: number, settle: () => Promise<boolean>): Promise<'again' | { held: LockRecord }> {
    if (ageMs >= PENDING_REAP_MS && (await this.store.reap(service, PENDING_REAP_MS))) return 'again';
    if (ageMs < 5000 && (await settle())) return 'again';
    return { held: this.pendingRecord(ageMs) };
  }

  private pendingRecord(ageMs: number): LockRecord {
    const now = this.clock.now();
    return {
      holder: 'unknown',
      message: `(the lock is being written, or was left half-written ${formatDuration(ageMs)} ago; it is cleared after ${formatDuration(PENDING_REAP_MS)}, or now by \`unlock --force\`)`,
      kind: 'hand',
      id: PENDING_ID,
      takenAt: now - ageMs,
      renewedAt: now - ageMs,
      expiresAt: now + Math.max(0, PENDING_REAP_MS - ageMs),
    };
  }
}
