// Integration test of the test-cluster harness itself (root only; see test/harness/README.md).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, ClientChannel } from 'ssh2';
import { Cluster, TestHost, up } from '../harness';

const HARNESS = path.join(__dirname, '..', 'harness');
const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'the test cluster needs root';

// ---------------------------------------------------------------- helpers

/** The key known_hosts lists for a host, looked up the way OpenSSH would (by name or [name]:port). */
function knownHostKey(c: Cluster, h: TestHost): Buffer {
  const want = h.port === 22 ? h.name : `[${h.name}]:${h.port}`;
  for (const line of fs.readFileSync(c.knownHostsPath, 'utf8').split('\n')) {
    const [patterns, type, key] = line.split(' ');
    if (patterns?.split(',').includes(want)) {
      assert.equal(type, 'ssh-ed25519');
      return Buffer.from(key, 'base64');
    }
  }
  throw new Error(`${want} not in ${c.knownHostsPath}`);
}

interface SshError extends Error {
  level?: string;
  code?: string;
}

function connect(c: Cluster, h: TestHost, opts: { readyTimeout?: number; key?: Buffer } = {}): Promise<Client> {
  const expected = opts.key ?? knownHostKey(c, h);
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on('ready', () => resolve(client));
    client.on('error', (e) => {
      client.end();
      reject(e);
    });
    client.connect({
      host: h.address,
      port: h.port,
      username: h.user,
      privateKey: fs.readFileSync(c.clientKeyPath),
      hostVerifier: (key: Buffer) => key.equals(expected),
      algorithms: { serverHostKey: ['ssh-ed25519'] },
      readyTimeout: opts.readyTimeout ?? 5000,
    });
    client.setNoDelay(true);
  });
}

function sshExec(client: Client, cmd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    client.exec(cmd, (err: Error | undefined, stream: ClientChannel) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      stream.on('data', (d: Buffer) => (stdout += d.toString()));
      stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      stream.on('close', (code: number | null) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  });
}

function sftpWrite(client: Client, file: string, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    client.sftp((err, sftp) => {
      if (err) return reject(err);
      sftp.writeFile(file, data, (e?: Error | null) => {
        sftp.end();
        if (e) reject(e);
        else resolve();
      });
    });
  });
}

async function connectError(c: Cluster, h: TestHost, readyTimeout: number): Promise<SshError> {
  try {
    const cl = await connect(c, h, { readyTimeout });
    cl.end();
  } catch (e) {
    return e as SshError;
  }
  throw new Error(`connection to ${h.name} unexpectedly succeeded`);
}

async function ping(c: Cluster, h: TestHost): Promise<string> {
  const cl = await connect(c, h);
  try {
    return (await sshExec(cl, 'hostname')).stdout.trim();
  } finally {
    cl.end();
  }
}

function openssh(c: Cluster, host: string, cmd: string) {
  return spawnSync('ssh', ['-F', c.sshConfigPath, host, cmd], { encoding: 'utf8', timeout: 15_000 });
}

/** Everything down() promises to remove. Returns a list of what is still there. */
function leftovers(hosts: Array<{ uid: number }>): string[] {
  const out: string[] = [];
  for (const root of ['/sys/fs/cgroup/unified', '/sys/fs/cgroup/systemd', '/sys/fs/cgroup']) {
    if (fs.existsSync(path.join(root, 'ggn-test'))) out.push(`cgroup ${root}/ggn-test`);
  }
  for (const h of hosts) if (fs.existsSync(`/run/user/${h.uid}`)) out.push(`/run/user/${h.uid}`);
  if (fs.existsSync('/run/systemd/system')) out.push('/run/systemd/system in the root namespace');
  if (spawnSync('nft', ['list', 'table', 'inet', 'ggn_test'], { stdio: 'ignore' }).status === 0) out.push('nft table ggn_test');
  if (fs.existsSync('/run/ggn-test/owner.json')) out.push('lock /run/ggn-test/owner.json');
  const uids = new Set(hosts.map((h) => String(h.uid)));
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const state = /^State:\s+(\S)/m.exec(status)?.[1];
      const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
      const cg = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      if (state === 'Z') continue; // not in any cgroup; PID 1 reaps it within ~2 s
      if (uid && uids.has(uid)) out.push(`process ${pid} of uid ${uid}`);
      if (cg.includes('/ggn-test')) out.push(`process ${pid} in ${cg.trim().split('\n')[0]}`);
    } catch {
      /* exited */
    }
  }
  return out;
}

/** Runs a node script that uses the harness in a child process. */
function child(script: string, timeoutMs = 20_000): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['-e', script], { env: { ...process.env, HARNESS }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.stderr.on('data', (d: Buffer) => (out += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, out });
    });
  });
}

const UNIT = `[Unit]
Description=ggn harness probe

[Service]
ExecStart=/bin/sleep infinity

[Install]
WantedBy=default.target
`;

// ---------------------------------------------------------------- the main cluster

