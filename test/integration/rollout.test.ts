/**
 * update / rollback / lock / history on live hosts, in both scopes (sshd + systemd --user per
 * host, or real system managers with sudo; etcd).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { upHosts, scopes, HostCluster, LiveHost, Scope } from '../harness';
import { background as ggnBackground, ggn, ggnOnTerminal } from '../support/cli';
import { liveTree, ClusterTree, liveEnvConfig } from '../support/cluster-tree';
import { assertOutput, assertRolloutLines } from '../support/output-schema';
import { screenOf } from '../support/screen';

const skip = process.getuid?.() === 0 ? false : 'the test hosts need root';

const UNIT = `[Unit]
Description=web {{.hostname}} v{{.version}}

[Service]
ExecStart=/bin/sh -c '{{if eq .version "broken"}}exit 3{{else}}echo {{.version}} >> %h/{{.hostname}}.log; exec sleep 600{{end}}'

[X-Fleet]
MachineID={{.machine_id}}
`;

for (const scope of scopes()) suite(scope);

function suite(scope: Scope): void {
  let cluster: HostCluster;
  let tree: ClusterTree;
  let h: LiveHost[];

  const run = (...args: string[]) => ggn(['-H', tree.home, ...args]);
  const setVersion = (v: string) => tree.write('env/prod/attributes/base.yml', `default:\n  version: "${v}"\n`);
  const unitPath = (host: LiveHost, n: number) => path.join(cluster.unitDir(host), `prod_web_w${n}.service`);
  const onHost = (i: number) => cluster.read(h[i], unitPath(h[i], i + 1));
  const active = (i: number) => cluster.systemctl(h[i], 'is-active', `prod_web_w${i + 1}.service`);

  /** Each host's unit file, its state and its audit log: what a run that changes nothing leaves as it was. */
  async function snapshot(): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < 3; i++) {
      const audit = path.join(cluster.stateDir(h[i]), 'audit.log');
      out.push((await onHost(i)) ?? '', await active(i), (await cluster.read(h[i], audit)) ?? '');
    }
    return out;
  }

  function background(args: string[], home = tree.home) {
    return ggnBackground(['-H', home, ...args]);
  }

  describe(`rollout on live hosts, scope ${scope}`, { skip, timeout: 300_000 }, () => {
    before(async () => {
      cluster = await upHosts(scope, 3, { name: 'rollout', etcd: true });
      h = cluster.hosts;
      tree = liveTree(cluster, {
        'env/prod/attributes/base.yml': 'default:\n  version: "1"\n',
        'env/prod/services/web/service-manifest.yml': 'nodes:\n' + h.map((x, i) => `  - hostname: w${i + 1}\n    machine_id: ${x.name}\n`).join(''),
        'env/prod/services/web/unit.tmpl': UNIT,
        'env/prod/hooks/early/10-record': '#!/bin/sh\necho "early $ACTION $SERVICE ${UNIT:-} $WHO" >> "$GGN_HOME_PATH/hooks.log"\n',
        'env/prod/hooks/late/10-record': '#!/bin/sh\necho "late $ACTION $SERVICE ${UNIT:-}" >> "$GGN_HOME_PATH/hooks.log"\n',
      });
      for (const k of ['early', 'late']) fs.chmodSync(path.join(tree.work, `env/prod/hooks/${k}/10-record`), 0o755);
    });
    after(async () => {
      await cluster?.down();
    });

    it('refuses to start without a terminal and without -y', async () => {
      const r = run('prod', 'web', 'update');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /pass -y to run it without a terminal/);
      assert.equal(await onHost(0), null);
    });

    it('converges, and a second run changes nothing', async () => {
      const r = run('prod', 'web', 'update', '-y');
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /prod\/web: 3 updated/);
      for (let i = 0; i < 3; i++) assert.equal(await active(i), 'active');
      assert.equal(run('prod', 'web', 'diff', '--exit-code').code, 0);
      assert.equal(run('prod', 'web', 'check').code, 0);
      const again = run('prod', 'web', 'update', '-y');
      assert.equal(again.code, 0);
      assert.match(again.stdout, /web: nothing to update/);
      const hooks = fs.readFileSync(path.join(tree.home, 'hooks.log'), 'utf8');
      assert.match(hooks, /^early service\/update web  tester@/m);
      assert.match(hooks, /^early unit\/update web w1 tester@/m);
      assert.match(hooks, /^late unit\/update web w3$/m);
    });

    it('rolls a changed attribute out with --json events, and history shows it', async () => {
      setVersion('2');
      const r = run('prod', 'web', 'update', '-y', '--json', '--parallel', '3');
      assert.equal(r.code, 0, r.stdout + r.stderr);
      // stdout is JSON only (one object per line), the last line the summary; the human line is on stderr.
      const lines = r.stdout.split('\n').filter(Boolean);
      const events = lines.map((l) => JSON.parse(l));
      assert.deepEqual(events.at(-1).summary.services[0].ok.length, 3);
      assert.equal(events.at(-1).summary.exitCode, 0);
      assert.match(r.stderr, /prod\/web: 3 updated/);
      const steps = events.filter((e) => e.unit === 'prod_web_w2.service' && e.result === 'ok').map((e) => e.step);
      assert.deepEqual(steps, ['hooks-early', 'write', 'reload', 'restart', 'wait-active', 'health', 'hooks-late', 'done']);
      assert.ok(events.slice(0, -1).every((e) => e.info || (e.host && typeof e.time === 'string')));
      assert.match((await onHost(1))!, /v2/);
      const hist = run('prod', 'web', 'history');
      assert.equal(hist.code, 0, hist.stderr);
      assert.match(hist.stdout, new RegExp(`tester@\\S+ +prod_web_w2\\.service +${h[1].name} +update +[0-9a-f]{12} +[0-9a-f]{12} +ok`));
    });

    it('a unit whose new version fails to start is restored, and the rollout stops', async () => {
      setVersion('broken');
      const before = await onHost(0);
      const r = run('prod', 'web', 'update', '-y');
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(`error: unit prod_web_w1\\.service, host ${h[0].name}: update failed at (restart|wait-active): .*\\(restored to its previous version\\)`),
      );
      assert.match(r.stdout, /1 failed, 2 not started \(stopped after a failure\)/);
      assert.equal(await onHost(0), before, 'previous bytes are back');
      assert.equal(await active(0), 'active', 'and running again');
      assert.match((await onHost(1))!, /v2/, 'the next units were not touched');
      assert.match(run('prod', 'web', 'history').stdout, /failed at (restart|wait-active), restored/);
      setVersion('2');
    });

    it("--settle's default catches a service that dies a moment after it started (as a failing Python or Node start does)", async () => {
      tree.write('env/prod/services/slow/service-manifest.yml', `nodes:\n  - hostname: s1\n    machine_id: ${h[0].name}\n`);
      tree.write('env/prod/services/slow/unit.tmpl', "[Service]\nExecStart=/bin/sh -c 'sleep 0.3; exit 1'\n\n[X-Fleet]\nMachineID={{.machine_id}}\n");
      const unit = path.join(cluster.unitDir(h[0]), 'prod_slow_s1.service');
      try {
        const r = ggn(['-H', tree.home, 'prod', 'slow', 'update', '-y'], { defaultSettle: true });
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, new RegExp(`unit prod_slow_s1\\.service, host ${h[0].name}: update failed at wait-active: .*(did not stay up|exited|failed)`));
        assert.equal(await cluster.read(h[0], unit), null, 'the new unit is removed again');
      } finally {
        fs.rmSync(path.join(tree.work, 'env/prod/services/slow'), { recursive: true, force: true });
      }
    });

    it('rollback puts back the previous revision of every unit', async () => {
      setVersion('3');
      assert.equal(run('prod', 'web', 'update', '-y', '--parallel', '3').code, 0);
      assert.match((await onHost(2))!, /v3/);
      const r = run('prod', 'web', 'rollback', '-y');
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /3 rolled back/);
      for (let i = 0; i < 3; i++) {
        assert.match((await onHost(i))!, /v2/);
        assert.equal(await active(i), 'active');
      }
      assert.match(run('prod', 'web', 'diff').stdout, /3 changed/, 'the tree (v3) now differs from the hosts');
      const rs = path.join(cluster.stateDir(h[0]), 'revisions/prod_web_w1.service');
      const kept = await cluster.list(h[0], rs);
      assert.ok(kept.length > 0 && kept.length <= 5, kept.join(' '));
      // (scope system: /etc/systemd/system also holds the distribution's own entries)
      const mine = (await cluster.list(h[0], cluster.unitDir(h[0]))).filter((f) => f.startsWith('prod_') || f.includes('ggn'));
      assert.ok(!mine.some((f) => !f.endsWith('.service') && !f.endsWith('.timer')), `ggn leaves only unit files in the unit directory: ${mine.join(' ')}`);
    });

    it('rollback --to a content hash puts back that revision of one unit; at service level a unit without it refuses, changing nothing', async () => {
      const rs = path.join(cluster.stateDir(h[0]), 'revisions/prod_web_w1.service');
      let v1: string | undefined;
      for (const f of await cluster.list(h[0], rs)) {
        const c = /^\d+$/.test(f) ? await cluster.read(h[0], path.join(rs, f)) : null;
        if (c && /v1/.test(c)) v1 = c;
      }
      assert.ok(v1, 'v1 is kept on the host');
      const hash = crypto.createHash('sha256').update(v1).digest('hex').slice(0, 12);
      const refused = run('prod', 'web', 'rollback', '-y', '--to', hash);
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        /no revision with that content hash is kept of prod_web_w2\.service on \S+, prod_web_w3\.service on \S+; nothing was changed/,
      );
      for (let i = 0; i < 3; i++) assert.match((await onHost(i))!, /v2/);
      const r = run('prod', 'web', 'w1', 'rollback', '-y', '--to', hash);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(await onHost(0), v1);
      assert.equal(await active(0), 'active');
      assert.match((await onHost(1))!, /v2/);
      assert.match(run('prod', 'web', 'list-units').stdout, new RegExp(`prod_web_w1\\.service .*${hash}`));
      assert.equal(run('prod', 'web', 'w1', 'rollback', '-y', '--to', 'xyz').code, 2, 'a ref that is no hash is a usage error');
    });

    it('at a terminal: the whole plan, then one question; quit changes nothing and exits 1; all shows the live task list', async () => {
      setVersion('5');
      const before = await Promise.all([0, 1, 2].map(onHost));
      const quit = ggnOnTerminal(['-H', tree.home, 'prod', 'web', 'update'], [{ expect: '[q]uit? ', send: 'q\r' }]);
      assert.equal(quit.code, 1, quit.output);
      assert.match(quit.output, /prod\/web: 3 unit\(s\) to update/);
      assert.match(quit.output, /3 unit\(s\) on 3 host\(s\), 6 line\(s\) added, 6 removed/);
      assert.match(quit.output, /prod\/web: 0 updated, 3 not started \(quit\)/);
      assert.match(
        quit.output,
        new RegExp(`not started: prod_web_w1\\.service@${h[0].name}, prod_web_w2\\.service@${h[1].name}, prod_web_w3\\.service@${h[2].name}`),
      );
      assert.deepEqual(await Promise.all([0, 1, 2].map(onHost)), before, 'nothing changed');
      const all = ggnOnTerminal(['-H', tree.home, 'prod', 'web', 'update'], [{ expect: '[q]uit? ', send: 'a\r' }]);
      assert.equal(all.code, 0, all.output);
      const { lines } = screenOf(all.raw, 40);
      for (let i = 0; i < 3; i++) {
        const done = lines.filter((l) => l.startsWith(`✔ prod_web_w${i + 1}.service@${h[i].name}  done in `));
        assert.equal(done.length, 1, `the task list shows each unit done, once: ${lines.join(' | ')}`);
        assert.match((await onHost(i))!, /v5/);
      }
      assert.doesNotMatch(all.output, /\d\dZ prod_web_w\d\.service@\S+ write ok/, 'no plain event lines: the task list shows them');
      assert.match(all.output, /prod\/web: 3 updated/);
    });

    it('two concurrent updates of one service: exactly one proceeds', async () => {
      setVersion('4');
      const other = path.join(tree.base, 'home2');
      fs.mkdirSync(other, { recursive: true });
      fs.writeFileSync(path.join(other, 'config.yml'), `workPath: ${tree.work}\nuser: other\n`);
      const a = background(['prod', 'web', 'update', '-y']);
      const b = background(['prod', 'web', 'update', '-y'], other);
      const [ra, rb] = await Promise.all([a.done, b.done]);
      const codes = [ra.code, rb.code].sort();
      assert.deepEqual(codes, [0, 1], ra.stderr + rb.stderr);
      const loser = ra.code === 1 ? ra : rb;
      assert.match(loser.stderr, /^error: service web is locked by \[(tester|other)@\S+\] update web \(run [0-9a-f]{8}, renewed \d+s ago, \d+s left\)$/m);
    });

    it('Ctrl-C during a rollout restores the unit in flight, releases the lock, exits 130', async () => {
      setVersion('5');
      const before = await onHost(0);
      const p = background(['prod', 'web', 'update', '-y', '--json', '--settle', '1s']);
      // The write's round trip also starts the unit and watches it settle for 1 s on the host:
      // the signal comes while it runs, and is acted on when it returns.
      await p.until((e) => e.unit === 'prod_web_w1.service' && e.step === 'write' && e.result === 'started');
      p.process.kill('SIGINT');
      const r = await p.done;
      assert.equal(r.code, 130, r.stderr);
      assert.match(r.stderr, /SIGINT: stopping/);
      assert.match(r.stderr, /0 updated, 1 interrupted and restored, 2 not started \(interrupted\)/);
      assert.equal(await onHost(0), before);
      assert.equal(await active(0), 'active');
      assert.doesNotMatch((await onHost(2))!, /v5/);
      const lock = run('prod', 'web', 'lock', '-t', '1m', 'checking');
      assert.equal(lock.code, 0, lock.stderr);
      assert.equal(run('prod', 'web', 'unlock').code, 0);
    });

    it('a reader that goes away (| head) does not stop the rollout: every unit updated, the lock released, no stack trace', async () => {
      setVersion('5b');
      const p = background(['prod', 'web', 'update', '-y', '--json']);
      // The first event read, then the pipe closed, as `| head -1` does: later writes get EPIPE.
      // (Before, the first of them threw: a stack trace, nothing updated, the lock left behind.)
      await p.until(() => true);
      p.process.stdout!.destroy();
      const r = await p.done;
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at /);
      for (let i = 0; i < 3; i++) assert.match((await onHost(i)) ?? '', /^Description=web w\d v5b$/m);
      const lock = run('prod', 'web', 'lock', '-t', '1m', 'checking');
      assert.equal(lock.code, 0, lock.stderr);
      assert.equal(run('prod', 'web', 'unlock').code, 0);
    });

    it('a host killed mid-rollout ends with a named error and no half-written unit', async () => {
      setVersion('6');
      const old = await onHost(1);
      const p = background(['prod', 'web', 'update', '-y', '--json']);
      await p.until((e) => e.unit === 'prod_web_w1.service' && e.step === 'done');
      await cluster.kill(h[1]);
      const r = await p.done;
      // the host boots again, with what its disk holds (the system hosts' files are only readable then)
      await cluster.restart(h[1]);
      {
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`host ${h[1].name}`));
        const content = await onHost(1);
        assert.ok(content === old || /^Description=web w2 v6$/m.test(content ?? ''), `whole old or new bytes, got ${content}`);
        if (content !== old) assert.equal(run('prod', 'web', 'generate', '-q').code, 0);
        if (content !== old) assert.equal(content, fs.readFileSync(path.join(tree.work, 'env/prod/services/web/units/prod_web_w2.service'), 'utf8'));
        assert.ok(!(await cluster.list(h[1], cluster.unitDir(h[1]))).some((f) => f.includes('ggn-tmp')), 'no temporary file left behind');
      }
    });

    it('a hung host ends with a named error within the keepalive window', async () => {
      setVersion('7');
      await cluster.hang(h[2]);
      try {
        const t0 = Date.now();
        const r = run('prod', 'web', 'update', '-y', '--parallel', '3');
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`host ${h[2].name}`));
        assert.ok(Date.now() - t0 < 15_000, 'does not hang');
      } finally {
        await cluster.resume(h[2]);
      }
    });

    it('a failing health check restores the unit; a passing one lets the rollout go on', async () => {
      tree.write(
        'env/prod/services/api/service-manifest.yml',
        `healthCheck:\n  exec: [sh, -c, 'test -f "$HOME/api-ready"']\n  timeout: 2s\n  interval: 200ms\nnodes:\n  - hostname: a1\n    machine_id: ${h[0].name}\n`,
      );
      tree.write(
        'env/prod/services/api/unit.tmpl',
        '[Service]\nExecStart=/bin/sleep 600\nEnvironment=V={{.version}}\n\n[X-Fleet]\nMachineID={{.machine_id}}\n',
      );
      const bad = run('prod', 'api', 'update', '-y');
      assert.equal(bad.code, 1);
      assert.match(
        bad.stderr,
        new RegExp(`unit prod_api_a1\\.service, host ${h[0].name}: update failed at health: exec sh -c .*exit 1.*\\(restored to its previous version\\)`),
      );
      assert.equal(await cluster.read(h[0], path.join(cluster.unitDir(h[0]), 'prod_api_a1.service')), null, 'a new unit that fails is removed');
      await cluster.write(h[0], path.join(cluster.loginHome(h[0]), 'api-ready'), '');
      const good = run('prod', 'api', 'update', '-y');
      assert.equal(good.code, 0, good.stderr);
    });

    it('updates one unit with --force even when it is up to date', async () => {
      assert.equal(run('prod', 'web', 'w3', 'update', '-y').code, 0);
      const converged = await onHost(2);
      const again = run('prod', 'web', 'w3', 'update', '-y');
      assert.equal(again.code, 0);
      assert.match(again.stdout, /web: nothing to update/);
      const pid = await cluster.systemctl(h[2], 'show', '-p', 'MainPID', '--value', 'prod_web_w3.service');
      const r = run('prod', 'web', 'w3', 'update', '-y', '--force');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /prod\/web: 1 updated/);
      assert.equal(await onHost(2), converged, 'same bytes');
      assert.notEqual(await cluster.systemctl(h[2], 'show', '-p', 'MainPID', '--value', 'prod_web_w3.service'), pid, 'restarted');
    });

    it('an env-level update follows updateOrder from the env config', async () => {
      const config = path.join(tree.work, 'env/prod/config.yml');
      fs.writeFileSync(config, liveEnvConfig(cluster, { extra: 'updateOrder: [web, api]\n' }));
      setVersion('9');
      const r = run('prod', 'update', '-y', '--parallel', '3');
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const webAt = r.stdout.indexOf('prod/web:');
      const apiAt = r.stdout.indexOf('prod/api:');
      assert.ok(webAt >= 0 && apiAt > webAt, r.stdout);
      fs.writeFileSync(config, liveEnvConfig(cluster));
    });

    it('the etcd lock works against the real etcd; an unreachable one is an error before anything changes', async () => {
      const config = path.join(tree.work, 'env/prod/config.yml');
      fs.writeFileSync(config, liveEnvConfig(cluster, { extra: `lock:\n  backend: etcd\n  endpoints: [${cluster.etcd!.endpoint}]\n` }));
      const l = run('prod', 'web', 'lock', '-t', '10m', 'maintenance');
      assert.equal(l.code, 0, l.stderr);
      assert.match(l.stdout, /web locked by \[tester@\S+\] maintenance for 10m/);
      const other = path.join(tree.base, 'home3');
      fs.mkdirSync(other, { recursive: true });
      fs.writeFileSync(path.join(other, 'config.yml'), `workPath: ${tree.work}\nuser: someone\n`);
      setVersion('8');
      const blocked = ggn(['-H', other, 'prod', 'web', 'update', '-y']);
      assert.equal(blocked.code, 1);
      assert.match(blocked.stderr, /service web is locked by \[tester@\S+\] maintenance \(locked by hand, (\d+h)?\d+m\d+s left\)/);
      assert.doesNotMatch((await onHost(0))!, /v8/);
      assert.equal(run('prod', 'web', 'unlock').code, 0);
      fs.writeFileSync(config, liveEnvConfig(cluster, { extra: 'lock:\n  backend: etcd\n  endpoints: [http://127.0.0.1:1]\n' }));
      const down = run('prod', 'web', 'update', '-y');
      assert.equal(down.code, 1);
      assert.match(down.stderr, /etcd lock backend .*127\.0\.0\.1:1.* unreachable/);
      assert.doesNotMatch((await onHost(0))!, /v8/);
      fs.writeFileSync(config, liveEnvConfig(cluster));
    });

    it('--dry-run lists the steps and changes nothing: unit files, states and audit logs are the same after', async () => {
      setVersion('10');
      const before = await snapshot();
      const r = run('prod', 'web', 'update', '--dry-run');
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /would update prod_web_w1\.service on \S+ \(changed\): early hooks, write prod_web_w1\.service \(revision kept\), reload, restart/,
      );
      assert.match(r.stdout, /prod\/web: dry run: 3 unit\(s\) would be updated, nothing changed/);
      assert.deepEqual(await snapshot(), before);
    });

    it('preflight: an env-level update with a template error in a later service touches no host', async () => {
      // web (changed: v10) comes before worker in the update order; worker cannot render.
      tree.write('env/prod/services/worker/service-manifest.yml', `nodes:\n  - hostname: k1\n    machine_id: ${h[1].name}\n`);
      tree.write('env/prod/services/worker/unit.tmpl', '[Service]\nExecStart=/bin/sleep {{nosuchfunction .version}}\n');
      try {
        const before = await snapshot();
        const r = run('prod', 'update', '-y', '--parallel', '3');
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /worker.*nosuchfunction.*\(preflight: nothing was changed\)/);
        assert.deepEqual(await snapshot(), before, 'unit files, states and audit logs unchanged');
        assert.doesNotMatch(r.stdout, /locked/, 'no lock was taken');
      } finally {
        fs.rmSync(path.join(tree.work, 'env/prod/services/worker'), { recursive: true, force: true });
      }
    });

    it('diff --out writes a plan; show prints it; update --plan applies exactly it, and refuses a stale one naming what moved', async () => {
      assert.equal(run('prod', 'web', 'update', '-y', '--parallel', '3').code, 0);
      setVersion('11');
      const file = path.join(tree.base, 'plan.json');
      const d = run('prod', 'web', 'diff', '--out', file);
      assert.equal(d.code, 0, d.stderr);
      assert.match(d.stderr, /plan written to .*plan\.json/);
      const show = ggn(['show', file]);
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, /^plan for prod web, made \S+ by ggn \S+, tree not in git\n/);
      assert.match(show.stdout, /^-Description=web w1 v10$/m);
      assert.match(show.stdout, /^\+Description=web w1 v11$/m);
      assert.match(show.stdout, /3 changed, 0 new, 0 orphaned, 0 unchanged\n$/);
      // a live change after the plan: refused, nothing changed
      await cluster.write(h[1], unitPath(h[1], 2), (await onHost(1))!.replace('v10', 'v10-hotfix'));
      const stale = run('prod', 'update', '-y', '--plan', file);
      assert.equal(stale.code, 1);
      assert.match(
        stale.stderr,
        /the plan is out of date: 1 unit\(s\) moved since it was made, nothing was changed: prod_web_w2\.service on \S+: changed on the host since the plan/,
      );
      assert.match((await onHost(0))!, /v10$/m);
      // a fresh plan, applied as it is
      assert.equal(run('prod', 'web', 'diff', '--out', file).code, 0);
      const ok = run('prod', 'update', '-y', '--parallel', '3', '--plan', file);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /prod\/web: 3 updated/);
      for (let i = 0; i < 3; i++) assert.match((await onHost(i))!, /v11$/m);
      // and a tree change after the plan is refused too
      assert.equal(run('prod', 'web', 'diff', '--out', file).code, 0);
      setVersion('12');
      const moved = run('prod', 'update', '-y', '--plan', file);
      assert.equal(moved.code, 1);
      assert.match(moved.stderr, /prod_web_w1\.service on \S+: the tree renders it differently now/);
      setVersion('11');
    });

    it('--json of diff, check, list-units, update, rollback, prune, history, validate and the unit actions follows schemas/output.schema.json', async () => {
      setVersion('13');
      const d = run('prod', 'web', 'diff', '--json');
      assert.equal(d.code, 0, d.stderr);
      const diff = JSON.parse(d.stdout);
      assertOutput('diff', diff);
      assert.equal(diff.changes[0].kind, 'changed');
      assert.equal(diff.changes[0].host, h[0].name);
      const u = run('prod', 'web', 'update', '-y', '--json', '--parallel', '3');
      assert.equal(u.code, 0, u.stderr);
      assertRolloutLines(u.stdout);
      const c = run('prod', 'web', 'check', '--json');
      assertOutput('check', JSON.parse(c.stdout));
      const l = run('prod', 'web', 'list-units', '--json');
      const units = JSON.parse(l.stdout);
      assertOutput('listUnits', units);
      assert.deepEqual(units.units[0].state, { load: 'loaded', active: 'active', sub: 'running' });
      // what runs where: the live content's hash, and who put it there
      assert.match(units.units[0].revision, /^[0-9a-f]{12}$/);
      assert.equal(units.units[0].deployed.action, 'update');
      assert.match(units.units[0].deployed.by, /^tester@/);
      const envHistory = JSON.parse(run('prod', 'history', '--json', '-n', '500').stdout);
      assertOutput('history', envHistory);
      assert.ok(envHistory.entries.some((e: { service: string }) => e.service === 'web'));
      const rb = run('prod', 'web', 'rollback', '-y', '--json');
      assert.equal(rb.code, 0, rb.stderr);
      assertRolloutLines(rb.stdout);
      assertRolloutLines(run('prod', 'web', 'prune', '-y', '--json').stdout);
      const hist = JSON.parse(run('prod', 'web', 'history', '--json').stdout);
      assertOutput('history', hist);
      assert.ok(hist.entries.some((e: { action: string; host: string }) => e.action === 'rollback' && e.host === h[0].name));
      assertOutput('validate', JSON.parse(run('prod', 'validate', '--json').stdout));
      const restart = run('prod', 'web', 'w1', 'restart', '--json');
      assert.equal(restart.code, 0, restart.stderr);
      const action = JSON.parse(restart.stdout);
      assertOutput('unitAction', action);
      assert.deepEqual(
        action.hosts.map((x: { host: string; error: unknown }) => [x.host, x.error]),
        [[h[0].name, null]],
      );
      assert.ok(action.hosts[0].done.length > 0);
      // a failure is JSON too
      setVersion('broken');
      const f = run('prod', 'web', 'update', '-y', '--json');
      assert.equal(f.code, 1);
      const last = assertRolloutLines(f.stdout).at(-1) as { summary: { exitCode: number } };
      assert.equal(last.summary.exitCode, 1);
      setVersion('13');
      assert.equal(run('prod', 'web', 'update', '-y', '--parallel', '3').code, 0);
    });

    it('prune removes exactly the orphans, keeping a revision; destroy takes an orphan by its full name', async () => {
      const manifest = path.join(tree.work, 'env/prod/services/web/service-manifest.yml');
      const full = fs.readFileSync(manifest, 'utf8');
      assert.equal(run('prod', 'web', 'update', '-y', '--parallel', '3').code, 0);
      fs.writeFileSync(
        manifest,
        'nodes:\n' +
          h
            .slice(0, 2)
            .map((x, i) => `  - hostname: w${i + 1}\n    machine_id: ${x.name}\n`)
            .join(''),
      );
      try {
        const diff = run('prod', 'web', 'diff');
        assert.match(diff.stdout, /prod_web_w3\.service on \S+: orphan/);
        const dry = run('prod', 'web', 'prune', '--dry-run');
        assert.equal(dry.code, 0, dry.stderr);
        assert.match(dry.stdout, /would prune prod_web_w3\.service on \S+ \(no longer in the tree\): stop, remove \(revision kept\), reload, reset-failed/);
        assert.notEqual(await onHost(2), null);
        const refused = run('prod', 'web', 'prune');
        assert.equal(refused.code, 1, 'needs -y without a terminal');
        const r = run('prod', 'web', 'prune', '-y');
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /prod\/web: 1 pruned/);
        assert.equal(await onHost(2), null, 'the orphan is gone');
        assert.notEqual(await onHost(0), null, 'the others stay');
        assert.notEqual(await active(2), 'active');
        const revs = path.join(cluster.stateDir(h[2]), 'revisions/prod_web_w3.service');
        let keptRevision = false;
        for (const n of await cluster.list(h[2], revs))
          if (/^\d+$/.test(n) && (await cluster.read(h[2], path.join(revs, n)))?.includes('web w3')) keptRevision = true;
        assert.ok(keptRevision, 'kept as a revision');
        assert.match((await cluster.read(h[2], path.join(cluster.stateDir(h[2]), 'audit.log')))!, /\tprod_web_w3\.service\tprune\t\S+\t-\tok\t/);
        assert.equal(run('prod', 'web', 'diff', '--exit-code').code, 0, 'nothing left to do');
        // an orphan made by hand: unknown to the tree, destroy takes its full name
        const stray = path.join(cluster.unitDir(h[0]), 'prod_web_w9.service');
        await cluster.write(h[0], stray, '[Service]\nExecStart=/bin/sleep 600\n');
        await cluster.systemctl(h[0], 'daemon-reload');
        const d = run('prod', 'web', 'prod_web_w9.service', 'destroy', '-y');
        assert.equal(d.code, 0, d.stdout + d.stderr);
        assert.equal(await cluster.read(h[0], stray), null);
        const unknown = run('prod', 'web', 'prod_web_w8.service', 'start');
        assert.equal(unknown.code, 2, 'only destroy takes a unit that is not in the tree');
      } finally {
        fs.writeFileSync(manifest, full);
      }
    });
  });
}
