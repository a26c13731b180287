/**
 * update, rollback, the unit actions, check and the plan against the in-memory driver (the
 * driver port's second implementation): no SSH, a fake clock, a memory lock store.
 */
import { Recorder } from '../support/recorder';
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { execFileSync } from 'node:child_process';
import { readHistory } from '../../src/apply/history';
import { contentHash } from '../../src/apply/audit';
import { describeTree, treeCommit } from '../../src/tree/git';
import * as path from 'node:path';
import { ServiceLocks } from '../../src/apply/lock';
import { MemoryLockStore } from '../../src/apply/lock/memory';
import { unitAction } from '../../src/apply/unit-actions';
import { update, UpdateDeps, UpdateOptions } from '../../src/apply/update';
import { MemoryDriver } from '../../src/drivers/memory/driver';
import { buildPlan } from '../../src/plan/build';
import { planFile, readPlanFile, writePlanFile } from '../../src/plan/file';
import { problemsOf } from '../../src/plan/problems';
import { Workspace } from '../../src/workspace';
import { scratchTree } from '../support/cli';
import { fakeClock } from '../support/fake-clock';

const UNIT = `[Service]
ExecStart=/bin/app {{.version}}

[X-Fleet]
MachineID={{.machine_id}}
`;

function setup() {
  const { work, home } = scratchTree({
    'env/prod/config.yml': 'machines:\n  - {name: m0, address: 127.0.0.1}\n  - {name: m1, address: 127.0.0.1}\n',
    'env/prod/attributes/base.yml': 'default:\n  version: "1"\n',
    'env/prod/services/web/service-manifest.yml': 'nodes:\n  - {hostname: w1, machine_id: m0}\n  - {hostname: w2, machine_id: m1}\n',
    'env/prod/services/web/unit.tmpl': UNIT,
  });
  const clock = fakeClock();
  clock.t = 1_700_000_000_000;
  const driver = new MemoryDriver(
    [
      { name: 'm0', metadata: {} },
      { name: 'm1', metadata: {} },
    ],
    clock,
  );
  const store = new MemoryLockStore();
  const locks = new ServiceLocks(store, clock);
  const reporter = new Recorder();
  const ws = () => new Workspace({ homePath: home });
  const setVersion = (v: string) => fs.writeFileSync(path.join(work, 'env/prod/attributes/base.yml'), `default:\n  version: "${v}"\n`);
  const opts = (o: Partial<UpdateOptions> = {}): UpdateOptions => ({
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
  });
  const run = (o: Partial<UpdateOptions> = {}, deps: Partial<UpdateDeps> = {}) =>
    update(ws(), driver, { clock, reporter, who: 'me@box', logLevel: 'info', locks, ...deps }, opts(o));
  const file = (m: string, u: string) => driver.hosts.get(m)!.files.get(u);
  return { work, home, clock, driver, store, reporter, ws, setVersion, run, file };
}

