/**
 * One rollout per service at a time, on live hosts of both scopes (sshd + systemd --user per
 * host, or real system managers with sudo) and a real etcd, for both lock backends: concurrent runs by one user and by several, hand locks,
 * renewal past the TTL, SIGTERM / SIGHUP / SIGINT / SIGKILL mid-rollout, --timeout on a slow
 * ExecStartPre, and an audit log that cannot be written.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { upHosts, scopes, HostCluster, LiveHost, Scope } from '../harness';
import { background, ggn, Run } from '../support/cli';
import { liveTree, ClusterTree, liveEnvConfig } from '../support/cluster-tree';

const skip = process.getuid?.() === 0 ? false : 'the test hosts need root';

const UNIT = `[Unit]
Description=web {{.hostname}} v{{.version}}

[Service]
ExecStartPre=/bin/sleep {{.slow}}
ExecStart=/bin/sh -c 'echo started {{.version}} >> %h/{{.hostname}}.log; exec sleep 600'

[X-Fleet]
MachineID={{.machine_id}}
`;

for (const scope of scopes()) suite(scope);

function suite(scope: Scope): void {
  let cluster: HostCluster;
  let tree: ClusterTree;
  let h: LiveHost[];

  const setAttrs = (version: string, slow = 0) => tree.write('env/prod/attributes/base.yml', `default:\n  version: "${version}"\n  slow: ${slow}\n`);
  const unitPath = (i: number) => path.join(cluster.unitDir(h[i]), `prod_web_w${i + 1}.service`);
  const onHost = (i: number) => cluster.read(h[i], unitPath(i));
  /** How many times unit i started with this version (its ExecStart logs to the unit's home). */
  const starts = async (i: number, version: string) => {
    const log = await cluster.read(h[i], path.join(cluster.unitHome(h[i]), `w${i + 1}.log`));
    return (log ?? '').split('\n').filter((l) => l === `started ${version}`).length;
  };
  const active = (i: number) => cluster.systemctl(h[i], 'is-active', `prod_web_w${i + 1}.service`);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** A home of its own for another user of the same tree. */
  function homeOf(user: string): string {
    const home = path.join(tree.base, `home-${user}`);
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(path.join(home, 'config.yml'), `workPath: ${tree.work}\nuser: ${user}\n`);
    return home;
  }
  const as = (home: string, ...args: string[]): Run => ggn(['-H', home, ...args]);
  const bg = (home: string, ...args: string[]) => background(['-H', home, ...args]);

  describe(`run locks on live hosts, both backends, scope ${scope}`, { skip, timeout: 600_000 }, () => {
    before(async () => {
      cluster = await upHosts(scope, 3, { name: 'runlock', etcd: true });
      h = cluster.hosts;
      tree = liveTree(cluster, {
        'env/prod/services/web/service-manifest.yml': 'nodes:\n' + h.map((x, i) => `  - hostname: w${i + 1}\n    machine_id: ${x.name}\n`).join(''),
        'env/prod/services/web/unit.tmpl': UNIT,
      });
      setAttrs('0');
      const r = as(tree.home, 'prod', 'web', 'update', '-y', '--parallel', '3');
      assert.equal(r.code, 0, r.stdout + r.stderr);
    });
    after(async () => {
      await cluster?.down();
    });

    for (const backend of ['ssh', 'etcd'] as const) {
      describe(`${backend} lock`, () => {
        before(() => {
          const extra = backend === 'etcd' ? `lock: {backend: etcd, endpoints: [${cluster.etcd!.endpoint}]}\n` : '';
          tree.write('env/prod/config.yml', liveEnvConfig(cluster, { extra }));
        });

        it('five concurrent updates by the same user, then by five users: exactly one proceeds, the others are refused naming the holder', async () => {
          for (const [round, homes] of [
            ['same', Array.from({ length: 5 }, () => tree.home)],
            ['five', Array.from({ length: 5 }, (_, i) => homeOf(`user${i}`))],
          ] as const) {
            const version = `${backend}-${round}`;
            setAttrs(version, 1);
            const runs = await Promise.all(homes.map((home) => bg(home, 'prod', 'web', 'update', '-y', '--parallel', '1').done));
            const winners = runs.filter((r) => r.code === 0);
            assert.equal(winners.length, 1, runs.map((r) => `${r.code}: ${r.stdout}${r.stderr}`).join('\n---\n'));
            assert.match(winners[0].stdout, /prod\/web: 3 updated/);
            for (const r of runs.filter((x) => x.code !== 0)) {
              assert.equal(r.code, 1);
              assert.match(r.stderr, /^error: service web is locked by \[(tester|user\d)@\S+\] update web \(run [0-9a-f]{8}, renewed \d+s ago, \d+s left\)$/m);
            }
            for (let i = 0; i < 3; i++) assert.equal(await starts(i, version), 1, `w${i + 1} started once with ${version}`);
          }
        });

        it("a hand-taken lock survives its owner's update and blocks others until unlock", async () => {
          const other = homeOf('other');
          const l = as(tree.home, 'prod', 'web', 'lock', '-t', '10m', 'maintenance');
          assert.equal(l.code, 0, l.stderr);
          setAttrs(`${backend}-hand`);
          const mine = as(tree.home, 'prod', 'web', 'update', '-y', '--parallel', '3');
          assert.equal(mine.code, 0, mine.stdout + mine.stderr);
          assert.match(mine.stdout, /under your lock taken by hand, which stays/);
          const blocked = as(other, 'prod', 'web', 'w1', 'restart');
          assert.equal(blocked.code, 1, blocked.stdout);
          assert.match(blocked.stderr, /service web is locked by \[tester@\S+\] maintenance \(locked by hand, \d+m\d+s left\)/);
          const update = as(other, 'prod', 'web', 'update', '-y');
          assert.equal(update.code, 1);
          const notMine = as(other, 'prod', 'web', 'unlock');
          assert.equal(notMine.code, 1);
          assert.match(notMine.stderr, /`unlock --force` releases a lock that is not yours/);
          assert.equal(as(tree.home, 'prod', 'web', 'unlock').code, 0);
          const after = as(other, 'prod', 'web', 'w1', 'restart');
          assert.equal(after.code, 0, after.stderr);
        });

        it('--lock-ttl 5s with a 10 s rollout: the run renews its lock and no second run gets in', async () => {
          const other = homeOf('second');
          setAttrs(`${backend}-ttl`, 3);
          const t0 = Date.now();
          const a = bg(tree.home, 'prod', 'web', 'update', '-y', '--json', '--parallel', '1', '--lock-ttl', '5s');
          let finished = false;
          const doneA = a.done.then((r) => ((finished = true), r));
          const refusals: string[] = [];
          // Its first unit's first step: the lock is taken by then.
          await a.until((e) => e.unit !== undefined);
          while (!finished) {
            // Asynchronously, so that the first run's exit is seen as soon as it happens.
            const b = await bg(other, 'prod', 'web', 'w2', 'restart').done;
            if (b.code === 0) {
              // Only legitimate once the first run has ended (and released the lock).
              assert.ok(finished, `a second run got in at ${Date.now() - t0} ms while the first was running: ${b.stdout}`);
              break;
            }
            assert.equal(b.code, 1, b.stdout + b.stderr);
            refusals.push(b.stderr);
            await sleep(1000);
          }
          const ra = await doneA;
          assert.equal(ra.code, 0, ra.stdout + ra.stderr);
          assert.match(ra.stderr, /prod\/web: 3 updated/);
          assert.ok(Date.now() - t0 >= 9000, `the rollout took ${Date.now() - t0} ms`);
          assert.ok(refusals.length >= 4, `${refusals.length} attempts`);
          assert.ok(
            refusals.every((e) => /locked by \[tester@\S+\] update web \(run/.test(e)),
            refusals.join('\n'),
          );
        });

        for (const [sig, code] of [
          ['SIGTERM', 143],
          ['SIGHUP', 129],
          ['SIGINT', 130],
        ] as const) {
          it(`${sig} mid-rollout: the unit in flight is restored, the lock released, audit lines written, exit ${code}`, async () => {
            // 3 s of ExecStartPre: the start's own round trip watches it for 1 s, then ggn looks itself.
            setAttrs(`${backend}-${sig}`, 3);
            const before = await onHost(0);
            const p = bg(tree.home, 'prod', 'web', 'update', '-y', '--json', '--parallel', '1');
            await p.until((e) => e.unit === 'prod_web_w1.service' && e.step === 'wait-active' && e.result === 'started');
            const t0 = Date.now();
            p.process.kill(sig);
            const r = await p.done;
            assert.equal(r.code, code, r.stderr);
            assert.ok(Date.now() - t0 < 10_000, `stopped in ${Date.now() - t0} ms`);
            assert.match(r.stderr, new RegExp(`${sig}: stopping`));
            assert.match(r.stderr, /0 updated, 1 interrupted and restored, 2 not started \(interrupted\)/);
            const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
            assert.equal(last.summary.exitCode, code);
            assert.deepEqual(
              last.summary.services[0].failed.map((f: any) => [f.unit, f.message, f.restored]),
              [['prod_web_w1.service', 'interrupted', true]],
            );
            assert.equal(await onHost(0), before, 'w1 restored');
            assert.equal(await active(0), 'active');
            const free = as(homeOf('checker'), 'prod', 'web', 'unlock');
            assert.equal(free.code, 0, free.stderr);
            assert.match(free.stdout, /web is not locked/);
            const hist = as(tree.home, 'prod', 'web', 'history', '--json');
            const entries = JSON.parse(hist.stdout).entries.filter((e: any) => e.unit === 'prod_web_w1.service');
            assert.equal(entries.at(-1).result, 'interrupted at wait-active, restored');
          });
        }

        it('SIGKILL mid-rollout: the lock is free again after --lock-ttl, and the next run converges', async () => {
          const other = homeOf('next');
          setAttrs(`${backend}-kill`, 2);
          // 8 s: the blocked run below must read the lock before it expires, and on a loaded
          // machine starting it and reaching the lock store took more than 5 s.
          const p = bg(tree.home, 'prod', 'web', 'update', '-y', '--json', '--parallel', '1', '--lock-ttl', '8s');
          await p.until((e) => e.unit === 'prod_web_w1.service' && e.step === 'wait-active' && e.result === 'started');
          p.process.kill('SIGKILL');
          const killedAt = Date.now();
          await p.done;
          const blocked = as(other, 'prod', 'web', 'update', '-y');
          assert.equal(blocked.code, 1, blocked.stdout);
          assert.match(blocked.stderr, /locked by \[tester@\S+\] update web \(run [0-9a-f]{8}, renewed \ds ago, \ds left\)/);
          const next = as(other, 'prod', 'web', 'update', '-y', '--parallel', '3', '--lock-wait', '30s');
          const freedAfter = Date.now() - killedAt;
          assert.equal(next.code, 0, next.stdout + next.stderr);
          assert.ok(freedAfter < 18_000, `the lock was free only after ${freedAfter} ms`);
          if (backend === 'ssh') assert.match(next.stdout, /web: taking over a stale lock of \[tester@\S+\] run [0-9a-f]{8}, last renewed \ds ago/);
          assert.equal(as(other, 'prod', 'web', 'diff', '--exit-code').code, 0, 'converged');
          const hist = JSON.parse(as(tree.home, 'prod', 'web', 'history', '--json', '-n', '100').stdout).entries;
          assert.ok(
            hist.some(
              (e: any) => e.unit === 'prod_web_w1.service' && /^INTERRUPTED: started, no result recorded/.test(e.result) && e.who.startsWith('tester@'),
            ),
            'the killed change shows in history as interrupted',
          );
        });
      });
    }

    it('--timeout bounds the whole start: a 25 s ExecStartPre fails a 3 s timeout and is restored', async () => {
      tree.write('env/prod/config.yml', liveEnvConfig(cluster));
      setAttrs('slow-start', 25);
      const before = await onHost(0);
      const t0 = Date.now();
      const r = as(tree.home, 'prod', 'web', 'w1', 'update', '-y', '--timeout', '3s');
      const took = Date.now() - t0;
      assert.equal(r.code, 1, r.stdout);
      assert.match(
        r.stderr,
        new RegExp(
          `unit prod_web_w1\\.service, host ${h[0].name}: update failed at wait-active: prod_web_w1\\.service not active after 3\\.0s \\(activating/start-pre\\) \\(restored to its previous version\\)`,
        ),
      );
      assert.ok(took < 20_000, `took ${took} ms`);
      assert.equal(await onHost(0), before);
      assert.equal(await active(0), 'active');
    });

    it('an audit log that cannot be written is refused before any change, naming host and path', async () => {
      setAttrs('audit-check');
      const before = await Promise.all([0, 1, 2].map(onHost));
      const log = path.join(cluster.stateDir(h[1]), 'audit.log');
      // a directory where the log should be: not writable even for root (scope system writes through sudo)
      const swap = (script: string) => cluster.execRoot(h[1], ['sh', '-c', script, 'sh', log]);
      assert.equal((await swap('mv "$1" "$1.saved" && mkdir "$1"')).code, 0);
      try {
        const r = as(tree.home, 'prod', 'web', 'update', '-y');
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, new RegExp(`host ${h[1].name}.*the audit log ${log.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not writable`));
        assert.deepEqual(await Promise.all([0, 1, 2].map(onHost)), before, 'no unit changed on any host');
      } finally {
        assert.equal((await swap('rmdir "$1" && mv "$1.saved" "$1"')).code, 0);
      }
    });
  });
}
