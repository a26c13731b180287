/**
 * ggn in production's mode, `ssh: {scope: system, sudo: true, user: deploy}`, against real
 * systemd system managers (test/harness/system-hosts.ts: one systemd-nspawn container per host,
 * units in /etc/systemd/system, `sudo -n systemctl`, journald, ggn's state in /var/lib/ggn).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { upSystem, SystemCluster, SystemHost } from '../harness';
import { background, ggn } from '../support/cli';
import { ClusterTree, systemClusterTree, systemEnvConfigFor } from '../support/cluster-tree';
import { encryptSops } from '../../src/secrets/sops';
import { parseKeys } from '../../src/secrets/identities';

const skip = process.getuid?.() === 0 ? false : 'the system test hosts (systemd-nspawn) need root';

let cluster: SystemCluster;
let tree: ClusterTree;
let h: SystemHost[];

// stdout goes to the host's journal: `journal` must show these lines
const UNIT = `[Unit]
Description=web {{.hostname}} v{{.version}}

[Service]
ExecStart=/bin/sh -c '{{if eq .version "broken"}}echo web {{.hostname}} cannot start: no config; exit 3{{else}}echo web {{.hostname}} started v{{.version}}; exec sleep 600{{end}}'

[X-Fleet]
MachineID={{.machine_id}}
`;

const run = (...args: string[]) => {
  const t = Date.now();
  const r = ggn(['-H', tree.home, ...args]);
  if (process.env.GGN_HARNESS_TRACE) process.stderr.write(`[ggn ${args.join(' ')}: ${Date.now() - t} ms]\n`);
  return r;
};
const setVersion = (v: string) => tree.write('env/prod/attributes/base.yml', `default:\n  version: "${v}"\n`);
const unit = (i: number) => `prod_web_w${i + 1}.service`;
const unitPath = (i: number) => `/etc/systemd/system/${unit(i)}`;
const configFile = () => path.join(tree.work, 'env/prod/config.yml');

/** Runs a command as root on host i (no ssh) and returns its stdout; fails the test on a non-zero exit. */
async function onHost(i: number, ...argv: string[]): Promise<string> {
  const r = await cluster.exec(h[i], argv);
  assert.equal(r.code, 0, `${h[i].name}: ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}
/** The unit file's bytes on host i, or null when it is not there. */
async function unitOn(i: number): Promise<string | null> {
  const r = await cluster.exec(h[i], ['cat', unitPath(i)]);
  return r.code === 0 ? r.stdout : null;
}
const show = (i: number, prop: string) => onHost(i, 'systemctl', 'show', '-p', prop, '--value', unit(i));
const active = async (i: number) => (await cluster.exec(h[i], ['systemctl', 'is-active', unit(i)])).stdout.trim();
/** "owner:group mode" of paths on host i. */
const owners = (i: number, ...paths: string[]) => onHost(i, 'stat', '-c', '%U:%G %a %n', ...paths);

describe('scope system: real systemd system managers, sudo -n as deploy', { skip, timeout: 300_000 }, () => {
  before(async () => {
    cluster = await upSystem(3, { dir: '/tmp/ggn-test-system-scope', rootLogin: true });
    h = cluster.hosts;
    tree = systemClusterTree(cluster, {
      'env/prod/attributes/base.yml': 'default:\n  version: "1"\n',
      'env/prod/services/web/service-manifest.yml': 'nodes:\n' + h.map((x, i) => `  - hostname: w${i + 1}\n    machine_id: ${x.name}\n`).join(''),
      'env/prod/services/web/unit.tmpl': UNIT,
    });
  });
  after(async () => {
    await cluster?.down();
  });

  it('diff shows every unit as new, exit code 2 with --exit-code', () => {
    const r = run('prod', 'web', 'diff', '--exit-code');
    assert.equal(r.code, 2, r.stdout + r.stderr);
    for (let i = 0; i < 3; i++) assert.match(r.stdout, new RegExp(`# ${unit(i).replace('.', '\\.')} on ${h[i].name}: new`));
    assert.match(r.stdout, /0 changed, 3 new, 0 orphaned, 0 unchanged/);
  });

  it('update converges: units in /etc/systemd/system owned by root, 0644, run by the system manager; check is happy', async () => {
    const r = run('prod', 'web', 'update', '-y', '--parallel', '3');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /prod\/web: 3 updated/);
    for (let i = 0; i < 3; i++) {
      assert.equal(await owners(i, unitPath(i)), `root:root 644 ${unitPath(i)}`);
      assert.match((await unitOn(i))!, new RegExp(`^Description=web w${i + 1} v1$`, 'm'));
      assert.equal(await active(i), 'active');
      assert.equal(await show(i, 'ControlGroup'), `/system.slice/${unit(i)}`, 'run by the system manager, not a user manager');
    }
    assert.equal(
      await owners(0, '/var/lib/ggn', '/var/lib/ggn/audit.log', '/var/lib/ggn/revisions'),
      'root:root 700 /var/lib/ggn\nroot:root 644 /var/lib/ggn/audit.log\nroot:root 755 /var/lib/ggn/revisions',
    );
    assert.doesNotMatch(await onHost(0, 'ls', '-A', '/home/deploy'), /\.local|\.config/, "nothing of ggn in the login's home");
    const d = run('prod', 'web', 'diff', '--exit-code');
    assert.equal(d.code, 0, d.stdout + d.stderr);
    const c = run('prod', 'web', 'check');
    assert.equal(c.code, 0, c.stdout + c.stderr);
    assert.match(c.stdout, /3 of 3 units ok/);
  });

  it('a changed attribute rolls out with a root-owned revision in /var/lib/ggn; rollback puts v1 back', async () => {
    setVersion('2');
    const r = run('prod', 'web', 'update', '-y', '--parallel', '3');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match((await unitOn(1))!, /^Description=web w2 v2$/m);
    const rev = '/var/lib/ggn/revisions/prod_web_w2.service/1';
    assert.equal(await owners(1, rev), `root:root 600 ${rev}`, 'revisions are private: one may hold a secret');
    assert.match(await onHost(1, 'cat', rev), /^Description=web w2 v1$/m);
    const rb = run('prod', 'web', 'rollback', '-y', '--parallel', '3');
    assert.equal(rb.code, 0, rb.stdout + rb.stderr);
    assert.match(rb.stdout, /3 rolled back/);
    for (let i = 0; i < 3; i++) {
      assert.match((await unitOn(i))!, new RegExp(`^Description=web w${i + 1} v1$`, 'm'));
      assert.equal(await active(i), 'active');
    }
    assert.match(run('prod', 'web', 'history').stdout, /tester@\S+ +prod_web_w3\.service +sys3 +rollback +[0-9a-f]{12} +[0-9a-f]{12} +ok/);
  });

  it('a unit that holds a secret is root-owned 0600, and so are its revisions', async () => {
    const key = parseKeys(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'sops', 'sops-age-key.txt'), 'utf8'), false)[0];
    const recipient = 'age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr';
    const setSecret = async (pw: string) =>
      tree.write('env/prod/services/db/attributes/secret.yml', await encryptSops(`default:\n  db:\n    password: ${pw}\n`, { recipients: [recipient] }));
    tree.write('env/prod/services/db/service-manifest.yml', `nodes:\n  - hostname: d1\n    machine_id: ${h[0].name}\n`);
    tree.write(
      'env/prod/services/db/unit.tmpl',
      "[Service]\nEnvironment=DB_PASSWORD={{.db.password}}\nExecStart=/bin/sh -c 'exec sleep 600'\n\n[X-Fleet]\nMachineID={{.machine_id}}\n",
    );
    await setSecret('first-secret-value');
    const env = { SOPS_AGE_KEY: key };
    const u = '/etc/systemd/system/prod_db_d1.service';
    const r1 = ggn(['-H', tree.home, 'prod', 'db', 'update', '-y'], { env });
    assert.equal(r1.code, 0, r1.stdout + r1.stderr);
    assert.equal(await owners(0, u), `root:root 600 ${u}`);
    await setSecret('second-secret-value');
    const r2 = ggn(['-H', tree.home, 'prod', 'db', 'update', '-y'], { env });
    assert.equal(r2.code, 0, r2.stdout + r2.stderr);
    const rev = '/var/lib/ggn/revisions/prod_db_d1.service/1';
    assert.equal(await owners(0, u, rev), `root:root 600 ${u}\nroot:root 600 ${rev}`);
    assert.match(await onHost(0, 'cat', rev), /first-secret-value/);
    for (const r of [r1, r2]) assert.doesNotMatch(r.stdout + r.stderr, /first-secret-value|second-secret-value/);
    const gone = ggn(['-H', tree.home, 'prod', 'db', 'd1', 'destroy', '-y'], { env });
    assert.equal(gone.code, 0, gone.stdout + gone.stderr);
  });

  it('status, journal (real journald), stop, start, restart, destroy', async () => {
    const st = run('prod', 'web', 'w1', 'status');
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, new RegExp(`# prod_web_w1\\.service on ${h[0].name}`));
    assert.match(st.stdout, /Loaded: loaded \(\/etc\/systemd\/system\/prod_web_w1\.service/);
    assert.match(st.stdout, /Active: active \(running\)/);

    const j = run('prod', 'web', 'w1', 'journal', '-l', '20');
    assert.equal(j.code, 0, j.stderr);
    assert.match(j.stdout, /sys1 systemd\[1\]: Started prod_web_w1\.service - web w1 v1\./);
    assert.match(j.stdout, /sys1 sh\[\d+\]: web w1 started v1$/m, "the service's own stdout, through journald");

    const stop = run('prod', 'web', 'w1', 'stop');
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(await active(0), 'inactive');
    const start = run('prod', 'web', 'w1', 'start');
    assert.equal(start.code, 0, start.stderr);
    assert.equal(await active(0), 'active');
    const pid = await show(0, 'MainPID');
    const restart = run('prod', 'web', 'w1', 'restart');
    assert.equal(restart.code, 0, restart.stderr);
    assert.equal(await active(0), 'active');
    assert.notEqual(await show(0, 'MainPID'), pid, 'a new process');

    const d = run('prod', 'web', 'w1', 'destroy', '-y');
    assert.equal(d.code, 0, d.stderr);
    assert.equal(await unitOn(0), null);
    assert.equal(await show(0, 'LoadState'), 'not-found');
  });

  it('the ssh lock lives in /var/lib/ggn, owned by root, and blocks another user', async () => {
    const l = run('prod', 'web', 'lock', '-t', '1h', 'kernel upgrade');
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stdout, /web locked by \[tester@\S+\] kernel upgrade for 1h0m0s \(ssh lock on sys1\)/);
    const info = '/var/lib/ggn/locks/prod/web.lock/info';
    assert.equal(await owners(0, info), `root:root 644 ${info}`);
    assert.match(await onHost(0, 'cat', info), /"message":"kernel upgrade"/);
    const other = path.join(tree.base, 'home-other');
    fs.mkdirSync(other, { recursive: true });
    fs.writeFileSync(path.join(other, 'config.yml'), `workPath: ${tree.work}\nuser: other\n`);
    const blocked = ggn(['-H', other, 'prod', 'web', 'update', '-y']);
    assert.equal(blocked.code, 1);
    assert.match(blocked.stderr, /service web is locked by \[tester@\S+\] kernel upgrade \(locked by hand, (\d+h)?\d+m\d+s left\)/);
    assert.equal(await unitOn(0), null, 'nothing changed');
    const u = run('prod', 'web', 'unlock');
    assert.equal(u.code, 0, u.stderr);
    assert.equal((await cluster.exec(h[0], ['test', '-e', '/var/lib/ggn/locks/prod/web.lock'])).code, 1, 'the lock directory is gone');
  });

  it('a unit whose new version fails to start is restored, and the rollout stops', async () => {
    setVersion('3');
    const ok = run('prod', 'web', 'update', '-y', '--parallel', '3');
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    setVersion('broken');
    const r = run('prod', 'web', 'update', '-y');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /error: unit prod_web_w1\.service, host sys1: update failed at wait-active: .*; systemd: exit-code, failed\/failed, exit status 3 \(restored to its previous version\)/,
    );
    // why, from journald, asked before the restore
    assert.match(r.stderr, /^ {2}last journal lines of prod_web_w1\.service on sys1:\n(?: {4}.*\n)*? {4}web w1 cannot start: no config\n/m);
    const json = run('prod', 'web', 'update', '-y', '--json');
    assert.equal(json.code, 1);
    const failed = JSON.parse(json.stdout.trim().split('\n').at(-1)!).summary.services[0].failed[0];
    assert.deepEqual(failed.systemd, { result: 'exit-code', state: 'failed/failed', exitStatus: 3, signal: null });
    assert.ok(failed.journal.includes('web w1 cannot start: no config'), failed.journal.join('\n'));
    assert.match(r.stdout, /1 failed, 2 not started \(stopped after a failure\)/);
    assert.match((await unitOn(0))!, /^Description=web w1 v3$/m, 'previous bytes are back');
    assert.equal(await active(0), 'active', 'and running again');
    assert.match((await unitOn(1))!, /^Description=web w2 v3$/m, 'the next units were not touched');
    assert.match(
      await onHost(0, 'journalctl', '--no-pager', '-u', unit(0)),
      /prod_web_w1\.service: Main process exited, code=exited, status=3\/NOTIMPLEMENTED/,
    );
    setVersion('3');
  });

  it('after a reboot, check reports the units down (without [Install] they are not enabled) and update starts them again', async () => {
    await cluster.reboot(h[2]);
    assert.equal(await active(2), 'inactive');
    assert.match((await unitOn(2))!, /v3/, "the unit file survived (the host's disk)");
    const c = run('prod', 'web', 'check');
    assert.equal(c.code, 2, c.stdout + c.stderr);
    assert.match(c.stdout, /prod_web_w3\.service +sys3 +inactive\/dead/);
    const u = run('prod', 'web', 'update', '-y');
    assert.equal(u.code, 0, u.stdout + u.stderr);
    assert.match(u.stdout, /prod\/web: 1 updated/);
    assert.equal(await active(2), 'active');
  });

  it('a dead host gives an error naming it, and nothing changes on the others', async () => {
    setVersion('4');
    await cluster.kill(h[2]);
    try {
      const u = run('prod', 'web', 'update', '-y');
      assert.equal(u.code, 1);
      assert.match(u.stderr, /host sys3 \(127\.0\.2\.13:22\): connection refused/);
      assert.match((await unitOn(0))!, /v3/, 'nothing changed on the live hosts');
    } finally {
      await cluster.start(h[2]);
    }
  });

  it('a login without sudo rights: a clear error naming the host before any change', async () => {
    await cluster.setSudo(h[1], 'none');
    try {
      const r = run('prod', 'web', 'update', '-y');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /host sys2: reading units: sudo needs a password/);
      assert.match((await unitOn(0))!, /v3/, 'not even the first host changed');
      assert.equal((await cluster.exec(h[0], ['test', '-e', '/var/lib/ggn/locks/prod/web.lock'])).code, 1, 'the lock was released');
    } finally {
      await cluster.setSudo(h[1], 'nopasswd');
    }
    // the same login with `sudo: false`: it cannot write /var/lib/ggn (the lock) or /etc/systemd/system
    fs.writeFileSync(configFile(), systemEnvConfigFor(cluster, { sudo: false }));
    try {
      const r = run('prod', 'web', 'update', '-y');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /host sys1: .*(Permission denied|cannot write)/);
      assert.match((await unitOn(0))!, /v3/);
      // reading needs no root, but the system journal does: journalctl's hint must not be swallowed
      const c = run('prod', 'web', 'check');
      assert.equal(c.code, 2, c.stderr);
      assert.match(c.stdout, /prod_web_w1\.service +sys1 +outdated/, 'the tree has v4, the hosts v3');
      const j = run('prod', 'web', 'w2', 'journal', '-l', '5');
      assert.equal(j.code, 0, j.stderr);
      assert.match(j.stdout, /-- No entries --/);
      assert.match(j.stderr, /^host sys2: journalctl: .*'systemd-journal' can see all messages/m);
    } finally {
      fs.writeFileSync(configFile(), systemEnvConfigFor(cluster));
    }
  });

  it('sudo that asks for a password: a clear error, nothing changed', async () => {
    await cluster.setSudo(h[0], 'password');
    try {
      const r = run('prod', 'web', 'update', '-y');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /host sys1: .*sudo needs a password, or this login may not use sudo \(allow it with NOPASSWD/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match((await unitOn(0))!, /v3/);
    } finally {
      await cluster.setSudo(h[0], 'nopasswd');
    }
  });

  it('root login without sudo (sudo: false) rolls out, and journal works', async () => {
    fs.writeFileSync(configFile(), systemEnvConfigFor(cluster, { user: 'root', sudo: false }));
    try {
      const r = run('prod', 'web', 'update', '-y', '--parallel', '3');
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /prod\/web: 3 updated/);
      for (let i = 0; i < 3; i++) {
        assert.match((await unitOn(i))!, /v4/);
        assert.equal(await owners(i, unitPath(i)), `root:root 644 ${unitPath(i)}`);
        assert.equal(await active(i), 'active');
      }
      const j = run('prod', 'web', 'w2', 'journal', '-l', '5');
      assert.equal(j.code, 0, j.stderr);
      assert.match(j.stdout, /sys2 sh\[\d+\]: web w2 started v4$/m);
      assert.equal(run('prod', 'web', 'check').code, 0);
      assert.match(await onHost(0, 'tail', '-n', '1', '/var/lib/ggn/audit.log'), /prod_web_w1\.service/);
    } finally {
      fs.writeFileSync(configFile(), systemEnvConfigFor(cluster));
    }
  });

  it('hooks run around the service and each unit; a health gate that fails restores, one that passes lets it through', async () => {
    tree.write('env/prod/hooks/early/10-record', '#!/bin/sh\necho "early $ACTION $SERVICE ${UNIT:-} $WHO" >> "$GGN_HOME_PATH/hooks.log"\n');
    fs.chmodSync(path.join(tree.work, 'env/prod/hooks/early/10-record'), 0o755);
    tree.write(
      'env/prod/services/api/service-manifest.yml',
      `healthCheck:\n  exec: [sh, -c, 'test -f /run/api-ready']\n  timeout: 2s\n  interval: 200ms\nnodes:\n  - hostname: a1\n    machine_id: ${h[0].name}\n`,
    );
    tree.write('env/prod/services/api/unit.tmpl', '[Service]\nExecStart=/bin/sleep 600\nEnvironment=V={{.version}}\n\n[X-Fleet]\nMachineID={{.machine_id}}\n');
    const bad = run('prod', 'api', 'update', '-y');
    assert.equal(bad.code, 1, bad.stdout);
    assert.match(
      bad.stderr,
      new RegExp(`unit prod_api_a1\\.service, host ${h[0].name}: update failed at health: exec sh -c .*\\(restored to its previous version\\)`),
    );
    assert.equal((await cluster.exec(h[0], ['test', '-e', '/etc/systemd/system/prod_api_a1.service'])).code, 1, 'the new unit that failed is removed');
    await onHost(0, 'touch', '/run/api-ready');
    const good = run('prod', 'api', 'update', '-y');
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.equal(await onHost(0, 'systemctl', 'is-active', 'prod_api_a1.service'), 'active');
    const hooks = fs.readFileSync(path.join(tree.home, 'hooks.log'), 'utf8');
    assert.match(hooks, /^early service\/update api  tester@/m);
    assert.match(hooks, /^early unit\/update api a1 tester@/m);
  });

  it('SIGTERM mid-rollout: the unit in flight is restored, the lock released, exit 143', async () => {
    const before = await unitOn(0);
    tree.write('env/prod/services/web/unit.tmpl', UNIT.replace('[Service]\n', '[Service]\nExecStartPre=/bin/sleep 3\n'));
    setVersion('9');
    try {
      const p = background(['-H', tree.home, 'prod', 'web', 'update', '-y', '--json', '--parallel', '1']);
      await p.until((e) => e.unit === unit(0) && e.step === 'wait-active' && e.result === 'started');
      p.process.kill('SIGTERM');
      const r = await p.done;
      assert.equal(r.code, 143, r.stderr);
      assert.match(r.stderr, /0 updated, 1 interrupted and restored, 2 not started \(interrupted\)/);
      assert.equal(await unitOn(0), before, 'old bytes back');
      assert.equal(await active(0), 'active');
      assert.equal((await cluster.exec(h[0], ['test', '-e', '/var/lib/ggn/locks/prod/web.lock'])).code, 1, 'the lock was released');
      assert.match(await onHost(0, 'tail', '-n', '1', '/var/lib/ggn/audit.log'), /prod_web_w1\.service\tupdate\t.*\tinterrupted at wait-active, restored\t/);
    } finally {
      tree.write('env/prod/services/web/unit.tmpl', UNIT);
    }
  });

  it('a hung host: an error naming it within the connect timeout, nothing changed elsewhere', async () => {
    setVersion('10');
    const before = await unitOn(0);
    await cluster.hang(h[2]);
    try {
      const t0 = Date.now();
      const r = run('prod', 'web', 'update', '-y', '--parallel', '3');
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, new RegExp(`host ${h[2].name}`));
      assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
      assert.equal(await unitOn(0), before, 'the plan failed before any change');
    } finally {
      await cluster.resume(h[2]);
    }
  });
});
