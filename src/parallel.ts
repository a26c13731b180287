/** Bounded concurrency over a list; results stay in input order, failures are returned per item. */

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export async function mapLimit<I, O>(items: readonly I[], limit: number, fn: (item: I, index: number) => Promise<O>): Promise<Array<Settled<O>>> {
  const n = items.length;
  const results = new Array<Settled<O>>(n);
  const width = Math.max(1, Math.min(Number.isFinite(limit) ? Math.floor(limit) : n, n));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      try {
        results[i] = { ok: true, value: await fn(items[i], i) };
      } catch (error) {
        results[i] = { ok: false, error };
      }
    }
  };
  await Promise.all(Array.from({ length: n === 0 ? 0 : width }, worker));
  return results;
}
