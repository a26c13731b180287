import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { journalCommand, parseReadOutput, readUnitsCommand, removeUnitsCommand, systemctlCommand, writeUnitCommand } from '../../src/drivers/systemd/commands';
import { tmpDir } from '../support/cli';

const user = { scope: 'user' as const, sudo: false };
const sys = { scope: 'system' as const, sudo: true };

/** Runs a command's argv locally (as the remote shell would) with a fake HOME and systemctl. */
function runLocal(argv: string[], home: string, stdin = ''): { code: number; stdout: string; stderr: string } {
  const bin = path.join(home, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(
    path.join(bin, 'systemctl'),
    `#!/bin/sh\necho "$@" >> "${home}/systemctl.log"\ncase "$2" in\n  show) shift 2; for a in "$@"; do case "$a" in -*|Id,*) ;; *\\*) printf 'Id=p_web_gone.service\\nLoadState=loaded\\nActiveState=failed\\n\\n';; *) printf 'Id=%s\\nLoadState=loaded\\nActiveState=active\\n\\n' "$a";; esac; done;;\nesac\n`,
    { mode: 0o755 },
  );
  const r = spawnSync(argv[0], argv.slice(1), { input: stdin, encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, HOME: home } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('systemd driver commands', () => {
  it('are argv arrays: constant script, values as positional arguments', () => {
    const argv = writeUnitCommand(user, 'p_web_a.service');
    assert.equal(argv[0], 'sh');
    assert.equal(argv[1], '-c');
    assert.deepEqual(argv.slice(3), ['ggn', 'user', 'p_web_a.service']);
    assert.ok(!argv[2].includes('p_web_a'), 'the unit name is not pasted into the script');
    assert.deepEqual(systemctlCommand(sys, 'restart', ['p_web_a.service']).slice(0, 4), ['sudo', '-n', '--', 'sh']);
    assert.deepEqual(journalCommand(user, 'p_web_a.service', 50, true), ['journalctl', '--user', '--no-pager', '-n', '50', '-f', '-u', 'p_web_a.service']);
  });
  it('refuses names that are not valid unit names', () => {
    for (const bad of ['a b.service', '$(reboot).service', 'x;rm -rf /.service', '../x.service', 'x']) {
      assert.throws(() => writeUnitCommand(user, bad), /refusing invalid unit name/);
      assert.throws(() => removeUnitsCommand(user, [bad]), /refusing invalid unit name/);
    }
    assert.throws(() => readUnitsCommand(user, ['p_*']), /refusing invalid unit prefix/);
    assert.throws(() => systemctlCommand(user, 'show', [], ['-p;reboot']), /refusing systemctl option/);
  });
  it('write, read and remove work in a real shell (user scope, fake systemctl)', () => {
    const home = tmpDir('sd-home');
    const content = '[Service]\nExecStart=/bin/sh -c \'echo "$x" é\'\n';
    assert.equal(runLocal(writeUnitCommand(user, 'p_web_a.service'), home, content).code, 0);
    assert.equal(runLocal(writeUnitCommand(user, 'p_web_b.timer'), home, 'T').code, 0);
    // base64 wraps its lines at 76 characters: a longer unit comes back in several
    const long = `[Service]\n${'Environment=X=é 0123456789\n'.repeat(40)}`;
    assert.equal(runLocal(writeUnitCommand(user, 'p_web_long.service'), home, long).code, 0);
    fs.writeFileSync(path.join(home, '.config/systemd/user/p_web_bad name.service'), 'x');
    fs.writeFileSync(path.join(home, '.config/systemd/user/other_x.service'), 'x');
    const dir = path.join(home, '.config/systemd/user');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['other_x.service', 'p_web_a.service', 'p_web_b.timer', 'p_web_bad name.service', 'p_web_long.service']);
    const r = runLocal(readUnitsCommand(user, ['p_web_']), home);
    assert.equal(r.code, 0, r.stderr);
    const parsed = parseReadOutput(r.stdout);
    assert.equal(parsed.files.get('p_web_a.service'), content);
    assert.equal(parsed.files.get('p_web_b.timer'), 'T');
    assert.equal(parsed.files.get('p_web_long.service'), long);
    assert.deepEqual([...parsed.private], [], 'units written 0644 are not private');
    assert.equal(runLocal(writeUnitCommand(user, 'p_web_s.service', 1, { secret: true }), home, 'S').code, 0);
    assert.deepEqual([...parseReadOutput(runLocal(readUnitsCommand(user, ['p_web_']), home).stdout).private], ['p_web_s.service']);
    fs.rmSync(path.join(home, '.config/systemd/user/p_web_s.service'));
    assert.ok(!parsed.files.has('other_x.service'));
    // the files' units, and by pattern the loaded ones without a file
    assert.deepEqual([...parsed.states.keys()].sort(), ['p_web_a.service', 'p_web_b.timer', 'p_web_gone.service', 'p_web_long.service']);
    assert.equal(parsed.states.get('p_web_gone.service')?.ActiveState, 'failed');
    assert.ok(!fs.readFileSync(path.join(home, 'systemctl.log'), 'utf8').includes('bad name'), 'odd file names never reach systemctl');
    assert.equal(runLocal(removeUnitsCommand(user, ['p_web_a.service', 'p_web_zz.service']), home).code, 0);
    assert.ok(!fs.existsSync(path.join(dir, 'p_web_a.service')));
  });
});

describe('remote errors', () => {
  it('say that sudo needs a password, or quote systemctl', () => {
    const { remoteError } = require('../../src/drivers/systemd/errors');
    const sudo = remoteError('m1', 'systemctl restart x.service', { code: 1, stdout: '', stderr: 'sudo: a password is required\n' });
    assert.equal(
      sudo.oneLine(),
      'host m1: systemctl restart x.service: sudo needs a password, or this login may not use sudo (allow it with NOPASSWD in sudoers, or log in as root with ssh.sudo: false)',
    );
    const sc = remoteError('m1', 'systemctl start x.service', {
      code: 1,
      stdout: '',
      stderr: 'Job for x.service failed.\nSee "systemctl status x.service" for details.\n',
    });
    assert.equal(sc.oneLine(), 'host m1: systemctl start x.service failed: Job for x.service failed. | See "systemctl status x.service" for details.');
    const noisy = remoteError('m1', 'systemctl restart x.service', {
      code: 1,
      stdout: '',
      stderr:
        "sudo: unable to resolve host m1: Name or service not known\nFailed to restart x.service: Unit x.service has a bad unit file setting.\nSee system logs and 'systemctl status x.service' for details.\n",
    });
    assert.equal(
      noisy.oneLine(),
      "host m1: systemctl restart x.service failed: Failed to restart x.service: Unit x.service has a bad unit file setting. | See system logs and 'systemctl status x.service' for details.",
      "sudo's resolve warning is not a reason",
    );
  });
  it('say that a command was killed by a signal, and never show a script', () => {
    const { remoteError } = require('../../src/drivers/systemd/errors');
    const { describeCommand } = require('../../src/transport/ssh');
    const killed = remoteError('m1', 'systemctl restart x.service', { code: 143, stdout: '', stderr: '' });
    assert.equal(killed.oneLine(), 'host m1: systemctl restart x.service failed: killed by SIGTERM (the host shutting down, or the session closed?)');
    assert.equal(remoteError('m1', 'x', { code: 3, stdout: '', stderr: '' }).oneLine(), 'host m1: x failed: exit code 3');
    const argv = removeUnitsCommand(sys, ['p_web_a.service']);
    assert.equal(describeCommand(argv, 'whatever'), 'running a ggn script (system p_web_a.service)');
    assert.equal(describeCommand(['sleep', '5'], 'sleep 5'), 'running sleep 5');
    assert.equal(describeCommand(['sh', '-c', 'test -f x'], "sh -c 'test -f x'"), "running sh -c 'test -f x'", 'a user command is shown as it is');
  });
});

describe('revisions and audit log on the host', () => {
  it('keeps the replaced bytes as revisions (newest 5), restores and drops them', () => {
    const {
      writeUnitWithRevisionCommand,
      readRevisionsOfCommand,
      parseRevisionsByUnit,
      parseRevisionsOutput,
      auditAppendCommand,
      auditReadCommand,
    } = require('../../src/drivers/systemd/commands');
    const home = tmpDir('rev-home');
    const w = (content: string, opts: object) => runLocal(writeUnitWithRevisionCommand(user, 'p_web_a.service', opts), home, content);
    assert.equal(w('v1', { save: true }).stdout, '', 'nothing to keep the first time');
    assert.equal(w('v2', { save: true }).stdout, 'revision 1\n');
    assert.equal(w('v2', { save: true }).stdout, '', 'same bytes: no revision');
    for (let i = 3; i <= 8; i++) w(`v${i}`, { save: true });
    const revDir = path.join(home, '.local/state/ggn/revisions/p_web_a.service');
    const revs = () => fs.readdirSync(revDir);
    assert.deepEqual(
      revs().sort((a, b) => Number(a) - Number(b)),
      ['3', '4', '5', '6', '7'],
    );
    assert.equal(fs.readFileSync(path.join(home, '.config/systemd/user/p_web_a.service'), 'utf8'), 'v8');
    const kept = parseRevisionsOutput(runLocal(readRevisionsOfCommand(user, ['p_web_a.service']), home).stdout);
    assert.deepEqual(
      kept.map((r: { revision: string; content: string }) => `${r.revision}:${r.content}`),
      ['3:v3', '4:v4', '5:v5', '6:v6', '7:v7'],
      'every revision kept, oldest first',
    );
    // A restore puts v7 back without keeping v8, and drops revision 7.
    assert.equal(w('v7', { save: false, dropRevision: '7' }).code, 0);
    assert.deepEqual(revs().sort(), ['3', '4', '5', '6']);
    assert.equal(fs.readFileSync(path.join(home, '.config/systemd/user/p_web_a.service'), 'utf8'), 'v7');
    assert.deepEqual(parseRevisionsOutput(runLocal(readRevisionsOfCommand(user, ['p_other.service']), home).stdout), []);
    assert.equal(runLocal(auditAppendCommand(user, ['t1', 'a@b', 'prod', 'web', 'p_web_a.service', 'update', 'h1', 'h2', 'ok\twith\ttabs']), home).code, 0);
    assert.equal(runLocal(auditReadCommand(user), home).stdout, 't1\ta@b\tprod\tweb\tp_web_a.service\tupdate\th1\th2\tok with tabs\n');
    assert.ok(!fs.readdirSync(path.join(home, '.config/systemd/user')).some((f) => f !== 'p_web_a.service'), 'the unit directory holds only unit files');
    // Several units in one round trip: each named, with its own revisions (none for a unit without any).
    assert.equal(runLocal(writeUnitWithRevisionCommand(user, 'p_web_b.service', { save: true }), home, 'b1').code, 0);
    assert.equal(runLocal(writeUnitWithRevisionCommand(user, 'p_web_b.service', { save: true }), home, 'b2').stdout, 'revision 1\n');
    const byUnit = parseRevisionsByUnit(runLocal(readRevisionsOfCommand(user, ['p_web_b.service', 'p_other.service', 'p_web_a.service']), home).stdout);
    assert.deepEqual(
      [...byUnit].map(([u, rs]: [string, { revision: string; content: string }[]]) => `${u}=${rs.map((r) => `${r.revision}:${r.content}`).join(',')}`),
      ['p_web_b.service=1:b1', 'p_other.service=', 'p_web_a.service=3:v3,4:v4,5:v5,6:v6'],
    );
  });
});
