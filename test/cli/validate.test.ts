/**
 * `validate` (offline), missing attributes as warnings or errors (--strict, `strict: true`),
 * unknown keys in every config file, and ggnMinimalVersion, through the real binary.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ggn, listFiles, scratchTree } from '../support/cli';
import { assertOutput } from '../support/output-schema';

const MANIFEST = 'nodes:\n  - hostname: web1\n  - hostname: web2\n';
const UNIT = '[Service]\nExecStart=/bin/app --threads={{.thread}} --port={{.port}}\n';

function tree(files: Record<string, string> = {}, homeExtra = '') {
  return scratchTree(
    {
      'env/prod/attributes/prod.yml': 'default:\n  port: 80\n  threads: 4\n',
      'env/prod/services/web/service-manifest.yml': MANIFEST,
      'env/prod/services/web/unit.tmpl': UNIT,
      ...files,
    },
    homeExtra,
  );
}

describe('validate', () => {
  it('lists every config problem at once, with file:line:col and the likely key, and exits 1', () => {
    const t = tree(
      {
        'env/prod/config.yml': 'envName: prod\nlocks: {backend: etcd}\nmachine:\n  - name: a\nssh:\n  scope: sytem\n',
        'env/prod/services/web/unit.tmpl': '[Service]\nExecStart=/bin/app {{.port}}\n',
      },
      'wrokPath: /nowhere\n',
    );
    const r = ggn(['-H', t.home, 'prod', 'validate']);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.deepEqual(lines.slice(0, 4), [
      `error: ${path.join(t.home, 'config.yml')}:2:1: unknown key \`wrokPath\` (did you mean "workPath"?)`,
      'error: env/prod/config.yml:2:1: unknown key `locks` (did you mean "lock"?)',
      'error: env/prod/config.yml:3:1: unknown key `machine` (did you mean "machines"?)',
      'error: env/prod/config.yml:6:10: `ssh.scope` must be one of system, user',
    ]);
    assert.equal(lines[4], 'validate prod: 1 service(s), 2 unit(s): 4 error(s)');
    assert.equal(lines.length, 5, r.stderr);
    assert.equal(r.stdout, '');
  });

  it('every other command refuses the same typo before doing anything, naming file, line and key', () => {
    const t = tree({ 'env/prod/config.yml': 'machines:\n  - name: a\nlocks: {backend: etcd}\n' });
    for (const cmd of [
      ['prod', 'generate'],
      ['prod', 'web', 'diff'],
      ['prod', 'web', 'update', '-y'],
    ]) {
      const r = ggn(['-H', t.home, ...cmd]);
      assert.equal(r.code, 1, cmd.join(' '));
      assert.equal(r.stderr.trim(), 'error: env/prod/config.yml:3:1: unknown key `locks` (did you mean "lock"?)', cmd.join(' '));
    }
    assert.deepEqual(listFiles(path.join(t.work, 'env/prod/services/web/units')), [], 'generate wrote nothing');
  });

  it('a missing attribute is a warning naming unit, file:line:col and key; output stays GGN-identical', () => {
    const t = tree();
    const v = ggn(['-H', t.home, 'prod', 'validate']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(
      v.stderr,
      [
        'warning: env/prod/services/web/unit.tmpl:2:31: unit prod_web_web1.service: no value: `.thread` renders as <no value> (a missing attribute?)',
        'warning: env/prod/services/web/unit.tmpl:2:31: unit prod_web_web2.service: no value: `.thread` renders as <no value> (a missing attribute?)',
        '',
      ].join('\n'),
    );
    assert.equal(v.stdout, 'validate prod: 1 service(s), 2 unit(s): 2 warning(s)\n');
    const g = ggn(['-H', t.home, 'prod', 'generate']);
    assert.equal(g.code, 0);
    assert.match(g.stderr, /^warning: env\/prod\/services\/web\/unit\.tmpl:2:31: unit prod_web_web1\.service: no value: `\.thread`/);
    assert.equal(
      fs.readFileSync(path.join(t.work, 'env/prod/services/web/units/prod_web_web1.service'), 'utf8'),
      '[Service]\nExecStart=/bin/app --threads=<no value> --port=80',
    );
    const json = JSON.parse(ggn(['-H', t.home, 'prod', 'validate', '--json']).stdout);
    assertOutput('validate', json);
    assert.equal(json.ok, true);
    assert.equal(json.units, 2);
    assert.deepEqual(json.warnings[0], {
      message: 'no value: `.thread` renders as <no value> (a missing attribute?)',
      file: path.join(t.work, 'env/prod/services/web/unit.tmpl'),
      line: 2,
      col: 31,
      env: 'prod',
      service: 'web',
      unit: 'prod_web_web1.service',
    });
  });

  it('--strict, or strict: true in the env config, makes it an error and writes nothing', () => {
    for (const [files, args] of [
      [{}, ['--strict']],
      [{ 'env/prod/config.yml': 'strict: true\n' }, []],
    ] as [Record<string, string>, string[]][]) {
      const t = tree(files);
      const v = ggn(['-H', t.home, 'prod', 'validate', ...args]);
      assert.equal(v.code, 1);
      assert.match(v.stderr, /^error: env\/prod\/services\/web\/unit\.tmpl:2:31: unit prod_web_web1\.service: no value: `\.thread` .* \(strict\)$/m);
      const g = ggn(['-H', t.home, 'prod', 'generate', ...args]);
      assert.equal(g.code, 1);
      assert.deepEqual(listFiles(path.join(t.work, 'env/prod/services/web/units')), []);
    }
  });

  it('a valid tree is ok; templates, manifests and health checks are checked too', () => {
    const ok = tree({ 'env/prod/services/web/unit.tmpl': '[Service]\nExecStart=/bin/app {{.port}}\n' });
    const r = ggn(['-H', ok.home, 'prod', 'validate']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'validate prod: 1 service(s), 2 unit(s): ok\n');
    const bad = tree({
      'env/prod/services/web/unit.tmpl': '[Service]\nExecStart={{.port | nosuchfunc}}\n',
      'env/prod/services/api/service-manifest.yml': 'nodes:\n  - hostname: a1\nhealthCheck: {http: "ftp://x/"}\n',
      'env/prod/services/api/unit.tmpl': '[Service]\n',
      'env/prod/services/db/service-manifest.yml': 'nodes:\n  - hostname: d1\nconcurentUpdater: 2\n',
      'env/prod/services/db/unit.tmpl': '[Service]\n',
    });
    const b = ggn(['-H', bad.home, 'prod', 'validate']);
    assert.equal(b.code, 1);
    const lines = b.stderr.trim().split('\n');
    assert.equal(lines.length, 4, b.stderr);
    assert.equal(lines[3], 'validate prod: 3 service(s), 0 unit(s): 3 error(s)');
    assert.match(lines[0], /^error: env\/prod\/services\/api\/service-manifest\.yml: service api: healthCheck: `http:` must be an http:\/\/ or https:\/\/ URL/);
    assert.match(
      lines[1],
      /^error: env\/prod\/services\/db\/service-manifest\.yml:3:1: service db: unknown key `concurentUpdater` \(did you mean "concurrentUpdater"\?\)/,
    );
    assert.match(lines[2], /^error: env\/prod\/services\/web\/unit\.tmpl:2: service web: template: function "nosuchfunc" not defined$/);
  });

  it('ggnMinimalVersion: a newer requirement is refused in one line; an older one is fine', () => {
    const version = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')).version;
    const newer = tree({ 'env/prod/services/web/service-manifest.yml': `ggnMinimalVersion: 99.0.0\n${MANIFEST}` });
    const r = ggn(['-H', newer.home, 'prod', 'web', 'generate']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim().split('\n').at(-2),
      `error: env/prod/services/web/service-manifest.yml: service web: this service needs ggn 99.0.0 or newer (ggnMinimalVersion), and this is ggn ${version}: upgrade ggn`,
    );
    const older = tree({ 'env/prod/services/web/service-manifest.yml': `ggnMinimalVersion: 0.0.1\n${MANIFEST}` });
    assert.equal(ggn(['-H', older.home, 'prod', 'web', 'validate']).code, 0);
  });
});
