/**
 * The fleet driver's contract: diff, check, update, rollback, history and the unit commands
 * through the real CLI against fleet's v1 API, with a real etcd for the lock, the revisions and
 * the audit log.
 *
 * By default the API is the fake (test/fleet-fake), on a fast clock, and the fault cases run
 * too (a unit failing after launch, a unit fleet cannot schedule, etcd away from fleet, a
 * machine lost mid-rollout). With GGN_FLEET_ENDPOINT (unix:///var/run/fleet.sock or
 * http://host:49153) the same cases run unchanged against that fleet; the fault cases need the
 * fake's injection and are skipped. GGN_FLEET_ETCD names an etcd for ggn's lock and records
 * (else one is started here, on ports 12479/12480). Units are named `ggnct<random>_web_*` so a
 * real cluster's own units are never touched; every unit created is destroyed at the end.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { background, Run, tmpDir } from '../support/cli';
import { RunningEtcd, startEtcd } from '../harness/etcd';
import { DEFAULT_MACHINES, FakeFleet } from '../fleet-fake/fake';

const REAL = process.env.GGN_FLEET_ENDPOINT;
// Not the test hosts' etcd ports (12379, 12479): this suite holds no test-host lock.
const ETCD_PORTS = { client: 12579, peer: 12580 };
const hasEtcd = !!process.env.GGN_FLEET_ETCD || ['/usr/bin/etcd', '/usr/local/bin/etcd'].some((p) => fs.existsSync(p));
const skip = hasEtcd ? false : 'needs etcd (GGN_FLEET_ETCD, or the etcd binary)';
const fakeOnly = REAL ? 'fault injection needs the fake (GGN_FLEET_ENDPOINT is set)' : false;

let fake: FakeFleet | undefined;
let endpoint: string;
let etcdUrl: string;
let etcd: RunningEtcd | undefined;
let base: string;
let home: string;
let work: string;
const envName = `ggnct${randomBytes(3).toString('hex')}`;
const unit = (host: string) => `${envName}_web_${host}.service`;

const EXEC = "/bin/sh -c 'exec sleep 100000'";
const UNIT = (extra = '', exec = EXEC, xfleet = '') =>
  `[Unit]\nDescription=web {{.hostname}}\n\n[Service]\nExecStart=${exec}${extra}\n\n[X-Fleet]\nMachineMetadata=rack=r1\nMachineMetadata=rack=r2\n${xfleet}`;

function write(rel: string, content: string): void {
  const f = path.join(work, rel);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, content);
}

/** The CLI, asynchronously (the fake answers from this process). */
async function ggn(...args: string[]): Promise<Run> {
  return background(['-H', home, ...args]).done;
}

const events = (r: Run) =>
  r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));

