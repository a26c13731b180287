/**
 * The unit-write and revision scripts, run locally with dash and with bash as `sh` (scope user,
 * HOME in a temp dir): interrupted writes leave nothing behind, junk in the state directory is
 * never evaluated, and concurrent writers lose no revision.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  readRevisionsOfCommand,
  readUnitsCommand,
  parseReadOutput,
  parseRevisionsOutput,
  removeUnitsCommand,
  WRITE_REVISION_SCRIPT,
  writeUnitCommand,
  writeUnitWithRevisionCommand,
} from '../../src/drivers/systemd/commands';
import { SshSystemdDriver } from '../../src/drivers/systemd/driver';
import { Connection, ExecResult, HostSpec, Transport } from '../../src/transport/types';
import { offlineHostSpec } from '../support/host-spec';
import { tmpDir } from '../support/cli';

const user = { scope: 'user' as const, sudo: false };
const UNIT = 'p_web_a.service';
const SHELLS = ['dash', 'bash'];
/** The host of the drivers whose transport runs the scripts locally. */
const host: HostSpec = offlineHostSpec('m1');

interface Box {
  home: string;
  unitDir: string;
  revDir: string;
  env: NodeJS.ProcessEnv;
}

function box(name: string, opts: { noFlock?: boolean } = {}): Box {
  const home = tmpDir(name);
  let PATH = '/usr/bin:/bin';
  if (opts.noFlock) {
    // every tool of /usr/bin and /bin but flock
    const bin = path.join(home, 'bin');
    fs.mkdirSync(bin);
    for (const d of ['/bin', '/usr/bin']) {
      for (const f of fs.readdirSync(d)) {
        if (f === 'flock' || fs.existsSync(path.join(bin, f))) continue;
        fs.symlinkSync(path.join(d, f), path.join(bin, f));
      }
    }
    PATH = bin;
  }
  return {
    home,
    unitDir: path.join(home, '.config/systemd/user'),
    revDir: path.join(home, '.local/state/ggn/revisions', UNIT),
    env: { PATH, HOME: home },
  };
}

/** argv with the shell replaced (the scripts run as `sh -c`; a bash /bin/sh must be safe too). */
function withShell(argv: string[], shell: string): string[] {
  assert.equal(argv[0], 'sh');
  return [shell, ...argv.slice(1)];
}

