/**
 * `withServiceLock`: the one way a command holds a service lock while it works. It takes the
 * lock for this run, renews it every third of its TTL while the work goes on, tells the work
 * when the lock is lost (taken over, or not renewable: the backend is unreachable), and
 * releases it at the end, whatever happened. A release that fails is reported with how to
 * clear the lock, never swallowed.
 */
import { GgnError, toGgnError } from '../../errors';
import { formatDuration } from '../../durations';
import { Clock } from '../types';
import { LockLostError } from './common';
import { HeldRun, RunLockOptions, ServiceLocks } from './dance';

export interface ServiceLockOptions extends RunLockOptions {
  clock: Clock;
  /** Lines for the user: lock taken, taken over, working under a hand lock. */
  onInfo?: (line: string) => void;
  /** `ggn <env> <service> unlock --force`, said when a release fails. */
  unlockCommand: string;
}

export interface LockedRun {
  held: HeldRun;
  /** Aborts when the lock is lost: start no new work, finish or undo what is in flight. */
  lost: AbortSignal;
}

export interface LockedOutcome<T> {
  value?: T;
  /** What the work threw. */
  error?: GgnError;
  /** Why the lock was lost during the work. */
  lost?: GgnError;
  /** The lock could not be released: it is left behind until it goes stale. */
  releaseError?: GgnError;
}

/**
 * How long a run's lock outlives the run when it dies without releasing it (SIGKILL, a lost
 * machine): it renews every third of this while alive, so a dead run blocks others at most
 * this long (`--lock-ttl`).
 */
export const DEFAULT_LOCK_TTL = '45s';

/** Consecutive failed renewals before the lock counts as lost. */
const RENEW_TRIES = 2;

export async function withServiceLock<T>(
  locks: ServiceLocks,
  service: string,
  opts: ServiceLockOptions,
  work: (run: LockedRun) => Promise<T>,
): Promise<LockedOutcome<T>> {
  const held = await locks.acquireRun(service, opts);
  if (held.tookOver) opts.onInfo?.(`${service}: ${held.tookOver}`);
  opts.onInfo?.(`${service}: locked (${locks.description}${held.under === 'hand' ? ', under your lock taken by hand, which stays' : ''})`);
  const outcome: LockedOutcome<T> = {};
  const lost = new AbortController();
  const stop = new AbortController();
  const renewing = renewLoop(locks, held, opts.clock, stop.signal, (e) => {
    outcome.lost = e;
    lost.abort();
  });
  try {
    outcome.value = await work({ held, lost: lost.signal });
  } catch (e) {
    outcome.error = toGgnError(e, { service });
  } finally {
    stop.abort();
    await renewing;
  }
  try {
    await locks.releaseRun(held);
  } catch (e) {
    const cause = e instanceof Error ? e.message : String(e);
    const left = Math.max(0, held.expiresAt - opts.clock.now());
    outcome.releaseError = new GgnError(
      `could not release the lock of ${service} (${locks.description}): ${cause}; it blocks others until it goes stale in ${formatDuration(left)}, or clear it with \`${opts.unlockCommand}\``,
      { service },
    );
  }
  return outcome;
}

/** Renews every third of the TTL; on failure tries again sooner, then declares the lock lost. */
async function renewLoop(locks: ServiceLocks, held: HeldRun, clock: Clock, stop: AbortSignal, onLost: (e: GgnError) => void): Promise<void> {
  const every = Math.max(1, Math.floor(held.ttlMs / 3));
  let failures = 0;
  for (;;) {
    try {
      await clock.sleep(failures ? Math.floor(every / 2) : every, stop);
    } catch {
      return; // stopped
    }
    if (stop.aborted) return;
    try {
      await locks.renew(held);
      failures = 0;
    } catch (e) {
      if (stop.aborted) return;
      const err = toGgnError(e, { service: held.service });
      if (e instanceof LockLostError || ++failures >= RENEW_TRIES) {
        onLost(
          e instanceof LockLostError
            ? err
            : new GgnError(`could not renew the lock of ${held.service} (${locks.description}): ${err.message}`, { service: held.service }),
        );
        return;
      }
    }
  }
}
