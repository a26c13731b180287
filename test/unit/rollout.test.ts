import { describe, it } from 'node:test';
import { Recorder } from '../support/recorder';
import * as assert from 'node:assert/strict';
import { batchSizes, parseBatches, RolloutDriver, rolloutItems, runRollout, RolloutItem } from '../../src/apply/rollout';
import { fakeClock, FakeClock } from '../support/fake-clock';
import { UnitChange } from '../../src/plan/diff';
import { InstallAndStart, UnitState } from '../../src/drivers/types';
import { MemoryDriver } from '../../src/drivers/memory/driver';

const st = (active: string, sub: string, extra: Partial<UnitState> = {}): UnitState => ({
  loadState: 'loaded',
  activeState: active,
  subState: sub,
  unitFileState: '',
  result: 'success',
  mainPid: 1,
  nRestarts: 0,
  activeEnterTimestamp: '',
  type: 'simple',
  invocationId: 'old',
  ...extra,
});

/**
 * The in-memory driver, with maps keyed `machine/unit` for short assertions. A unit whose
 * content contains FAIL fails to start; CRASH starts then dies; SLOW stays activating
 * (ExecStartPre) for 25 s.
 */
class FakeHosts extends MemoryDriver {
  constructor(clock: FakeClock) {
    super(
      ['m0', 'm1', 'm2'].map((name) => ({ name, metadata: {} })),
      clock,
    );
  }
  private view<K extends 'files' | 'states'>(kind: K) {
    const split = (k: string) => k.split('/') as [string, string];
    return {
      get: (k: string) => (this.hosts.get(split(k)[0])![kind] as Map<string, any>).get(split(k)[1]),
      has: (k: string) => (this.hosts.get(split(k)[0])![kind] as Map<string, any>).has(split(k)[1]),
      set: (k: string, v: any) => (this.hosts.get(split(k)[0])![kind] as Map<string, any>).set(split(k)[1], v),
    };
  }
  files = this.view('files');
  states = this.view('states');
  set auditFails(v: boolean) {
    for (const m of ['m0', 'm1', 'm2']) if (v) this.auditReadOnly.add(m);
  }
}

function change(unit: string, machine: string, kind: UnitChange['kind'], desired: string, live?: string, active = true): UnitChange {
  return { kind, unit, service: 'web', machine, desired, live, state: live ? st(active ? 'active' : 'inactive', active ? 'running' : 'dead') : undefined };
}

function setup(items: RolloutItem[], seed: (h: FakeHosts) => void = () => undefined) {
  const clock = fakeClock();
  const hosts = new FakeHosts(clock);
  for (const i of items)
    for (const f of i.files)
      if (f.previous !== null) {
        hosts.files.set(`${i.machine}/${f.unit}`, f.previous);
        hosts.states.set(`${i.machine}/${f.unit}`, i.wasActive ? st('active', 'running') : st('inactive', 'dead'));
      }
  seed(hosts);
  const reporter = new Recorder();
  const deps = { driver: hosts, clock, reporter, audit: { who: 'me@box', env: 'prod', action: 'update', runId: 'run-1' } };
  const opts = { concurrency: 1, timeoutMs: 5000, settleMs: 200, pollMs: 100, maxFail: 0 };
  return { clock, hosts, reporter, deps, opts };
}

describe('rollout items', () => {
  it('touches new, changed and not-running units, groups a timer with its service, alternates machines', () => {
    const items = rolloutItems(
      [
        change('p_web_a.service', 'm1', 'unchanged', 'A', 'A'),
        change('p_web_b.service', 'm1', 'changed', 'B2', 'B1'),
        change('p_web_c.service', 'm2', 'new', 'C'),
        change('p_web_d.service', 'm2', 'unchanged', 'D', 'D', false),
        change('p_web_t.service', 'm1', 'unchanged', 'T', 'T', false),
        change('p_web_t.timer', 'm1', 'changed', 'TT2', 'TT1'),
        { kind: 'orphan', unit: 'p_web_o.service', service: 'web', machine: 'm1', live: 'O' },
      ],
      { all: false, force: false },
    );
    assert.deepEqual(
      items.map((i) => `${i.id} ${i.reason}${i.timer ? ' +' + i.timer : ''}`),
      ['p_web_b.service@m1 changed', 'p_web_c.service@m2 new', 'p_web_t.service@m1 changed +p_web_t.timer', 'p_web_d.service@m2 not running'],
    );
    assert.equal(rolloutItems([change('p_web_a.service', 'm1', 'unchanged', 'A', 'A')], { all: true, force: false }).length, 1);
  });
  it('parses --batch and sizes batches, the last size repeating', () => {
    assert.deepEqual(batchSizes(30, parseBatches('1,25%,100%')), [1, 7, 22]);
    assert.deepEqual(batchSizes(5, parseBatches('2')), [2, 2, 1]);
    assert.throws(() => parseBatches('1,abc'), /--batch: "abc"/);
  });
});