function run(b: Box, argv: string[], stdin = '', shell = 'dash'): ExecResult {
  const a = withShell(argv, shell);
  const r = spawnSync(a[0], a.slice(1), { input: stdin, encoding: 'utf8', env: b.env, cwd: b.home });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function runAsync(b: Box, argv: string[], stdin: string, shell = 'dash'): Promise<ExecResult> {
  const a = withShell(argv, shell);
  return new Promise((resolve) => {
    const p = spawn(a[0], a.slice(1), { env: b.env, cwd: b.home });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(stdin);
  });
}

function ls(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function tempFiles(b: Box): string[] {
  return ls(b.unitDir).filter((f) => f.includes('.ggn-tmp.'));
}

describe('unit write scripts: modes', () => {
  const mode = (f: string) => fs.statSync(f).mode & 0o777;
  it('writes units 0644 (as systemd tools do), revisions 0600 and the state directory 0700', () => {
    const b = box('modes');
    assert.equal(run(b, writeUnitWithRevisionCommand(user, UNIT, { save: true, size: 3 }), 'v1\n').code, 0);
    assert.equal(run(b, writeUnitWithRevisionCommand(user, UNIT, { save: true, size: 3 }), 'v2\n').code, 0);
    assert.equal(mode(path.join(b.unitDir, UNIT)), 0o644);
    assert.equal(mode(path.join(b.revDir, '1')), 0o600);
    assert.equal(mode(path.dirname(path.dirname(b.revDir))), 0o700);
    assert.equal(run(b, writeUnitCommand(user, 'p_web_b.service', 3), 'v1\n').code, 0);
    assert.equal(mode(path.join(b.unitDir, 'p_web_b.service')), 0o644);
  });
  it('writes a unit that holds a secret 0600, with or without a revision, and back to 0644 when it no longer does', () => {
    const b = box('modes-secret');
    assert.equal(run(b, writeUnitWithRevisionCommand(user, UNIT, { save: true, size: 3, secret: true }), 's1\n').code, 0);
    assert.equal(mode(path.join(b.unitDir, UNIT)), 0o600);
    assert.equal(run(b, writeUnitWithRevisionCommand(user, UNIT, { save: true, secret: true }), 's2\n').code, 0);
    assert.equal(mode(path.join(b.unitDir, UNIT)), 0o600);
    assert.equal(mode(path.join(b.revDir, '1')), 0o600);
    assert.equal(fs.readFileSync(path.join(b.revDir, '1'), 'utf8'), 's1\n');
    assert.equal(run(b, writeUnitCommand(user, 'p_web_c.service', undefined, { secret: true }), 'x').code, 0);
    assert.equal(mode(path.join(b.unitDir, 'p_web_c.service')), 0o600);
    assert.equal(run(b, writeUnitCommand(user, 'p_web_c.service', 1), 'y').code, 0);
    assert.equal(mode(path.join(b.unitDir, 'p_web_c.service')), 0o644);
  });
  it('refuses a mode it does not know', () => {
    const b = box('modes-bad');
    const argv = writeUnitCommand(user, UNIT, 1);
    const r = run(b, [...argv, '777'], 'x');
    assert.notEqual(r.code, 0);
  });
});

describe('unit write scripts: interrupted writes', () => {
  for (const shell of SHELLS) {
    for (const sig of ['SIGHUP', 'SIGPIPE', 'SIGTERM', 'SIGINT'] as const) {
      it(`${shell}: ${sig} to the session mid-write removes the temp file and keeps the old unit`, async () => {
        const b = box(`wr-sig`);
        assert.equal(run(b, writeUnitCommand(user, UNIT), 'old', shell).code, 0);
        for (const argv of [writeUnitCommand(user, UNIT, 2_000_000), writeUnitWithRevisionCommand(user, UNIT, { save: true, size: 2_000_000 })]) {
          const a = withShell(argv, shell);
          // own process group, as an ssh session has: the signal reaches the shell and cat
          const p = spawn(a[0], a.slice(1), { env: b.env, cwd: b.home, detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
          const exited = new Promise<void>((r) => p.on('exit', () => r()));
          p.stdin.on('error', () => {}); // EPIPE once cat is gone
          p.stdin.write('x'.repeat(500_000));
          await waitFor(() => tempFiles(b).some((f) => fs.statSync(path.join(b.unitDir, f)).size > 0), 'the temp file');
          process.kill(-p.pid!, sig);
          await exited;
          p.stdin.destroy();
          assert.deepEqual(tempFiles(b), [], `no temp file left after ${sig}`);
          assert.equal(fs.readFileSync(path.join(b.unitDir, UNIT), 'utf8'), 'old');
        }
        assert.deepEqual(ls(b.revDir), [], 'no revision for a write that did not happen');
      });
    }

    it(`${shell}: a signal to the shell alone while cat waits: the partial input is never installed`, async () => {
      const b = box('wr-sig1');
      assert.equal(run(b, writeUnitCommand(user, UNIT), 'old', shell).code, 0);
      const a = withShell(writeUnitCommand(user, UNIT), shell); // no size: only the trap can save us
      const p = spawn(a[0], a.slice(1), { env: b.env, cwd: b.home, stdio: ['pipe', 'ignore', 'ignore'] });
      const exited = new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
      p.stdin.on('error', () => {});
      p.stdin.write('partial');
      await waitFor(() => tempFiles(b).some((f) => fs.statSync(path.join(b.unitDir, f)).size > 0), 'the temp file');
      p.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 50));
      p.stdin.end(); // cat sees EOF (what a closed channel looks like) and returns 0
      assert.equal(await exited, 143);
      assert.deepEqual(tempFiles(b), []);
      assert.equal(fs.readFileSync(path.join(b.unitDir, UNIT), 'utf8'), 'old');
    });

    it(`${shell}: a channel closed mid-transfer (short stdin, then EOF) fails and installs nothing`, () => {
      const b = box('wr-short');
      assert.equal(run(b, writeUnitCommand(user, UNIT), 'old', shell).code, 0);
      for (const argv of [writeUnitCommand(user, UNIT, 10), writeUnitWithRevisionCommand(user, UNIT, { save: true, size: 10 })]) {
        const r = run(b, argv, 'new', shell);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /ggn: received 3 of 10 bytes \(connection lost\?\); .*p_web_a\.service left unchanged/);
        assert.equal(fs.readFileSync(path.join(b.unitDir, UNIT), 'utf8'), 'old');
        assert.deepEqual(tempFiles(b), []);
      }
      assert.equal(run(b, writeUnitCommand(user, UNIT, 3), 'new', shell).code, 0, 'the exact size is accepted');
      assert.equal(fs.readFileSync(path.join(b.unitDir, UNIT), 'utf8'), 'new');
    });
  }

  it('stale temp files (SIGKILL leftovers) are never read as units and are removed by the next write once old', () => {
    const b = box('wr-stale');
    fs.mkdirSync(b.unitDir, { recursive: true });
    const stale = path.join(b.unitDir, `.${UNIT}.ggn-tmp.AbC123`);
    const young = path.join(b.unitDir, `.${UNIT}.ggn-tmp.XyZ789`); // another writer, still running
    const other = path.join(b.unitDir, `.p_web_b.service.ggn-tmp.Q1w2E3`);
    for (const f of [stale, young, other]) fs.writeFileSync(f, '[Service]\n');
    const old = new Date(Date.now() - 20 * 60_000);
    fs.utimesSync(stale, old, old);
    fs.utimesSync(other, old, old);
    // a name ending like a unit: the reader must skip dot files whatever their suffix
    fs.writeFileSync(path.join(b.unitDir, `.p_web_c.service`), 'x');
    const read = parseReadOutput(run(b, readUnitsCommand(user, ['p_web_'])).stdout);
    assert.deepEqual([...read.files.keys()], []);
    assert.throws(() => readUnitsCommand(user, ['.p_web_']), /refusing invalid unit prefix/);

    assert.equal(run(b, writeUnitWithRevisionCommand(user, UNIT, { save: true, size: 2 }), 'v1').code, 0);
    assert.ok(!fs.existsSync(stale), 'the old leftover is gone');
    assert.ok(fs.existsSync(young), "a young temp file may be a live writer's: kept");
    assert.ok(fs.existsSync(other), "another unit's leftovers are that unit's write's business");
    assert.deepEqual([...parseReadOutput(run(b, readUnitsCommand(user, ['p_web_'])).stdout).files.keys()], [UNIT]);
    assert.equal(run(b, removeUnitsCommand(user, ['p_web_b.service'])).code, 0);
    assert.ok(!fs.existsSync(other), 'removing a unit removes its old leftovers');
  });
});

describe('revision scripts: how the replaced file is kept', () => {
  for (const shell of SHELLS) {
    it(`${shell}: a removal that keeps the revision: the unit gone, its bytes a private revision, no temp file`, () => {
      const b = box(`rev-remove-${shell}`);
      assert.equal(run(b, writeUnitWithRevisionCommand(user, UNIT, { save: true, size: 2 }), 'v1', shell).code, 0);
      const r = run(b, removeUnitsCommand(user, [UNIT], true), '', shell);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `revision ${UNIT} 1\n`);
      assert.ok(!fs.existsSync(path.join(b.unitDir, UNIT)));
      assert.equal(fs.readFileSync(path.join(b.revDir, '1'), 'utf8'), 'v1');
      assert.equal((fs.statSync(path.join(b.revDir, '1')).mode & 0o777).toString(8), '600');
      assert.deepEqual(tempFiles(b), []);
    });

    it(`${shell}: the replaced bytes are copied into a private revision (0600: they may hold a secret), also from a symlinked unit file`, () => {
      const b = box(`rev-link-${shell}`);
      const save = (content: string) => run(b, writeUnitWithRevisionCommand(user, UNIT, { save: true, size: content.length }), content, shell);
      assert.equal(save('v1').code, 0);
      assert.equal((fs.statSync(path.join(b.unitDir, UNIT)).mode & 0o777).toString(8), '644');
      assert.equal(save('v2').stdout, 'revision 1\n');
      assert.equal(fs.readFileSync(path.join(b.revDir, '1'), 'utf8'), 'v1');
      assert.equal((fs.statSync(path.join(b.revDir, '1')).mode & 0o777).toString(8), '600');
      // A unit file that is a symlink: the revision holds the bytes, not the link.
      const target = path.join(b.home, 'elsewhere.service');
      fs.writeFileSync(target, 'linked');
      fs.rmSync(path.join(b.unitDir, UNIT));
      fs.symlinkSync(target, path.join(b.unitDir, UNIT));
      assert.equal(save('v3').stdout, 'revision 2\n');
      fs.writeFileSync(target, 'changed later');
      assert.ok(!fs.lstatSync(path.join(b.revDir, '2')).isSymbolicLink());
      assert.equal(fs.readFileSync(path.join(b.revDir, '2'), 'utf8'), 'linked');
      assert.equal((fs.statSync(path.join(b.revDir, '2')).mode & 0o777).toString(8), '600');
      assert.deepEqual(tempFiles(b), []);
      assert.deepEqual(
        ls(b.revDir).filter((f) => f.startsWith('.tmp')),
        [],
      );
    });
  }
});