describe('test cluster harness', { skip }, () => {
  let c: Cluster;
  let downMs = 0;

  before(async () => {
    const t0 = Date.now();
    c = await up(3, { etcd: true });
    process.stderr.write(`# up(3, etcd) in ${Date.now() - t0} ms (${c.mode} mode)\n`);
  });

  after(async () => {
    await c?.down(); // normally already done by the last test
    if (downMs) process.stderr.write(`# down in ${downMs} ms\n`);
  });

  it('describes every host consistently', () => {
    assert.equal(c.hosts.length, 3);
    const names = new Set(c.hosts.map((h) => h.name));
    assert.equal(names.size, 3);
    for (const h of c.hosts) {
      assert.match(h.address, /^127\./);
      assert.match(h.user, /^ggnt\d+$/);
      assert.match(h.hostKeyPub, /^ssh-ed25519 AAAA/);
      assert.equal(knownHostKey(c, h).toString('base64'), h.hostKeyPub.split(' ')[1]);
      assert.ok(fs.statSync(path.join(h.home, '.ssh', 'authorized_keys')).uid === h.uid);
    }
    if (c.mode === 'address')
      assert.deepEqual(
        c.hosts.map((h) => h.address),
        ['127.0.0.11', '127.0.0.12', '127.0.0.13'],
      );
    assert.equal(fs.statSync(c.clientKeyPath).mode & 0o777, 0o600);
    assert.ok(!fs.existsSync('/run/systemd/system'), 'sd_booted must stay false in the root namespace');
  });

  it('accepts the real OpenSSH client with strict host key checking', () => {
    const r = openssh(c, c.hosts[0].name, 'systemctl --user is-system-running; hostname; echo "$XDG_RUNTIME_DIR"');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['running', c.hosts[0].name, c.hosts[0].runtimeDir]);
    // the key file is a valid OpenSSH private key
    const pub = spawnSync('ssh-keygen', ['-y', '-f', c.clientKeyPath], { encoding: 'utf8' });
    assert.equal(pub.status, 0, pub.stderr);
    const firstTwo = (s: string) => s.trim().split(' ').slice(0, 2).join(' ');
    assert.equal(firstTwo(pub.stdout), firstTwo(fs.readFileSync(c.clientKeyPath + '.pub', 'utf8')));
  });

  it('accepts ssh2 with a known_hosts verifier and rejects a wrong host key', async () => {
    const h = c.hosts[1];
    const cl = await connect(c, h);
    try {
      const r = await sshExec(cl, 'systemctl --user is-system-running');
      assert.equal(r.stdout.trim(), 'running');
    } finally {
      cl.end();
    }
    const e = await (async () => {
      try {
        (await connect(c, h, { key: knownHostKey(c, c.hosts[0]) })).end();
      } catch (err) {
        return err as SshError;
      }
      throw new Error('wrong host key accepted');
    })();
    assert.equal(e.level, 'handshake');
    assert.match(e.message, /verification failed/);
  });

  it("runs a unit written over SFTP on the host's own manager", async () => {
    const h = c.hosts[0];
    const cl = await connect(c, h);
    try {
      await sftpWrite(cl, '.config/systemd/user/ggn-probe.service', UNIT);
      const r = await sshExec(
        cl,
        'systemctl --user daemon-reload && systemctl --user enable --now ggn-probe.service 2>/dev/null && ' +
          'systemctl --user is-active ggn-probe.service && systemctl --user show -p ControlGroup --value ggn-probe.service',
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n'), ['active', `/${h.cgroup}/manager/app.slice/ggn-probe.service`]);
    } finally {
      cl.end();
    }
    const viaExec = await c.exec(h, ['systemctl', '--user', 'is-active', 'ggn-probe.service']);
    assert.deepEqual([viaExec.code, viaExec.stdout.trim()], [0, 'active']);
    // other hosts don't see it
    const other = await c.exec(c.hosts[1], ['systemctl', '--user', 'is-active', 'ggn-probe.service']);
    assert.notEqual(other.code, 0);
    // exec runs as the host's user, in its namespace
    const who = await c.exec(h, ['sh', '-c', 'id -un; hostname; pwd; test -d /run/systemd/system && echo booted']);
    assert.deepEqual(who.stdout.trim().split('\n'), [h.user, h.name, h.home, 'booted']);
  });

  it('kill() refuses new connections; restart() brings the host back with its enabled units', async () => {
    const h = c.hosts[0];
    const before = await c.exec(h, ['systemctl', '--user', 'show', '-p', 'ExecMainStartTimestampMonotonic', '--value', 'ggn-probe.service']);
    const existing = await connect(c, h);
    const closed = new Promise<void>((r) => existing.on('close', () => r()));
    await c.kill(h);
    const e = await connectError(c, h, 2000);
    assert.equal(e.code, 'ECONNREFUSED', e.message);
    await closed; // the existing connection is gone too
    await assert.rejects(c.exec(h, ['true']), /is down/);

    await c.restart(h);
    assert.equal(await ping(c, h), h.name);
    const st = await c.exec(h, ['systemctl', '--user', 'is-active', 'ggn-probe.service']);
    assert.equal(st.stdout.trim(), 'active');
    const afterTs = await c.exec(h, ['systemctl', '--user', 'show', '-p', 'ExecMainStartTimestampMonotonic', '--value', 'ggn-probe.service']);
    assert.notEqual(afterTs.stdout.trim(), before.stdout.trim());
  });

  it('hang() makes the handshake time out; resume() recovers', async () => {
    const h = c.hosts[1];
    await c.hang(h);
    const t0 = Date.now();
    const e = await connectError(c, h, 700);
    assert.equal(e.level, 'client-timeout', e.message);
    assert.ok(Date.now() - t0 >= 650);
    // the host's manager is untouched by a hung sshd
    assert.equal((await c.exec(h, ['systemctl', '--user', 'is-system-running'])).stdout.trim(), 'running');
    await c.resume(h);
    assert.equal(await ping(c, h), h.name);

    await c.hang(h, { freeze: true });
    assert.equal((await connectError(c, h, 700)).level, 'client-timeout');
    await c.resume(h);
    assert.equal(await ping(c, h), h.name);
  });

  it('partition() drops traffic; heal() restores it', async () => {
    const h = c.hosts[2];
    await c.partition(h);
    const e = await connectError(c, h, 700);
    assert.equal(e.level, 'client-timeout', e.message);
    assert.equal(await ping(c, c.hosts[1]), c.hosts[1].name, 'other hosts stay reachable');
    await c.heal(h);
    assert.equal(await ping(c, h), h.name);
  });

  it('runs a healthy etcd', async () => {
    assert.ok(c.etcd);
    const r = spawnSync('etcdctl', [`--endpoints=${c.etcd.endpoint}`, 'endpoint', 'health'], {
      encoding: 'utf8',
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /is healthy/);
  });

  it('down() leaves nothing behind and is idempotent', async () => {
    const hosts = c.hosts.map((h) => ({ uid: h.uid }));
    const t0 = Date.now();
    await c.down();
    downMs = Date.now() - t0;
    await c.down();
    assert.deepEqual(leftovers(hosts), []);
    assert.ok(downMs < 6000, `down took ${downMs} ms`);
  });
});

// ---------------------------------------------------------------- other modes and crashes

describe('test cluster harness: port mode, crashes', { skip }, () => {
  it('works in port mode (127.0.0.1, one port per host)', async () => {
    const c = await up(2, { mode: 'port', namePrefix: 'pm' });
    try {
      assert.deepEqual(
        c.hosts.map((h) => `${h.name} ${h.address}:${h.port}`),
        ['pm1 127.0.0.1:2201', 'pm2 127.0.0.1:2202'],
      );
      assert.match(fs.readFileSync(c.knownHostsPath, 'utf8'), /^\[pm1\]:2201,\[127\.0\.0\.1\]:2201 ssh-ed25519 /);
      const r = openssh(c, 'pm2', 'systemctl --user is-system-running');
      assert.equal(r.stdout.trim(), 'running', r.stderr);
      assert.equal(await ping(c, c.hosts[0]), 'pm1');
      await c.partition(c.hosts[0]);
      assert.equal((await connectError(c, c.hosts[0], 700)).level, 'client-timeout');
      assert.equal(await ping(c, c.hosts[1]), 'pm2');
      await c.heal(c.hosts[0]);
      assert.equal(await ping(c, c.hosts[0]), 'pm1');
    } finally {
      await c.down();
    }
  });

  it('cleans up on process exit without down(), and after a SIGKILLed run', async () => {
    const exitRun = await child(`
      const h = require(process.env.HARNESS);
      h.up(1, { dir: '/tmp/ggn-test-cluster-exit' }).then((c) => { console.log('UID', c.hosts[0].uid); process.exit(0); },
        (e) => { console.error(e); process.exit(3); });`);
    assert.equal(exitRun.code, 0, exitRun.out);
    const uid = Number(/UID (\d+)/.exec(exitRun.out)?.[1]);
    assert.deepEqual(leftovers([{ uid }]), []);

    const crashed = await child(`
      const h = require(process.env.HARNESS);
      h.up(2, { dir: '/tmp/ggn-test-cluster-crash' }).then(() => process.kill(process.pid, 'SIGKILL'),
        (e) => { console.error(e); process.exit(3); });`);
    assert.equal(crashed.signal, 'SIGKILL', crashed.out);
    assert.ok(fs.existsSync('/sys/fs/cgroup/unified/ggn-test/host1'), 'the crashed run left its hosts running');

    const c = await up(2); // takes over the stale lock and cleans the leftovers
    try {
      assert.equal(await ping(c, c.hosts[1]), 'host2');
    } finally {
      await c.down();
    }
    assert.deepEqual(leftovers(c.hosts), []);
    for (const d of ['/tmp/ggn-test-cluster-exit', '/tmp/ggn-test-cluster-crash']) fs.rmSync(d, { recursive: true, force: true });
  });
});
