/**
 * `--json | jq` works when things fail too: every command that takes --json prints JSON only on
 * stdout (its documented shape, schemas/output.schema.json) and the human error on stderr, with
 * exit 1. The host here refuses connections, so no cluster is needed.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ggn, scratchTree, tmpDir } from '../support/cli';
import { assertOutput, assertRolloutLines, OutputKind } from '../support/output-schema';

function unreachableTree() {
  const known = path.join(tmpDir('json-fail'), 'known_hosts');
  fs.writeFileSync(known, '');
  return scratchTree({
    'env/prod/config.yml': `ssh:\n  scope: user\n  knownHostsFile: ${known}\n  connectTimeout: 2\nmachines:\n  - {name: m1, address: 127.0.0.1, port: 1, user: nobody}\n`,
    'env/prod/services/web/service-manifest.yml': 'nodes:\n  - {hostname: w1, machine: m1}\n',
    'env/prod/services/web/unit.tmpl': '[Service]\nExecStart=/bin/true\n',
  });
}

const CASES: { args: string[]; kind: OutputKind | 'rollout' }[] = [
  { args: ['web', 'diff'], kind: 'diff' },
  { args: ['web', 'check'], kind: 'check' },
  { args: ['web', 'list-units'], kind: 'listUnits' },
  { args: ['web', 'history'], kind: 'history' },
  { args: ['history'], kind: 'history' },
  { args: ['web', 'update', '-y'], kind: 'rollout' },
  { args: ['update', '-y'], kind: 'rollout' },
  { args: ['web', 'rollback', '-y'], kind: 'rollout' },
  { args: ['web', 'prune', '-y'], kind: 'rollout' },
  { args: ['web', 'w1', 'start'], kind: 'unitAction' },
  { args: ['web', 'w1', 'stop'], kind: 'unitAction' },
  { args: ['web', 'w1', 'restart'], kind: 'unitAction' },
  { args: ['web', 'w1', 'destroy', '-y'], kind: 'unitAction' },
];

describe('--json when the command fails', () => {
  const { home } = unreachableTree();
  for (const c of CASES) {
    it(`ggn prod ${c.args.join(' ')} --json`, () => {
      const r = ggn(['-H', home, 'prod', ...c.args, '--json']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /^error: .*host m1/m, 'the human error is on stderr');
      if (c.kind === 'rollout') {
        const last = assertRolloutLines(r.stdout).at(-1) as { summary: { exitCode: number; services: { errors: { message: string }[] }[] } };
        assert.equal(last.summary.exitCode, 1);
        assert.match(last.summary.services[0].errors[0].message, /m1/);
      } else {
        const out = JSON.parse(r.stdout);
        assertOutput(c.kind, out);
        if (c.kind === 'unitAction') assert.equal(out.exitCode, 1);
        assert.ok(out.errors.length > 0);
      }
    });
  }

  it('validate --json with an error in the tree', () => {
    const { home, work } = unreachableTree();
    fs.writeFileSync(path.join(work, 'env/prod/config.yml'), 'machine:\n  - {name: m1}\n');
    const r = ggn(['-H', home, 'prod', 'validate', '--json']);
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout);
    assertOutput('validate', out);
    assert.match(out.errors[0].message, /unknown key `machine` \(did you mean "machines"\?\)/);
  });
});