describe('revision scripts: junk in the state directory', () => {
  for (const shell of SHELLS) {
    it(`${shell}: file names are never evaluated; junk is ignored with a warning`, () => {
      const b = box('rev-junk');
      const w = (content: string) => run(b, writeUnitWithRevisionCommand(user, UNIT, { save: true, size: Buffer.byteLength(content) }), content, shell);
      assert.equal(w('v1').code, 0);
      assert.equal(w('v2').stdout, 'revision 1\n');
      const junk = ['x[$(touch PWNED)]', 'abc', '007', '1 2', '99999999999999999999', '-5', 'a\nb'];
      for (const j of junk) fs.writeFileSync(path.join(b.revDir, j), 'junk');
      fs.mkdirSync(path.join(b.revDir, '42')); // a directory is not a revision either
      const r = w('v3');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'revision 2\n');
      const warnings = r.stderr.split('\n').filter(Boolean);
      assert.equal(warnings.length, junk.length + 1, r.stderr);
      for (const line of warnings)
        assert.match(line, /^ggn-warning: ignoring \/.*\/revisions\/p_web_a\.service\/.+ in the ggn state directory \(not a revision\)$/);
      assert.ok(r.stderr.includes('/a?b in the ggn'), 'control characters are masked');
      const rr = run(b, readRevisionsOfCommand(user, [UNIT]), '', shell);
      assert.deepEqual(parseRevisionsOutput(rr.stdout), [
        { revision: '1', content: 'v1' },
        { revision: '2', content: 'v2' },
      ]);
      assert.equal(rr.stderr.split('\n').filter(Boolean).length, junk.length + 1);
      for (const d of [b.home, b.revDir, b.unitDir]) assert.ok(!fs.existsSync(path.join(d, 'PWNED')), 'no file name ran as code');
      for (let i = 4; i <= 9; i++) assert.equal(w(`v${i}`).code, 0);
      assert.deepEqual(
        ls(b.revDir).filter((f) => /^\d+$/.test(f)),
        ['007', '4', '42', '5', '6', '7', '8', '99999999999999999999'].sort(),
        'pruning keeps the newest 5 and never touches junk',
      );
    });
  }

  it('the driver shows the warnings with the host and still succeeds', async () => {
    const b = box('rev-driver');
    const conn: Connection = { host, exec: async (argv, o) => run(b, argv, String(o?.stdin ?? '')), close: async () => {} };
    const transport: Transport = { connect: async () => conn, closeAll: async () => {} };
    const warnings: string[] = [];
    const d = new SshSystemdDriver({ target: user, machines: [], hosts: [host], transport, parallel: 1, onWarning: (m, w) => warnings.push(`${m}: ${w}`) });
    await d.writeUnitRevision('m1', UNIT, 'v1', { save: true });
    fs.writeFileSync(path.join(b.revDir, 'junk'), '');
    assert.deepEqual(await d.writeUnitRevision('m1', UNIT, 'v2', { save: true }), { revision: '1' });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^m1: ignoring \/.*\/p_web_a\.service\/junk in the ggn state directory \(not a revision\)$/);
    assert.deepEqual(await d.readRevisions('m1', UNIT), [{ revision: '1', content: 'v1' }]);
    assert.equal(warnings.length, 2);
  });
});

