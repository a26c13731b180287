/**
 * Zero-downtime rollouts (src/apply/overlap.ts) on the in-memory driver with a fake HAProxy
 * runtime API: every failure path and a stop in each phase leave exactly one slot serving.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { rolloutItems, runRollout, RolloutDeps, RolloutItem } from '../../src/apply/rollout';
import { slotRollbackItem } from '../../src/apply/update';
import { MemoryDriver, stoppedState } from '../../src/drivers/memory/driver';
import { UnitChange } from '../../src/plan/diff';
import { HaproxyProxy } from '../../src/proxy/haproxy';
import { parseShowStat, setAddrCommand, setStateCommand } from '../../src/proxy/haproxy/commands';
import { readRolloutConfig } from '../../src/render/rollout-config';
import { fakeClock } from '../support/fake-clock';
import { FakeHaproxy } from '../support/fake-haproxy';
import { Recorder } from '../support/recorder';
import { parseYaml } from '../../src/tree/yaml';
import { GoMap } from '../../src/template/values';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ServiceLocks } from '../../src/apply/lock';
import { MemoryLockStore } from '../../src/apply/lock/memory';
import { update, UpdateOptions } from '../../src/apply/update';
import { buildPlan } from '../../src/plan/build';
import { Workspace } from '../../src/workspace';
import { scratchTree } from '../support/cli';
import { unitAction } from '../../src/apply/unit-actions';

const BLUE = 'p_web_w1.blue.service';
const GREEN = 'p_web_w1.green.service';
const active = { ...stoppedState(), activeState: 'active', subState: 'running', mainPid: 7, invocationId: 'a' };

interface World {
  driver: MemoryDriver;
  haproxy: FakeHaproxy;
  reporter: Recorder;
  deps: RolloutDeps;
  run(items: RolloutItem[], signal?: AbortSignal): ReturnType<typeof runRollout>;
  serving(): string[];
  unitActive(u: string): boolean;
}

/** m0 runs w1's blue slot (v1, in the proxy); green holds v0 (or nothing), stopped, in maint. */
function world(o: { greenFile?: string | null; blueSessions?: number } = {}): World {
  const clock = fakeClock();
  const driver = new MemoryDriver([{ name: 'm0', metadata: {} }], clock);
  const h = driver.hosts.get('m0')!;
  h.files.set(BLUE, 'v1 blue');
  h.states.set(BLUE, active);
  const greenFile = o.greenFile === undefined ? 'v0 green' : o.greenFile;
  if (greenFile !== null) {
    h.files.set(GREEN, greenFile);
    h.states.set(GREEN, stoppedState());
  }
  const haproxy = new FakeHaproxy();
  haproxy.add('m0', 'web', 'blue', 'ready', o.blueSessions ?? 0);
  haproxy.add('m0', 'web', 'green', 'maint');
  const reporter = new Recorder();
  const proxy = new HaproxyProxy({ kind: 'haproxy', socket: haproxy.socket, backend: 'web', server: '{slot}', address: '127.0.0.10' }, haproxy.exec);
  const deps: RolloutDeps = {
    driver,
    clock,
    reporter,
    slots: { proxy, drainTimeoutMs: 30_000 },
    audit: { who: 'me@box', env: 'p', action: 'update', runId: 'r1' },
  };
  const opts = { concurrency: 1, timeoutMs: 5000, settleMs: 200, pollMs: 100, maxFail: 0 };
  const unitActive = (u: string) => h.states.get(u)?.activeState === 'active';
  return {
    driver,
    haproxy,
    reporter,
    deps,
    run: (items, signal) => runRollout(items, deps, { ...opts, signal }),
    serving: () => haproxy.ready('m0', 'web'),
    unitActive,
  };
}

/** The plan's change for w1 on m0: blue is live (v1), the tree renders v2. */
function change(w: World, version: string, kind: UnitChange['kind'] = 'changed'): UnitChange {
  const h = w.driver.hosts.get('m0')!;
  return {
    kind,
    unit: BLUE,
    service: 'web',
    machine: 'm0',
    desired: `${version} blue`,
    live: h.files.get(BLUE),
    state: h.states.get(BLUE),
    slot: {
      name: 'blue',
      port: 8081,
      hostname: 'w1',
      other: { name: 'green', port: 8082, unit: GREEN, desired: `${version} green`, live: h.files.get(GREEN) ?? null, state: h.states.get(GREEN) },
    },
  };
}

