/**
 * A clock for loops that wait (health checks, hooks, rollouts): time moves only when something
 * sleeps, every sleep is recorded, and each sleep yields to the event loop so concurrent work
 * interleaves as it would for real.
 */
import type { Clock } from '../../src/apply/types';
import type { Timers } from '../../src/clock';

export interface FakeClock extends Clock {
  t: number;
  sleeps: number[];
}

export function fakeClock(): FakeClock {
  const c: FakeClock = {
    t: 0,
    sleeps: [],
    now: () => c.t,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted) throw new Error('aborted');
      c.sleeps.push(ms);
      c.t += ms;
      await new Promise((r) => setImmediate(r));
    },
  };
  return c;
}

/** Timers (src/clock.ts) on a hand-moved clock, for what redraws a terminal: `advance` runs what falls due. */
export function fakeTimers() {
  let now = 1_000;
  let pending: { at: number; fn: () => void }[] = [];
  const timers: Timers = {
    now: () => now,
    after: (ms, fn) => {
      const t = { at: now + ms, fn };
      pending.push(t);
      return () => void (pending = pending.filter((p) => p !== t));
    },
  };
  const advance = (ms: number) => {
    now += ms;
    for (const t of pending.filter((p) => p.at <= now)) {
      pending = pending.filter((p) => p !== t);
      t.fn();
    }
  };
  return { timers, advance, pending: () => pending.length };
}