describe('revision scripts: concurrent writers', () => {
  const N = 12;
  /** keep = 100 so that every revision stays to be counted. */
  const argv = (content: string) => ['sh', '-c', WRITE_REVISION_SCRIPT, 'ggn', 'user', UNIT, '100', '1', '', String(Buffer.byteLength(content))];

  for (const shell of SHELLS) {
    it(`${shell}: ${N} writers at once: every replaced version is a revision, numbers unique`, async () => {
      const b = box('rev-conc');
      assert.equal(run(b, argv('v0'), 'v0', shell).code, 0);
      const rs = await Promise.all(Array.from({ length: N }, (_, i) => runAsync(b, argv(`v${i + 1}`), `v${i + 1}`, shell)));
      for (const r of rs) assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(rs.map((r) => r.stderr).filter(Boolean), []);
      const nums = rs.map((r) => /^revision (\d+)\n$/.exec(r.stdout)?.[1]);
      assert.equal(new Set(nums).size, N, `unique revision numbers: ${nums.join(',')}`);
      const kept = ls(b.revDir)
        .filter((f) => /^\d+$/.test(f))
        .map((f) => fs.readFileSync(path.join(b.revDir, f), 'utf8'));
      const all = [...kept, fs.readFileSync(path.join(b.unitDir, UNIT), 'utf8')].sort();
      assert.deepEqual(all, Array.from({ length: N + 1 }, (_, i) => `v${i}`).sort(), 'no version lost');
      assert.deepEqual(
        ls(b.revDir).filter((f) => !/^\d+$/.test(f)),
        [],
        "only revisions in the unit's folder",
      );
      assert.deepEqual(ls(path.dirname(b.revDir)), [`.${UNIT}.lock`, UNIT], "the writers' flock file sits next to it");
      assert.deepEqual(tempFiles(b), []);
    });
  }

  it(`without flock: numbers are still claimed atomically (no overwrite, no error)`, async () => {
    const b = box('rev-noflock', { noFlock: true });
    assert.equal(run(b, argv('v0'), 'v0').code, 0);
    const rs = await Promise.all(Array.from({ length: N }, (_, i) => runAsync(b, argv(`v${i + 1}`), `v${i + 1}`)));
    for (const r of rs) assert.equal(r.code, 0, r.stderr);
    const nums = rs.map((r) => /^revision (\d+)\n$/.exec(r.stdout)?.[1]).filter(Boolean);
    assert.equal(new Set(nums).size, nums.length, `unique revision numbers: ${nums.join(',')}`);
    assert.deepEqual(
      ls(b.revDir)
        .filter((f) => /^\d+$/.test(f))
        .sort(),
      [...nums].sort(),
      'every printed revision exists',
    );
    assert.deepEqual(
      ls(b.revDir).filter((f) => !/^\d+$/.test(f)),
      [],
      'no temp file left',
    );
  });
});