const steps = (w: World, unit = GREEN) => w.reporter.events.filter((e) => e.unit === unit && e.result !== 'started').map((e) => `${e.step} ${e.result}`);
/** Exactly one slot takes new connections, and its unit runs. */
function assertOneServing(w: World, slot: 'blue' | 'green') {
  assert.deepEqual(w.serving(), [slot]);
  assert.ok(w.unitActive(slot === 'blue' ? BLUE : GREEN), `${slot} runs`);
}

describe('overlap rollout: items', () => {
  it('a changed live slot gives an item that writes the idle slot; an up-to-date one none', () => {
    const w = world();
    const [item] = rolloutItems([change(w, 'v2')], { all: false, force: false });
    assert.equal(item.main, GREEN);
    assert.deepEqual(item.files, [{ unit: GREEN, desired: 'v2 green', previous: 'v0 green', changed: true, secret: false }]);
    assert.deepEqual(item.overlap, {
      hostname: 'w1',
      to: { slot: 'green', port: 8082, unit: GREEN },
      other: { slot: 'blue', port: 8081, unit: BLUE },
      otherServing: true,
    });
    assert.equal(rolloutItems([change(w, 'v1', 'unchanged')], { all: false, force: false }).length, 0);
    assert.equal(rolloutItems([change(w, 'v1', 'unchanged')], { all: false, force: true })[0].reason, 'forced');
  });
});

