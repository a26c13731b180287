/**
 * Zero-downtime rollouts on a live cluster: real sshd + systemd --user per host, and a real
 * HAProxy per host (a user unit) driven through its runtime API. A tiny Node app answers its
 * version; the load is real HTTP clients through each host's proxy.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { up, Cluster, TestHost } from '../harness';
import { background as ggnBackground, ggn } from '../support/cli';
import { clusterTree, ClusterTree } from '../support/cluster-tree';
import { assertOutput, assertRolloutLines } from '../support/output-schema';
import { FRONT_PORT, get, haproxyCommand, hostAddress, manifest, serverStatus, setUpHosts, startLoad, stopHosts, UNIT_TMPL } from '../support/zdt';

const skip = process.getuid?.() === 0 ? false : 'the test cluster needs root';
const haveHaproxy = fs.existsSync('/usr/sbin/haproxy') && fs.existsSync('/usr/bin/socat');

let cluster: Cluster;
let tree: ClusterTree;
let h: TestHost[];
const N = 2;

const run = (...args: string[]) => ggn(['-H', tree.home, ...args]);
const background = (args: string[]) => ggnBackground(['-H', tree.home, ...args]);
/** ggn without blocking this process (the load runs in it meanwhile). */
const runAsync = (...args: string[]) => background(args).done;
const setVersion = (v: string) => tree.write('env/prod/attributes/base.yml', `default:\n  version: "${v}"\n`);
const urls = () => h.map((_, i) => `http://${hostAddress(i + 1)}:${FRONT_PORT}/`);
const unit = (i: number, slot: string) => `prod_web_w${i + 1}.${slot}.service`;
const isActive = async (i: number, slot: string) => (await cluster.exec(h[i], ['systemctl', '--user', 'is-active', unit(i, slot)])).stdout.trim() === 'active';
const unitFile = (i: number, slot: string) => {
  const f = path.join(h[i].home, '.config/systemd/user', unit(i, slot));
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : null;
};

/** Exactly one slot of every node takes connections (ready in the proxy) and its unit runs; the other is out of the proxy and stopped. */
async function assertOneServing(slotOf: (i: number) => 'blue' | 'green', version?: string) {
  for (let i = 0; i < N; i++) {
    const want = slotOf(i);
    const other = want === 'blue' ? 'green' : 'blue';
    const st = await serverStatus(cluster, i);
    assert.doesNotMatch(st[want], /MAINT|DRAIN/, `host ${i + 1}: ${want} takes connections (${JSON.stringify(st)})`);
    assert.match(st[other], /MAINT/, `host ${i + 1}: ${other} is out of the proxy (${JSON.stringify(st)})`);
    assert.equal(await isActive(i, want), true, `${unit(i, want)} runs`);
    assert.equal(await isActive(i, other), false, `${unit(i, other)} is stopped`);
    if (version) assert.equal(await get(urls()[i], false), version);
  }
}

/** The live slot of node i (the one the proxy has ready). */
async function liveSlot(i: number): Promise<'blue' | 'green'> {
  const st = await serverStatus(cluster, i);
  return /MAINT|DRAIN/.test(st.blue) ? 'green' : 'blue';
}

