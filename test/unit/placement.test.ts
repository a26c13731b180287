import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { globToRegExp, Machine, placeUnits, UnitToPlace } from '../../src/plan/placement';
import { readXFleet, splitFleetValue } from '../../src/plan/unitfile';

const machines: Machine[] = [
  { name: 'm1', metadata: { rack: 'r1', disk: 'ssd' } },
  { name: 'm2', metadata: { rack: 'r2', disk: 'ssd' } },
  { name: 'm3', metadata: { rack: 'r2', disk: 'hdd' } },
];
const unit = (name: string, xfleet: string, extra: Partial<UnitToPlace> = {}): UnitToPlace => ({
  name,
  hostname: name.split('_')[2]?.replace(/\.service$/, '') ?? name,
  content: `[Service]\nExecStart=/bin/true\n\n[X-Fleet]\n${xfleet}`,
  ...extra,
});
const where = (r: ReturnType<typeof placeUnits>) => Object.fromEntries(r.placements.map((p) => [p.unit, p.machines.join(',')]));

describe('[X-Fleet] parsing', () => {
  it('splits quoted lists and groups repeated metadata keys', () => {
    assert.deepEqual(splitFleetValue('"rack=r1" "region=eu" disk=ssd'), ['rack=r1', 'region=eu', 'disk=ssd']);
    const x = readXFleet('[X-Fleet]\nMachineMetadata=rack=r1\nMachineMetadata="rack=r2" "disk=ssd"\nConflicts=a_* b_*\nGlobal=true\n');
    assert.deepEqual(
      [...x.metadata],
      [
        ['rack', ['r1', 'r2']],
        ['disk', ['ssd']],
      ],
    );
    assert.deepEqual(x.conflicts, ['a_*', 'b_*']);
    assert.equal(x.global, true);
  });
  it('matches globs like fleet', () => {
    assert.ok(globToRegExp('prod_cass_*.service').test('prod_cass_c1.service'));
    assert.ok(!globToRegExp('prod_cass_*.service').test('prod_cassx_c1.timer'));
    assert.ok(globToRegExp('a?[0-9]').test('ab7'));
  });
});

describe('placement', () => {
  it('follows the node machine:, then MachineID=, then hostname', () => {
    const r = placeUnits({
      machines,
      units: [unit('e_s_a.service', 'MachineID=m1', { machine: 'm3' }), unit('e_s_b.service', 'MachineID=m2'), unit('e_s_m1.service', '')],
    });
    assert.deepEqual(where(r), { 'e_s_a.service': 'm3', 'e_s_b.service': 'm2', 'e_s_m1.service': 'm1' });
  });
  it('ANDs different metadata keys and ORs repeated ones', () => {
    const r = placeUnits({ machines, units: [unit('e_s_x.service', 'MachineMetadata=rack=r1\nMachineMetadata=rack=r2\nMachineMetadata=disk=hdd')] });
    assert.deepEqual(where(r), { 'e_s_x.service': 'm3' });
  });
  it('spreads conflicting units, least loaded first, ties by name', () => {
    const units = ['a', 'b', 'c'].map((h) => unit(`e_s_${h}.service`, 'Conflicts=e_s_*.service'));
    assert.deepEqual(where(placeUnits({ machines, units })), { 'e_s_a.service': 'm1', 'e_s_b.service': 'm2', 'e_s_c.service': 'm3' });
  });
  it('honours conflicts declared by units already on a machine (both directions)', () => {
    const existing = new Map([['m1', [{ name: 'other_x.service', conflicts: ['e_s_*'] }]]]);
    const r = placeUnits({ machines, existing, units: [unit('e_s_a.service', 'MachineMetadata=disk=ssd')] });
    assert.deepEqual(where(r), { 'e_s_a.service': 'm2' });
  });
  it('keeps a unit where it runs when that machine still matches', () => {
    const current = new Map([['e_s_a.service', ['m3']]]);
    const r = placeUnits({ machines, current, units: [unit('e_s_a.service', 'MachineMetadata=rack=r2')] });
    assert.deepEqual(where(r), { 'e_s_a.service': 'm3' });
  });
  it('places a Global unit on every matching machine', () => {
    const r = placeUnits({ machines, units: [unit('e_s_g.service', 'Global=true\nMachineMetadata=disk=ssd')] });
    assert.deepEqual(where(r), { 'e_s_g.service': 'm1,m2' });
  });
  it('explains which constraint excluded which machine', () => {
    const units = ['a', 'b', 'c', 'd'].map((h) => unit(`e_s_${h}.service`, 'Conflicts=e_s_*\nMachineMetadata=disk=ssd'));
    const r = placeUnits({ machines, units });
    assert.equal(r.errors.length, 2);
    assert.match(
      r.errors[0].oneLine(),
      /unit e_s_c\.service: no machine can take this unit: m1: conflicts with e_s_a\.service; m2: conflicts with e_s_b\.service; m3: MachineMetadata disk=ssd does not match disk=hdd/,
    );
  });
  it('names the missing machine for MachineID= and hostname placement', () => {
    const r = placeUnits({ machines, units: [unit('e_s_x.service', 'MachineID=m9'), unit('e_s_zz.service', '')] });
    assert.match(r.errors[0].message, /MachineID=m9 names no machine \(machines: m1, m2, m3\)/);
    assert.match(r.errors[1].message, /no machine is named "zz"/);
  });
});