describe('overlap rollout: runs', () => {
  it('a good update: green started beside blue, health, switch, blue drained then stopped (its file kept)', async () => {
    const w = world({ blueSessions: 3 });
    w.haproxy.drainPerPoll = 1;
    let healthSawProxy: string[] = [];
    w.deps.health = async () => {
      healthSawProxy = w.serving();
      return { ok: true };
    };
    const s = await w.run(rolloutItems([change(w, 'v2')], { all: false, force: false }));
    assert.deepEqual(s.ok, [`${GREEN}@m0`]);
    assert.deepEqual(healthSawProxy, ['blue'], 'the new slot gets no traffic before its health gate');
    assert.deepEqual(steps(w), ['write ok', 'reload ok', 'start-new ok', 'wait-active ok', 'health ok', 'switch ok', 'drain ok', 'stop-old ok', 'done ok']);
    assertOneServing(w, 'green');
    assert.equal(w.haproxy.get('m0', 'web', 'blue').state, 'maint');
    assert.equal(w.unitActive(BLUE), false);
    assert.equal(w.driver.hosts.get('m0')!.files.get(BLUE), 'v1 blue', 'the old slot keeps its file for a rollback');
    assert.equal(w.driver.hosts.get('m0')!.files.get(GREEN), 'v2 green');
    assert.equal(w.haproxy.get('m0', 'web', 'green').addr, '127.0.0.10:8082', 'the server points at the slot port');
    // ready before drain: never a moment without a server taking connections
    const sets = w.haproxy.calls.filter((c) => c.includes('state'));
    assert.deepEqual(sets, [
      'm0: set server web/green state maint',
      'm0: set server web/green state ready',
      'm0: set server web/blue state drain',
      'm0: set server web/blue state maint',
    ]);
    assert.deepEqual(
      w.driver.hosts.get('m0')!.audit.map((l) => [4, 5, 8].map((i) => l.split('\t')[i]).join(' ')),
      [`${GREEN} update started`, `${GREEN} update ok`],
    );
  });

  it('the old slot is disabled as it is stopped: after a reboot only the serving slot comes back', async () => {
    const INSTALL = '\n[Install]\nWantedBy=default.target\n';
    const w = world({ greenFile: `v0 green${INSTALL}` });
    const h = w.driver.hosts.get('m0')!;
    h.files.set(BLUE, `v1 blue${INSTALL}`);
    h.enabled = new Set([BLUE]);
    const c = change(w, 'v2');
    c.slot!.other.desired = `v2 green${INSTALL}`;
    const s = await w.run(rolloutItems([c], { all: false, force: false }));
    assert.deepEqual(s.ok, [`${GREEN}@m0`]);
    assert.deepEqual([...h.enabled], [GREEN]);
    w.driver.reboot('m0');
    assert.ok(w.unitActive(GREEN) && !w.unitActive(BLUE), 'only the slot the proxy serves runs after a reboot');
  });

  it('the first update of a node (nothing runs): its slot is brought up, the other put in maint, nothing to drain', async () => {
    const w = world({ greenFile: null });
    const h = w.driver.hosts.get('m0')!;
    h.files.delete(BLUE);
    h.states.delete(BLUE);
    w.haproxy.get('m0', 'web', 'green').state = 'ready';
    const c: UnitChange = { ...change(w, 'v1', 'new'), live: undefined, state: undefined };
    const [item] = rolloutItems([c], { all: false, force: false });
    assert.equal(item.main, BLUE);
    const s = await w.run([item]);
    assert.deepEqual(s.ok, [`${BLUE}@m0`]);
    assert.deepEqual(steps(w, BLUE), ['write ok', 'reload ok', 'start-new ok', 'wait-active ok', 'switch ok', 'done ok']);
    assertOneServing(w, 'blue');
    assert.equal(w.haproxy.get('m0', 'web', 'green').state, 'maint');
  });

  it('a new version that fails to start never gets traffic: green stopped, its file put back, blue serving', async () => {
    const w = world();
    const s = await w.run(rolloutItems([change(w, 'FAIL')], { all: false, force: false }));
    assert.equal(s.failed.length, 1);
    assert.equal(s.failed[0].step, 'wait-active');
    assert.equal(s.failed[0].restored, true);
    assert.equal(s.stopped, 'failure');
    assertOneServing(w, 'blue');
    assert.ok(!w.haproxy.calls.some((c) => c.includes('web/green state ready')), 'green never made ready');
    assert.equal(w.driver.hosts.get('m0')!.files.get(GREEN), 'v0 green', 'the idle slot keeps its previous bytes');
    assert.equal(w.unitActive(GREEN), false);
  });

  it('a failed health gate: the same, and a new idle unit is removed', async () => {
    const w = world({ greenFile: null });
    w.deps.health = async () => ({ ok: false, message: 'http 500' });
    const s = await w.run(rolloutItems([change(w, 'v2')], { all: false, force: false }));
    assert.equal(s.failed[0].step, 'health');
    assert.match(s.failed[0].message, /http 500/);
    assertOneServing(w, 'blue');
    assert.equal(w.driver.hosts.get('m0')!.files.has(GREEN), false);
  });

  it('a switch that fails half-way puts the proxy back (blue ready, green maint) and stops green', async () => {
    const w = world();
    w.haproxy.failWhen = (_m, c) => (c === 'set server web/blue state drain' ? 'Permission denied' : undefined);
    const s = await w.run(rolloutItems([change(w, 'v2')], { all: false, force: false }));
    assert.equal(s.failed[0].step, 'switch');
    assert.match(s.failed[0].message, /Permission denied/);
    assert.equal(s.failed[0].restored, true);
    assertOneServing(w, 'blue');
    assert.equal(w.haproxy.get('m0', 'web', 'green').state, 'maint');
    assert.equal(w.unitActive(GREEN), false);
  });

  it('a proxy that cannot be reached: refused before any change', async () => {
    const w = world();
    w.deps.slots!.proxy = new HaproxyProxy({ kind: 'haproxy', socket: '/nope.sock', backend: 'web', server: '{slot}' }, w.haproxy.exec);
    const s = await w.run(rolloutItems([change(w, 'v2')], { all: false, force: false }));
    assert.equal(s.failed[0].step, 'write');
    assert.match(s.failed[0].message, /cannot reach \/nope\.sock/);
    assert.equal(w.driver.hosts.get('m0')!.files.get(GREEN), 'v0 green');
    assertOneServing(w, 'blue');
  });

  it('a proxy serving the slot the hosts say is idle: refused before any change', async () => {
    const w = world();
    w.haproxy.get('m0', 'web', 'green').state = 'ready';
    w.haproxy.get('m0', 'web', 'blue').state = 'maint';
    const s = await w.run(rolloutItems([change(w, 'v2')], { all: false, force: false }));
    assert.match(s.failed[0].message, /sends traffic to slot green .* nothing changed/);
    assert.equal(w.driver.hosts.get('m0')!.files.get(GREEN), 'v0 green');
  });

  it('a long-lived session on the old slot is drained until drainTimeout, then cut', async () => {
    const w = world({ blueSessions: 1 });
    const s = await w.run(rolloutItems([change(w, 'v2')], { all: false, force: false }));
    assert.deepEqual(s.ok, [`${GREEN}@m0`]);
    const drain = w.reporter.events.find((e) => e.step === 'drain' && e.result === 'ok')!;
    assert.match(drain.message!, /drainTimeout 30s reached: 1 session\(s\) cut/);
    assert.ok(drain.durationMs! >= 30_000);
    assert.ok(w.haproxy.calls.indexOf('m0: set server web/blue state maint') > w.haproxy.calls.lastIndexOf('m0: show stat'), 'stopped after the drain');
    assertOneServing(w, 'green');
  });

  for (const phase of ['write', 'start-new', 'wait-active', 'health', 'switch', 'drain'] as const) {
    it(`a stop (Ctrl-C, SIGTERM) at ${phase} leaves exactly one slot serving`, async () => {
      const w = world({ blueSessions: 2 });
      const ac = new AbortController();
      const at: Record<typeof phase, (c: string) => boolean> = {
        write: (c) => c === 'show stat', // the proxy check, first thing of the write step
        'start-new': (c) => c === 'set server web/green state maint',
        'wait-active': () => false,
        health: () => false,
        switch: (c) => c === 'set server web/green state ready',
        drain: (c) => c === 'show stat' && w.serving().includes('green'),
      };
      w.haproxy.before = (_m, c) => {
        if (at[phase](c)) ac.abort();
      };
      if (phase === 'wait-active') {
        const begin = w.driver.beginStart.bind(w.driver);
        w.driver.beginStart = async (m, u) => {
          const t = await begin(m, u);
          ac.abort();
          return t;
        };
      }
      if (phase === 'health')
        w.deps.health = async (_i, signal) => {
          ac.abort();
          return signal.aborted ? { ok: false, message: 'interrupted' } : { ok: true };
        };
      const s = await w.run(rolloutItems([change(w, 'v2')], { all: false, force: false }), ac.signal);
      assert.equal(s.stopped, 'interrupted');
      const switched = phase === 'switch' || phase === 'drain';
      assertOneServing(w, switched ? 'green' : 'blue');
      assert.equal(w.unitActive(switched ? BLUE : GREEN), false, 'the other slot is stopped');
      if (!switched) {
        assert.equal(s.failed[0].restored, true);
        assert.equal(w.driver.hosts.get('m0')!.files.get(GREEN), 'v0 green');
      } else {
        assert.match(w.reporter.events.find((e) => e.step === 'drain' && e.result === 'ok')!.message!, /interrupted: 2 session\(s\) cut/);
      }
    });
  }

  it('rollback after a good update: blue (still on disk) started, checked, switched back; nothing written', async () => {
    const w = world();
    await w.run(rolloutItems([change(w, 'v2')], { all: false, force: false }));
    assertOneServing(w, 'green');
    const h = w.driver.hosts.get('m0')!;
    const live: UnitChange = {
      kind: 'unchanged',
      unit: GREEN,
      service: 'web',
      machine: 'm0',
      desired: 'v2 green',
      live: h.files.get(GREEN),
      state: h.states.get(GREEN),
      slot: {
        name: 'green',
        port: 8082,
        hostname: 'w1',
        other: { name: 'blue', port: 8081, unit: BLUE, desired: 'v2 blue', live: 'v1 blue', state: h.states.get(BLUE) },
      },
    };
    const item = slotRollbackItem(live)!;
    const installs = w.driver.calls.filter((c) => c.startsWith('install')).length;
    const s = await w.run([item]);
    assert.deepEqual(s.ok, [`${BLUE}@m0`]);
    assertOneServing(w, 'blue');
    assert.equal(w.unitActive(GREEN), false);
    assert.equal(w.driver.calls.filter((c) => c.startsWith('install')).length, installs, 'no file written');
    assert.equal(h.files.get(BLUE), 'v1 blue');
  });
});

