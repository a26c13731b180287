import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { planChanges, summarize, unitOwner } from '../../src/plan/diff';
import { HostSnapshot } from '../../src/drivers/types';
import { GgnError } from '../../src/errors';
import { stoppedState } from '../../src/drivers/memory/driver';
import { PLAIN, unifiedDiff } from '../../src/report/diff';

const state = (active: string) => stoppedState({ activeState: active, subState: active === 'active' ? 'running' : 'dead' });

describe('plan', () => {
  it('classifies new, changed, unchanged and orphan units per machine', () => {
    const snapshots: HostSnapshot[] = [
      {
        machine: 'm1',
        units: [
          { name: 'p_web_a.service', machine: 'm1', content: 'A', state: state('active') },
          { name: 'p_web_old.service', machine: 'm1', content: 'O', state: state('active') },
          { name: 'p_web_ext_z.service', machine: 'm1', content: 'Z' },
        ],
      },
      { machine: 'm2', units: [{ name: 'p_web_b.service', machine: 'm2', content: 'B-old' }] },
      { machine: 'm3', units: [], error: new GgnError('connection refused', { host: 'm3' }) },
    ];
    const desired = [
      { name: 'p_web_a.service', service: 'web', machine: 'm1', content: 'A' },
      { name: 'p_web_b.service', service: 'web', machine: 'm2', content: 'B' },
      { name: 'p_web_c.service', service: 'web', machine: 'm2', content: 'C' },
      { name: 'p_web_d.service', service: 'web', machine: 'm3', content: 'D' },
    ];
    const plan = planChanges(desired, snapshots, unitOwner('p', ['web', 'web_ext'], ['web']));
    assert.deepEqual(
      plan.changes.map((c) => `${c.kind} ${c.unit}@${c.machine}`),
      ['unchanged p_web_a.service@m1', 'changed p_web_b.service@m2', 'new p_web_c.service@m2', 'orphan p_web_old.service@m1'],
    );
    assert.equal(plan.errors.length, 1);
    assert.deepEqual(summarize(plan.changes), { new: 1, changed: 1, unchanged: 1, orphan: 1 });
  });
  it('a unit that moved is new on its new machine and an orphan on the old one', () => {
    const snapshots: HostSnapshot[] = [
      { machine: 'm1', units: [{ name: 'p_s_x.service', machine: 'm1', content: 'X' }] },
      { machine: 'm2', units: [] },
    ];
    const plan = planChanges([{ name: 'p_s_x.service', service: 's', machine: 'm2', content: 'X' }], snapshots, unitOwner('p', ['s'], ['s']));
    assert.deepEqual(
      plan.changes.map((c) => `${c.kind}@${c.machine}`),
      ['orphan@m1', 'new@m2'],
    );
  });
  it('gives units to the longest service prefix', () => {
    const owner = unitOwner('prod', ['cassandra', 'cassandra_ext'], ['cassandra', 'cassandra_ext']);
    assert.equal(owner('prod_cassandra_ext_x.service'), 'cassandra_ext');
    assert.equal(owner('prod_cassandra_c1.timer'), 'cassandra');
    assert.equal(owner('prod_cassandra_c1.conf'), undefined);
  });
});

describe('unified diff labels', () => {
  it('the new side says where it comes from: the tree, or the revision a rollback puts back', () => {
    const c = { kind: 'changed' as const, unit: 'prod_web_w1.service', service: 'web', machine: 'm0', live: 'a\n', desired: 'b\n' };
    assert.match(unifiedDiff(c, PLAIN), /^\+\+\+ prod_web_w1\.service \(from the tree\)/m);
    assert.match(unifiedDiff(c, PLAIN, 'revision 3 kept on m0'), /^\+\+\+ prod_web_w1\.service \(revision 3 kept on m0\)/m);
    assert.match(unifiedDiff(c, PLAIN), /^--- prod_web_w1\.service \(on m0\)/m);
  });

  it('control characters from a host or a plan file are shown escaped, never sent to the terminal', () => {
    const c = {
      kind: 'changed' as const,
      unit: 'u.service',
      service: 'web',
      machine: 'm0',
      live: 'Description=x\x1b[2J\x1b]0;pwned\x07\r\n',
      desired: 'b\tc\n',
    };
    const out = unifiedDiff(c, PLAIN);
    assert.doesNotMatch(out, /[\x1b\x07\r]/);
    assert.match(out, /^-Description=x\\x1b\[2J\\x1b\]0;pwned\\x07\\r$/m);
    assert.match(out, /^\+b\tc$/m, 'tabs stay');
  });
});
