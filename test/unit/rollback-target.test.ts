/** rollback --to: which kept revision each unit goes back to (pure; see src/apply/rollback-target.ts). */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { AuditEntry, contentHash } from '../../src/apply/audit';
import { resolveRollbackTargets, rollbackRefProblem, UnitRevisions } from '../../src/apply/rollback-target';

const unit = (name: string, live: string, kept: string[], group = 'g-' + name): UnitRevisions => ({
  unit: name,
  machine: 'm1',
  group,
  live,
  revisions: kept.map((content, i) => ({ revision: String(i + 1), content })),
});

const entry = (time: string, u: string, newHash: string, tree: string, result = 'ok'): AuditEntry => ({
  time,
  who: 'me@box',
  env: 'prod',
  service: 'web',
  unit: u,
  action: 'update',
  oldHash: '-',
  newHash,
  result,
  runId: 'r',
  tree,
  machine: 'm1',
});

describe('rollback --to', () => {
  it('a ref is 4 to 40 lowercase hex digits', () => {
    assert.equal(rollbackRefProblem('3f2a'), '');
    assert.equal(rollbackRefProblem('3f2a9c1e0b7d3f2a9c1e0b7d3f2a9c1e0b7d3f2a'), '');
    for (const bad of ['3f2', 'HEAD', '3F2A', '3f2a~1', '-rf', `${'a'.repeat(41)}`])
      assert.match(rollbackRefProblem(bad), /expected a revision's content hash or a git commit/);
  });

  it('by content hash: the newest kept revision with those bytes; a timer without them stays', () => {
    const svc = unit('a.service', 'v3', ['v1', 'v2', 'v1'], 'g');
    const timer = unit('a.timer', 't', [], 'g');
    const r = resolveRollbackTargets(contentHash('v1').slice(0, 6), [svc, timer], []);
    assert.equal(r.how, 'content');
    assert.deepEqual([...r.targets], [['a.service@m1', { revision: '3', content: 'v1' }]]);
  });

  it('by content hash: a unit whose live bytes already match needs nothing', () => {
    const r = resolveRollbackTargets(contentHash('v2'), [unit('a.service', 'v2', ['v1'])], []);
    assert.equal(r.targets.size, 0);
  });

  it('by tree commit: the bytes each unit had when the last change from that commit ended', () => {
    const h = (s: string) => contentHash(s);
    const history = [
      entry('2026-01-01T00:00:00Z', 'a.service', h('a1'), 'aaaa first'),
      entry('2026-01-01T00:00:01Z', 'b.service', h('b1'), 'aaaa first'),
      entry('2026-01-02T00:00:00Z', 'a.service', h('a2'), 'bbbb second'),
      // b untouched by bbbb: it goes back to b1 only if asked for aaaa; for bbbb it stays b1.
      entry('2026-01-03T00:00:00Z', 'b.service', h('b3'), 'cccc third'),
      entry('2026-01-03T00:00:01Z', 'a.service', h('a3'), 'cccc third', 'failed at wait-active, restored'),
    ];
    const units = [unit('a.service', 'a2', ['a1']), unit('b.service', 'b3', ['b1'])];
    for (const ref of ['bbbb', 'bbbb0000111122223333444455556666777788889999'.slice(0, 40)]) {
      const byRef = resolveRollbackTargets(
        ref,
        units,
        history.map((e) => ({ ...e, tree: e.tree.replace(/^(\w+)/, (c) => `${c}00001111`.slice(0, 12)) })),
      );
      assert.deepEqual([...byRef.targets.keys()], ['b.service@m1'], `${ref}: the 12 digits recorded match a longer or shorter ref`);
    }
    const r = resolveRollbackTargets('bbbb', units, history);
    assert.equal(r.how, 'tree');
    assert.deepEqual([...r.targets], [['b.service@m1', { revision: '1', content: 'b1' }]], 'a already runs a2 (the failed a3 never stayed)');
  });

  it('by tree commit: a unit that did not exist then, or whose bytes are gone, refuses naming each', () => {
    const h = (s: string) => contentHash(s);
    const history = [
      entry('2026-01-01T00:00:00Z', 'a.service', h('a1'), 'aaaa first'),
      entry('2026-01-02T00:00:00Z', 'a.service', h('a2'), 'bbbb second'),
      entry('2026-01-02T00:00:00Z', 'b.service', h('b2'), 'bbbb second'),
    ];
    const units = [unit('a.service', 'a2', []), unit('b.service', 'b2', [])];
    assert.throws(
      () => resolveRollbackTargets('aaaa', units, history),
      /--to aaaa \(tree commit\): nothing was changed: a\.service on m1: its bytes of then \([0-9a-f]{12}\) are no longer kept; b\.service on m1: no change recorded up to then/,
    );
  });
});
