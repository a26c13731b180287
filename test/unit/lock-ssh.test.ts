/**
 * The ssh lock backend against a fake RemoteExec that runs its scripts in a local `sh` with a
 * temporary HOME (what the remote shell would do), and a fake clock.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LockHeldError, ServiceLocks } from '../../src/apply/lock';
import { SshLockStore } from '../../src/drivers/systemd/lock-store';
import { Clock, RemoteExec } from '../../src/apply/types';
import { GgnError } from '../../src/errors';
import { tmpDir } from '../support/cli';

class FakeClock implements Clock {
  sleeps: number[] = [];
  constructor(public t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.t += ms;
  }
}

/** The ssh backend as the systemd driver's lockStore() builds it, over a fake exec. */
function sshBackend(d: { exec: RemoteExec; firstMachine: string; scope: 'user' | 'system'; sudo: boolean; envName: string; clock: Clock }): ServiceLocks {
  return new ServiceLocks(new SshLockStore({ exec: d.exec, machine: d.firstMachine, scope: d.scope, sudo: d.sudo, envName: d.envName }), d.clock, 2000);
}

function localExec(home: string, calls?: string[][]): RemoteExec {
  return (machine, argv, opts) =>
    new Promise((resolve, reject) => {
      calls?.push(argv);
      const c = spawn(argv[0], argv.slice(1), { env: { PATH: '/usr/bin:/bin', HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.stderr.on('data', (d) => (stderr += d));
      c.on('error', reject);
      c.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
}

function setup(opts: { envName?: string } = {}) {
  const home = tmpDir('lock-home');
  const clock = new FakeClock();
  const calls: string[][] = [];
  const exec = localExec(home, calls);
  const mk = (c: Clock = clock) => sshBackend({ exec, firstMachine: 'host1', scope: 'user', sudo: false, envName: opts.envName ?? 'prod', clock: c });
  const lockDir = path.join(home, '.local/state/ggn/locks', opts.envName ?? 'prod');
  const run = (holder: string, message = 'update web', ttlMs = H, extra: { waitMs?: number } = {}) => ({ holder, message, ttlMs, ...extra });
  return { home, clock, calls, exec, b: mk(), mk, lockDir, run };
}

const H = 1000 * 3600;

describe('ssh lock store (its script run by a local sh)', () => {
  it('takes a free lock for a run, in the state directory, and reads it back; values are arguments', async () => {
    const { b, clock, lockDir, home, calls, run } = setup();
    assert.equal(b.description, 'ssh lock on host1');
    await b.check();
    assert.equal(await b.read('web'), null);
    const held = await b.acquireRun('web', { ...run('alice@box', 'deploying 1.2'), runId: 'run-a' });
    assert.equal(held.under, 'own');
    assert.equal(held.expiresAt, clock.t + H);
    const r = (await b.read('web'))!;
    assert.deepEqual([r.holder, r.message, r.kind, r.id, r.expiresAt], ['alice@box', 'deploying 1.2', 'run', 'run-a', clock.t + H]);
    const info = fs.readFileSync(path.join(lockDir, 'web.lock/info'), 'utf8').split('\n');
    assert.equal(JSON.parse(info[1]).id, 'run-a', 'a generation line, then the record as JSON');
    assert.ok(!fs.existsSync(path.join(home, '.config')), 'nothing in the unit directory');
    const argv = calls.find((a) => a.includes('write'))!;
    assert.deepEqual(argv.slice(0, 2), ['sh', '-c']);
    assert.ok(!argv[2].includes('alice') && !argv[2].includes('deploying'));
    assert.deepEqual(argv.slice(3, 9), ['ggn-lock', 'user', 'write', 'prod', 'web', 'none']);
    assert.equal(await b.releaseRun(held), true);
    assert.deepEqual(fs.readdirSync(lockDir), [], 'nothing left behind');
  });

  it('honours XDG_STATE_HOME', async () => {
    const home = tmpDir('lock-home');
    const state = path.join(home, 'st');
    const exec: RemoteExec = (m, argv, o) => localExec(home)(m, ['env', `XDG_STATE_HOME=${state}`, ...argv], o);
    const b = sshBackend({ exec, firstMachine: 'h', scope: 'user', sudo: false, envName: 'prod', clock: new FakeClock() });
    await b.acquireRun('web', { holder: 'a@b', message: 'm', ttlMs: H });
    assert.ok(fs.existsSync(path.join(state, 'ggn/locks/prod/web.lock/info')));
  });

  it('keeps odd messages intact (quotes, $, newlines, leading dashes)', async () => {
    const { b } = setup();
    const message = `-n "$(rm -rf /)" 'x' \\ é\nsecond line`;
    await b.acquireHand('web', { holder: 'a@b', message, ttlMs: H });
    assert.equal((await b.read('web'))!.message, message);
  });

  it('a second run is refused whoever started it, naming the holder and run; renewal moves the expiry', async () => {
    const { b, clock, run } = setup();
    const held = await b.acquireRun('web', { ...run('alice@box'), runId: '3f2a9c1e-0000' });
    clock.t += 20_000;
    await assert.rejects(b.acquireRun('web', run('alice@box')), (e: unknown) => {
      assert.ok(e instanceof LockHeldError);
      assert.equal(e.message, 'service web is locked by [alice@box] update web (run 3f2a9c1e, renewed 20s ago, 59m40s left)');
      return true;
    });
    await assert.rejects(b.acquireRun('web', run('bob@desk')), LockHeldError);
    await b.renew(held);
    assert.equal((await b.read('web'))!.expiresAt, clock.t + H);
    assert.equal((await b.read('web'))!.renewedAt, clock.t);
  });

  it('a stale run lock is taken over, and the old run finds it lost', async () => {
    const { b, clock, run } = setup();
    const old = await b.acquireRun('web', { ...run('alice@box', 'update web', 60_000), runId: 'aaaaaaaa-1' });
    clock.t += 120_000;
    const next = await b.acquireRun('web', run('bob@desk'));
    assert.equal(next.tookOver, 'taking over a stale lock of [alice@box] run aaaaaaaa, last renewed 2m0s ago');
    await assert.rejects(b.renew(old), /the lock of web is no longer this run's: now held by \[bob@desk\]/);
    assert.equal(await b.releaseRun(old), false, 'the old run does not release what is not its own');
    assert.equal((await b.read('web'))!.holder, 'bob@desk');
  });

  it("a lock taken by hand: its holder's runs work under it one at a time and leave it; only unlock releases it", async () => {
    const { b, run } = setup();
    await b.acquireHand('web', { holder: 'alice@box', message: 'investigating', ttlMs: H });
    const inner = await b.acquireRun('web', run('alice@box'));
    assert.equal(inner.under, 'hand');
    await assert.rejects(b.acquireRun('web', run('alice@box')), /your own run .* is working under your lock/);
    await assert.rejects(b.acquireRun('web', run('bob@desk')), /locked by \[alice@box\] investigating \(locked by hand, .*left; its owner's run/);
    assert.equal(await b.releaseRun(inner), true);
    const r = (await b.read('web'))!;
    assert.deepEqual([r.kind, r.holder, r.inner], ['hand', 'alice@box', undefined], 'the hand lock stays');
    await assert.rejects(b.acquireRun('web', run('bob@desk')), LockHeldError);
    assert.deepEqual(await b.unlock('web', 'bob@desk', false), {
      refused: 'locked by [alice@box] investigating (locked by hand, 1h0m0s left); `unlock --force` releases a lock that is not yours',
    });
    assert.deepEqual(await b.unlock('web', 'alice@box', false), { done: 'unlocked' });
    assert.deepEqual(await b.unlock('web', 'alice@box', false), { done: 'not-locked' });
  });

  it("unlock does not release a run's lock without --force; --force does", async () => {
    const { b, run } = setup();
    await b.acquireRun('web', run('alice@box'));
    const r = await b.unlock('web', 'alice@box', false);
    assert.ok('refused' in r && /held by a running command and is released when it ends/.test(r.refused), JSON.stringify(r));
    assert.deepEqual(await b.unlock('web', 'bob@desk', true), { done: 'unlocked' });
    assert.equal(await b.read('web'), null);
  });

  it('locks of different envs do not collide', async () => {
    const { exec, clock } = setup();
    const a = new ServiceLocks(new SshLockStore({ exec, machine: 'h', scope: 'user', sudo: false, envName: 'prod' }), clock);
    const b = new ServiceLocks(new SshLockStore({ exec, machine: 'h', scope: 'user', sudo: false, envName: 'preprod' }), clock);
    await a.acquireRun('web', { holder: 'a@b', message: 'm', ttlMs: H });
    await b.acquireRun('web', { holder: 'c@d', message: 'm', ttlMs: H });
  });

  it('--lock-wait: waits (on the clock) until the lock goes stale; gives up at the deadline with the same error', async () => {
    const { b, clock, run } = setup();
    await b.acquireRun('web', run('alice@box', 'long', 20_500));
    const t0 = clock.t;
    const held = await b.acquireRun('web', run('bob@desk', 'next', H, { waitMs: 10 * 60_000 }));
    assert.equal(held.holder, 'bob@desk');
    assert.ok(clock.t >= t0 + 20_500 && clock.t <= t0 + 22_500, `waited ${clock.t - t0} ms`);
    assert.ok(
      clock.sleeps.every((s) => s <= 2000),
      'polls every 2 s at most',
    );
    const t1 = clock.t;
    await assert.rejects(b.acquireRun('web', run('carol@x', 'next', H, { waitMs: 9_000 })), (e: unknown) => {
      assert.ok(e instanceof LockHeldError);
      assert.equal(e.waitedMs, 9_000);
      return true;
    });
    assert.equal(clock.t - t1, 9_000, 'stops exactly at the deadline');
  });

  it('a half-written lock directory reads as held by unknown, is reaped after 30 s, and unlock --force clears it', async () => {
    const { b, lockDir, run } = setup();
    await b.check();
    fs.mkdirSync(path.join(lockDir, 'web.lock/claim.none'), { recursive: true });
    await assert.rejects(
      b.acquireRun('web', run('a@b')),
      /locked by \[unknown\] \(the lock is being written, or was left half-written \ds ago; it is cleared after 30s, or now by `unlock --force`\)/,
    );
    const r = await b.unlock('web', 'a@b', false);
    assert.ok('refused' in r && /half-written .*`unlock --force` removes it/.test(r.refused));
    // An old one (its mtime 40 s ago, on the host's clock) is reaped by the next run.
    const old = new Date(Date.now() - 40_000);
    fs.utimesSync(path.join(lockDir, 'web.lock'), old, old);
    const held = await b.acquireRun('web', run('a@b'));
    assert.equal(held.holder, 'a@b');
    assert.deepEqual(await b.unlock('web', 'x@y', true), { done: 'unlocked' });
  });

  it('unlock --force removes a stray file at the lock path; reading it says how to fix it', async () => {
    const { b, lockDir, run } = setup();
    await b.check();
    fs.writeFileSync(path.join(lockDir, 'web.lock'), 'junk');
    await assert.rejects(b.acquireRun('web', run('a@b')), /the lock path of web is not a directory .*`ggn prod web unlock --force` removes it/);
    assert.deepEqual(await b.unlock('web', 'a@b', true), { done: 'unlocked' });
    assert.ok(!fs.existsSync(path.join(lockDir, 'web.lock')));
  });

  it('reads a lock written by ggn 0.1 (holder, expiry, message lines) as taken by hand', async () => {
    const { b, lockDir, clock, run } = setup();
    fs.mkdirSync(path.join(lockDir, 'web.lock'), { recursive: true });
    fs.writeFileSync(path.join(lockDir, 'web.lock/info'), `gen1\nalice@box\n${clock.t + 60_000}\nold deploy`);
    await assert.rejects(b.acquireRun('web', run('bob@desk')), /locked by \[alice@box\] old deploy \(locked by hand, 1m0s left\)/);
  });

  it('10 concurrent runs: exactly one wins (free lock, then stale lock), many rounds', async () => {
    const { b, clock, run } = setup();
    for (let round = 0; round < 6; round++) {
      const rs = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => b.acquireRun('web', run(round % 3 ? `u${i}@r${round}` : 'same@user', `m${i}`, 60_000))),
      );
      const won = rs.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ runId: string; holder: string }>[];
      assert.equal(won.length, 1, `round ${round}: ${won.length} winners`);
      for (const r of rs) if (r.status === 'rejected') assert.ok(r.reason instanceof LockHeldError, String(r.reason));
      assert.equal((await b.read('web'))!.id, won[0].value.runId);
      if (round % 2 === 0)
        clock.t += 60_000; // stale: a takeover race
      else assert.equal(await b.releaseRun(won[0].value as any), true); // released: a creation race
    }
  });

  it('concurrent release and takeover: never two holders', async () => {
    const { b, clock, run } = setup();
    for (let round = 0; round < 4; round++) {
      const old = await b.acquireRun('web', run('old@h', 'm', 3000));
      clock.t += 3000; // stale: others may take it over while its run releases it
      const ops = [b.releaseRun(old), ...Array.from({ length: 6 }, (_, i) => b.acquireRun('web', run(`n${i}@h`, 'm', 60_000)))];
      const rs = await Promise.allSettled(ops);
      const winners = rs.slice(1).filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<any>[];
      const cur = await b.read('web');
      assert.ok(winners.length <= 1, `round ${round}: ${winners.length} winners`);
      if (winners.length === 1) {
        assert.equal(cur?.id, winners[0].value.runId, `round ${round}`);
        assert.equal(await b.releaseRun(winners[0].value), true);
      } else assert.equal(cur, null, 'the release came first and every acquirer saw it held');
    }
  });

  it('sudo (scope system): `sudo -n --` before sh, state in /var/lib/ggn', async () => {
    const calls: string[][] = [];
    const exec: RemoteExec = async (_m, argv) => {
      calls.push(argv);
      return { code: 0, stdout: 'FREE\n', stderr: '' };
    };
    const b = sshBackend({ exec, firstMachine: 'h', scope: 'system', sudo: true, envName: 'prod', clock: new FakeClock() });
    assert.equal(await b.read('web'), null);
    assert.deepEqual(calls[0].slice(0, 5), ['sudo', '-n', '--', 'sh', '-c']);
    assert.match(calls[0][5], /base=\/var\/lib\/ggn/);
    assert.deepEqual(calls[0].slice(6), ['ggn-lock', 'system', 'read', 'prod', 'web']);
  });

  it('errors: unreachable host, sudo without NOPASSWD, an unwritable state dir, bad names and TTLs', async () => {
    const clock = new FakeClock();
    const down: RemoteExec = async () => {
      throw new GgnError('host host1 (127.0.0.11:22): connection refused', { host: 'host1' });
    };
    const b = sshBackend({ exec: down, firstMachine: 'host1', scope: 'user', sudo: false, envName: 'prod', clock });
    await assert.rejects(
      b.check(),
      (e: unknown) =>
        e instanceof GgnError && e.message === 'ssh lock on host1 unreachable: host host1 (127.0.0.11:22): connection refused' && e.ctx.host === 'host1',
    );
    const sudo: RemoteExec = async () => ({ code: 1, stdout: '', stderr: 'sudo: a password is required\n' });
    const s = sshBackend({ exec: sudo, firstMachine: 'host1', scope: 'system', sudo: true, envName: 'prod', clock });
    await assert.rejects(s.acquireRun('web', { holder: 'a@b', message: 'm', ttlMs: H }), /ssh lock on host1: reading the lock of web: sudo needs a password/);
    const home = tmpDir('lock-home');
    fs.writeFileSync(path.join(home, '.local'), 'not a dir');
    const ro = sshBackend({ exec: localExec(home), firstMachine: 'host1', scope: 'user', sudo: false, envName: 'prod', clock });
    await assert.rejects(ro.check(), /ssh lock on host1: preparing the lock directory failed: .*(Not a directory|File exists)/);
    const { b: ok } = setup();
    await assert.rejects(ok.acquireRun('../x', { holder: 'a@b', message: 'm', ttlMs: H }), /refusing invalid service name/);
    await assert.rejects(ok.acquireRun('web', { holder: 'a]b', message: 'm', ttlMs: H }), /invalid lock holder/);
    await assert.rejects(ok.acquireRun('web', { holder: 'a@b', message: 'm', ttlMs: 1000 }), /invalid lock TTL 1s: it must be at least 3s/);
    assert.throws(() => setup({ envName: '..' }), /refusing invalid env name/);
  });
});