describe('installAndStart: write, daemon-reload and restart in one script', () => {
  /** A box whose `systemctl` logs its arguments and fails the verb named in FAIL_VERB. */
  function fakeSystemd(name: string, shell: string, failVerb = '', slow: Record<string, number> = {}) {
    const b = box(name);
    const bin = path.join(b.home, 'bin');
    fs.mkdirSync(bin);
    const log = path.join(b.home, 'systemctl.log');
    fs.writeFileSync(
      path.join(bin, 'systemctl'),
      `#!/bin/sh\necho "$*" >> ${log}\nfor a in "$@"; do [ "$a" = "${failVerb || 'none'}" ] && { echo "Failed to $a: boom" >&2; exit 1; }; done\n` +
        Object.entries(slow)
          .map(([verb, s]) => `for a in "$@"; do [ "$a" = "${verb}" ] && sleep ${s}; done\n`)
          .join('') +
        // a look (the watch) sees the new start running; the show before the restart, the old invocation
        `case "$*" in *ActiveState*) printf 'Id=${UNIT}\\nActiveState=active\\nSubState=running\\nInvocationID=inv-new\\nMainPID=9\\n';; *InvocationID*) echo inv-before;; esac\nexit 0\n`,
      { mode: 0o755 },
    );
    b.env = { ...b.env, PATH: `${bin}:${b.env.PATH}` };
    const conn: Connection = { host, exec: async (argv, o) => run(b, argv, String(o?.stdin ?? ''), shell), close: async () => {} };
    const transport: Transport = { connect: async () => conn, closeAll: async () => {} };
    const driver = new SshSystemdDriver({ target: user, machines: [], hosts: [host], transport, parallel: 1 });
    const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : []);
    return { b, driver, calls };
  }
  const req = (content: string, start = UNIT) => ({ unit: UNIT, content, keepRevision: true, start });

  for (const shell of SHELLS) {
    it(`${shell}: writes (keeping the revision), reloads, reads the invocation and queues the restart, in that order`, async () => {
      const { b, driver, calls } = fakeSystemd('ias-ok', shell);
      await driver.writeUnitRevision('m1', UNIT, 'v1', { save: true });
      const { hostMs, ...r } = await driver.installAndStart('m1', req('v2'));
      assert.deepEqual(r, { revision: '1', ticket: { unit: UNIT, before: 'inv-before' }, auditError: undefined });
      // No watch asked: its two stamps are read one after the other, at most one centisecond tick
      // apart (a tick can fall between them on a busy machine).
      assert.ok(hostMs && hostMs.reload >= 0 && hostMs.restart >= 0 && hostMs.watch <= 10, JSON.stringify(hostMs));
      assert.equal(fs.readFileSync(path.join(b.unitDir, UNIT), 'utf8'), 'v2');
      assert.deepEqual(calls(), ['--user daemon-reload', `--user show -p InvocationID --value -- ${UNIT}`, `--user restart --no-block -- ${UNIT}`]);
    });

    it(`${shell}: says how long the host spent reloading, restarting and watching (its own clock)`, async () => {
      const { driver } = fakeSystemd('ias-timed', shell, '', { 'daemon-reload': 0.3, restart: 0.1 });
      const { hostMs } = await driver.installAndStart('m1', { ...req('v1'), watch: { settleMs: 200, budgetMs: 60_000 } });
      // Lower bounds only (the fake's sleeps); centiseconds, so 10 ms below each sleep at worst.
      assert.ok(hostMs, 'the host said');
      assert.ok(hostMs.reload >= 290, `reload ${hostMs.reload} ms`);
      assert.ok(hostMs.restart >= 90, `restart ${hostMs.restart} ms`);
      assert.ok(hostMs.watch >= 190, `watch ${hostMs.watch} ms (the settle time)`);
    });

    it(`${shell}: enables the written unit when it has an [Install] section (known without reading it back), and the start unit when its file has one`, async () => {
      const { b, driver, calls } = fakeSystemd('ias-enable', shell);
      const installable = '[Unit]\nDescription=x\n\n[Install]\nWantedBy=default.target\n';
      await driver.installAndStart('m1', req(installable));
      assert.deepEqual(calls()[1], `--user enable --quiet -- ${UNIT}`);
      fs.writeFileSync(path.join(b.unitDir, 'p_web_a.timer'), '[Timer]\nOnCalendar=daily\n[Install]\nWantedBy=timers.target\n');
      fs.writeFileSync(path.join(b.home, 'systemctl.log'), '');
      await driver.installAndStart('m1', req('[Unit]\nDescription=no install section\n', 'p_web_a.timer'));
      assert.deepEqual(calls(), ['--user daemon-reload', '--user enable --quiet -- p_web_a.timer', '--user restart -- p_web_a.timer']);
    });

    it(`${shell}: a timer is restarted (blocking), no invocation`, async () => {
      const { driver, calls } = fakeSystemd('ias-timer', shell);
      const r = await driver.installAndStart('m1', { ...req('v1'), unit: 'p_web_a.timer', start: 'p_web_a.timer' });
      assert.deepEqual(r.ticket, { unit: 'p_web_a.timer' });
      assert.deepEqual(calls(), ['--user daemon-reload', '--user restart -- p_web_a.timer']);
    });

    it(`${shell}: a write that fails (short input) touches neither systemd nor the unit`, async () => {
      const { b, driver, calls } = fakeSystemd('ias-short', shell);
      await driver.writeUnitRevision('m1', UNIT, 'v1', { save: true });
      const conn = await (driver as any).opts.transport.connect(host);
      const exec = conn.exec;
      conn.exec = (argv: string[], o: any) => exec(argv, { ...o, stdin: 'v' }); // 1 of 2 bytes arrive
      await assert.rejects(driver.installAndStart('m1', req('v2')), (e: any) => {
        assert.equal(e.step, 'write');
        assert.equal(e.mayHaveChanged, false);
        assert.match(e.message, /^writing p_web_a\.service failed: ggn: received 1 of 2 bytes/);
        return true;
      });
      assert.equal(fs.readFileSync(path.join(b.unitDir, UNIT), 'utf8'), 'v1');
      assert.deepEqual(calls(), []);
      assert.deepEqual(ls(b.revDir), []);
    });

    it(`${shell}: a failed daemon-reload restarts nothing and says so, with the revision to restore`, async () => {
      const { b, driver, calls } = fakeSystemd('ias-reload', shell, 'daemon-reload');
      await driver.writeUnitRevision('m1', UNIT, 'v1', { save: true });
      await assert.rejects(driver.installAndStart('m1', req('v2')), (e: any) => {
        assert.deepEqual([e.step, e.mayHaveChanged, e.revision], ['reload', true, '1']);
        assert.match(e.message, /^systemctl daemon-reload failed: Failed to daemon-reload: boom$/);
        return true;
      });
      assert.equal(fs.readFileSync(path.join(b.unitDir, UNIT), 'utf8'), 'v2');
      assert.deepEqual(calls(), ['--user daemon-reload']);
    });

    it(`${shell}: a failed restart is the restart step`, async () => {
      const { driver } = fakeSystemd('ias-restart', shell, 'restart');
      await assert.rejects(driver.installAndStart('m1', req('v1')), (e: any) => {
        assert.deepEqual([e.step, e.mayHaveChanged], ['restart', true]);
        assert.match(e.message, /^systemctl restart --no-block p_web_a\.service failed: Failed to restart: boom$/);
        return true;
      });
    });
  }

  for (const shell of SHELLS) {
    it(`${shell}: the audit line goes first, in the same round trip; an unwritable log does not stop the update`, async () => {
      const { b, driver } = fakeSystemd(`ias-audit-${shell}`, shell);
      const log = path.join(b.home, '.local/state/ggn/audit.log');
      const r = await driver.installAndStart('m1', { ...req('v1'), auditFirst: ['t', 'me', 'prod', 'web', UNIT, 'update', '-', 'h1', 'started', 'run\t1'] });
      assert.equal(r.auditError, undefined);
      assert.equal(fs.readFileSync(log, 'utf8'), `t\tme\tprod\tweb\t${UNIT}\tupdate\t-\th1\tstarted\trun 1\n`);
      fs.rmSync(log);
      fs.mkdirSync(log); // a directory: cannot be appended to
      const again = await driver.installAndStart('m1', { ...req('v2'), auditFirst: ['t', 'me'] });
      assert.match(again.auditError ?? '', /^writing the audit log failed: cannot append to .*audit\.log$/);
      assert.equal(fs.readFileSync(path.join(b.unitDir, UNIT), 'utf8'), 'v2');
    });
  }

  it('a connection lost on the way: the write step, and the unit may have changed', async () => {
    const transport: Transport = {
      connect: async () => ({
        host,
        exec: async () => {
          throw new Error('connection lost');
        },
        close: async () => {},
      }),
      closeAll: async () => {},
    };
    const driver = new SshSystemdDriver({ target: user, machines: [], hosts: [host], transport, parallel: 1 });
    await assert.rejects(driver.installAndStart('m1', req('v1')), (e: any) => e.step === 'write' && e.mayHaveChanged === true);
  });
});

