import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mapLimit } from '../../src/parallel';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mapLimit', () => {
  it('keeps input order and respects the limit', async () => {
    let active = 0;
    let peak = 0;
    const res = await mapLimit([30, 5, 20, 1, 10, 2], 2, async (ms, i) => {
      active++;
      peak = Math.max(peak, active);
      await sleep(ms);
      active--;
      return i * 10;
    });
    assert.equal(peak, 2);
    assert.deepEqual(
      res.map((r) => (r.ok ? r.value : null)),
      [0, 10, 20, 30, 40, 50],
    );
  });

  it('returns errors per item instead of throwing', async () => {
    const res = await mapLimit(['a', 'b', 'c'], 10, async (x) => {
      if (x === 'b') throw new Error('boom');
      return x.toUpperCase();
    });
    assert.deepEqual(res[0], { ok: true, value: 'A' });
    assert.equal(res[1].ok, false);
    assert.equal(!res[1].ok && (res[1].error as Error).message, 'boom');
    assert.deepEqual(res[2], { ok: true, value: 'C' });
  });

  it('handles empty input and silly limits', async () => {
    assert.deepEqual(await mapLimit([], 4, async () => 1), []);
    assert.deepEqual(
      (await mapLimit([1, 2], 0, async (x) => x)).map((r) => r.ok && r.value),
      [1, 2],
    );
    assert.deepEqual(
      (await mapLimit([1, 2], Infinity, async (x) => x)).map((r) => r.ok && r.value),
      [1, 2],
    );
  });
});