describe('haproxy runtime API', () => {
  it('builds commands with checked names only', () => {
    assert.equal(setStateCommand('web', 'blue', 'drain'), 'set server web/blue state drain');
    assert.equal(setAddrCommand('web', 'w1-green', '127.0.0.11', 8082), 'set server web/w1-green addr 127.0.0.11 port 8082');
    assert.throws(() => setStateCommand('web', 'blue\nshutdown sessions', 'ready'), /runtime API does not take/);
    assert.throws(() => setAddrCommand('web', 'blue', '1.2.3.4; x', 1), /not an IP address/);
  });
  it('a shared proxy: commands go to its host, server names from {hostname}, the socket from {hostname}', async () => {
    const haproxy = new FakeHaproxy('/run/lb/w1.sock');
    haproxy.add('lb', 'web', 'w1-green', 'maint');
    haproxy.add('lb', 'web', 'w1-blue', 'ready');
    const p = new HaproxyProxy({ kind: 'haproxy', socket: '/run/lb/{hostname}.sock', backend: 'web', server: '{hostname}-{slot}', host: 'lb' }, haproxy.exec);
    await p.setState({ machine: 'm0', hostname: 'w1', slot: 'green', port: 8082 }, 'ready');
    const s = await p.servers('m0', 'w1', ['blue', 'green']);
    assert.deepEqual([s.get('blue')!.state, s.get('green')!.state], ['ready', 'ready']);
    assert.deepEqual(haproxy.calls, ['lb: set server web/w1-green state ready', 'lb: show stat']);
  });
  it('parses show stat (HAProxy 2.6) into state and sessions', () => {
    const csv =
      '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight\n' +
      'fe,FRONTEND,,,3,5,2000,9,0,0,0,0,0,,,,,OPEN,\n' +
      'web,blue,0,0,2,3,,9,0,0,,0,,0,0,0,0,DRAIN,1\n' +
      'web,green,0,0,0,1,,4,0,0,,0,,0,0,0,0,no check,1\n' +
      'web,old,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1\n' +
      'web,BACKEND,0,0,2,3,200,13,0,0,0,0,,0,0,0,0,UP,2\n\n';
    const m = parseShowStat(csv);
    assert.deepEqual([...m.keys()], ['web/blue', 'web/green', 'web/old']);
    assert.deepEqual(m.get('web/blue'), { state: 'drain', sessions: 2, status: 'DRAIN' });
    assert.equal(m.get('web/green')!.state, 'ready');
    assert.equal(m.get('web/old')!.state, 'maint');
    assert.throws(() => parseShowStat('Permission denied\n'), /without its CSV header/);
  });
});

