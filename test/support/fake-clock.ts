/**
 * A clock for loops that wait (health checks, hooks, rollouts): time moves only when something
 * sleeps, every sleep is recorded, and each sleep yields to the event loop so concurrent work
 * interleaves as it would for real.
 */
import type { Clock } from '../../src/apply/types';

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
