/**
 * Service locks against a real cluster: the ssh backend on a real host (through the driver's
 * SSH transport), and the etcd backend against a real etcd (test/harness).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { up, Cluster, TestHost } from '../harness';
import { clusterTree, ClusterTree } from '../support/cluster-tree';
import { createDriver } from '../../src/drivers';
import { SshSystemdDriver } from '../../src/drivers/systemd/driver';
import { loadHome } from '../../src/tree/home';
import { loadEnv } from '../../src/tree/env';
import { realClock, RemoteExec } from '../../src/apply/types';
import { createLockBackend, LockBackend, LockHeldError, readLockConfig } from '../../src/apply/lock';
import { GgnError } from '../../src/errors';

const skip = process.getuid?.() === 0 ? false : 'the test cluster needs root';
const H = 3_600_000;
const ALL_CODES = Array.from({ length: 255 }, (_, i) => i + 1);

let cluster: Cluster;
let tree: ClusterTree;
let h: TestHost[];
let driver: SshSystemdDriver;
let exec: RemoteExec;
let ssh: LockBackend;
let etcd: LockBackend;
let endpoint: string;

function deps(firstMachine: string) {
  return { exec, firstMachine, scope: 'user' as const, sudo: false, envName: 'prod', clock: realClock };
}

function etcdctlGet(key: string): string {
  const r = spawnSync('etcdctl', ['--endpoints', endpoint, 'get', '--print-value-only', key], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.replace(/\n$/, '');
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

describe('service locks on a live cluster', { skip, timeout: 120_000 }, () => {
  before(async () => {
    cluster = await up(2, { dir: '/tmp/ggn-test-lock', etcd: true });
    h = cluster.hosts;
    endpoint = cluster.etcd!.endpoint;
    tree = clusterTree(cluster, {}, { extra: `lock: {backend: etcd, endpoints: [${endpoint}]}\n` });
    const env = loadEnv(loadHome(tree.home), 'prod');
    driver = createDriver(env);
    exec = (m, argv, o) => driver.run(m, argv, 'lock', { ...o, allowCodes: ALL_CODES });
    ssh = createLockBackend({ backend: 'ssh' }, deps(driver.machines()[0].name));
    const cfg = readLockConfig(env.config, env.configFile);
    assert.deepEqual(cfg, { backend: 'etcd', endpoints: [endpoint] });
    etcd = createLockBackend(cfg, deps(h[0].name));
  });
  after(async () => {
    await etcd?.close();
    await driver?.close();
    await cluster?.down();
  });

  describe('ssh backend (first machine, scope user)', () => {
    it('takes, refuses, re-takes and releases; state lives in ~/.local/state/ggn', async (t) => {
      assert.equal(ssh.description, `ssh lock on ${h[0].name}`);
      let t0 = performance.now();
      await ssh.check();
      t.diagnostic(`check: ${(performance.now() - t0).toFixed(1)} ms`);
      t0 = performance.now();
      const info = await ssh.acquire('web', { holder: 'alice@box', message: 'deploying 1.2', ttlMs: H });
      t.diagnostic(`acquire: ${(performance.now() - t0).toFixed(1)} ms`);
      const file = path.join(h[0].home, '.local/state/ggn/locks/prod/web.lock/info');
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      assert.deepEqual(lines.slice(1), ['alice@box', String(info.expiresAt), 'deploying 1.2']);
      assert.equal(fs.statSync(file).uid, h[0].uid, 'owned by the ssh user');
      assert.ok(!fs.existsSync(path.join(h[0].home, '.config/systemd/user/web.lock')));
      t0 = performance.now();
      await assert.rejects(ssh.acquire('web', { holder: 'bob@desk', message: 'hotfix', ttlMs: H }), (e: unknown) => {
        assert.ok(e instanceof LockHeldError);
        assert.match(e.message, /^service web is locked by \[alice@box\] deploying 1\.2 \((59m5\d|1h0m0)s left\)$/);
        return true;
      });
      t.diagnostic(`refusal: ${(performance.now() - t0).toFixed(1)} ms`);
      await ssh.acquire('web', { holder: 'alice@box', message: 'deploying 1.3', ttlMs: H });
      assert.equal((await ssh.read('web'))!.message, 'deploying 1.3');
      assert.equal(await ssh.release('web', 'bob@desk'), false);
      t0 = performance.now();
      assert.equal(await ssh.release('web', 'alice@box'), true);
      t.diagnostic(`release: ${(performance.now() - t0).toFixed(1)} ms`);
      assert.equal(await ssh.read('web'), null);
    });

    it('10 concurrent acquirers over ssh: exactly one wins', async () => {
      for (let round = 0; round < 3; round++) {
        const rs = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => ssh.acquire('race', { holder: `u${i}@h`, message: 'm', ttlMs: H })));
        const won = rs.filter((r) => r.status === 'fulfilled');
        assert.equal(won.length, 1, `round ${round}`);
        for (const r of rs) if (r.status === 'rejected') assert.ok(r.reason instanceof LockHeldError, String(r.reason));
        assert.equal(await ssh.release('race', 'x@y', { force: true }), true);
      }
    });

    it('a short TTL expires (real clock) and --lock-wait gets the lock then', async () => {
      await ssh.acquire('ttl', { holder: 'alice@box', message: 'short', ttlMs: 1500 });
      await assert.rejects(ssh.acquire('ttl', { holder: 'bob@desk', message: 'm', ttlMs: H }), LockHeldError);
      const waiting = createLockBackend({ backend: 'ssh' }, { ...deps(h[0].name), pollMs: 200 });
      const t0 = performance.now();
      const info = await waiting.acquire('ttl', { holder: 'bob@desk', message: 'after', ttlMs: H, waitMs: 5000 });
      const waited = performance.now() - t0;
      assert.equal(info.holder, 'bob@desk');
      assert.ok(waited > 900 && waited < 3000, `waited ${waited} ms`);
      assert.equal(await ssh.release('ttl', 'bob@desk'), true);
    });
  });

  describe('etcd backend', () => {
    it('takes, refuses, re-takes and releases, with GGN key and value', async (t) => {
      assert.equal(etcd.description, `etcd lock at ${endpoint}`);
      let t0 = performance.now();
      await etcd.check();
      t.diagnostic(`check (first call, loads grpc and connects): ${(performance.now() - t0).toFixed(1)} ms`);
      t0 = performance.now();
      await etcd.acquire('web', { holder: 'alice@box', message: 'deploying 1.2', ttlMs: H });
      t.diagnostic(`acquire: ${(performance.now() - t0).toFixed(1)} ms`);
      assert.equal(etcdctlGet('/ggn-lock/web/lock'), '[alice@box] deploying 1.2');
      t0 = performance.now();
      await assert.rejects(etcd.acquire('web', { holder: 'bob@desk', message: 'hotfix', ttlMs: H }), (e: unknown) => {
        assert.ok(e instanceof LockHeldError);
        assert.match(e.message, /^service web is locked by \[alice@box\] deploying 1\.2 \((59m5\d|1h0m0)s left\)$/);
        return true;
      });
      t.diagnostic(`refusal: ${(performance.now() - t0).toFixed(1)} ms`);
      await assert.rejects(etcd.acquire('web', { holder: 'alice@box2', message: 'x', ttlMs: H }), LockHeldError);
      await etcd.acquire('web', { holder: 'alice@box', message: 'deploying 1.3', ttlMs: 2 * H });
      assert.equal(etcdctlGet('/ggn-lock/web/lock'), '[alice@box] deploying 1.3');
      const r = await etcd.read('web');
      assert.equal(r!.holder, 'alice@box');
      assert.ok(r!.expiresAt > Date.now() + 2 * H - 5000, 'the new lease replaced the old one');
      assert.equal(await etcd.release('web', 'bob@desk'), false);
      t0 = performance.now();
      assert.equal(await etcd.release('web', 'alice@box'), true);
      t.diagnostic(`release: ${(performance.now() - t0).toFixed(1)} ms`);
      assert.equal(await etcd.read('web'), null);
      assert.equal(etcdctlGet('/ggn-lock/web/lock'), '');
      await etcd.acquire('web', { holder: 'alice@box', message: 'x', ttlMs: H });
      assert.equal(await etcd.release('web', 'bob@desk', { force: true }), true);
      assert.equal(await etcd.release('web', 'bob@desk', { force: true }), false);
    });

    it('sees a lock GGN put by hand, and the same user@host re-takes it', async () => {
      const put = spawnSync('etcdctl', ['--endpoints', endpoint, 'put', '/ggn-lock/old/lock', '[carol@laptop] from ggn'], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } });
      assert.equal(put.status, 0, put.stderr);
      await assert.rejects(etcd.acquire('old', { holder: 'bob@desk', message: 'm', ttlMs: H }), /locked by \[carol@laptop\] from ggn \(no expiry\)/);
      await etcd.acquire('old', { holder: 'carol@laptop', message: 'mine', ttlMs: H });
      assert.equal(await etcd.release('old', 'carol@laptop'), true);
    });

    it('a 2 s TTL expires; --lock-wait waits for it', async (t) => {
      await etcd.acquire('ttl', { holder: 'alice@box', message: 'short', ttlMs: 2000 });
      await assert.rejects(etcd.acquire('ttl', { holder: 'bob@desk', message: 'm', ttlMs: H }), /\(2s left\)|\(1s left\)/);
      const waiting = createLockBackend({ backend: 'etcd', endpoints: [endpoint] }, { ...deps(h[0].name), pollMs: 200 });
      try {
        const t0 = performance.now();
        const info = await waiting.acquire('ttl', { holder: 'bob@desk', message: 'after', ttlMs: H, waitMs: 6000 });
        const waited = performance.now() - t0;
        assert.equal(info.holder, 'bob@desk');
        assert.ok(waited > 1000 && waited < 4500, `waited ${waited} ms`);
        t.diagnostic(`--lock-wait on a 2 s lease: got it after ${waited.toFixed(0)} ms`);
        // and without waiting: after expiry the key is gone (etcd checks expiry every 500 ms)
        await etcd.acquire('ttl2', { holder: 'alice@box', message: 'short', ttlMs: 2000 });
        const t1 = performance.now();
        while ((await etcd.read('ttl2')) !== null) {
          assert.ok(performance.now() - t1 < 4000, 'the key outlived its lease');
          await new Promise((r) => setTimeout(r, 100));
        }
        t.diagnostic(`2 s lease: key gone after ${(performance.now() - t1).toFixed(0)} ms`);
      } finally {
        await waiting.close();
      }
      assert.equal(await etcd.release('ttl', 'bob@desk'), true);
    });

    it('concurrent acquirers (two clients, then ten): exactly one wins', async () => {
      const other = createLockBackend({ backend: 'etcd', endpoints: [endpoint] }, deps(h[0].name));
      try {
        for (let round = 0; round < 5; round++) {
          const rs = await Promise.allSettled([etcd, other].map((b, i) => b.acquire('race', { holder: `c${i}@h`, message: 'm', ttlMs: H })));
          assert.equal(rs.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}`);
          assert.equal(await etcd.release('race', 'x@y', { force: true }), true);
        }
        const rs = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? etcd : other).acquire('race', { holder: `u${i}@h`, message: 'm', ttlMs: H })));
        assert.equal(rs.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of rs) if (r.status === 'rejected') assert.ok(r.reason instanceof LockHeldError, String(r.reason));
        assert.equal(await etcd.release('race', 'x@y', { force: true }), true);
      } finally {
        await other.close();
      }
    });

    it('an unreachable etcd (closed port) is a clear error, fast', async (t) => {
      const ep = `http://127.0.0.1:${await closedPort()}`;
      const b = createLockBackend(readLockConfig({ lock: { backend: 'etcd', endpoints: [ep] } } as any, 'config.yml'), deps(h[0].name));
      const t0 = performance.now();
      try {
        await assert.rejects(b.check(), (e: unknown) => e instanceof GgnError && e.message.startsWith(`etcd lock backend ${ep} unreachable: connect ECONNREFUSED`));
        await assert.rejects(b.acquire('web', { holder: 'a@b', message: 'm', ttlMs: H }), /unreachable/);
      } finally {
        await b.close();
      }
      const ms = performance.now() - t0;
      t.diagnostic(`unreachable etcd: ${ms.toFixed(0)} ms for check + acquire`);
      assert.ok(ms < 7000, `${ms} ms`);
    });
  });

  it('ssh backend on a dead host: a clear error naming the host', async (t) => {
    await cluster.kill(h[1]);
    // A fresh driver (no pooled connection): the lock's first command has to connect.
    const fresh = createDriver(loadEnv(loadHome(tree.home), 'prod'));
    const freshExec: RemoteExec = (m, argv, o) => fresh.run(m, argv, 'lock', { ...o, allowCodes: ALL_CODES });
    const b = createLockBackend({ backend: 'ssh' }, { ...deps(h[1].name), exec: freshExec });
    t.after(() => fresh.close());
    const t0 = performance.now();
    let msg = '';
    await assert.rejects(b.check(), (e: unknown) => e instanceof GgnError && (msg = e.message).startsWith(`ssh lock on ${h[1].name} unreachable: `) && e.ctx.host === h[1].name);
    t.diagnostic(`dead host: ${(performance.now() - t0).toFixed(0)} ms: ${msg}`);
  });
});