describe('zero-downtime rollouts with HAProxy on a live cluster', {
  skip: skip || (!haveHaproxy && 'needs haproxy and socat (test/harness/install-deps.sh)'),
  timeout: 600_000,
}, () => {
  before(async () => {
    cluster = await up(N, { dir: '/tmp/ggn-test-zdt' });
    h = cluster.hosts;
    await setUpHosts(cluster);
    tree = clusterTree(cluster, {
      'env/prod/attributes/base.yml': 'default:\n  version: "1"\n',
      'env/prod/services/web/service-manifest.yml': manifest(h),
      'env/prod/services/web/unit.tmpl': UNIT_TMPL,
    });
  });
  after(async () => {
    await stopHosts(cluster);
    await cluster?.down();
  });

  it('first update: each node brings up its first slot and puts it in the proxy; diff and check are clean', async () => {
    const r = run('prod', 'web', 'update', '-y', '--parallel', '2');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await assertOneServing(() => 'blue', '1');
    assert.equal(run('prod', 'web', 'diff', '--exit-code').code, 0);
    assert.equal(run('prod', 'web', 'check').code, 0);
    const lu = run('prod', 'list-units');
    assert.match(lu.stdout, /prod_web_w1\.blue\.service/);
    const st = run('prod', 'web', 'w1.blue', 'status');
    assert.match(st.stdout, /# prod_web_w1\.blue\.service on /, st.stdout + st.stderr);
  });

  it('a good update under load (keep-alive and new connections) loses no request', async () => {
    setVersion('2');
    const load = startLoad(urls(), { keepAlive: 2, fresh: 2 });
    const r = await runAsync('prod', 'web', 'update', '-y', '--json');
    const stats = await load.stop();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(stats.failed, 0, `failed requests: ${stats.errors.join('; ')}`);
    assert.ok(stats.versions['1'] > 0 && stats.versions['2'] > 0, JSON.stringify(stats.versions));
    await assertOneServing(() => 'green', '2');
    const events = assertRolloutLines(r.stdout) as { unit?: string; step?: string; result?: string }[];
    const steps = events.filter((e) => e.unit === unit(0, 'green') && e.result === 'ok').map((e) => e.step);
    assert.deepEqual(steps, ['hooks-early', 'write', 'reload', 'start-new', 'wait-active', 'health', 'switch', 'drain', 'stop-old', 'hooks-late', 'done']);
    assert.match(unitFile(0, 'blue')!, /v1/, 'the old slot keeps its file');
    // After a reboot only the slot the proxy serves comes back.
    const enabled = async (slot: string) => (await cluster.exec(h[0], ['systemctl', '--user', 'is-enabled', unit(0, slot)])).stdout.trim();
    assert.deepEqual([await enabled('green'), await enabled('blue')], ['enabled', 'disabled']);
    assert.equal(run('prod', 'web', 'diff', '--exit-code').code, 0);
    const lu = run('prod', 'web', 'list-units');
    assert.match(lu.stdout, /prod_web_w1\.green\.service +\S+ +unchanged +loaded +active/, lu.stdout);
    assert.match(lu.stdout, /prod_web_w1\.blue\.service +\S+ +changed \(idle slot\) +loaded +inactive/, lu.stdout);
    assertOutput('listUnits', JSON.parse(run('prod', 'web', 'list-units', '--json').stdout));
    const hist = run('prod', 'web', 'history');
    assert.match(hist.stdout, /prod_web_w1\.green\.service .* update .* ok/);
  });

  it('a new version that fails to start never receives traffic; the old slot keeps serving', async () => {
    setVersion('broken');
    const load = startLoad(urls(), { keepAlive: 1, fresh: 1 });
    const r = await runAsync('prod', 'web', 'update', '-y');
    const stats = await load.stop();
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /prod_web_w1\.blue\.service.*failed at (start-new|wait-active|health).*restored/);
    assert.equal(stats.failed, 0, stats.errors.join('; '));
    assert.deepEqual(Object.keys(stats.versions), ['2']);
    await assertOneServing(() => 'green', '2');
    assert.match(unitFile(0, 'blue')!, /v1/, 'the idle slot has its previous bytes back');
  });

  it('a new version that fails its health check never receives traffic', async () => {
    setVersion('unhealthy');
    const load = startLoad(urls(), { keepAlive: 1, fresh: 1 });
    const r = await runAsync('prod', 'web', 'update', '-y');
    const stats = await load.stop();
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /failed at health/);
    assert.equal(stats.failed, 0, stats.errors.join('; '));
    assert.equal(stats.versions.unhealthy, undefined, JSON.stringify(stats.versions));
    await assertOneServing(() => 'green', '2');
  });

  it('a switch the proxy refuses is put back: the old slot serves, the new one is stopped', async () => {
    // HAProxy refuses to point the new slot's server at an address that is none: the switch fails at its first command.
    setVersion('3');
    tree.write('env/prod/services/web/service-manifest.yml', manifest(h).replace('backend: web}', 'backend: web, address: "127.0.0.256"}'));
    const r = run('prod', 'web', 'update', '-y');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /failed at switch/);
    await assertOneServing(() => 'green', '2');
    tree.write('env/prod/services/web/service-manifest.yml', manifest(h));
  });

  it('rollback after a good update switches back to the other slot, still on disk', async () => {
    setVersion('3');
    assert.equal(run('prod', 'web', 'update', '-y').code, 0);
    await assertOneServing(() => 'blue', '3');
    const load = startLoad(urls(), { keepAlive: 1, fresh: 1 });
    const r = await runAsync('prod', 'web', 'rollback', '-y');
    const stats = await load.stop();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(stats.failed, 0, stats.errors.join('; '));
    await assertOneServing(() => 'green', '2');
  });

  it('a long-lived request on the old slot is drained, not cut; one longer than drainTimeout is cut at it', async () => {
    const before = await liveSlot(0);
    setVersion('4');
    let answeredAt = 0;
    const slow = get(`${urls()[0]}slow?ms=12000`, false).then((body) => {
      answeredAt = Date.now();
      return body;
    });
    await new Promise((r) => setTimeout(r, 300));
    const r = await runAsync('prod', 'web', 'update', '-y', '--json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await slow, '2', 'the slow answer came from the old version, whole');
    const events = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const newUnit = unit(0, before === 'blue' ? 'green' : 'blue');
    const drainStarted = events.find((e) => e.unit === newUnit && e.step === 'drain' && e.result === 'started');
    const drained = events.find((e) => e.unit === newUnit && e.step === 'drain' && e.result === 'ok');
    assert.ok(drainStarted && drained, r.stdout);
    assert.ok(Date.parse(drainStarted.time) < answeredAt, 'the request was in flight when the drain began');
    assert.equal(drained.message, undefined, 'drained to zero sessions, nothing cut');

    tree.write('env/prod/services/web/service-manifest.yml', manifest(h, { drainTimeout: '1s' }));
    setVersion('5');
    const cut = get(`${urls()[0]}slow?ms=20000`, false).then(
      () => 'answered',
      (e: Error) => e.message,
    );
    await new Promise((r) => setTimeout(r, 300));
    const r2 = await runAsync('prod', 'web', 'update', '-y', '--json');
    assert.equal(r2.code, 0, r2.stdout + r2.stderr);
    assert.match(r2.stdout, /drainTimeout 1s reached: 1 session\(s\) cut/);
    assert.notEqual(await cut, 'answered');
    tree.write('env/prod/services/web/service-manifest.yml', manifest(h));
  });

  for (const phase of ['start-new', 'wait-active', 'health', 'switch', 'drain'] as const) {
    it(`${phase === 'health' ? 'SIGTERM' : 'SIGINT'} at ${phase}: exactly one slot serves`, async () => {
      const from = await liveSlot(0);
      const to = from === 'blue' ? 'green' : 'blue';
      const version = `sig-${phase}`;
      setVersion(version);
      // A long request keeps the old slot draining long enough to be interrupted there.
      const slow = phase === 'drain' ? get(`${urls()[0]}slow?ms=8000`, false).catch(() => undefined) : undefined;
      await new Promise((r) => setTimeout(r, 200));
      const p = background(['prod', 'web', 'update', '-y', '--json', '--parallel', '1']);
      await p.until((e) => e.unit === unit(0, to) && e.step === phase && e.result === 'started');
      p.process.kill(phase === 'health' ? 'SIGTERM' : 'SIGINT');
      const r = await p.done;
      await slow;
      assert.notEqual(r.code, 0, r.stderr);
      const switched = phase === 'switch' || phase === 'drain';
      for (let i = 0; i < N; i++) {
        const st = await serverStatus(cluster, i);
        const ready = Object.entries(st).filter(([, s]) => !/MAINT|DRAIN/.test(s));
        assert.equal(ready.length, 1, `host ${i + 1}: one slot in the proxy (${JSON.stringify(st)}) ${r.stderr}`);
        assert.equal(await isActive(i, ready[0][0]), true);
        assert.equal(await isActive(i, ready[0][0] === 'blue' ? 'green' : 'blue'), false);
      }
      assert.equal(await liveSlot(0), switched ? to : from, r.stderr);
    });
  }

  it('the proxy never stopped answering during all of the above', async () => {
    const st = await haproxyCommand(cluster, 0, 'show info');
    assert.match(st, /Uptime_sec/);
  });
});
