// The OpenSSH paths (`ssh`, `journal -f`) against real sshds: every hop is verified like the
// ssh2 transport does it, and no known_hosts file is ever written (root only: test cluster).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cluster, TestHost, up } from '../harness';
import { hostSpec } from '../support/host-spec';
import { opensshArgv } from '../../src/transport/openssh';
import { HostSpec } from '../../src/transport/types';

const skip = process.getuid?.() === 0 ? false : 'the test cluster needs root';

let cluster: Cluster;
let tmp: string;
let home: string;

const spec = (h: TestHost, over: Partial<HostSpec> = {}): HostSpec => hostSpec(cluster, h, over);

/** Runs `ssh ... hostname` as ggn would, with a private HOME and no agent. */
function sshHostname(h: HostSpec): { code: number; stdout: string; stderr: string } {
  const argv = opensshArgv(h, ['hostname']);
  const r = spawnSync(argv[0], argv.slice(1), {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', HOME: home },
    timeout: 20_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { code: r.status ?? -1, stdout: r.stdout.trim(), stderr: r.stderr };
}

function knownHosts(name: string, lines: string[]): string {
  const f = path.join(tmp, 'known hosts %d ' + name); // a space and a %-token: both must survive
  fs.writeFileSync(f, lines.length ? lines.join('\n') + '\n' : '');
  return f;
}
function line(h: TestHost, key = h.hostKeyPub): string {
  const pat = h.port === 22 ? `${h.name},${h.address}` : `[${h.name}]:${h.port},[${h.address}]:${h.port}`;
  return `${pat} ${key.trim().split(/\s+/).slice(0, 2).join(' ')}`;
}
function snapshot(f: string): { bytes: string; mtimeMs: number } {
  return { bytes: fs.readFileSync(f, 'latin1'), mtimeMs: fs.statSync(f).mtimeMs };
}

describe('OpenSSH paths against real sshds', { skip, timeout: 120_000 }, () => {
  let h1: TestHost, h2: TestHost, h3: TestHost;

  before(async () => {
    cluster = await up(3, { dir: '/tmp/ggn-test-openssh' });
    [h1, h2, h3] = cluster.hosts;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-openssh-'));
    home = path.join(tmp, 'home');
    fs.mkdirSync(home);
  });

  after(async () => {
    if (cluster) await cluster.down();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('strict with a known key: connects', () => {
    const r = sshHostname(spec(h1, { knownHostsFile: knownHosts('ok', [line(h1)]) }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, h1.name);
  });

  it('not strict accepts an unknown key for this run only: the file is unchanged and a strict run is still refused', () => {
    const kh = knownHosts('other-host-only', [line(h2)]);
    const before = snapshot(kh);
    const loose = sshHostname(spec(h1, { knownHostsFile: kh, strictHostKeyChecking: false }));
    assert.equal(loose.code, 0, loose.stderr);
    assert.equal(loose.stdout, h1.name);
    assert.deepEqual(snapshot(kh), before, 'known_hosts byte-identical (and not rewritten)');
    const strict = sshHostname(spec(h1, { knownHostsFile: kh }));
    assert.equal(strict.code, 255);
    assert.equal(strict.stdout, '', 'no command ran');
    assert.match(strict.stderr, /Host key verification failed/);
    assert.deepEqual(snapshot(kh), before);
    assert.deepEqual(fs.readdirSync(home), [], 'nothing written in HOME either (no ~/.ssh/known_hosts)');
  });

  it('not strict still refuses a changed key', () => {
    const kh = knownHosts('changed', [line(h1, h2.hostKeyPub)]);
    const before = snapshot(kh);
    const r = sshHostname(spec(h1, { knownHostsFile: kh, strictHostKeyChecking: false }));
    assert.equal(r.code, 255);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    assert.deepEqual(snapshot(kh), before);
  });

  it('a jump host is verified with the env file: an unknown jump host key is refused', () => {
    const onlyTarget = knownHosts('target-only', [line(h3)]);
    const before = snapshot(onlyTarget);
    const r = sshHostname(spec(h3, { knownHostsFile: onlyTarget, jump: spec(h1, { knownHostsFile: onlyTarget }) }));
    assert.equal(r.code, 255, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /Host key verification failed/);
    // the target is known and would have been accepted: it is the jump host that was refused
    assert.doesNotMatch(r.stderr, new RegExp(`${h3.address.replace(/\./g, '\\.')}.*(REMOTE HOST|Host key)`));
    assert.deepEqual(snapshot(onlyTarget), before);

    const both = knownHosts('both', [line(h1), line(h3)]);
    const ok = sshHostname(spec(h3, { knownHostsFile: both, jump: spec(h1, { knownHostsFile: both }) }));
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, h3.name, 'reached the target through the jump host');

    // the target behind a known jump host is checked too
    const onlyJump = knownHosts('jump-only', [line(h1)]);
    const t = sshHostname(spec(h3, { knownHostsFile: onlyJump, jump: spec(h1, { knownHostsFile: onlyJump }) }));
    assert.equal(t.code, 255);
    assert.match(t.stderr, /Host key verification failed/);

    // a non-strict jump host mirrors the ssh2 path: accepted for the run, nothing persisted
    const j = sshHostname(spec(h3, { knownHostsFile: onlyTarget, jump: spec(h1, { knownHostsFile: onlyTarget, strictHostKeyChecking: false }) }));
    assert.equal(j.code, 0, j.stderr);
    assert.equal(j.stdout, h3.name);
    assert.deepEqual(snapshot(onlyTarget), before);
    assert.deepEqual(fs.readdirSync(home), []);
  });
});