describe('rollout: in the manifest', () => {
  const read = (yaml: string) => readRolloutConfig(parseYaml(yaml, 'm.yml') as GoMap, 'm.yml');
  it('reads slots, drainTimeout and the proxy', () => {
    const r = read(
      'rollout:\n  strategy: overlap\n  slots: [{name: blue, port: 8081}, {name: green, port: 8082}]\n  drainTimeout: 1m\n  proxy: {haproxy: {socket: /run/haproxy/admin.sock, backend: web}}\n',
    )!;
    assert.deepEqual(r.slots, [
      { name: 'blue', port: 8081 },
      { name: 'green', port: 8082 },
    ]);
    assert.equal(r.drainTimeoutMs, 60_000);
    assert.equal(r.proxy.server, '{slot}');
    assert.equal(read('nodes: []\n'), undefined);
  });
  it('refuses what would make bad unit or server names', () => {
    const base = (slots: string, proxy = '{haproxy: {socket: /s, backend: web}}') => `rollout:\n  strategy: overlap\n  slots: ${slots}\n  proxy: ${proxy}\n`;
    assert.throws(() => read(base('[{name: Blue!, port: 1}, {name: g, port: 2}]')), /slot #1: name must be/);
    assert.throws(() => read(base('[{name: b, port: 1}, {name: g, port: 1}]')), /different ports/);
    assert.throws(() => read(base('[{name: b, port: 1}]')), /exactly two/);
    assert.throws(() => read(base('[{name: b, port: 1}, {name: g, port: 2}]', '{haproxy: {socket: "/a b", backend: web}}')), /socket/);
  });
});

describe('rollout: through update, on the in-memory driver', () => {
  const MANIFEST =
    'rollout:\n  strategy: overlap\n  slots: [{name: blue, port: 8081}, {name: green, port: 8082}]\n  drainTimeout: 5s\n' +
    '  proxy: {haproxy: {socket: /run/haproxy/admin.sock, backend: web}}\n' +
    'healthCheck: {exec: [check, "$SLOT_PORT"], timeout: 2s}\n' +
    'nodes:\n  - {hostname: w1, machine_id: m0}\n  - {hostname: w2, machine_id: m1}\n';
  const UNIT = '[Service]\nExecStart=/bin/app {{.version}} --port {{.slotPort}} --slot {{.slot}}\n\n[X-Fleet]\nMachineID={{.machine_id}}\n';

  function setup() {
    const { work, home } = scratchTree({
      'env/prod/config.yml': 'machines:\n  - {name: m0, address: 127.0.0.1}\n  - {name: m1, address: 127.0.0.1}\n',
      'env/prod/attributes/base.yml': 'default:\n  version: "1"\n',
      'env/prod/services/web/service-manifest.yml': MANIFEST,
      'env/prod/services/web/unit.tmpl': UNIT,
    });
    const clock = fakeClock();
    clock.t = 1_700_000_000_000;
    const haproxy = new FakeHaproxy();
    for (const m of ['m0', 'm1']) for (const s of ['blue', 'green']) haproxy.add(m, 'web', s, 'maint');
    const checks: string[] = [];
    class WithExec extends MemoryDriver {
      async exec(machine: string, argv: string[], opts?: { stdin?: string }) {
        if (argv[0] === 'check') {
          checks.push(`${machine} ${argv[1]}`);
          return { code: 0, stdout: '', stderr: '' };
        }
        return haproxy.exec(machine, argv, opts);
      }
    }
    const driver = new WithExec(
      [
        { name: 'm0', metadata: {} },
        { name: 'm1', metadata: {} },
      ],
      clock,
    );
    const locks = new ServiceLocks(new MemoryLockStore(), clock);
    const reporter = new Recorder();
    const ws = () => new Workspace({ homePath: home });
    const setVersion = (v: string) => fs.writeFileSync(path.join(work, 'env/prod/attributes/base.yml'), `default:\n  version: "${v}"\n`);
    const run = (o: Partial<UpdateOptions> = {}) =>
      update(
        ws(),
        driver,
        { clock, reporter, who: 'me@box', logLevel: 'info', locks },
        {
          mode: 'update',
          scope: { env: 'prod', service: 'web' },
          all: false,
          force: false,
          timeoutMs: 10_000,
          settleMs: 100,
          pollMs: 100,
          maxFail: 0,
          lockTtlMs: 45_000,
          lockWaitMs: 0,
          ...o,
        },
      );
    const state = (m: string, u: string) => driver.hosts.get(m)!.states.get(u)?.activeState;
    return { driver, haproxy, checks, ws, run, setVersion, state, reporter };
  }

  it('renders a unit per slot with .slot and .slotPort; updates, switches, diffs clean; rolls back to the other slot', async () => {
    const t = setup();
    const [first] = await t.run();
    assert.equal(first.error, undefined, first.error?.message);
    assert.deepEqual(first.summary!.ok.sort(), ['prod_web_w1.blue.service@m0', 'prod_web_w2.blue.service@m1']);
    assert.match(t.driver.hosts.get('m0')!.files.get('prod_web_w1.blue.service')!, /app 1 --port 8081 --slot blue/);
    assert.deepEqual(t.haproxy.ready('m0', 'web'), ['blue']);
    assert.deepEqual(t.checks, ['m0 8081', 'm1 8081'], 'the health gate checks the slot port');

    const plan = await buildPlan(t.ws(), t.driver, { env: 'prod', service: 'web' });
    assert.deepEqual(
      plan.changes.map((c) => `${c.kind} ${c.unit}`),
      ['unchanged prod_web_w1.blue.service', 'unchanged prod_web_w2.blue.service'],
      'the live slot is compared; the idle one is neither a change nor an orphan',
    );
    const [again] = await t.run();
    assert.equal(again.nothingToDo, true);

    t.setVersion('2');
    const [second] = await t.run();
    assert.equal(second.error, undefined, second.error?.message);
    assert.deepEqual(second.summary!.ok.sort(), ['prod_web_w1.green.service@m0', 'prod_web_w2.green.service@m1']);
    assert.deepEqual(t.haproxy.ready('m1', 'web'), ['green']);
    assert.equal(t.state('m1', 'prod_web_w2.blue.service'), 'inactive');
    assert.equal(t.state('m1', 'prod_web_w2.green.service'), 'active');
    const steps = t.reporter.events.filter((e) => e.unit === 'prod_web_w2.green.service' && e.result === 'ok').map((e) => e.step);
    assert.deepEqual(steps, ['hooks-early', 'write', 'reload', 'start-new', 'wait-active', 'health', 'switch', 'drain', 'stop-old', 'hooks-late', 'done']);
    const diff = await buildPlan(t.ws(), t.driver, { env: 'prod', service: 'web' });
    assert.deepEqual(
      diff.changes.map((c) => `${c.kind} ${c.unit}`),
      ['unchanged prod_web_w1.green.service', 'unchanged prod_web_w2.green.service'],
    );
    // A unit argument names the node (both slots) or one slot.
    const one = await buildPlan(t.ws(), t.driver, { env: 'prod', service: 'web', unit: 'w1.blue' });
    assert.deepEqual(
      one.changes.map((c) => `${c.kind} ${c.unit}`),
      ['unchanged prod_web_w1.green.service'],
    );

    const [rb] = await t.run({ mode: 'rollback' });
    assert.equal(rb.error, undefined, rb.error?.message);
    assert.deepEqual(rb.summary!.ok.sort(), ['prod_web_w1.blue.service@m0', 'prod_web_w2.blue.service@m1']);
    assert.deepEqual(t.haproxy.ready('m0', 'web'), ['blue']);
    assert.equal(t.state('m0', 'prod_web_w1.green.service'), 'inactive');
    assert.match(t.driver.hosts.get('m0')!.files.get('prod_web_w1.blue.service')!, /app 1/);
    // The tree still says 2: the diff shows the live (blue) slot as changed.
    const after = await buildPlan(t.ws(), t.driver, { env: 'prod', service: 'web' });
    assert.deepEqual(
      after.changes.map((c) => `${c.kind} ${c.unit}`),
      ['changed prod_web_w1.blue.service', 'changed prod_web_w2.blue.service'],
    );
  });

  it('the proxy says which slot is live: both running, the proxy on green, the update writes blue', async () => {
    const t = setup();
    await t.run();
    const h = t.driver.hosts.get('m0')!;
    // Someone started green (v1) and switched the proxy by hand; blue still runs.
    await unitAction(t.ws(), t.driver, { env: 'prod', service: 'web', unit: 'w1.green' }, 'start');
    t.haproxy.get('m0', 'web', 'green').state = 'ready';
    t.haproxy.get('m0', 'web', 'blue').state = 'maint';
    t.setVersion('2');
    const [r] = await t.run();
    assert.equal(r.error, undefined, r.error?.message);
    assert.deepEqual(r.summary!.ok.sort(), ['prod_web_w1.blue.service@m0', 'prod_web_w2.green.service@m1']);
    assert.match(h.files.get('prod_web_w1.blue.service')!, /app 2/);
    assert.match(h.files.get('prod_web_w1.green.service')!, /app 1/);
    assert.deepEqual(t.haproxy.ready('m0', 'web'), ['blue']);
    assert.equal(t.state('m0', 'prod_web_w1.green.service'), 'inactive');
  });

  it('unit commands: `w1` acts on the live slot, `w1.green` on that slot', async () => {
    const t = setup();
    await t.run();
    const green = await unitAction(t.ws(), t.driver, { env: 'prod', service: 'web', unit: 'w1.green' }, 'start');
    assert.deepEqual(green.outcomes[0].done, ['wrote prod_web_w1.green.service', 'reloaded', 'started prod_web_w1.green.service']);
    assert.match(t.driver.hosts.get('m0')!.files.get('prod_web_w1.green.service')!, /--port 8082 --slot green/);
    const stop = await unitAction(t.ws(), t.driver, { env: 'prod', service: 'web', unit: 'w1' }, 'stop');
    assert.deepEqual(stop.outcomes[0].done, ['stopped prod_web_w1.blue.service']);
  });

  it('rollback --to is refused for a service with rollout: (its rollback is the idle slot)', async () => {
    const t = setup();
    await t.run();
    t.setVersion('2');
    await t.run();
    const [r] = await t.run({ mode: 'rollback', rollbackTo: '0123456789ab' });
    assert.match(r.error!.message, /rollback --to does not apply to a service with `rollout:` \(web\)/);
    assert.deepEqual(t.haproxy.ready('m0', 'web'), ['green'], 'nothing changed');
  });

  it('--dry-run lists the slot steps', async () => {
    const t = setup();
    const [r] = await t.run({ dryRun: true });
    assert.deepEqual(r.planned![0].steps, [
      'early hooks',
      'check the proxy (slot blue must not be serving)',
      'write prod_web_w1.blue.service (new)',
      'reload',
      'start prod_web_w1.blue.service (proxy server blue: maint)',
      'wait active (up to 10s)',
      'health exec check 8081',
      'switch: blue ready, green maint',
      'late hooks',
    ]);
  });
});
