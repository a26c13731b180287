/**
 * The fake of fleet's v1 API against the transcripts recorded on a real fleet cluster: every
 * recorded exchange is replayed on the fake's clock at its recorded time and must get the same
 * status and JSON shape (error bodies byte for byte); plus the behaviours the driver relies on.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { DEFAULT_MACHINES, FakeFleet, UnitOption, unitHash } from '../fleet-fake/fake';
import { replayFile, transcriptFiles, TRANSCRIPTS_DIR } from '../fleet-fake/replay';

const json: [string, string][] = [['Content-Type', 'application/json']];

test('every recorded exchange replays against the fake with the same status and shape', { skip: !TRANSCRIPTS_DIR && 'no transcripts found' }, () => {
  let total = 0;
  let exact = 0;
  let timing = 0;
  const files = transcriptFiles();
  assert.equal(files.length, 13);
  for (const f of files) {
    const r = replayFile(f);
    total += r.exchanges;
    exact += r.exact;
    timing += r.timing.length;
    assert.deepEqual(
      r.mismatches.map((m) => `${m.file} #${m.seq} ${m.request}: want ${m.expected} got ${m.got}`),
      [],
      `${path.basename(f)}: answers the real fleet never gave`,
    );
  }
  assert.ok(total > 2000, `${total} exchanges replayed`);
  // Transitions faster or slower than this run of fleet by more than its 5 s agent pass: rare.
  assert.ok(timing <= total * 0.01, `${timing} timing outliers of ${total}`);
  assert.ok(exact >= total * 0.9, `${exact} of ${total} exact at the recorded moment`);
});

function fake(t = { now: 0 }) {
  return { f: new FakeFleet({ now: () => t.now }), t };
}

const opts = (exec: string, extra: UnitOption[] = []): UnitOption[] => [{ section: 'Service', name: 'ExecStart', value: exec }, ...extra];
const put = (f: FakeFleet, name: string, body: object) =>
  f.handle({ method: 'PUT', path: `/fleet/v1/units/${name}`, headers: json, body: JSON.stringify(body) });
const get = (f: FakeFleet, p: string) => {
  const r = f.handle({ method: 'GET', path: p, headers: [], body: null });
  return { status: r.status, json: r.body ? JSON.parse(r.body) : undefined };
};

test('a new launched unit becomes active after the measured delay; /state hash is sha1 of the serialized options', () => {
  const { f, t } = fake();
  assert.equal(put(f, 'a.service', { desiredState: 'launched', options: opts('/bin/sleep 1') }).status, 201);
  assert.deepEqual(get(f, '/fleet/v1/state?unitName=a.service').json, {});
  t.now = 3000;
  const s = get(f, '/fleet/v1/state?unitName=a.service').json.states[0];
  assert.equal(s.systemdActiveState, 'active');
  assert.equal(s.hash, unitHash(opts('/bin/sleep 1')));
  assert.equal(get(f, '/fleet/v1/units/a.service').json.currentState, 'launched');
});

test('new options replace a running unit in place: old hash, a gap, then the new hash; without desiredState it goes inactive', () => {
  const { f, t } = fake();
  put(f, 'a.service', { desiredState: 'launched', options: opts('/bin/v1') });
  t.now = 5000;
  assert.equal(put(f, 'a.service', { desiredState: 'launched', options: opts('/bin/v2') }).status, 201);
  t.now = 6000;
  assert.equal(get(f, '/fleet/v1/state?unitName=a.service').json.states[0].hash, unitHash(opts('/bin/v1')));
  assert.equal(get(f, '/fleet/v1/units/a.service').json.currentState, 'launched');
  t.now = 10000;
  assert.deepEqual(get(f, '/fleet/v1/state?unitName=a.service').json, {});
  t.now = 15000;
  assert.equal(get(f, '/fleet/v1/state?unitName=a.service').json.states[0].hash, unitHash(opts('/bin/v2')));
  assert.equal(put(f, 'a.service', { options: opts('/bin/v3') }).status, 201);
  assert.equal(get(f, '/fleet/v1/units/a.service').json.desiredState, 'inactive');
  t.now = 30000;
  assert.deepEqual(get(f, '/fleet/v1/state?unitName=a.service').json, {});
});

test('identical options: 204 with desiredState, 409 without; an invalid desiredState corrupts the unit until repaired', () => {
  const { f } = fake();
  put(f, 'a.service', { desiredState: 'loaded', options: opts('/bin/x') });
  assert.equal(put(f, 'a.service', { desiredState: 'loaded', options: opts('/bin/x') }).status, 204);
  assert.equal(put(f, 'a.service', { options: opts('/bin/x') }).status, 409);
  assert.equal(put(f, 'a.service', { desiredState: 'running' }).status, 204);
  assert.equal(get(f, '/fleet/v1/units/a.service').status, 500);
  assert.equal(f.handle({ method: 'DELETE', path: '/fleet/v1/units/a.service', headers: [], body: null }).status, 500);
  assert.deepEqual(get(f, '/fleet/v1/units').json, {});
  f.repair('a.service', 'inactive');
  assert.equal(f.handle({ method: 'DELETE', path: '/fleet/v1/units/a.service', headers: [], body: null }).status, 204);
});

test('GET /state/NAME without state drops the connection; a failing unit is launched in /units and failed in /state', () => {
  const { f, t } = fake();
  assert.equal(get(f, '/fleet/v1/state/nope.service').status, null);
  put(f, 'bad.service', { desiredState: 'launched', options: opts("/bin/sh -c 'exit 3'") });
  t.now = 5000;
  assert.equal(get(f, '/fleet/v1/units/bad.service').json.currentState, 'launched');
  assert.equal(get(f, '/fleet/v1/state/bad.service').json.systemdActiveState, 'failed');
});

test('machine loss: stale states, then the unit moves; etcd outage: 500 (after a timeout) then 503, then back', () => {
  const { f, t } = fake();
  const either: UnitOption[] = [
    { section: 'X-Fleet', name: 'MachineMetadata', value: 'rack=r2' },
    { section: 'X-Fleet', name: 'MachineMetadata', value: 'rack=r3' },
  ];
  put(f, 'm.service', { desiredState: 'launched', options: opts('/bin/m', either) });
  t.now = 5000;
  const where = get(f, '/fleet/v1/units/m.service').json.machineID;
  f.killMachine(where);
  t.now = 10000;
  assert.equal(get(f, '/fleet/v1/state?unitName=m.service').json.states[0].machineID, where, 'stale state still there');
  t.now = 5000 + f.delays.machineGone + 4000;
  const states = get(f, '/fleet/v1/state?unitName=m.service').json.states;
  assert.ok(states.some((s: { machineID: string; systemdActiveState: string }) => s.machineID !== where && s.systemdActiveState === 'active'));
  assert.ok(!get(f, '/fleet/v1/machines').json.machines.some((m: { id: string }) => m.id === where));
  f.etcdDown();
  const r = f.handle({ method: 'GET', path: '/fleet/v1/units', headers: [], body: null });
  assert.equal(r.status, 500);
  assert.equal(r.delayMs, 1000);
  t.now += f.delays.outage500 + 1;
  assert.deepEqual(get(f, '/fleet/v1/units').json, { error: { code: 503, message: 'fleet server unable to communicate with etcd' } });
  f.etcdUp();
  assert.equal(get(f, '/fleet/v1/units').status, 503);
  t.now += f.delays.recover503;
  assert.equal(get(f, '/fleet/v1/units').status, 200);
  void DEFAULT_MACHINES;
});
