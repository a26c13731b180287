/** Time, injected: waits, retries, renewals and timeouts run on a Clock so tests need not wait. */
export interface Clock {
  now(): number;
  /** Resolves after ms, or rejects with an AbortError-like error when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new Error('aborted'));
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(t);
        reject(new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** Time and one-shot timers for what redraws a terminal, injected so tests need not wait. */
export interface Timers {
  now(): number;
  /** Calls fn after ms (unref'd: it never keeps the process alive); returns a cancel. */
  after(ms: number, fn: () => void): () => void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  after: (ms, fn) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};
