/**
 * `fleet.tunnel`: the fleet API reached through SSH to a machine, as `fleetctl --tunnel` did,
 * with the transport's host-key rules. One test host of the harness (a real sshd) forwards to the
 * fake fleet's unix socket (streamlocal) and to its TCP port (direct-tcpip).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { up, Cluster } from '../harness';
import { background, Run, tmpDir } from '../support/cli';
import { FakeFleet } from '../fleet-fake/fake';

const skip = process.getuid?.() === 0 ? false : 'the test cluster needs root';

let cluster: Cluster;
let fake: FakeFleet;
let tcpFake: FakeFleet;
let base: string;
let work: string;
let home: string;
let sock: string;
let tcp: string;
let sockDir: string;

const ggn = (...args: string[]): Promise<Run> => background(['-H', home, ...args]).done;

function config(endpoint: string, tunnel: string, knownHosts = cluster.knownHostsPath): void {
  fs.writeFileSync(
    path.join(work, 'env/prod/config.yml'),
    `driver: fleet\nfleet:\n  endpoint: ${endpoint}\n  tunnel: ${tunnel}\n  requestTimeout: 5s\nssh:\n  identityFile: ${cluster.clientKeyPath}\n  knownHostsFile: ${knownHosts}\n  connectTimeout: 3\n`,
  );
}

describe('fleet.tunnel through a real sshd', { skip, timeout: 180_000 }, () => {
  before(async () => {
    cluster = await up(1, { dir: '/tmp/ggn-test-fleet-tunnel' });
    base = tmpDir('fleet-tunnel');
    // The test host's login user connects to the socket: a world-reachable directory.
    sockDir = fs.mkdtempSync('/tmp/ggn-fleet-sock-');
    fs.chmodSync(sockDir, 0o755);
    fake = new FakeFleet({ timeScale: 0.05 });
    sock = path.join(sockDir, 'fleet.sock');
    await fake.listen(sock);
    fs.chmodSync(sock, 0o777);
    tcpFake = new FakeFleet({ timeScale: 0.05 });
    tcp = await tcpFake.listen();
    work = path.join(base, 'work');
    home = path.join(base, 'home');
    fs.mkdirSync(path.join(work, 'env/prod/services/web'), { recursive: true });
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(path.join(home, 'config.yml'), `workPath: ${work}\nuser: tester\n`);
    fs.writeFileSync(path.join(work, 'env/prod/services/web/service-manifest.yml'), 'nodes:\n  - hostname: w1\n');
    fs.writeFileSync(path.join(work, 'env/prod/services/web/unit.tmpl'), '[Service]\nExecStart=/bin/sleep 1000\n');
  });
  after(async () => {
    await fake?.close();
    await tcpFake?.close();
    await cluster?.down();
    if (sockDir) fs.rmSync(sockDir, { recursive: true, force: true });
  });

  it("reaches fleet's unix socket through the machine (streamlocal)", async () => {
    const h = cluster.hosts[0];
    config(`unix://${sock}`, `${h.user}@${h.address}:${h.port}`);
    const r = await ggn('prod', 'list-machines', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).machines.length, 3);
    const d = await ggn('prod', 'diff');
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /0 changed, 1 new/);
    assert.ok(fake.requests.length >= 4, 'the requests went to the fake over the tunnel');
  });

  it('reaches an http:// endpoint as the machine sees it (direct-tcpip)', async () => {
    const h = cluster.hosts[0];
    config(tcp, `${h.user}@${h.address}:${h.port}`);
    const n = tcpFake.requests.length;
    const d = await ggn('prod', 'check');
    assert.equal(d.code, 2, d.stderr);
    assert.match(d.stdout, /missing/);
    assert.ok(tcpFake.requests.length > n);
  });

  it('an unknown host key is refused before anything is sent', async () => {
    const h = cluster.hosts[0];
    const empty = path.join(base, 'empty_known_hosts');
    fs.writeFileSync(empty, '');
    config(`unix://${sock}`, `${h.user}@${h.address}:${h.port}`, empty);
    const n = fake.requests.length;
    const d = await ggn('prod', 'diff');
    assert.equal(d.code, 1);
    assert.match(d.stderr, /host key|known_hosts/i);
    assert.equal(d.stderr.trim().split('\n').length, 1, d.stderr);
    assert.equal(fake.requests.length, n);
  });
});
