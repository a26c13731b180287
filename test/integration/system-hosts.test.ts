// Integration test of the system-scope test hosts themselves (root only; see test/harness/README.md).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SystemCluster, SystemHost, upSystem } from '../harness';

const skip = process.getuid?.() === 0 ? false : 'the system test hosts (systemd-nspawn) need root';
const DIR = '/tmp/ggn-test-system-hosts';

let c: SystemCluster;
let h: SystemHost[];

/** OpenSSH, with the harness's ssh_config: strict host keys, batch mode. */
function ssh(host: SystemHost, cmd: string, opts: { user?: string; timeout?: number } = {}) {
  const r = spawnSync('ssh', ['-F', c.sshConfigPath, '-o', `ConnectTimeout=${opts.timeout ?? 5}`, ...(opts.user ? ['-l', opts.user] : []), host.name, cmd], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

async function root(host: SystemHost, ...argv: string[]): Promise<string> {
  const r = await c.exec(host, argv);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

describe('system test hosts (systemd-nspawn)', { skip, timeout: 180_000 }, () => {
  before(async () => {
    c = await upSystem(2, { dir: DIR, sudo: ['nopasswd', 'password'], rootLogin: [true, false] });
    h = c.hosts;
  });
  after(async () => {
    await c?.down();
  });

  it('each host is a real systemd system manager with its own name, keys and machine-id, reached as deploy', async () => {
    for (const [i, host] of h.entries()) {
      assert.equal(host.address, `127.0.2.${11 + i}`);
      const r = ssh(host, 'hostname; id -un; systemctl is-system-running; cat /proc/1/comm; systemd-detect-virt');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.split('\n'), [host.name, 'deploy', 'running', 'systemd', 'systemd-nspawn']);
    }
    assert.notEqual(h[0].hostKeyPub, h[1].hostKeyPub);
    assert.notEqual(await root(h[0], 'cat', '/etc/machine-id'), await root(h[1], 'cat', '/etc/machine-id'));
    assert.equal(await root(h[1], 'id', '-u'), '0', 'exec runs as root inside the host');
    assert.equal(await root(h[1], 'hostname'), h[1].name);
  });

  it('sudo and root-login variants', () => {
    assert.equal(ssh(h[0], 'sudo -n systemctl daemon-reload').code, 0);
    const pw = ssh(h[1], 'sudo -n true');
    assert.equal(pw.code, 1);
    assert.equal(pw.stderr, 'sudo: a password is required', 'and no "unable to resolve host" noise');
    assert.equal(ssh(h[0], 'id -u', { user: 'root' }).stdout, '0');
    const refused = ssh(h[1], 'id -u', { user: 'root' });
    assert.equal(refused.code, 255);
    assert.match(refused.stderr, /Permission denied \(publickey\)/);
  });

  it("setSudo changes deploy's rights on a running host", async () => {
    await c.setSudo(h[1], 'nopasswd');
    assert.equal(ssh(h[1], 'sudo -n true').code, 0);
    await c.setSudo(h[1], 'none');
    assert.equal(ssh(h[1], 'sudo -n true').stderr, 'sudo: a password is required');
  });

  it('hang and partition make connections time out; resume and heal bring them back', async () => {
    await c.hang(h[0]);
    try {
      assert.match(ssh(h[0], 'true', { timeout: 2 }).stderr, /timed out/i);
      await assert.rejects(c.exec(h[0], ['true']), /is hung/);
    } finally {
      await c.resume(h[0]);
    }
    assert.equal(ssh(h[0], 'true').code, 0);
    await c.partition(h[1]);
    try {
      assert.match(ssh(h[1], 'true', { timeout: 2 }).stderr, /timed out/i);
      assert.equal(ssh(h[0], 'true').code, 0, 'the other host is still reachable');
    } finally {
      await c.heal(h[1]);
    }
    assert.equal(ssh(h[1], 'true').code, 0);
  });

  it('kill is a power cut: refused, then start boots the same disk again; reboot gives a new boot', async () => {
    await root(h[0], 'sh', '-c', 'echo kept > /etc/ggn-test-marker');
    const boot0 = await c.bootId(h[0]);
    await c.kill(h[0]);
    assert.match(ssh(h[0], 'true').stderr, /Connection refused/);
    await assert.rejects(c.exec(h[0], ['true']), /is down/);
    await c.start(h[0]);
    assert.equal(await root(h[0], 'cat', '/etc/ggn-test-marker'), 'kept');
    const boot1 = await c.bootId(h[0]);
    assert.notEqual(boot1, boot0);
    await c.reboot(h[0]);
    assert.notEqual(await c.bootId(h[0]), boot1);
    assert.equal(ssh(h[0], 'systemctl is-system-running').stdout, 'running');
    // the journal is persistent: the boots before this one are still listed
    const boots = (await root(h[0], 'journalctl', '--list-boots', '--no-pager')).match(/\b[0-9a-f]{32}\b/g) ?? [];
    assert.ok(boots.length >= 2, `boots: ${boots.join(' ')}`);
  });

  it('down leaves no process, cgroup, mount, nft table, overlay dir or lock', async () => {
    const cg = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup/systemd', '/sys/fs/cgroup'].map((r) => path.join(r, 'ggn-syshosts')).filter((d) => fs.existsSync(d));
    assert.ok(cg.length > 0);
    await c.down();
    for (const d of cg) assert.ok(!fs.existsSync(d), `${d} removed`);
    for (const host of h) {
      for (const sub of ['upper', 'work', 'root']) assert.ok(!fs.existsSync(path.join(DIR, 'hosts', host.name, sub)), `${host.name}/${sub} removed`);
      assert.ok(fs.existsSync(path.join(DIR, 'hosts', host.name, 'console.log')), 'logs stay');
    }
    assert.notEqual(spawnSync('nft', ['list', 'table', 'inet', 'ggn_syshosts']).status, 0);
    assert.ok(!fs.existsSync('/run/ggn-syshosts/owner.json'));
    const mounts = fs
      .readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/mountinfo`, 'utf8').includes(DIR);
        } catch {
          return false;
        }
      });
    assert.deepEqual(mounts, [], 'no mount namespace holds an overlay of this dir');
    assert.match(ssh(h[1], 'true').stderr, /Connection refused/);
  });
});
