/**
 * Service locks against live hosts, in both scopes: the ssh backend on a real host (the driver's
 * lock store, through its SSH transport; in scope system through sudo, in /var/lib/ggn), and the
 * etcd backend against a real etcd (test/harness).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { upHosts, scopes, HostCluster, LiveHost, Scope } from '../harness';
import { liveTree, ClusterTree } from '../support/cluster-tree';
import { createDriver } from '../../src/drivers';
import type { Driver } from '../../src/drivers/types';
import { SshLockStore } from '../../src/drivers/systemd/lock-store';
import { loadHome } from '../../src/tree/home';
import { loadEnv } from '../../src/tree/env';
import { realClock } from '../../src/apply/types';
import { createLockBackend, LockHeldError, readLockConfig, ServiceLocks } from '../../src/apply/lock';
import { GgnError } from '../../src/errors';

const skip = process.getuid?.() === 0 ? false : 'the test hosts need root';
const H = 3_600_000;

for (const scope of scopes()) suite(scope);

function suite(scope: Scope): void {
  let cluster: HostCluster;
  let tree: ClusterTree;
  let h: LiveHost[];
  let driver: Driver;
  let ssh: ServiceLocks;
  let etcd: ServiceLocks;
  let endpoint: string;

  const deps = { clock: realClock };
  /** The systemd driver's own store on a given host (the backend `lock: {backend: ssh}` uses on the first machine). */
  function sshLocks(d: Driver, machine: string, pollMs = 2000): ServiceLocks {
    const store = new SshLockStore({ exec: (m, argv, o) => d.exec!(m, argv, o), machine, scope, sudo: scope === 'system', envName: 'prod' });
    return new ServiceLocks(store, realClock, pollMs);
  }

  function etcdctlGet(key: string): string {
    const r = spawnSync('etcdctl', ['--endpoints', endpoint, 'get', '--print-value-only', key], {
      encoding: 'utf8',
      env: { ...process.env, ETCDCTL_API: '3' },
    });
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

  describe(`service locks on live hosts, scope ${scope}`, { skip, timeout: 180_000 }, () => {
    before(async () => {
      cluster = await upHosts(scope, 2, { name: 'lock', etcd: true });
      h = cluster.hosts;
      endpoint = cluster.etcd!.endpoint;
      tree = liveTree(cluster, {}, { extra: `lock: {backend: etcd, endpoints: [${endpoint}]}\n` });
      const env = loadEnv(loadHome(tree.home), 'prod');
      driver = createDriver(env);
      ssh = createLockBackend({ backend: 'ssh' }, { ...deps, hostStore: () => driver.lockStore!('prod') });
      const cfg = readLockConfig(env.config, env.configFile);
      assert.deepEqual(cfg, { backend: 'etcd', endpoints: [endpoint] });
      etcd = createLockBackend(cfg, deps);
    });
    after(async () => {
      await etcd?.close();
      await driver?.close();
      await cluster?.down();
    });

    describe(`ssh backend (first machine, scope ${scope})`, () => {
      it("a run takes, renews and releases; others and the same user are refused; state lives in ggn's state dir", async (t) => {
        assert.equal(ssh.description, `ssh lock on ${h[0].name}`);
        let t0 = performance.now();
        await ssh.check();
        t.diagnostic(`check: ${(performance.now() - t0).toFixed(1)} ms`);
        t0 = performance.now();
        const held = await ssh.acquireRun('web', { holder: 'alice@box', message: 'deploying 1.2', ttlMs: H });
        t.diagnostic(`acquire: ${(performance.now() - t0).toFixed(1)} ms`);
        const file = path.join(cluster.stateDir(h[0]), 'locks/prod/web.lock/info');
        const rec = JSON.parse((await cluster.read(h[0], file))!.split('\n')[1]);
        assert.deepEqual([rec.holder, rec.message, rec.kind, rec.id], ['alice@box', 'deploying 1.2', 'run', held.runId]);
        assert.equal((await cluster.stat(h[0], file))!.uid, cluster.ownerUid(h[0]), scope === 'user' ? 'owned by the ssh user' : 'owned by root');
        for (const who of ['bob@desk', 'alice@box']) {
          await assert.rejects(ssh.acquireRun('web', { holder: who, message: 'hotfix', ttlMs: H }), (e: unknown) => {
            assert.ok(e instanceof LockHeldError);
            assert.match(e.message, /^service web is locked by \[alice@box\] deploying 1\.2 \(run [0-9a-f]{8}, renewed \d+s ago, (59m5\d|1h0m0)s left\)$/);
            return true;
          });
        }
        t0 = performance.now();
        await ssh.renew(held);
        t.diagnostic(`renew: ${(performance.now() - t0).toFixed(1)} ms`);
        t0 = performance.now();
        assert.equal(await ssh.releaseRun(held), true);
        t.diagnostic(`release: ${(performance.now() - t0).toFixed(1)} ms`);
        assert.equal(await ssh.read('web'), null);
      });

      it('10 concurrent runs over ssh: exactly one wins', async () => {
        for (let round = 0; round < 3; round++) {
          const rs = await Promise.allSettled(
            Array.from({ length: 10 }, (_, i) => ssh.acquireRun('race', { holder: round ? `u${i}@h` : 'same@h', message: 'm', ttlMs: H })),
          );
          const won = rs.filter((r) => r.status === 'fulfilled');
          assert.equal(won.length, 1, `round ${round}`);
          for (const r of rs) if (r.status === 'rejected') assert.ok(r.reason instanceof LockHeldError, String(r.reason));
          assert.deepEqual(await ssh.unlock('race', 'x@y', true), { done: 'unlocked' });
        }
      });

      it('a run that stops renewing goes stale after its TTL (real clock); --lock-wait takes it over then', async () => {
        await ssh.acquireRun('ttl', { holder: 'alice@box', message: 'short', ttlMs: 3000 });
        await assert.rejects(ssh.acquireRun('ttl', { holder: 'bob@desk', message: 'm', ttlMs: H }), LockHeldError);
        const waiting = sshLocks(driver, h[0].name, 200);
        const t0 = performance.now();
        const held = await waiting.acquireRun('ttl', { holder: 'bob@desk', message: 'after', ttlMs: H, waitMs: 8000 });
        const waited = performance.now() - t0;
        assert.equal(held.holder, 'bob@desk');
        assert.match(held.tookOver ?? '', /^taking over a stale lock of \[alice@box\] run [0-9a-f]{8}, last renewed \ds ago$/);
        assert.ok(waited > 1500 && waited < 6000, `waited ${waited} ms`);
        assert.equal(await waiting.releaseRun(held), true);
      });
    });

    describe('etcd backend', () => {
      it('a run takes, refuses, renews and releases, with GGN key and value and its record beside them', async (t) => {
        assert.equal(etcd.description, `etcd lock at ${endpoint}`);
        let t0 = performance.now();
        await etcd.check();
        t.diagnostic(`check (first call, loads grpc and connects): ${(performance.now() - t0).toFixed(1)} ms`);
        t0 = performance.now();
        const held = await etcd.acquireRun('web', { holder: 'alice@box', message: 'deploying 1.2', ttlMs: H });
        t.diagnostic(`acquire: ${(performance.now() - t0).toFixed(1)} ms`);
        assert.equal(etcdctlGet('/ggn-lock/web/lock'), '[alice@box] deploying 1.2');
        assert.equal(JSON.parse(etcdctlGet('/ggn-lock/web/record')).id, held.runId);
        for (const who of ['bob@desk', 'alice@box']) {
          await assert.rejects(
            etcd.acquireRun('web', { holder: who, message: 'hotfix', ttlMs: H }),
            /^LockHeldError: service web is locked by \[alice@box\] deploying 1\.2 \(run [0-9a-f]{8}, renewed \ds ago, (59m5\d|1h0m0)s left\)$|locked by \[alice@box\] deploying 1\.2 \(run/,
          );
        }
        t0 = performance.now();
        await etcd.renew(held);
        t.diagnostic(`renew (new lease, one transaction): ${(performance.now() - t0).toFixed(1)} ms`);
        assert.equal(etcdctlGet('/ggn-lock/web/lock'), '[alice@box] deploying 1.2');
        assert.equal(await etcd.releaseRun(held), true);
        assert.equal(await etcd.read('web'), null);
        assert.equal(etcdctlGet('/ggn-lock/web/lock'), '');
        assert.equal(etcdctlGet('/ggn-lock/web/record'), '');
      });

      it('a lock GGN put by hand blocks others; its user@host runs under it and leaves it', async () => {
        const put = spawnSync('etcdctl', ['--endpoints', endpoint, 'put', '/ggn-lock/old/lock', '[carol@laptop] from ggn'], {
          encoding: 'utf8',
          env: { ...process.env, ETCDCTL_API: '3' },
        });
        assert.equal(put.status, 0, put.stderr);
        await assert.rejects(
          etcd.acquireRun('old', { holder: 'bob@desk', message: 'm', ttlMs: H }),
          /locked by \[carol@laptop\] from ggn \(locked by hand, no expiry\)/,
        );
        const inner = await etcd.acquireRun('old', { holder: 'carol@laptop', message: 'update old', ttlMs: H });
        assert.equal(inner.under, 'hand');
        assert.equal(await etcd.releaseRun(inner), true);
        assert.equal(etcdctlGet('/ggn-lock/old/lock'), '[carol@laptop] from ggn', 'the hand lock stays');
        assert.deepEqual(await etcd.unlock('old', 'carol@laptop', false), { done: 'unlocked' });
      });

      it("a dead run's lease ends after its TTL: etcd removes the lock, --lock-wait gets it", async (t) => {
        await etcd.acquireRun('ttl', { holder: 'alice@box', message: 'short', ttlMs: 3000 });
        await assert.rejects(etcd.acquireRun('ttl', { holder: 'bob@desk', message: 'm', ttlMs: H }), LockHeldError);
        const waiting = createLockBackend({ backend: 'etcd', endpoints: [endpoint] }, { ...deps, pollMs: 200 });
        try {
          const t0 = performance.now();
          const held = await waiting.acquireRun('ttl', { holder: 'bob@desk', message: 'after', ttlMs: H, waitMs: 8000 });
          const waited = performance.now() - t0;
          assert.equal(held.holder, 'bob@desk');
          assert.ok(waited > 1500 && waited < 6000, `waited ${waited} ms`);
          t.diagnostic(`--lock-wait on a 3 s TTL: got it after ${waited.toFixed(0)} ms`);
          assert.equal(await waiting.releaseRun(held), true);
        } finally {
          await waiting.close();
        }
      });

      it('concurrent runs (two clients, then ten): exactly one wins', async () => {
        const other = createLockBackend({ backend: 'etcd', endpoints: [endpoint] }, deps);
        try {
          for (let round = 0; round < 5; round++) {
            const rs = await Promise.allSettled(
              [etcd, other].map((b, i) => b.acquireRun('race', { holder: round % 2 ? 'same@h' : `c${i}@h`, message: 'm', ttlMs: H })),
            );
            assert.equal(rs.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}`);
            assert.deepEqual(await etcd.unlock('race', 'x@y', true), { done: 'unlocked' });
          }
          const rs = await Promise.allSettled(
            Array.from({ length: 10 }, (_, i) => (i % 2 ? etcd : other).acquireRun('race', { holder: `u${i}@h`, message: 'm', ttlMs: H })),
          );
          assert.equal(rs.filter((r) => r.status === 'fulfilled').length, 1);
          for (const r of rs) if (r.status === 'rejected') assert.ok(r.reason instanceof LockHeldError, String(r.reason));
          assert.deepEqual(await etcd.unlock('race', 'x@y', true), { done: 'unlocked' });
        } finally {
          await other.close();
        }
      });

      it('an unreachable etcd (closed port) is a clear error, fast', async (t) => {
        const ep = `http://127.0.0.1:${await closedPort()}`;
        const b = createLockBackend(readLockConfig({ lock: { backend: 'etcd', endpoints: [ep] } } as any, 'config.yml'), deps);
        const t0 = performance.now();
        try {
          await assert.rejects(
            b.check(),
            (e: unknown) => e instanceof GgnError && e.message.startsWith(`etcd lock backend ${ep} unreachable: connect ECONNREFUSED`),
          );
          await assert.rejects(b.acquireRun('web', { holder: 'a@b', message: 'm', ttlMs: H }), /unreachable/);
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
      const b = sshLocks(fresh, h[1].name);
      t.after(() => fresh.close());
      const t0 = performance.now();
      let msg = '';
      await assert.rejects(
        b.check(),
        (e: unknown) => e instanceof GgnError && (msg = e.message).startsWith(`ssh lock on ${h[1].name} unreachable: `) && e.ctx.host === h[1].name,
      );
      t.diagnostic(`dead host: ${(performance.now() - t0).toFixed(0)} ms: ${msg}`);
    });
  });
}