describe('watching a start from the host, in the start round trip', () => {
  type Look = { act: string; sub: string; inv: string; pid?: number; restarts?: number; result?: string };
  const show = (l: Look) =>
    `Id=${UNIT}\nLoadState=loaded\nActiveState=${l.act}\nSubState=${l.sub}\nUnitFileState=static\nResult=${l.result ?? 'success'}\n` +
    `MainPID=${l.pid ?? 0}\nNRestarts=${l.restarts ?? 0}\nActiveEnterTimestamp=\nType=simple\nInvocationID=${l.inv}\n`;
  /** A box whose `systemctl show` of the state properties answers `looks` in turn (then the last one again). */
  function fakeSystemd(name: string, shell: string, looks: Look[]) {
    const b = box(name);
    const bin = path.join(b.home, 'bin');
    const states = path.join(b.home, 'states');
    fs.mkdirSync(bin);
    fs.mkdirSync(states);
    for (const [i, l] of looks.entries()) fs.writeFileSync(path.join(states, String(i + 1)), show(l));
    const count = path.join(b.home, 'count');
    fs.writeFileSync(
      path.join(bin, 'systemctl'),
      `#!/bin/sh\ncase "$*" in\n  *--value*) echo inv-before;;\n  *' show '*)\n` +
        `    n=$(( $(cat ${count} 2>/dev/null || echo 0) + 1 )); echo $n > ${count}\n` +
        `    [ -f ${states}/$n ] && cat ${states}/$n || cat ${states}/${looks.length};;\nesac\nexit 0\n`,
      { mode: 0o755 },
    );
    b.env = { ...b.env, PATH: `${bin}:${b.env.PATH}` };
    const conn: Connection = { host, exec: async (argv, o) => run(b, argv, String(o?.stdin ?? ''), shell), close: async () => {} };
    const transport: Transport = { connect: async () => conn, closeAll: async () => {} };
    const driver = new SshSystemdDriver({ target: user, machines: [], hosts: [host], transport, parallel: 1 });
    return { driver, looked: () => Number(fs.readFileSync(count, 'utf8')) };
  }
  const req = (watch: { settleMs: number; budgetMs: number }) => ({ unit: UNIT, content: 'v1', keepRevision: false, start: UNIT, watch });
  const brief = (t: { looks?: { activeState: string; invocationId: string; mainPid: number }[] }) =>
    (t.looks ?? []).map((l) => `${l.invocationId} ${l.activeState} ${l.mainPid}`);
  const BEFORE: Look = { act: 'active', sub: 'running', inv: 'inv-before', pid: 7 };

  for (const shell of SHELLS) {
    it(`${shell}: until the new start is no longer activating, then once more after the settle time`, async () => {
      const { driver, looked } = fakeSystemd(`watch-ok-${shell}`, shell, [
        BEFORE,
        { act: 'activating', sub: 'start', inv: 'inv-new' },
        { act: 'active', sub: 'running', inv: 'inv-new', pid: 42 },
        { act: 'active', sub: 'running', inv: 'inv-new', pid: 42 },
      ]);
      const r = await driver.installAndStart('m1', req({ settleMs: 50, budgetMs: 60_000 }));
      assert.deepEqual(brief(r.ticket), ['inv-new activating 0', 'inv-new active 42', 'inv-new active 42']);
      assert.equal(looked(), 4);
    });

    it(`${shell}: a service that dies during the settle time is seen dead in the same round trip`, async () => {
      const { driver } = fakeSystemd(`watch-dies-${shell}`, shell, [
        { act: 'active', sub: 'running', inv: 'inv-new', pid: 42 },
        { act: 'failed', sub: 'failed', inv: 'inv-new', result: 'exit-code' },
      ]);
      const ticket = await driver.beginStart('m1', UNIT, { watch: { settleMs: 50, budgetMs: 60_000 } });
      assert.deepEqual(brief(ticket), ['inv-new active 42', 'inv-new failed 0']);
      assert.equal(ticket.before, 'inv-before');
    });

    it(`${shell}: a start that outlasts the budget: the first and the last look, the rest is the client's`, async () => {
      const { driver, looked } = fakeSystemd(`watch-slow-${shell}`, shell, [{ act: 'activating', sub: 'start', inv: 'inv-new' }]);
      const r = await driver.installAndStart('m1', req({ settleMs: 50, budgetMs: 50 }));
      const looks = brief(r.ticket);
      assert.ok(looks.length >= 1 && looks.length <= 2 && looks.every((l) => l === 'inv-new activating 0'), looks.join(', '));
      assert.ok(looked() <= 50 / 8 + 4, `${looked()} looks at most as many as fit`);
    });

    it(`${shell}: a restart still queued when the budget ends: the last look, with the old invocation`, async () => {
      const { driver } = fakeSystemd(`watch-queued-${shell}`, shell, [BEFORE]);
      const ticket = await driver.beginStart('m1', UNIT, { watch: { settleMs: 0, budgetMs: 10 } });
      assert.deepEqual(brief(ticket), ['inv-before active 7']);
    });
  }

  it('without a watch the start returns at once, with no looks', async () => {
    const { driver, looked } = fakeSystemd('watch-none', 'dash', [BEFORE]);
    const ticket = await driver.beginStart('m1', UNIT);
    assert.deepEqual(ticket, { unit: UNIT, before: 'inv-before' });
    assert.throws(looked, /ENOENT/, 'systemctl show of the state was never run');
  });
});
