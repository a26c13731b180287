/**
 * The lock dance and `withServiceLock` on an in-memory store and a fake clock: runs, renewal,
 * staleness, hand locks, lost locks, failed releases, interrupted waits.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { LockHeldError, ServiceLocks, withServiceLock } from '../../src/apply/lock';
import { MemoryLockStore } from '../../src/apply/lock/memory';
import { fakeClock } from '../support/fake-clock';

const TTL = 15_000;

function setup() {
  const clock = fakeClock();
  clock.t = 1_700_000_000_000;
  const store = new MemoryLockStore();
  const locks = new ServiceLocks(store, clock, 1000);
  const opts = (holder: string, extra: object = {}) => ({
    holder,
    message: 'update web',
    ttlMs: TTL,
    clock,
    unlockCommand: 'ggn prod web unlock --force',
    ...extra,
  });
  return { clock, store, locks, opts };
}

describe('run locks (memory store, fake clock)', () => {
  it('a run renews its lock while it works: no one gets in even long past the TTL, and it is released at the end', async () => {
    const { clock, locks, store, opts } = setup();
    const infos: string[] = [];
    const refusals: string[] = [];
    const t0 = clock.now();
    const out = await withServiceLock(locks, 'web', { ...opts('alice@box'), onInfo: (l) => infos.push(l) }, async (run) => {
      for (let i = 0; i < 60; i++) {
        await clock.sleep(1000);
        if (i % 10 === 9) {
          // Another user, and the same user in another run: both refused, whatever the time.
          for (const who of ['bob@desk', 'alice@box']) {
            await locks.acquireRun('web', { holder: who, message: 'm', ttlMs: TTL }).then(
              () => assert.fail(`${who} got in at ${clock.now() - t0} ms`),
              (e) => refusals.push((e as Error).message),
            );
          }
        }
      }
      assert.equal(run.lost.aborted, false);
      return 'done';
    });
    assert.ok(clock.now() - t0 > 4 * TTL, `the work lasted ${clock.now() - t0} ms, over four TTLs`);
    assert.equal(out.value, 'done');
    assert.equal(out.lost, undefined);
    assert.equal(out.releaseError, undefined);
    assert.equal(refusals.length, 12);
    assert.ok(
      refusals.every((m) => /^service web is locked by \[alice@box\] update web \(run [0-9a-f]{8}, renewed \d+s ago, \d+s left\)$/.test(m)),
      refusals[0],
    );
    assert.deepEqual(infos, ['web: locked (memory lock)']);
    assert.equal(store.locks.size, 0, 'released');
  });

  it('a run that stopped renewing is stale after its TTL: the next run takes it over and says so', async () => {
    const { clock, locks, opts } = setup();
    await locks.acquireRun('web', { holder: 'alice@box', message: 'update web', ttlMs: TTL, runId: '9c1e2f3a-dead' });
    clock.t += TTL - 1;
    await assert.rejects(locks.acquireRun('web', { holder: 'bob@desk', message: 'm', ttlMs: TTL }), LockHeldError);
    clock.t += 1 + 105_000;
    const infos: string[] = [];
    const out = await withServiceLock(locks, 'web', { ...opts('bob@desk'), onInfo: (l) => infos.push(l) }, async () => 1);
    assert.equal(out.value, 1);
    assert.equal(infos[0], 'web: taking over a stale lock of [alice@box] run 9c1e2f3a, last renewed 2m0s ago');
  });

  it('--lock-wait waits for a held lock and gives up at the deadline; a signal ends the wait at once', async () => {
    const { clock, locks } = setup();
    await locks.acquireRun('web', { holder: 'alice@box', message: 'm', ttlMs: 3_600_000 });
    const t0 = clock.now();
    await assert.rejects(
      locks.acquireRun('web', { holder: 'bob@desk', message: 'm', ttlMs: TTL, waitMs: 30_000 }),
      (e: unknown) => e instanceof LockHeldError && e.waitedMs === 30_000,
    );
    assert.equal(clock.now() - t0, 30_000);
    const ac = new AbortController();
    const waiting = locks.acquireRun('web', { holder: 'bob@desk', message: 'm', ttlMs: TTL, waitMs: 3_600_000, signal: ac.signal });
    const t1 = clock.now();
    setImmediate(() => ac.abort());
    await assert.rejects(waiting, /^Error: interrupted while waiting for the lock of web$|interrupted while waiting for the lock of web/);
    assert.ok(clock.now() - t1 < 10_000, 'did not wait out --lock-wait');
  });

  it('a lock that cannot be renewed (backend unreachable) is lost: the work is told, and the outcome names the backend', async () => {
    const { clock, locks, store, opts } = setup();
    let sawLost = false;
    const out = await withServiceLock(locks, 'web', opts('alice@box'), async (run) => {
      store.fail = 'connect ECONNREFUSED';
      for (let i = 0; i < 60 && !run.lost.aborted; i++) await clock.sleep(1000);
      sawLost = run.lost.aborted;
      store.fail = undefined;
    });
    assert.ok(sawLost, 'the work saw the lock lost');
    assert.match(out.lost!.message, /^could not renew the lock of web \(memory lock\): memory lock unreachable: connect ECONNREFUSED$/);
  });

  it('a lock taken over while the run lives (e.g. after a partition) is lost at the next renewal', async () => {
    const { clock, locks, store, opts } = setup();
    const out = await withServiceLock(locks, 'web', opts('alice@box'), async (run) => {
      // Someone forced it away and took it.
      await locks.unlock('web', 'x@y', true);
      await locks.acquireRun('web', { holder: 'bob@desk', message: 'hotfix', ttlMs: TTL });
      for (let i = 0; i < 60 && !run.lost.aborted; i++) await clock.sleep(1000);
    });
    assert.match(out.lost!.message, /^the lock of web is no longer this run's: now held by \[bob@desk\] hotfix \(run .*\) \(memory lock\)$/);
    assert.equal(out.releaseError, undefined, 'nothing of ours to release');
    assert.equal((await locks.read('web'))!.holder, 'bob@desk', "bob's lock is left alone");
    assert.ok(store.locks.size === 1);
  });

  it('a release that fails is an error saying which lock is left, for how long, and how to clear it', async () => {
    const { locks, store, opts } = setup();
    const out = await withServiceLock(locks, 'web', opts('alice@box'), async () => {
      store.fail = 'host h1 stopped responding';
    });
    assert.match(
      out.releaseError!.message,
      /^could not release the lock of web \(memory lock\): memory lock unreachable: host h1 stopped responding; it blocks others until it goes stale in 1?\ds, or clear it with `ggn prod web unlock --force`$/,
    );
  });

  it('an error in the work still releases the lock', async () => {
    const { locks, store, opts } = setup();
    const out = await withServiceLock(locks, 'web', opts('alice@box'), async () => {
      throw new Error('boom');
    });
    assert.equal(out.error!.message, 'boom');
    assert.equal(store.locks.size, 0);
  });

  it('under a hand lock: its holder runs one command at a time and the lock stays; others are refused', async () => {
    const { locks, opts } = setup();
    await locks.acquireHand('web', { holder: 'alice@box', message: 'maintenance', ttlMs: 3_600_000 });
    const infos: string[] = [];
    const out = await withServiceLock(locks, 'web', { ...opts('alice@box'), onInfo: (l) => infos.push(l) }, async () => {
      await assert.rejects(
        locks.acquireRun('web', { holder: 'alice@box', message: 'm', ttlMs: TTL }),
        /your own run [0-9a-f]{8} \(update web\) is working under your lock/,
      );
      await assert.rejects(locks.acquireRun('web', { holder: 'bob@desk', message: 'm', ttlMs: TTL }), /locked by \[alice@box\] maintenance \(locked by hand/);
      return 'ok';
    });
    assert.equal(out.value, 'ok');
    assert.deepEqual(infos, ['web: locked (memory lock, under your lock taken by hand, which stays)']);
    const r = (await locks.read('web'))!;
    assert.deepEqual([r.kind, r.holder, r.message, r.inner], ['hand', 'alice@box', 'maintenance', undefined]);
    await assert.rejects(locks.acquireRun('web', { holder: 'bob@desk', message: 'restart', ttlMs: TTL }), LockHeldError);
    // The same user re-takes the hand lock with a new message; a run cannot take it by hand.
    await locks.acquireHand('web', { holder: 'alice@box', message: 'still maintenance', ttlMs: 3_600_000 });
    assert.equal((await locks.read('web'))!.message, 'still maintenance');
  });

  it('a half-written lock is reaped after 30 s; before that it reads as held by unknown', async () => {
    const { locks, store } = setup();
    store.locks.set('web', { pending: true, ageMs: 5000 });
    await assert.rejects(locks.acquireRun('web', { holder: 'a@b', message: 'm', ttlMs: TTL }), /locked by \[unknown\]/);
    store.locks.set('web', { pending: true, ageMs: 31_000 });
    const held = await locks.acquireRun('web', { holder: 'a@b', message: 'm', ttlMs: TTL });
    assert.equal(held.holder, 'a@b');
  });
});