describe('runRollout', () => {
  it('updates every unit through the steps, at most `concurrency` at once, and audits', async () => {
    const items = rolloutItems(
      ['a', 'b', 'c', 'd', 'e'].map((x, i) => change(`p_web_${x}.service`, `m${i % 2}`, 'changed', `${x}2`, `${x}1`)),
      { all: false, force: false },
    );
    const { hosts, reporter, deps, opts } = setup(items);
    const s = await runRollout(items, deps, { ...opts, concurrency: 2 });
    assert.equal(s.ok.length, 5);
    assert.equal(s.failed.length, 0);
    assert.equal(hosts.maxInFlight, 2);
    assert.equal(hosts.files.get('m0/p_web_a.service'), 'a2');
    assert.deepEqual(
      reporter.events.filter((e) => e.unit === 'p_web_a.service' && e.result === 'ok').map((e) => e.step),
      ['write', 'reload', 'restart', 'wait-active', 'done'],
    );
    const a = hosts.calls.filter((c) => c.startsWith('audit m0 p_web_a.service'));
    assert.deepEqual(
      a,
      ['audit m0 p_web_a.service update started', 'audit m0 p_web_a.service update ok'],
      'a started line before the change, the result after',
    );
    assert.ok(hosts.calls.indexOf('audit m0 p_web_a.service update started') < hosts.calls.indexOf('install m0 p_web_a.service keep'));
  });

  it('restores a unit that fails to start, then stops the rollout', async () => {
    const items = rolloutItems([change('p_web_a.service', 'm1', 'changed', 'FAIL', 'a1'), change('p_web_b.service', 'm1', 'changed', 'b2', 'b1')], {
      all: false,
      force: false,
    });
    const { hosts, deps, opts } = setup(items);
    const s = await runRollout(items, deps, opts);
    assert.equal(s.stopped, 'failure');
    assert.deepEqual(
      s.failed.map((f) => [f.unit, f.step, f.restored]),
      [['p_web_a.service', 'wait-active', true]],
    );
    assert.match(s.failed[0].message, /p_web_a\.service failed \(exit-code\)/);
    assert.deepEqual(s.notStarted, ['p_web_b.service@m1']);
    assert.equal(hosts.files.get('m1/p_web_a.service'), 'a1', 'previous bytes back');
    assert.equal(hosts.states.get('m1/p_web_a.service')!.activeState, 'active', 'running again');
    assert.ok(hosts.calls.includes('install m1 p_web_a.service drop=1'), "restore drops the failed attempt's revision");
    assert.equal(hosts.files.get('m1/p_web_b.service'), 'b1', 'the next unit was not touched');
    assert.ok(hosts.calls.some((c) => c === 'audit m1 p_web_a.service update failed at wait-active, restored'));
  });

  it('a unit that crashes right after starting fails the wait and is restored', async () => {
    const items = rolloutItems([change('p_web_a.service', 'm1', 'changed', 'CRASH', 'a1')], { all: false, force: false });
    const { hosts, deps, opts } = setup(items);
    const s = await runRollout(items, deps, opts);
    assert.deepEqual(
      s.failed.map((f) => f.step),
      ['wait-active'],
    );
    assert.match(s.failed[0].message, /did not stay up/);
    assert.equal(hosts.files.get('m1/p_web_a.service'), 'a1');
  });

  it('a new unit that fails is removed again', async () => {
    const items = rolloutItems([change('p_web_n.service', 'm1', 'new', 'FAIL')], { all: false, force: false });
    const { hosts, deps, opts } = setup(items);
    const s = await runRollout(items, deps, opts);
    assert.equal(s.failed[0].restored, true);
    assert.ok(!hosts.files.has('m1/p_web_n.service'));
  });

  it('--max-fail lets the rollout continue past failures', async () => {
    const items = rolloutItems(
      ['a', 'b', 'c'].map((x) => change(`p_web_${x}.service`, 'm1', 'changed', x === 'a' ? 'FAIL' : `${x}2`, `${x}1`)),
      { all: false, force: false },
    );
    const { deps, opts } = setup(items);
    const s = await runRollout(items, deps, { ...opts, maxFail: 1 });
    assert.equal(s.failed.length, 1);
    assert.equal(s.ok.length, 2);
    assert.equal(s.stopped, undefined);
  });

  it('a failing health gate restores the unit', async () => {
    const items = rolloutItems([change('p_web_a.service', 'm1', 'changed', 'a2', 'a1')], { all: false, force: false });
    const { hosts, deps, opts } = setup(items);
    const s = await runRollout(items, { ...deps, health: async () => ({ ok: false, message: 'HTTP 503 from http://x/health' }) }, opts);
    assert.deepEqual(
      s.failed.map((f) => [f.step, f.message]),
      [['health', 'HTTP 503 from http://x/health']],
    );
    assert.equal(hosts.files.get('m1/p_web_a.service'), 'a1');
  });

  it('an early hook failure changes nothing', async () => {
    const items = rolloutItems([change('p_web_a.service', 'm1', 'changed', 'a2', 'a1')], { all: false, force: false });
    const { hosts, deps, opts } = setup(items);
    const hooks = {
      early: async () => {
        throw new Error('early hook hooks/early/check failed (exit 1)');
      },
      late: async () => undefined,
    };
    const s = await runRollout(items, { ...deps, hooks }, opts);
    assert.deepEqual(
      s.failed.map((f) => f.step),
      ['hooks-early'],
    );
    assert.ok(!hosts.calls.some((c) => c.startsWith('install')));
  });

  it('asks per unit: skip, yes, quit', async () => {
    const items = rolloutItems(
      ['a', 'b', 'c', 'd'].map((x) => change(`p_web_${x}.service`, 'm1', 'changed', `${x}2`, `${x}1`)),
      { all: false, force: false },
    );
    const { hosts, deps, opts } = setup(items);
    const answers = ['skip', 'yes', 'quit'] as const;
    let n = 0;
    const s = await runRollout(items, { ...deps, prompt: async () => answers[n++] }, { ...opts, concurrency: 5 });
    assert.deepEqual(s.skipped, ['p_web_a.service@m1']);
    assert.deepEqual(s.ok, ['p_web_b.service@m1']);
    assert.deepEqual(s.notStarted, ['p_web_c.service@m1', 'p_web_d.service@m1']);
    assert.equal(s.stopped, 'quit');
    assert.equal(hosts.files.get('m1/p_web_a.service'), 'a1');
  });

  it('--timeout bounds the whole start: a 25 s ExecStartPre fails a 3 s timeout and is restored', async () => {
    const items = rolloutItems([change('p_web_a.service', 'm1', 'changed', 'SLOW', 'a1')], { all: false, force: false });
    const { hosts, deps, opts, clock } = setup(items);
    const t0 = clock.now();
    const s = await runRollout(items, deps, { ...opts, timeoutMs: 3000 });
    assert.deepEqual(
      s.failed.map((f) => [f.step, f.restored]),
      [['wait-active', true]],
    );
    assert.match(s.failed[0].message, /not active after 3\.0s \(activating\/start-pre\)/);
    assert.ok(clock.now() - t0 < 10_000, `gave up at ${clock.now() - t0} ms, not after the 25 s start`);
    assert.equal(hosts.files.get('m1/p_web_a.service'), 'a1');
    // The same unit with a timeout above its start time passes.
    const items2 = rolloutItems([change('p_web_b.service', 'm1', 'changed', 'SLOW', 'b1')], { all: false, force: false });
    const r2 = setup(items2);
    const s2 = await runRollout(items2, r2.deps, { ...r2.opts, timeoutMs: 30_000 });
    assert.equal(s2.ok.length, 1, JSON.stringify(s2.failed));
  });

  it('the wait does not count the old instance: a queued restart is waited for', async () => {
    const items = rolloutItems([change('p_web_a.service', 'm1', 'changed', 'a2', 'a1')], { all: false, force: false });
    const { hosts, deps, opts } = setup(items);
    // The restart job runs only after 1 s: until then systemd still shows the old, running instance.
    const real = hosts.beginStart.bind(hosts);
    let ready = 0;
    hosts.beginStart = async (m, u) => {
      const old = hosts.states.get(`${m}/${u}`)!;
      const ticket = await real(m, u);
      const next = hosts.states.get(`${m}/${u}`)!;
      hosts.states.set(`${m}/${u}`, old);
      ready = deps.clock.now() + 1000;
      const orig = hosts.unitStates.bind(hosts);
      hosts.unitStates = async (mm, us) => {
        if (deps.clock.now() >= ready) hosts.states.set(`${m}/${u}`, next);
        return orig(mm, us);
      };
      return ticket;
    };
    const s = await runRollout(items, deps, opts);
    assert.equal(s.ok.length, 1);
    assert.ok(deps.clock.now() >= ready, 'finished only after the new instance came up');
  });

  it('an audit line that cannot be written is a warning naming host and unit, and counted', async () => {
    const items = rolloutItems([change('p_web_a.service', 'm1', 'changed', 'a2', 'a1')], { all: false, force: false });
    const { hosts, deps, opts, reporter } = setup(items);
    hosts.auditFails = true;
    const s = await runRollout(items, deps, opts);
    assert.equal(s.ok.length, 1, 'the unit itself is updated');
    assert.equal(s.auditFailures.length, 2);
    assert.match(reporter.infos[0], /^warning: host m1: unit p_web_a\.service: could not write the audit line \(started\): .*Permission denied/);
  });

  it('a stop interrupts the wait of the unit in flight and restores it; no new unit starts', async () => {
    const items = rolloutItems(
      ['a', 'b'].map((x) => change(`p_web_${x}.service`, 'm1', 'changed', x === 'a' ? 'SLOW' : `${x}2`, `${x}1`)),
      { all: false, force: false },
    );
    const { hosts, deps, opts, clock } = setup(items);
    const ac = new AbortController();
    const reporter = deps.reporter as Recorder;
    const orig = reporter.event.bind(reporter);
    reporter.event = (e) => {
      orig(e);
      if (e.step === 'wait-active' && e.result === 'started') setImmediate(() => ac.abort());
    };
    const t0 = clock.now();
    const s = await runRollout(items, deps, { ...opts, timeoutMs: 60_000, signal: ac.signal });
    assert.deepEqual(
      s.failed.map((f) => [f.unit, f.step, f.message, f.restored]),
      [['p_web_a.service', 'wait-active', 'interrupted', true]],
    );
    assert.ok(clock.now() - t0 < 25_000, 'did not wait out the start');
    assert.deepEqual(s.notStarted, ['p_web_b.service@m1']);
    assert.equal(s.stopped, 'interrupted');
    assert.equal(hosts.files.get('m1/p_web_a.service'), 'a1');
    assert.ok(hosts.calls.includes('audit m1 p_web_a.service update interrupted at wait-active, restored'));
  });

  it('a stop during the health check interrupts it at once: "interrupted", not a timeout, and the unit is restored', async () => {
    const items = rolloutItems([change('p_web_a.service', 'm1', 'changed', 'a2', 'a1')], { all: false, force: false });
    const { hosts, deps, opts, clock } = setup(items);
    const ac = new AbortController();
    const health = async (_item: RolloutItem, signal: AbortSignal) => {
      setImmediate(() => ac.abort());
      // A health check that would take 10 s, and gives up when its signal aborts.
      for (let i = 0; i < 100 && !signal.aborted; i++) await clock.sleep(100).catch(() => undefined);
      return { ok: false, message: 'timed out after 0.0 s' };
    };
    const t0 = clock.now();
    const s = await runRollout(items, { ...deps, health }, { ...opts, signal: ac.signal });
    assert.deepEqual(
      s.failed.map((f) => [f.step, f.message, f.restored]),
      [['health', 'interrupted', true]],
    );
    assert.ok(clock.now() - t0 < 5000);
    assert.equal(hosts.files.get('m1/p_web_a.service'), 'a1');
  });

  it('an abort stops new units; those in flight are restored', async () => {
    const items = rolloutItems(
      ['a', 'b', 'c', 'd'].map((x) => change(`p_web_${x}.service`, 'm1', 'changed', `${x}2`, `${x}1`)),
      { all: false, force: false },
    );
    const { deps, opts } = setup(items);
    const ac = new AbortController();
    const reporter = deps.reporter as Recorder;
    const orig = reporter.event.bind(reporter);
    reporter.event = (e) => {
      orig(e);
      if (e.unit === 'p_web_a.service' && e.step === 'restart' && e.result === 'started') ac.abort();
    };
    const s = await runRollout(items, deps, { ...opts, concurrency: 2, signal: ac.signal });
    assert.deepEqual(s.ok, []);
    assert.deepEqual(s.failed.map((f) => [f.unit, f.message, f.restored]).sort(), [
      ['p_web_a.service', 'interrupted', true],
      ['p_web_b.service', 'interrupted', true],
    ]);
    assert.deepEqual(s.notStarted, ['p_web_c.service@m1', 'p_web_d.service@m1']);
    assert.equal(s.stopped, 'interrupted');
  });

  it('runs batches in order and stops after a failed batch', async () => {
    const items = rolloutItems(
      ['a', 'b', 'c', 'd', 'e'].map((x) => change(`p_web_${x}.service`, 'm1', 'changed', x === 'b' ? 'FAIL' : `${x}2`, `${x}1`)),
      { all: false, force: false },
    );
    const { deps, opts } = setup(items);
    const s = await runRollout(items, deps, { ...opts, batches: parseBatches('1,2,100%') });
    assert.deepEqual((deps.reporter as Recorder).infos, ['batch of 1: p_web_a.service@m1', 'batch of 2: p_web_b.service@m1, p_web_c.service@m1']);
    assert.deepEqual(s.ok.sort(), ['p_web_a.service@m1', 'p_web_c.service@m1']);
    assert.deepEqual(s.notStarted, ['p_web_d.service@m1', 'p_web_e.service@m1']);
  });
});