describe('fleet driver contract', { skip, timeout: 300_000, concurrency: 1 }, () => {
  before(async () => {
    base = tmpDir('fleet-contract');
    work = path.join(base, 'work');
    home = path.join(base, 'home');
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(path.join(home, 'config.yml'), `workPath: ${work}\nuser: tester\n`);
    if (REAL) endpoint = REAL;
    else {
      // 1/20 of fleet's measured delays: a replacement takes ~0.45 s instead of ~9 s.
      // etcd's outage stays in its 500 phase until the test says fleetd's monitor gave up.
      fake = new FakeFleet({ timeScale: 0.05, delays: { outage500: 3_600_000 } });
      endpoint = await fake.listen(path.join(base, 'fleet.sock'));
    }
    if (process.env.GGN_FLEET_ETCD) etcdUrl = process.env.GGN_FLEET_ETCD;
    else {
      // The harness's etcd starter, without cgroups (no test hosts here).
      etcd = await startEtcd({ dir: base, roots: [], cgroup: '', clientPort: ETCD_PORTS.client, peerPort: ETCD_PORTS.peer });
      etcdUrl = etcd.endpoint;
    }
    write(
      'env/prod/config.yml',
      `envName: ${envName}\ndriver: fleet\nfleet:\n  endpoint: ${endpoint}\n  requestTimeout: 5s\nlock: {backend: etcd, endpoints: [${etcdUrl}]}\n`,
    );
    write('env/prod/services/web/service-manifest.yml', 'nodes:\n  - hostname: w1\n  - hostname: w2\n');
    write('env/prod/services/web/unit.tmpl', UNIT());
  });

  after(async () => {
    // Leave a real cluster as it was: every unit of this run destroyed.
    if (work) {
      write('env/prod/services/web/service-manifest.yml', 'nodes:\n  - hostname: w1\n  - hostname: w2\n  - hostname: bad\n  - hostname: nowhere\n');
      for (const h of ['w1', 'w2', 'bad', 'nowhere']) await ggn('prod', 'web', h, 'destroy', '-y').catch(() => undefined);
    }
    await fake?.close();
    if (etcd?.pid) process.kill(etcd.pid, 'SIGTERM');
  });

  it('diff and check see new units; generate is unchanged', async () => {
    const d = await ggn('prod', 'diff', '--exit-code');
    assert.equal(d.code, 2, d.stderr);
    assert.match(d.stdout, /0 changed, 2 new, 0 orphaned, 0 unchanged/);
    const c = await ggn('prod', 'check');
    assert.equal(c.code, 2);
    assert.match(c.stdout, new RegExp(`${unit('w1')}\\s+fleet\\s+missing`));
    const g = await ggn('prod', 'web', 'generate');
    assert.equal(g.code, 0, g.stderr);
    assert.match(fs.readFileSync(path.join(work, `env/prod/services/web/units/${unit('w1')}`), 'utf8'), /MachineMetadata=rack=r1\nMachineMetadata=rack=r2/);
  });

  it('update rolls the units out one by one; fleet places them; check is clean', async () => {
    const u = await ggn('prod', 'web', 'update', '-y', '--json');
    assert.equal(u.code, 0, u.stderr + u.stdout);
    const ev = events(u);
    assert.deepEqual(
      ev.filter((e) => e.step === 'wait-active' && e.result === 'ok').map((e) => e.unit),
      [unit('w1'), unit('w2')],
    );
    assert.equal(ev.at(-1).summary.exitCode, 0);
    // Where fleet put each new unit is reported when it is up.
    for (const e of ev.filter((x) => x.step === 'wait-active' && x.result === 'ok')) assert.match(e.message, /^fleet runs it on [0-9a-f]{8}( \(\S+\))?$/);
    const c = await ggn('prod', 'check', '--json');
    assert.equal(c.code, 0, c.stdout);
    const l = await ggn('prod', 'list-units', '--json');
    const rows = JSON.parse(l.stdout).units as { unit: string; host: string; state: { active: string } | null }[];
    assert.equal(rows.length, 2);
    for (const r of rows) {
      assert.match(r.host, /^[0-9a-f]{8}$/, 'reported on the machine fleet chose');
      assert.equal(r.state?.active, 'active');
    }
  });

  it("diff compares as fleet does: comments, blank lines and spaces around '=' are no change; option order is", async () => {
    write('env/prod/services/web/unit.tmpl', `# a comment\n${UNIT().replace('ExecStart=', 'ExecStart = ').replace('[Service]', '\n[Service]')}`);
    const same = await ggn('prod', 'diff', '--exit-code');
    assert.equal(same.code, 0, same.stdout);
    assert.match(same.stdout, /0 changed, 0 new, 0 orphaned, 2 unchanged/);
    // [X-Fleet] before [Service]: fleet serializes another file, and would restart the unit.
    write(
      'env/prod/services/web/unit.tmpl',
      UNIT().replace(/\[Service\]\n[^\n]*\n\n(\[X-Fleet\][\s\S]*)$/, "$1\n[Service]\nExecStart=/bin/sh -c 'exec sleep 100000'\n"),
    );
    const reordered = await ggn('prod', 'diff', '--exit-code');
    assert.equal(reordered.code, 2, reordered.stdout);
    assert.match(reordered.stdout, /2 changed/);
    write('env/prod/services/web/unit.tmpl', UNIT());
  });

  it('a change rolls out and rollback puts the previous version back; history shows both', async () => {
    write('env/prod/services/web/unit.tmpl', UNIT(' # v2'));
    const u = await ggn('prod', 'web', 'update', '-y');
    assert.equal(u.code, 0, u.stderr);
    assert.equal((await ggn('prod', 'check')).code, 0);
    const r = await ggn('prod', 'web', 'rollback', '-y');
    assert.equal(r.code, 0, r.stderr);
    const d = await ggn('prod', 'diff');
    assert.match(d.stdout, /2 changed/);
    assert.match(d.stdout, /-ExecStart=\/bin\/sh -c 'exec sleep 100000'\n\+ExecStart=\/bin\/sh -c 'exec sleep 100000' # v2/);
    const h = await ggn('prod', 'web', 'history', '--json');
    const actions = (JSON.parse(h.stdout).entries as { action: string; result: string }[]).map((e) => `${e.action} ${e.result}`);
    assert.deepEqual(actions.slice(-4), ['update ok', 'update ok', 'rollback ok', 'rollback ok']);
    const again = await ggn('prod', 'web', 'update', '-y');
    assert.equal(again.code, 0, again.stderr);
  });

  it('stop, start, restart, destroy and start again', async () => {
    assert.equal((await ggn('prod', 'web', 'w1', 'stop')).code, 0);
    const stopped = await ggn('prod', 'check');
    assert.equal(stopped.code, 2);
    assert.match(stopped.stdout, new RegExp(`${unit('w1')}\\s+\\S+\\s+inactive/dead`));
    assert.equal((await ggn('prod', 'web', 'w1', 'start')).code, 0);
    await until(async () => (await ggn('prod', 'check')).code === 0);
    const rs = await ggn('prod', 'web', 'w1', 'restart');
    assert.equal(rs.code, 0, rs.stderr);
    await until(async () => (await ggn('prod', 'check')).code === 0);
    const de = await ggn('prod', 'web', 'w2', 'destroy', '-y');
    assert.equal(de.code, 0, de.stderr);
    const gone = await ggn('prod', 'check');
    assert.match(gone.stdout, new RegExp(`${unit('w2')}\\s+fleet\\s+missing`));
    assert.equal((await ggn('prod', 'web', 'w2', 'start')).code, 0);
    await until(async () => (await ggn('prod', 'check')).code === 0);
  });

  it("list-machines lists fleet's machines with their metadata", async () => {
    const r = await ggn('prod', 'list-machines', '--json');
    assert.equal(r.code, 0, r.stderr);
    const ms = JSON.parse(r.stdout).machines as { name: string; id: string; address: string; metadata: Record<string, string> }[];
    assert.ok(ms.length >= 1);
    for (const m of ms) {
      assert.equal(m.name, m.id.slice(0, 8));
      assert.ok(m.address);
    }
    if (fake) assert.deepEqual(ms.map((m) => m.metadata.rack).sort(), ['r1', 'r2', 'r3']);
  });

  it('a unit that fails after launch fails the update, which removes it again', { skip: fakeOnly }, async () => {
    write('env/prod/services/web/service-manifest.yml', 'nodes:\n  - hostname: w1\n  - hostname: w2\n  - hostname: bad\n');
    // Starts, then exits 3: fleet launches it, systemd says failed.
    write('env/prod/services/web/unit.tmpl', UNIT('', `{{if eq .hostname "bad"}}/bin/sh -c 'exit 3'{{else}}${EXEC}{{end}}`));
    const u = await ggn('prod', 'web', 'update', '-y');
    assert.equal(u.code, 1, u.stderr);
    assert.match(u.stderr, new RegExp(`${unit('bad')}.*failed on [0-9a-f]{8}.*fleet still calls it launched`));
    const c = await ggn('prod', 'check');
    assert.match(c.stdout, new RegExp(`${unit('bad')}\\s+fleet\\s+missing`), 'the new unit was removed');
  });

  it('a unit fleet cannot schedule is reported after the timeout', { skip: fakeOnly }, async () => {
    write('env/prod/services/web/service-manifest.yml', 'nodes:\n  - hostname: w1\n  - hostname: w2\n  - hostname: nowhere\n');
    // A metadata key no machine has: AND with the rack, never satisfiable (03); fleet accepts it (201).
    write('env/prod/services/web/unit.tmpl', UNIT('', EXEC, '{{if eq .hostname "nowhere"}}MachineMetadata=zone=nowhere\n{{end}}'));
    const u = await ggn('prod', 'web', 'update', '-y', '--timeout', '3s');
    assert.equal(u.code, 1, u.stderr);
    assert.match(u.stderr, /fleet has not scheduled .*nowhere\.service after 3\.0s: no machine satisfies its \[X-Fleet\] constraints/);
    write('env/prod/services/web/service-manifest.yml', 'nodes:\n  - hostname: w1\n  - hostname: w2\n');
    write('env/prod/services/web/unit.tmpl', UNIT());
  });

  it("fleet's etcd away: 500s then 503s are one clear line, nothing changes; then it works again", { skip: fakeOnly }, async () => {
    const sent = fake!.requests.length;
    fake!.etcdDown();
    try {
      const d = await ggn('prod', 'diff');
      assert.equal(d.code, 1);
      assert.match(d.stderr, /fleet API unix:.*: GET \/fleet\/v1\/\w+: 500 \(fleet could not complete the request/);
      fake!.etcdMonitorTimedOut();
      write('env/prod/services/web/unit.tmpl', UNIT(' # v3'));
      const u = await ggn('prod', 'web', 'update', '-y');
      assert.equal(u.code, 1);
      assert.match(u.stderr, /503 fleet server unable to communicate with etcd \(fleet cannot reach its etcd\)/);
      assert.equal(u.stderr.trim().split('\n').length, 1, u.stderr);
      assert.deepEqual(
        fake!.requests.slice(sent).filter((r) => r.method !== 'GET'),
        [],
        'nothing but reads was sent',
      );
    } finally {
      fake!.etcdUp();
    }
    await new Promise((r) => setTimeout(r, fake!.delays.recover503 + 50));
    const ok = await ggn('prod', 'web', 'update', '-y');
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('a machine lost mid-rollout: fleet moves the unit, the rollout waits for it there', { skip: fakeOnly }, async () => {
    const l = await ggn('prod', 'list-units', '--json');
    const w2 = (JSON.parse(l.stdout).units as { unit: string; host: string }[]).find((r) => r.unit === unit('w2'))!;
    write('env/prod/services/web/unit.tmpl', UNIT(' # v4'));
    const bg = background(['-H', home, 'prod', 'web', 'update', '-y', '--json']);
    await Promise.race([
      bg.until((e) => e.unit === unit('w2') && e.step === 'wait-active' && e.result === 'started'),
      bg.done.then((r) => assert.fail(`the update ended before waiting for w2: ${r.stderr}`)),
    ]);
    // Hard-killed while its new version is being waited for: it leaves /machines after a while
    // (its stale /state entries are ignored), and fleet starts the unit on another machine.
    fake!.killMachine(DEFAULT_MACHINES.find((m) => m.id.startsWith(w2.host))!.id);
    const r = await bg.done;
    assert.equal(r.code, 0, r.stderr);
    const after = await ggn('prod', 'list-units', '--json');
    const moved = (JSON.parse(after.stdout).units as { unit: string; host: string }[]).find((x) => x.unit === unit('w2'))!;
    assert.notEqual(moved.host, w2.host);
    const up = events(r).find((e) => e.unit === unit('w2') && e.step === 'wait-active' && e.result === 'ok');
    assert.match(up.message, new RegExp(`fleet runs it on ${moved.host}`), 'the rollout says where fleet moved it');
    assert.equal((await ggn('prod', 'check')).code, 0);
  });

  it('never sent a request the transcripts show to be harmful', { skip: fakeOnly }, () => {
    const reqs = fake!.requests;
    assert.ok(reqs.length > 100);
    // GET /state/<name> drops the connection when the unit has no state (05).
    assert.deepEqual(
      reqs.filter((r) => /^\/fleet\/v1\/state\/./.test(r.path)).map((r) => r.path),
      [],
    );
    for (const r of reqs.filter((x) => x.method === 'PUT')) {
      const body = JSON.parse(r.body ?? '{}') as { desiredState?: string };
      // Without desiredState new options reset the unit to inactive (04); another value corrupts it (05).
      assert.ok(['inactive', 'loaded', 'launched'].includes(body.desiredState ?? ''), `${r.path}: ${r.body}`);
    }
  });
});

async function until(f: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}
