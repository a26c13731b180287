/** The fleet driver's pure parts (config, unit files as fleet sees them) and its requests, against the in-process fake. */
import { after, before, describe, it, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseFleetConfig } from '../../src/drivers/fleet/config';
import { canonicalUnit, fleetHash, parseUnitFile, serializeOptions } from '../../src/drivers/fleet/unitfile';
import { FleetDriver, FLEET_PENDING } from '../../src/drivers/fleet/driver';
import { FleetStateStore } from '../../src/drivers/fleet/store';
import { realClock } from '../../src/clock';
import { DEFAULT_MACHINES, FakeFleet } from '../fleet-fake/fake';

const fail = (m: string) => new Error(m);

test('fleet: config is parsed in one place; unknown keys, bad endpoints and the tunnel are refused', () => {
  const c = parseFleetConfig({ endpoint: 'unix:///var/run/fleet.sock' }, fail, { etcd: ['http://e:2379'] });
  assert.deepEqual(c, {
    endpoint: { kind: 'unix', socketPath: '/var/run/fleet.sock', url: 'unix:///var/run/fleet.sock' },
    requestTimeoutMs: 10_000,
    etcd: ['http://e:2379'],
  });
  const h = parseFleetConfig({ endpoint: 'http://10.0.0.1:49153', requestTimeout: '3s', etcd: ['http://e:2379/'] }, fail);
  assert.deepEqual(h.endpoint, { kind: 'http', host: '10.0.0.1', port: 49153, url: 'http://10.0.0.1:49153' });
  assert.equal(h.requestTimeoutMs, 3000);
  assert.deepEqual(h.etcd, ['http://e:2379']);
  assert.equal(parseFleetConfig({ endpoint: 'http://h:1', requestTimeout: 2n }, fail).requestTimeoutMs, 2000);
  assert.throws(
    () => parseFleetConfig({ endpoint: 'http://h:1', endpiont: 'x' }, fail),
    /unknown key `fleet.endpiont` \(known: endpoint, tunnel, requestTimeout, etcd\)/,
  );
  assert.throws(() => parseFleetConfig(undefined, fail), /`driver: fleet` needs `fleet: \{endpoint:/);
  assert.throws(() => parseFleetConfig({ endpoint: 'https://h:1' }, fail), /only unix:\/\/ and http:\/\//);
  assert.throws(() => parseFleetConfig({ endpoint: 'unix://relative.sock' }, fail), /must be absolute/);
  assert.deepEqual(parseFleetConfig({ endpoint: 'http://h:1', tunnel: 'core@h:2222' }, fail).tunnel, { user: 'core', host: 'h', port: 2222 });
  assert.deepEqual(parseFleetConfig({ endpoint: 'http://h:1', tunnel: 'h' }, fail).tunnel, { user: undefined, host: 'h', port: undefined });
  assert.throws(() => parseFleetConfig({ endpoint: 'http://h:1', tunnel: 'a b' }, fail), /`fleet.tunnel` must be \[user@\]host\[:port\]/);
  assert.throws(() => parseFleetConfig({ endpoint: 'http://h:1', requestTimeout: 'soon' }, fail), /requestTimeout/);
});

test('fleet: a unit file is compared as fleet stores it; the hash is the one fleet reports', () => {
  const file =
    "# comment\n[Unit]\nDescription = lifecycle demo\n\n\n[Service]\n; another\nExecStart=/bin/sh -c 'echo %n %i started on %H; exec sleep infinity'\n[X-Fleet]\nMachineMetadata=rack=r2\n";
  const opts = parseUnitFile(file);
  assert.deepEqual(
    opts.map((o) => `${o.section}/${o.name}`),
    ['Unit/Description', 'Service/ExecStart', 'X-Fleet/MachineMetadata'],
  );
  // 02-lifecycle: this unit's /state hash.
  assert.equal(fleetHash(opts), 'dce09d104fd823f1a911e04254a6244324eb695b');
  assert.equal(canonicalUnit(file), serializeOptions(opts));
  assert.equal(canonicalUnit(canonicalUnit(file)), canonicalUnit(file));
  assert.notEqual(canonicalUnit('[X-Fleet]\nGlobal=true\n[Service]\nExecStart=/x\n'), canonicalUnit('[Service]\nExecStart=/x\n[X-Fleet]\nGlobal=true\n'));
  assert.deepEqual(parseUnitFile('[Service]\nExecStart=/bin/a \\\n  --b\n'), [{ section: 'Service', name: 'ExecStart', value: '/bin/a \\\n  --b' }]);
});

describe('fleet driver against the fake API', () => {
  let fake: FakeFleet;
  let driver: FleetDriver;
  let dir: string;
  const store = { keep: async () => '1', drop: async () => {}, latest: async () => undefined, close: async () => {} } as unknown as FleetStateStore;
  const waitOpts = () => ({
    deadline: Date.now() + 10_000,
    timeoutMs: 10_000,
    settleMs: 20,
    pollMs: 20,
    clock: realClock,
    signal: new AbortController().signal,
  });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-fleet-driver-'));
    fake = new FakeFleet({ timeScale: 0.02 });
    const endpoint = await fake.listen(path.join(dir, 'fleet.sock'));
    driver = new FleetDriver({
      config: parseFleetConfig({ endpoint }, fail),
      envName: 'prod',
      store,
      ssh: {
        target: { scope: 'system', sudo: false },
        transport: { connect: async () => assert.fail('no connection expected'), closeAll: async () => {} } as never,
        host: (name, address) =>
          ({ name, address, port: 22, user: 'core', identityFiles: [], knownHostsFile: '/kh', strictHostKeyChecking: true, connectTimeoutMs: 3000 }) as never,
      },
    });
  });
  after(async () => {
    await driver.close();
    await fake.close();
  });

  it('a new unit is sent with desiredState loaded, launched, and waited for on /state?unitName=', async () => {
    await driver.install(FLEET_PENDING, 'prod_a.service', '[Service]\nExecStart=/bin/a\n', { keepRevision: true });
    const put = fake.requests.find((r) => r.method === 'PUT')!;
    assert.deepEqual(JSON.parse(put.body!).desiredState, 'loaded');
    const t = await driver.beginStart(FLEET_PENDING, 'prod_a.service');
    await driver.waitUp(FLEET_PENDING, t, waitOpts());
    const snap = await driver.read([FLEET_PENDING], ['prod_']);
    const live = snap.flatMap((s) => s.units);
    assert.equal(live.length, 1);
    assert.equal(live[0].name, 'prod_a.service');
    assert.match(live[0].machine, /^[0-9a-f]{8}$/);
    assert.equal(live[0].state?.activeState, 'active');
    assert.ok(fake.requests.some((r) => r.path === '/fleet/v1/state?unitName=prod_a.service'));
  });

  it('new options for a running unit keep it launched; the previous options become a revision', async () => {
    const kept: string[] = [];
    (store as unknown as { keep: (u: string, c: string) => Promise<string> }).keep = async (_u, c) => {
      kept.push(c);
      return '1';
    };
    const r = await driver.install(FLEET_PENDING, 'prod_a.service', '[Service]\nExecStart=/bin/a2\n', { keepRevision: true });
    assert.equal(r.revision, '1');
    assert.deepEqual(kept, ['[Service]\nExecStart=/bin/a\n']);
    const put = fake.requests.filter((x) => x.method === 'PUT').at(-1)!;
    assert.equal(JSON.parse(put.body!).desiredState, 'launched');
    await driver.waitUp(FLEET_PENDING, await driver.beginStart(FLEET_PENDING, 'prod_a.service'), waitOpts());
    // Identical options: nothing sent.
    const n = fake.requests.length;
    await driver.install(FLEET_PENDING, 'prod_a.service', '# same\n[Service]\nExecStart = /bin/a2\n', { keepRevision: true });
    assert.equal(fake.requests.slice(n).filter((x) => x.method !== 'GET').length, 0);
  });

  it("a wait rides out fleet's etcd going away (500s, then 503s) and coming back", async () => {
    await driver.install(FLEET_PENDING, 'prod_b.service', '[Service]\nExecStart=/bin/b\n', { keepRevision: false });
    const t = await driver.beginStart(FLEET_PENDING, 'prod_b.service');
    fake.etcdDown();
    setTimeout(() => fake.etcdMonitorTimedOut(), 100);
    setTimeout(() => fake.etcdUp(), 300);
    const r = await driver.waitUp(FLEET_PENDING, t, waitOpts());
    assert.match(r.note, /^fleet runs it on [0-9a-f]{8} \(127\.0\.2\.1[123]\)$/);
    assert.ok(fake.requests.length > 0);
  });

  it('ssh, journal -f: OpenSSH to the address fleet reports for the machine', async () => {
    const [snap] = (await driver.read([FLEET_PENDING], ['prod_'])).filter((s) => s.units.length);
    const m = DEFAULT_MACHINES.find((x) => x.id.startsWith(snap.machine))!;
    const argv = driver.shellCommand(snap.machine, ['hostname'], false);
    assert.equal(argv[0], 'ssh');
    assert.ok(argv.includes(m.primaryIP), argv.join(' '));
    assert.equal(driver.address(snap.machine), m.primaryIP);
    assert.throws(() => driver.shellCommand(FLEET_PENDING, [], false), /no address for machine fleet \(the unit is not placed\)/);
  });

  it('never asks GET /state/<name>', () => {
    assert.deepEqual(
      fake.requests.filter((r) => /\/state\/./.test(r.path)),
      [],
    );
  });
});