describe('runRollout: write, reload and restart in one round trip (installAndStart)', () => {
  const one = () => rolloutItems([change('p_web_a.service', 'm1', 'changed', 'a2', 'a1')], { all: false, force: false });
  const steps = (r: Recorder) => r.events.filter((e) => e.unit === 'p_web_a.service').map((e) => `${e.step} ${e.result}`);

  it('reports write, reload and restart one by one and leaves the same calls as the three steps', async () => {
    const items = one();
    const { hosts, reporter, deps, opts } = setup(items);
    const s = await runRollout(items, deps, opts);
    assert.equal(s.ok.length, 1);
    assert.deepEqual(
      hosts.calls.filter((c) => !c.startsWith('audit')),
      ['install m1 p_web_a.service keep', 'reload m1', 'begin-start m1 p_web_a.service'],
    );
    assert.deepEqual(steps(reporter).slice(0, 6), ['write started', 'write ok', 'reload started', 'reload ok', 'restart started', 'restart ok']);
  });

  it('a failed write reloads and restarts nothing, and nothing is left to restore', async () => {
    const items = one();
    const { hosts, reporter, deps, opts } = setup(items);
    hosts.failInstallAndStartAt = 'write';
    const s = await runRollout(items, deps, opts);
    assert.deepEqual(
      s.failed.map((f) => [f.step, f.restored]),
      [['write', true]],
    );
    assert.deepEqual(
      hosts.calls.filter((c) => !c.startsWith('audit')),
      [],
    );
    assert.equal(hosts.files.get('m1/p_web_a.service'), 'a1');
    assert.deepEqual(
      hosts.calls.filter((c) => c.startsWith('audit')),
      ['audit m1 p_web_a.service update started', 'audit m1 p_web_a.service update failed at write'],
    );
    assert.ok(!steps(reporter).some((e) => e.startsWith('reload') || e.startsWith('restart')));
  });

  for (const at of ['reload', 'restart'] as const) {
    it(`a failed ${at} after the write restores the previous revision and restarts what ran`, async () => {
      const items = one();
      const { hosts, reporter, deps, opts } = setup(items);
      hosts.failInstallAndStartAt = at;
      const s = await runRollout(items, deps, opts);
      assert.deepEqual(
        s.failed.map((f) => [f.step, f.restored]),
        [[at, true]],
      );
      assert.equal(hosts.files.get('m1/p_web_a.service'), 'a1', 'the previous bytes are back');
      assert.equal(hosts.states.get('m1/p_web_a.service').activeState, 'active', 'it ran before: it runs again');
      assert.deepEqual((hosts.hosts.get('m1')!.revisions.get('p_web_a.service') ?? []).length, 0, "the failed update's revision is dropped");
      assert.ok(steps(reporter).includes('write ok'));
      assert.ok(steps(reporter).includes(`${at} failed`));
      assert.deepEqual(
        hosts.calls.filter((c) => c.startsWith('audit')),
        ['audit m1 p_web_a.service update started', `audit m1 p_web_a.service update failed at ${at}, restored`],
      );
    });
  }

  it("each step's event takes the time the host says it spent on it; the write keeps the rest of the round trip", async () => {
    const items = one();
    const { clock, hosts, reporter, deps, opts } = setup(items);
    let roundTrip = 0;
    const timed: RolloutDriver = new Proxy(hosts, {
      get: (t, k) =>
        k === 'installAndStart'
          ? async (m: string, req: InstallAndStart) => {
              const t0 = clock.t;
              const r = await t.installAndStart(m, req);
              clock.t += 1500; // the round trip: the write, then 1,400 ms that the host says it spent after it
              roundTrip = clock.t - t0;
              return { ...r, hostMs: { reload: 400, restart: 100, watch: 900 } };
            }
          : Reflect.get(t, k, t),
    });
    const s = await runRollout(items, { ...deps, driver: timed }, opts);
    assert.equal(s.ok.length, 1);
    const took = (step: string) => reporter.events.find((e) => e.step === step && e.result === 'ok')?.durationMs;
    assert.deepEqual([took('write'), took('reload'), took('restart')], [roundTrip - 1400, 400, 100]);
    assert.ok(took('wait-active')! >= 900, `wait-active ${took('wait-active')} ms counts the host's watch`);
  });

  it('a driver without it gets the three steps as before, with the same outcome', async () => {
    const items = one();
    const { hosts, reporter, deps, opts } = setup(items);
    const plain: RolloutDriver = new Proxy(hosts, { get: (t, k) => (k === 'installAndStart' ? undefined : Reflect.get(t, k, t)) });
    const s = await runRollout(items, { ...deps, driver: plain }, opts);
    assert.equal(s.ok.length, 1);
    assert.deepEqual(
      hosts.calls.filter((c) => !c.startsWith('audit')),
      ['install m1 p_web_a.service keep', 'reload m1', 'begin-start m1 p_web_a.service'],
    );
    assert.deepEqual(steps(reporter).slice(0, 6), ['write started', 'write ok', 'reload started', 'reload ok', 'restart started', 'restart ok']);
  });

  it('a service with a changed timer: the service written first, the timer with the reload and its restart', async () => {
    const items = rolloutItems([change('p_web_t.service', 'm1', 'changed', 'S2', 'S1'), change('p_web_t.timer', 'm1', 'changed', 'T2', 'T1')], {
      all: false,
      force: false,
    });
    const { hosts, deps, opts } = setup(items);
    const s = await runRollout(items, deps, opts);
    assert.equal(s.ok.length, 1);
    assert.deepEqual(
      hosts.calls.filter((c) => !c.startsWith('audit')),
      ['install m1 p_web_t.service keep', 'install m1 p_web_t.timer keep', 'reload m1', 'begin-start m1 p_web_t.timer'],
    );
  });
});