describe('update and rollback on the in-memory driver', () => {
  it('converges new units, audits each change, releases the lock; a second run has nothing to do', async () => {
    const t = setup();
    const [r] = await t.run();
    assert.equal(r.error, undefined, r.error?.message);
    assert.deepEqual(r.summary!.ok.sort(), ['prod_web_w1.service@m0', 'prod_web_w2.service@m1']);
    assert.match(t.file('m0', 'prod_web_w1.service')!, /ExecStart=\/bin\/app 1/);
    assert.equal(t.driver.hosts.get('m1')!.states.get('prod_web_w2.service')!.activeState, 'active');
    const audit = t.driver.hosts.get('m0')!.audit.map((l) => l.split('\t')[8]);
    assert.deepEqual(audit, ['started', 'ok']);
    assert.equal(t.store.locks.size, 0, 'lock released');
    assert.match(t.reporter.infos[0], /^web: locked \(memory lock\)$/);
    const [again] = await t.run();
    assert.equal(again.nothingToDo, true);
  });

  it('a unit with an [Install] section is enabled by its rollout and comes back after a reboot; one without is not', async () => {
    const t = setup();
    const tmpl = path.join(t.work, 'env/prod/services/web/unit.tmpl');
    fs.writeFileSync(tmpl, UNIT.replace('[X-Fleet]', '{{if eq .hostname "w1"}}[Install]\nWantedBy=multi-user.target\n\n{{end}}[X-Fleet]'));
    const [r] = await t.run();
    assert.equal(r.error, undefined, r.error?.message);
    const state = (m: string, u: string) => t.driver.hosts.get(m)!.states.get(u)!;
    assert.equal(state('m0', 'prod_web_w1.service').unitFileState, 'enabled');
    assert.equal(state('m1', 'prod_web_w2.service').unitFileState, '');
    t.driver.reboot('m0');
    t.driver.reboot('m1');
    assert.equal(state('m0', 'prod_web_w1.service').activeState, 'active');
    assert.equal(state('m1', 'prod_web_w2.service').activeState, 'inactive');
    await t.driver.uninstall('m0', ['prod_web_w1.service']);
    assert.equal(t.driver.hosts.get('m0')!.enabled!.has('prod_web_w1.service'), false, 'a removed unit is disabled');
  });

  it('a changed attribute is rolled out with a revision kept; rollback puts it back', async () => {
    const t = setup();
    await t.run();
    t.setVersion('2');
    const [r] = await t.run();
    assert.equal(r.summary!.ok.length, 2);
    assert.match(t.file('m1', 'prod_web_w2.service')!, /app 2/);
    assert.equal(t.driver.hosts.get('m1')!.revisions.get('prod_web_w2.service')!.length, 1);
    const [rb] = await t.run({ mode: 'rollback' });
    assert.equal(rb.error, undefined, rb.error?.message);
    assert.equal(rb.summary!.ok.length, 2);
    assert.match(t.file('m1', 'prod_web_w2.service')!, /app 1/);
    assert.equal(t.driver.hosts.get('m1')!.revisions.get('prod_web_w2.service')!.length, 0, 'the revision put back is dropped');
  });

  it('rollback --to a content hash puts back that revision of a unit; a unit without it refuses the whole rollback', async () => {
    const t = setup();
    for (const v of ['1', '2', '3']) {
      t.setVersion(v);
      await t.run();
    }
    const v1 = t.driver.hosts.get('m0')!.revisions.get('prod_web_w1.service')![0];
    assert.match(v1.content, /app 1/);
    const hash = contentHash(v1.content);
    const before = [t.file('m0', 'prod_web_w1.service'), t.file('m1', 'prod_web_w2.service'), t.driver.hosts.get('m0')!.audit.length];
    // Service level: w2's bytes differ (its own MachineID), so no revision of w2 has that hash.
    const [refused] = await t.run({ mode: 'rollback', rollbackTo: hash.slice(0, 8) });
    assert.match(refused.error!.message, /no revision with that content hash is kept of prod_web_w2\.service on m1; nothing was changed/);
    assert.match(refused.error!.message, /prod_web_w2\.service on m1: live [0-9a-f]{12}, kept [0-9a-f]{12} \(2\), [0-9a-f]{12} \(1\)/);
    assert.deepEqual([t.file('m0', 'prod_web_w1.service'), t.file('m1', 'prod_web_w2.service'), t.driver.hosts.get('m0')!.audit.length], before);
    const [r] = await t.run({ mode: 'rollback', rollbackTo: hash, scope: { env: 'prod', service: 'web', unit: 'w1' } });
    assert.equal(r.error, undefined, r.error?.message);
    assert.deepEqual(r.summary!.ok, ['prod_web_w1.service@m0']);
    assert.match(t.file('m0', 'prod_web_w1.service')!, /app 1/, 'back two versions, not one');
    assert.match(t.file('m1', 'prod_web_w2.service')!, /app 3/);
    const [none] = await t.run({ mode: 'rollback', rollbackTo: 'abcdef', scope: { env: 'prod', service: 'web', unit: 'w1' } });
    assert.match(
      none.error!.message,
      /--to abcdef: no revision kept of these units has that content hash, and no change in the audit logs was made from a tree commit/,
    );
  });

  it('rollback --to a tree commit puts every unit back to what ran after the change made from that commit', async () => {
    const t = setup();
    for (const [v, tree] of [
      ['1', 'aaaa1111 first'],
      ['2', 'bbbb2222 second'],
      ['3', 'cccc3333 third'],
    ]) {
      t.setVersion(v);
      t.clock.t += 60_000;
      await t.run({}, { tree });
    }
    t.clock.t += 60_000;
    const [dry] = await t.run({ mode: 'rollback', rollbackTo: 'aaaa1111', dryRun: true });
    assert.deepEqual(
      dry.planned!.map((p) => `${p.unit} ${p.host} ${p.reason}`),
      ['prod_web_w1.service m0 back to revision 1', 'prod_web_w2.service m1 back to revision 1'],
    );
    const [r] = await t.run({ mode: 'rollback', rollbackTo: 'aaaa1111' });
    assert.equal(r.error, undefined, r.error?.message);
    assert.equal(r.summary!.ok.length, 2);
    assert.match(t.file('m0', 'prod_web_w1.service')!, /app 1/);
    assert.match(t.file('m1', 'prod_web_w2.service')!, /app 1/);
    t.clock.t += 60_000;
    const [again] = await t.run({ mode: 'rollback', rollbackTo: 'aaaa' });
    assert.equal(again.nothingToDo, true, 'already there');
  });

  it("an env-level rollback --to reads each host's audit log once for all services, and each host's revisions of a service in one call", async () => {
    const t = setup();
    fs.mkdirSync(path.join(t.work, 'env/prod/services/api'));
    fs.writeFileSync(
      path.join(t.work, 'env/prod/services/api/service-manifest.yml'),
      'nodes:\n  - {hostname: a1, machine_id: m0}\n  - {hostname: a2, machine_id: m0}\n  - {hostname: a3, machine_id: m1}\n',
    );
    fs.writeFileSync(path.join(t.work, 'env/prod/services/api/unit.tmpl'), UNIT);
    for (const [v, tree] of [
      ['1', 'aaaa1111 first'],
      ['2', 'bbbb2222 second'],
    ]) {
      t.setVersion(v);
      t.clock.t += 60_000;
      for (const r of await t.run({ scope: { env: 'prod' } }, { tree })) assert.equal(r.error, undefined, r.error?.message);
    }
    const audits: string[] = [];
    const revisionReads: string[] = [];
    const d = t.driver as any;
    const readAudit = d.readAudit.bind(d);
    d.readAudit = (m: string) => (audits.push(m), readAudit(m));
    const readOf = d.readRevisionsOf.bind(d);
    d.readRevisionsOf = (m: string, units: string[]) => (revisionReads.push(`${m}: ${[...units].sort().join(' ')}`), readOf(m, units));
    const readOne = d.readRevisions.bind(d);
    d.readRevisions = (m: string, u: string) => (revisionReads.push(`${m}: ${u} alone`), readOne(m, u));
    t.clock.t += 60_000;
    const rs = await t.run({ mode: 'rollback', rollbackTo: 'aaaa1111', scope: { env: 'prod' } });
    for (const r of rs) assert.equal(r.error, undefined, r.error?.message);
    for (const [m, u] of [
      ['m0', 'prod_api_a1.service'],
      ['m0', 'prod_api_a2.service'],
      ['m1', 'prod_api_a3.service'],
      ['m0', 'prod_web_w1.service'],
      ['m1', 'prod_web_w2.service'],
    ])
      assert.match(t.file(m, u)!, /app 1/, `${u} back to the first tree's version`);
    assert.deepEqual(audits.sort(), ['m0', 'm1'], 'one read of each audit log for both services');
    assert.deepEqual(revisionReads.sort(), [
      'm0: prod_api_a1.service prod_api_a2.service',
      'm0: prod_web_w1.service',
      'm1: prod_api_a3.service',
      'm1: prod_web_w2.service',
    ]);
  });

  it('a version that fails to start is restored and stops the rollout; exit detail in the summary', async () => {
    const t = setup();
    await t.run();
    t.setVersion('FAIL');
    const [r] = await t.run();
    assert.equal(r.summary!.failed.length, 1);
    assert.equal(r.summary!.failed[0].restored, true);
    assert.equal(r.summary!.stopped, 'failure');
    assert.equal(r.summary!.notStarted.length, 1);
    assert.match(t.file('m0', 'prod_web_w1.service')!, /app 1/);
    // why: systemd's result and exit status, and the journal, asked before the restore
    const f = r.summary!.failed[0];
    assert.equal(f.message, 'prod_web_w1.service failed (exit-code); systemd: exit-code, failed/failed, exit status 1');
    assert.deepEqual(f.detail!.journal, ['app[1]: ExecStart=/bin/app FAIL']);
    const calls = t.driver.calls.filter((c) => /failure-detail|begin-start|install/.test(c));
    assert.ok(calls.indexOf('failure-detail m0 prod_web_w1.service') < calls.lastIndexOf('begin-start m0 prod_web_w1.service'), calls.join('; '));
  });

  it('refuses to start when a host cannot write its audit log, before any change', async () => {
    const t = setup();
    t.driver.auditReadOnly.add('m1');
    const [r] = await t.run();
    assert.match(r.error!.message, /audit log memory:m1\/audit\.log is not writable/);
    assert.equal(r.error!.ctx.host, 'm1');
    assert.equal(t.file('m0', 'prod_web_w1.service'), undefined, 'nothing written anywhere');
    assert.equal(t.store.locks.size, 0);
  });

  it('a held lock refuses the run and names the holder; nothing changes', async () => {
    const t = setup();
    const locks = new ServiceLocks(t.store, t.clock);
    await locks.acquireRun('web', { holder: 'bob@desk', message: 'update web', ttlMs: 45_000 });
    const [r] = await t.run();
    assert.match(r.error!.message, /^service web is locked by \[bob@desk\] update web \(run /);
    assert.equal(t.file('m0', 'prod_web_w1.service'), undefined);
  });

  it('a lock lost mid-run (backend unreachable) stops the rollout and is reported', async () => {
    const t = setup();
    t.setVersion('SLOW');
    t.driver.slowStartMs = 60_000;
    setTimeout(() => (t.store.fail = 'connect ECONNREFUSED'), 5);
    const [r] = await t.run({ lockTtlMs: 6000, timeoutMs: 120_000, parallel: 1 });
    assert.match(r.lockLost!.message, /could not renew the lock of web \(memory lock\)/);
    assert.ok(
      r.summary!.failed.every((f) => f.message === 'interrupted' && f.restored),
      JSON.stringify(r.summary),
    );
    assert.ok(r.summary!.notStarted.length >= 1);
    assert.match(r.releaseError!.message, /could not release the lock of web/);
  });
});

describe('env-level preflight', () => {
  it('a template error in one service stops the env update before any host changes', async () => {
    const t = setup();
    fs.mkdirSync(path.join(t.work, 'env/prod/services/worker'), { recursive: true });
    fs.writeFileSync(path.join(t.work, 'env/prod/services/worker/service-manifest.yml'), 'nodes:\n  - {hostname: k1, machine_id: m0}\n');
    fs.writeFileSync(path.join(t.work, 'env/prod/services/worker/unit.tmpl'), '[Service]\nExecStart={{index .nothing 3}}\n');
    const results = await t.run({ scope: { env: 'prod' } });
    assert.deepEqual(
      results.map((r) => r.service),
      ['worker'],
    );
    assert.match(results[0].error!.message, /preflight: nothing was changed/);
    assert.equal(results[0].error!.ctx.unit, 'prod_worker_k1.service');
    for (const m of ['m0', 'm1']) assert.equal(t.driver.hosts.get(m)!.files.size, 0, `${m} untouched`);
    assert.equal(t.store.locks.size, 0);
    // fixed: the env update goes through, web then worker
    fs.writeFileSync(path.join(t.work, 'env/prod/services/worker/unit.tmpl'), '[Service]\nExecStart=/bin/worker\n');
    // a unit that cannot be placed is caught too, and named with its service
    const unplaced = await t.run({ scope: { env: 'prod' } });
    assert.deepEqual(
      unplaced.map((r) => r.service),
      ['worker'],
    );
    assert.match(unplaced[0].error!.message, /^no machine is named "k1" .* \(preflight: nothing was changed\)$/);
    for (const m of ['m0', 'm1']) assert.equal(t.driver.hosts.get(m)!.files.size, 0, `${m} untouched`);
    fs.writeFileSync(path.join(t.work, 'env/prod/services/worker/unit.tmpl'), '[Service]\nExecStart=/bin/worker\n\n[X-Fleet]\nMachineID={{.machine_id}}\n');
    const ok = await t.run({ scope: { env: 'prod' } });
    assert.deepEqual(
      ok.map((r) => [r.service, r.error?.message, r.summary?.ok.length]),
      [
        ['web', undefined, 2],
        ['worker', undefined, 1],
      ],
    );
  });
});

describe('dry run', () => {
  it('lists each unit and its steps, changes nothing, takes no lock, runs no hook', async () => {
    const t = setup();
    await t.run();
    t.setVersion('2');
    const snapshot = () => JSON.stringify([...t.driver.hosts].map(([m, h]) => [m, [...h.files], [...h.states], h.audit]));
    const before = snapshot();
    // a lock held by someone else does not matter: a dry run takes none
    await t.store.write('web', null, { holder: 'bob@x', message: 'busy', kind: 'hand', id: 'h1', takenAt: 0, renewedAt: 0, expiresAt: 9e15 } as never);
    const [r] = await t.run({ dryRun: true });
    assert.equal(r.error, undefined, r.error?.message);
    assert.deepEqual(
      r.planned!.map((p) => [p.unit, p.host, p.reason]),
      [
        ['prod_web_w1.service', 'm0', 'changed'],
        ['prod_web_w2.service', 'm1', 'changed'],
      ],
    );
    assert.deepEqual(r.planned![0].steps, [
      'early hooks',
      'write prod_web_w1.service (revision kept)',
      'reload',
      'restart prod_web_w1.service',
      'wait active (up to 10s)',
      'availability hooks',
      'late hooks',
    ]);
    assert.equal(snapshot(), before);
    assert.match(t.reporter.infos.at(-1)!, /^would update prod_web_w2\.service on m1 \(changed\): early hooks, write/);
  });
});

describe('prune', () => {
  it('removes exactly the orphans of the service (timer first), keeping a revision and an audit line; update --prune does it after the rollout', async () => {
    const t = setup();
    await t.run();
    // w2 leaves the tree; a unit of another service on the same host is not an orphan of web
    fs.writeFileSync(path.join(t.work, 'env/prod/services/web/service-manifest.yml'), 'nodes:\n  - {hostname: w1, machine_id: m0}\n');
    t.driver.hosts.get('m1')!.files.set('prod_web_w2.timer', '[Timer]\nOnCalendar=daily\n');
    t.driver.hosts.get('m1')!.files.set('prod_other_o1.service', '[Service]\n');
    const dry = await t.run({ mode: 'prune', dryRun: true });
    assert.deepEqual(
      dry[0].planned!.map((p) => [p.unit, p.host]),
      [['prod_web_w2.service + prod_web_w2.timer', 'm1']],
    );
    assert.ok(t.driver.hosts.get('m1')!.files.has('prod_web_w2.service'), 'the dry run removed nothing');
    const [r] = await t.run({ mode: 'prune' });
    assert.equal(r.error, undefined, r.error?.message);
    assert.deepEqual(r.prune!.pruned, ['prod_web_w2.service@m1']);
    const m1 = t.driver.hosts.get('m1')!;
    assert.deepEqual([...m1.files.keys()], ['prod_other_o1.service']);
    assert.equal(m1.revisions.get('prod_web_w2.service')!.at(-1)!.content.includes('/bin/app 1'), true, 'kept as a revision');
    assert.deepEqual(t.driver.calls.filter((c) => / m1( |$)/.test(c) && !c.startsWith('audit')).slice(-4), [
      'stop m1 prod_web_w2.timer prod_web_w2.service',
      'uninstall m1 prod_web_w2.service prod_web_w2.timer keep',
      'reload m1',
      'reset-failed m1 prod_web_w2.service prod_web_w2.timer',
    ]);
    assert.deepEqual(
      m1.audit.slice(-2).map((l) => l.split('\t').slice(4, 9)),
      [
        ['prod_web_w2.service', 'prune', m1.audit.at(-1)!.split('\t')[6], '-', 'started'],
        ['prod_web_w2.service', 'prune', m1.audit.at(-1)!.split('\t')[6], '-', 'ok'],
      ],
    );
    assert.equal(t.store.locks.size, 0);
    const [again] = await t.run({ mode: 'prune' });
    assert.equal(again.nothingToDo, true);

    // update --prune: the rollout, then the orphans
    fs.writeFileSync(path.join(t.work, 'env/prod/services/web/service-manifest.yml'), 'nodes:\n  - {hostname: w2, machine_id: m1}\n');
    t.setVersion('3');
    const [u] = await t.run({ prune: true });
    assert.deepEqual(u.summary!.ok, ['prod_web_w2.service@m1']);
    assert.deepEqual(u.prune!.pruned, ['prod_web_w1.service@m0']);
    assert.equal(t.driver.hosts.get('m0')!.files.size, 0);
  });
});

describe('plan files', () => {
  it('a plan applied unchanged goes through; after a live change or a tree change it is refused, naming what moved', async () => {
    const t = setup();
    await t.run();
    t.setVersion('2');
    const save = async () => {
      const plan = planFile(await buildPlan(t.ws(), t.driver, { env: 'prod', service: 'web' }), { env: 'prod', service: 'web' }, t.work, new Date(0));
      const file = path.join(t.work, '..', 'plan.json');
      writePlanFile(file, plan);
      return { plan: readPlanFile(file), file };
    };
    // someone edits a unit on a host after the plan was made
    const p1 = await save();
    assert.equal(p1.plan.units.length, 2);
    assert.equal(p1.plan.units[0].desired!.content!.includes('/bin/app 2'), true);
    assert.equal((fs.statSync(p1.file).mode & 0o777).toString(8), '600');
    t.driver.hosts.get('m1')!.files.set('prod_web_w2.service', 'edited by hand\n');
    const [r1] = await t.run({ planFile: p1 });
    assert.match(
      r1.error!.message,
      /^the plan is out of date: 1 unit\(s\) moved since it was made, nothing was changed: prod_web_w2\.service on m1: changed on the host since the plan \(content \w+ -> \w+\)/,
    );
    assert.match(t.file('m0', 'prod_web_w1.service')!, /app 1/, 'nothing changed');
    // the tree changes after the plan was made
    const p2 = await save();
    t.setVersion('3');
    const [r2] = await t.run({ planFile: p2 });
    assert.match(
      r2.error!.message,
      /prod_web_w1\.service on m0: the tree renders it differently now .*; prod_web_w2\.service on m1: the tree renders it differently now/,
    );
    // unchanged: applied exactly
    const p3 = await save();
    const [r3] = await t.run({ planFile: p3 });
    assert.equal(r3.error, undefined, r3.error?.message);
    assert.deepEqual(r3.summary!.ok.sort(), ['prod_web_w1.service@m0', 'prod_web_w2.service@m1']);
    // a plan is only good once: the hosts moved (to it)
    const [r4] = await t.run({ planFile: p3 });
    assert.match(r4.error!.message, /changed on the host since the plan/);
  });
});

describe('the whole plan, asked once', () => {
  it('quit changes nothing and says what was not done; all goes on without asking per unit; each asks per unit', async () => {
    const t = setup();
    await t.run();
    t.setVersion('2');
    const seen: string[] = [];
    const runWith = (answer: 'all' | 'each' | 'quit') =>
      t.run(
        {},
        {
          confirmPlan: async (service, items) => {
            seen.push(`${service}: ${items.map((i) => i.id).join(' ')}`);
            return answer;
          },
          prompt: async (item) => {
            seen.push(`unit ${item.id}`);
            return 'yes';
          },
        },
      );
    const [q] = await runWith('quit');
    assert.equal(q.summary!.stopped, 'quit');
    assert.deepEqual(q.summary!.notStarted, ['prod_web_w1.service@m0', 'prod_web_w2.service@m1']);
    assert.match(t.file('m0', 'prod_web_w1.service')!, /app 1/, 'nothing changed');
    assert.equal(t.store.locks.size, 0, 'the lock is released');
    const [a] = await runWith('all');
    assert.equal(a.summary!.ok.length, 2);
    assert.deepEqual(seen, ['web: prod_web_w1.service@m0 prod_web_w2.service@m1', 'web: prod_web_w1.service@m0 prod_web_w2.service@m1']);
    t.setVersion('3');
    seen.length = 0;
    await runWith('each');
    assert.deepEqual(seen.slice(1), ['unit prod_web_w1.service@m0', 'unit prod_web_w2.service@m1']);
  });
});

describe('the tree version in the audit log', () => {
  it('a tree in git: every audit line names its commit and subject (+ when it has uncommitted changes); history reads it back', async () => {
    const t = setup();
    const git = (...a: string[]) =>
      execFileSync('git', ['-C', t.work, ...a], {
        stdio: 'pipe',
        env: { ...process.env, GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@b', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@b' },
      });
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'web: version 1');
    const head = execFileSync('git', ['-C', t.work, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    await t.run();
    const history = await readHistory(t.driver, 'prod', 'web');
    assert.deepEqual(
      history.entries.map((e) => [e.unit, e.result, e.tree]),
      [
        ['prod_web_w1.service', 'ok', `${head.slice(0, 12)} web: version 1`],
        ['prod_web_w2.service', 'ok', `${head.slice(0, 12)} web: version 1`],
      ],
    );
    // uncommitted changes are marked
    t.setVersion('2');
    await t.run({}, { tree: describeTree(treeCommit(t.work + '/.')) });
    assert.equal((await readHistory(t.driver, 'prod', 'web')).entries.at(-1)!.tree, `${head.slice(0, 12)}+ web: version 1`);
  });
});

describe('health checks per node', () => {
  it("a node's healthCheck, templated with its attributes, gates that node's unit; the manifest's gates the others", async () => {
    const t = setup();
    const server = net.createServer((c) => c.end()).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const open = (server.address() as net.AddressInfo).port;
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    try {
      fs.writeFileSync(
        path.join(t.work, 'env/prod/services/web/service-manifest.yml'),
        [
          'healthCheck: {tcp: "127.0.0.1:' + open + '", timeout: 1s, interval: 200ms}',
          'nodes:',
          // The manifest is itself a template (service attributes): the node's own value needs escaping.
          '  - {hostname: w1, machine_id: m0, port: ' + open + ", healthCheck: {tcp: '127.0.0.1:{{`{{.port}}`}}', timeout: 1s}}",
          '  - {hostname: w2, machine_id: m1, port: ' + closed + ", healthCheck: {tcp: '127.0.0.1:{{`{{.port}}`}}', timeout: 1s, interval: 200ms}}",
          '',
        ].join('\n'),
      );
      const [r] = await t.run({ parallel: 1 });
      assert.deepEqual(r.summary!.ok, ['prod_web_w1.service@m0']);
      assert.equal(r.summary!.failed.length, 1);
      assert.equal(r.summary!.failed[0].unit, 'prod_web_w2.service');
      assert.match(r.summary!.failed[0].message, new RegExp(`tcp 127\\.0\\.0\\.1:${closed}`));
    } finally {
      server.close();
    }
  });

  it('a bad per-node healthCheck stops the service before any change', async () => {
    const t = setup();
    fs.writeFileSync(
      path.join(t.work, 'env/prod/services/web/service-manifest.yml'),
      "nodes:\n  - {hostname: w1, machine_id: m0}\n  - {hostname: w2, machine_id: m1, healthCheck: {http: 'ftp://{{`{{.machine_id}}`}}/'}}\n",
    );
    const [r] = await t.run();
    assert.match(r.error!.message, /healthCheck: `http:` must be an http:\/\/ or https:\/\/ URL/);
    for (const m of ['m0', 'm1']) assert.equal(t.driver.hosts.get(m)!.files.size, 0);
  });
});

describe('unit actions, check and the plan on the in-memory driver', () => {
  it('plan: new, then unchanged, then changed and orphaned units per machine', async () => {
    const t = setup();
    let plan = await buildPlan(t.ws(), t.driver, { env: 'prod', service: 'web' });
    assert.deepEqual(plan.changes.map((c) => `${c.unit}@${c.machine} ${c.kind}`).sort(), ['prod_web_w1.service@m0 new', 'prod_web_w2.service@m1 new']);
    await t.run();
    await t.driver.install('m1', 'prod_web_old.service', '[Service]\n', { keepRevision: false });
    t.setVersion('2');
    plan = await buildPlan(t.ws(), t.driver, { env: 'prod', service: 'web' });
    assert.deepEqual(plan.changes.map((c) => `${c.unit}@${c.machine} ${c.kind}`).sort(), [
      'prod_web_old.service@m1 orphan',
      'prod_web_w1.service@m0 changed',
      'prod_web_w2.service@m1 changed',
    ]);
    t.driver.hosts.get('m1')!.down = 'connection refused';
    plan = await buildPlan(t.ws(), t.driver, { env: 'prod', service: 'web' });
    assert.match(plan.errors[0].message, /host m1: connection refused/);
  });

  it('check: a stopped unit is a problem; a running, current one is not', async () => {
    const t = setup();
    await t.run();
    let plan = await buildPlan(t.ws(), t.driver, { env: 'prod', service: 'web' });
    assert.deepEqual(problemsOf(plan.changes, new Set()), []);
    await t.driver.stop('m0', ['prod_web_w1.service']);
    plan = await buildPlan(t.ws(), t.driver, { env: 'prod', service: 'web' });
    assert.deepEqual(
      problemsOf(plan.changes, new Set()).map((p) => `${p.c.unit} ${p.problem}`),
      ['prod_web_w1.service inactive/dead'],
    );
  });

  it('start, stop, restart and destroy act on the unit where the tree places it', async () => {
    const t = setup();
    const scope = { env: 'prod', service: 'web', unit: 'w1' };
    let r = await unitAction(t.ws(), t.driver, scope, 'start');
    assert.deepEqual(
      r.outcomes.map((o) => [o.machine, o.done]),
      [['m0', ['wrote prod_web_w1.service', 'reloaded', 'started prod_web_w1.service']]],
    );
    assert.equal(t.driver.hosts.get('m0')!.states.get('prod_web_w1.service')!.activeState, 'active');
    r = await unitAction(t.ws(), t.driver, scope, 'restart');
    assert.deepEqual(r.outcomes[0].done, ['restarted prod_web_w1.service']);
    r = await unitAction(t.ws(), t.driver, scope, 'stop');
    assert.deepEqual(r.outcomes[0].done, ['stopped prod_web_w1.service']);
    r = await unitAction(t.ws(), t.driver, scope, 'destroy');
    assert.deepEqual(r.outcomes[0].done, ['stopped prod_web_w1.service', 'removed prod_web_w1.service', 'reloaded']);
    assert.equal(t.file('m0', 'prod_web_w1.service'), undefined);
    r = await unitAction(t.ws(), t.driver, scope, 'restart');
    assert.match(r.outcomes[0].error!.message, /is not on this host: load or start it first/);
  });
});
