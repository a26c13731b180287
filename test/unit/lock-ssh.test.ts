/**
 * The ssh lock backend against a fake RemoteExec that runs its scripts in a local `sh` with a
 * temporary HOME (what the remote shell would do), and a fake clock.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLockBackend, LockHeldError, SshLockBackend } from '../../src/apply/lock';
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
  const mk = (c: Clock = clock) => createLockBackend({ backend: 'ssh' }, { exec, firstMachine: 'host1', scope: 'user', sudo: false, envName: opts.envName ?? 'prod', clock: c });
  const lockDir = path.join(home, '.local/state/ggn/locks', opts.envName ?? 'prod');
  return { home, clock, calls, exec, b: mk(), mk, lockDir };
}

const H = 1000 * 3600;

describe('ssh lock backend', () => {
  it('takes a free lock, in the state directory, and reads it back', async () => {
    const { b, clock, lockDir, home, calls } = setup();
    assert.equal(b.description, 'ssh lock on host1');
    await b.check();
    assert.equal(await b.read('web'), null);
    const info = await b.acquire('web', { holder: 'alice@box', message: 'deploying 1.2', ttlMs: H });
    assert.deepEqual(info, { holder: 'alice@box', message: 'deploying 1.2', expiresAt: clock.t + H });
    assert.deepEqual(await b.read('web'), info);
    assert.ok(fs.statSync(path.join(lockDir, 'web.lock')).isDirectory());
    assert.ok(!fs.existsSync(path.join(home, '.config')), 'nothing in the unit directory');
    // Values travel as positional arguments, never in the script.
    const argv = calls.find((a) => a.includes('acquire'))!;
    assert.deepEqual(argv.slice(0, 2), ['sh', '-c']);
    assert.ok(!argv[2].includes('alice') && !argv[2].includes('deploying'));
    assert.deepEqual(argv.slice(3, 9), ['ggn-lock', 'user', 'acquire', 'prod', 'web', 'alice@box']);
  });

  it('honours XDG_STATE_HOME', async () => {
    const home = tmpDir('lock-home');
    const state = path.join(home, 'st');
    const exec: RemoteExec = (m, argv, o) => localExec(home)(m, ['env', `XDG_STATE_HOME=${state}`, ...argv], o);
    const b = createLockBackend({ backend: 'ssh' }, { exec, firstMachine: 'h', scope: 'user', sudo: false, envName: 'prod', clock: new FakeClock() });
    await b.acquire('web', { holder: 'a@b', message: 'm', ttlMs: H });
    assert.ok(fs.existsSync(path.join(state, 'ggn/locks/prod/web.lock/info')));
  });

  it('keeps odd messages intact (quotes, $, newlines, leading dashes)', async () => {
    const { b } = setup();
    const message = `-n "$(rm -rf /)" 'x' \\ é\nsecond line`;
    await b.acquire('web', { holder: 'a@b', message, ttlMs: H });
    assert.equal((await b.read('web'))!.message, message);
  });

  it('the same holder re-takes it (new message and TTL); another holder is refused with holder, message and time left', async () => {
    const { b, clock } = setup();
    await b.acquire('web', { holder: 'alice@box', message: 'deploying 1.2', ttlMs: H });
    clock.t += 10 * 60_000;
    const again = await b.acquire('web', { holder: 'alice@box', message: 'deploying 1.3', ttlMs: H });
    assert.equal(again.expiresAt, clock.t + H);
    assert.equal((await b.read('web'))!.message, 'deploying 1.3');
    clock.t += 1_788_000; // 29m48s later: 30m12s left
    await assert.rejects(b.acquire('web', { holder: 'bob@desk', message: 'hotfix', ttlMs: H }), (e: unknown) => {
      assert.ok(e instanceof LockHeldError);
      assert.equal(e.message, 'service web is locked by [alice@box] deploying 1.3 (30m12s left)');
      assert.equal(e.info.holder, 'alice@box');
      assert.equal(e.waitedMs, 0);
      return true;
    });
    // A holder that only shares a prefix is someone else.
    await assert.rejects(b.acquire('web', { holder: 'alice@box2', message: 'x', ttlMs: H }), LockHeldError);
    // Locks are per service and per env.
    await b.acquire('db', { holder: 'bob@desk', message: 'x', ttlMs: H });
  });

  it('locks of different envs do not collide', async () => {
    const { exec, clock } = setup();
    const a = new SshLockBackend({ exec, machine: 'h', scope: 'user', sudo: false, envName: 'prod', clock });
    const b = new SshLockBackend({ exec, machine: 'h', scope: 'user', sudo: false, envName: 'preprod', clock });
    await a.acquire('web', { holder: 'a@b', message: 'm', ttlMs: H });
    await b.acquire('web', { holder: 'c@d', message: 'm', ttlMs: H });
  });

  it('an expired lock is taken over', async () => {
    const { b, clock } = setup();
    await b.acquire('web', { holder: 'alice@box', message: 'old', ttlMs: 60_000 });
    clock.t += 59_999;
    await assert.rejects(b.acquire('web', { holder: 'bob@desk', message: 'new', ttlMs: H }), /\(1s left\)/);
    clock.t += 1;
    const info = await b.acquire('web', { holder: 'bob@desk', message: 'new', ttlMs: H });
    assert.equal(info.holder, 'bob@desk');
    assert.deepEqual(await b.read('web'), info);
    assert.equal(await b.release('web', 'alice@box'), false, 'alice no longer holds it');
  });

  it('--lock-wait: waits (on the clock) until the lock expires', async () => {
    const { b, clock } = setup();
    await b.acquire('web', { holder: 'alice@box', message: 'long', ttlMs: 5 * 60_000 + 500 });
    const t0 = clock.t;
    const info = await b.acquire('web', { holder: 'bob@desk', message: 'next', ttlMs: H, waitMs: 10 * 60_000 });
    assert.equal(info.holder, 'bob@desk');
    assert.ok(clock.t >= t0 + 5 * 60_000 + 500 && clock.t <= t0 + 5 * 60_000 + 2500, `waited ${clock.t - t0} ms`);
    assert.ok(clock.sleeps.every((s) => s <= 2000), 'polls every 2 s at most');
  });

  it('--lock-wait: waits until the holder releases', async () => {
    const { b, clock, mk } = setup();
    await b.acquire('web', { holder: 'alice@box', message: 'deploying', ttlMs: H });
    // alice releases after bob's third poll
    const c: Clock = {
      now: () => clock.now(),
      sleep: async (ms) => {
        await clock.sleep(ms);
        if (clock.sleeps.length === 3) assert.equal(await b.release('web', 'alice@box'), true);
      },
    };
    const info = await mk(c).acquire('web', { holder: 'bob@desk', message: 'next', ttlMs: H, waitMs: 60_000 });
    assert.equal(info.holder, 'bob@desk');
    assert.equal(clock.sleeps.length, 3);
  });

  it('--lock-wait: gives up at the deadline with the same error', async () => {
    const { b, clock } = setup();
    await b.acquire('web', { holder: 'alice@box', message: 'deploying', ttlMs: H });
    const t0 = clock.t;
    await assert.rejects(b.acquire('web', { holder: 'bob@desk', message: 'next', ttlMs: H, waitMs: 5 * 60_000 }), (e: unknown) => {
      assert.ok(e instanceof LockHeldError);
      assert.equal(e.message, 'service web is locked by [alice@box] deploying (55m0s left)');
      assert.equal(e.waitedMs, 5 * 60_000);
      return true;
    });
    assert.equal(clock.t - t0, 5 * 60_000, 'stops exactly at the deadline');
  });

  it('release: own lock, someone else’s (refused), forced, and nothing to release', async () => {
    const { b, lockDir } = setup();
    await b.acquire('web', { holder: 'alice@box', message: 'm', ttlMs: H });
    assert.equal(await b.release('web', 'bob@desk'), false);
    assert.equal((await b.read('web'))!.holder, 'alice@box');
    assert.equal(await b.release('web', 'alice@box'), true);
    assert.equal(await b.read('web'), null);
    assert.equal(await b.release('web', 'alice@box'), false);
    await b.acquire('web', { holder: 'alice@box', message: 'm', ttlMs: H });
    assert.equal(await b.release('web', 'bob@desk', { force: true }), true);
    assert.equal(await b.read('web'), null);
    assert.equal(await b.release('web', 'bob@desk', { force: true }), false);
    assert.deepEqual(fs.readdirSync(lockDir), [], 'nothing left behind');
  });

  it('a half-written lock directory reads as held by unknown, and unlock --force clears it', async () => {
    const { b, lockDir } = setup();
    await b.check();
    fs.mkdirSync(path.join(lockDir, 'web.lock/claim.none'), { recursive: true });
    await assert.rejects(b.acquire('web', { holder: 'a@b', message: 'm', ttlMs: H }), /locked by \[unknown\] \(the lock directory is being written, or was left half-written; `ggn prod web unlock` removes it\)/);
    assert.equal((await b.read('web'))!.holder, 'unknown');
    assert.equal(await b.release('web', 'a@b', { force: true }), true);
    await b.acquire('web', { holder: 'a@b', message: 'm', ttlMs: H });
  });

  it('10 concurrent acquirers: exactly one wins (free lock, then expired lock), many rounds', async () => {
    const { b, clock } = setup();
    for (let round = 0; round < 10; round++) {
      const rs = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => b.acquire('web', { holder: `u${i}@r${round}`, message: `m${i}`, ttlMs: 60_000 })));
      const won = rs.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ holder: string }>[];
      assert.equal(won.length, 1, `round ${round}: ${won.length} winners`);
      for (const r of rs) if (r.status === 'rejected') assert.ok(r.reason instanceof LockHeldError, String(r.reason));
      assert.equal((await b.read('web'))!.holder, won[0].value.holder);
      // even rounds: the lock expires (takeover race); odd rounds: it is released (creation race)
      if (round % 2 === 0) clock.t += 60_000;
      else assert.equal(await b.release('web', won[0].value.holder), true);
    }
  });

  it('concurrent release and takeover: never two holders', async () => {
    const { b, clock } = setup();
    for (let round = 0; round < 5; round++) {
      await b.acquire('web', { holder: 'old@h', message: 'm', ttlMs: 1000 });
      clock.t += 1000; // expired: others may take it over while its holder releases it
      const ops = [b.release('web', 'old@h'), ...Array.from({ length: 6 }, (_, i) => b.acquire('web', { holder: `n${i}@h`, message: 'm', ttlMs: 60_000 }))];
      const rs = await Promise.allSettled(ops);
      const winners = rs.slice(1).filter((r) => r.status === 'fulfilled').length;
      const cur = await b.read('web');
      // Exactly one acquirer won and holds it; or the release came last... which it cannot:
      // a release only removes the generation it claimed (old@h's).
      assert.equal(winners, 1, `round ${round}`);
      assert.ok(cur && cur.holder.startsWith('n'), `round ${round}: ${JSON.stringify(cur)}`);
      assert.equal(await b.release('web', cur!.holder), true);
    }
  });

  it('sudo (scope system): `sudo -n --` before sh, state in /var/lib/ggn', async () => {
    const calls: string[][] = [];
    const exec: RemoteExec = async (_m, argv) => {
      calls.push(argv);
      return { code: 0, stdout: 'FREE\n', stderr: '' };
    };
    const b = createLockBackend({ backend: 'ssh' }, { exec, firstMachine: 'h', scope: 'system', sudo: true, envName: 'prod', clock: new FakeClock() });
    assert.equal(await b.read('web'), null);
    assert.deepEqual(calls[0].slice(0, 5), ['sudo', '-n', '--', 'sh', '-c']);
    assert.match(calls[0][5], /base=\/var\/lib\/ggn/);
    assert.deepEqual(calls[0].slice(6), ['ggn-lock', 'system', 'read', 'prod', 'web']);
  });

  it('errors: unreachable host, a failing host command, sudo without NOPASSWD, bad names', async () => {
    const clock = new FakeClock();
    const down: RemoteExec = async () => {
      throw new GgnError('host host1 (127.0.0.11:22): connection refused', { host: 'host1' });
    };
    const b = createLockBackend({ backend: 'ssh' }, { exec: down, firstMachine: 'host1', scope: 'user', sudo: false, envName: 'prod', clock });
    await assert.rejects(b.check(), (e: unknown) => e instanceof GgnError && e.message === 'ssh lock on host1 unreachable: host host1 (127.0.0.11:22): connection refused' && e.ctx.host === 'host1');
    const sudo: RemoteExec = async () => ({ code: 1, stdout: '', stderr: 'sudo: a password is required\n' });
    const s = createLockBackend({ backend: 'ssh' }, { exec: sudo, firstMachine: 'host1', scope: 'system', sudo: true, envName: 'prod', clock });
    await assert.rejects(s.acquire('web', { holder: 'a@b', message: 'm', ttlMs: H }), /ssh lock on host1: taking the lock of web: sudo needs a password/);
    const home = tmpDir('lock-home');
    fs.writeFileSync(path.join(home, '.local'), 'not a dir');
    const ro = createLockBackend({ backend: 'ssh' }, { exec: localExec(home), firstMachine: 'host1', scope: 'user', sudo: false, envName: 'prod', clock });
    await assert.rejects(ro.check(), /ssh lock on host1: preparing the lock directory failed: .*(Not a directory|File exists)/);
    const { b: ok } = setup();
    await assert.rejects(ok.acquire('../x', { holder: 'a@b', message: 'm', ttlMs: H }), /refusing invalid service name/);
    await assert.rejects(ok.acquire('web', { holder: 'a]b', message: 'm', ttlMs: H }), /invalid lock holder/);
    await assert.rejects(ok.acquire('web', { holder: 'a@b', message: 'm', ttlMs: 0 }), /invalid lock TTL/);
    assert.throws(() => setup({ envName: '..' }), /refusing invalid env name/);
  });
});
