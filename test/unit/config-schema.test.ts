import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkConfig, SchemaName } from '../../src/config/check';
import { GoValue } from '../../src/template/values';
import { parseYaml } from '../../src/tree/yaml';
import { loadHome } from '../../src/tree/home';
import { loadEnv } from '../../src/tree/env';
import { GgnError } from '../../src/errors';
import { generate } from '../../scripts/compile-schemas';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function problems(name: SchemaName, yaml: string): string[] {
  const file = 'f.yml';
  return checkConfig(name, parseYaml(yaml, file) as GoValue, { file, text: yaml }).map((p) => `${p.line}:${p.col}: ${p.message}`);
}

describe('config schemas', () => {
  it('the compiled validators are those of schemas/*.schema.json (run `npm run schemas` after editing a schema)', () => {
    assert.equal(fs.readFileSync(path.join(ROOT, 'src/config/validators.generated.ts'), 'utf8'), generate(ROOT));
  });

  it('the schema files are valid JSON Schema with an $id, title and a description on every key', () => {
    for (const f of fs.readdirSync(path.join(ROOT, 'schemas'))) {
      const s = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', f), 'utf8'));
      assert.match(s.$schema, /draft-07/, f);
      assert.ok(s.$id && s.title, f);
      for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, { description?: string; $ref?: string }>))
        assert.ok(v.description || v.$ref, `${f}: ${k}`);
    }
  });

  it('unknown keys at the top level are errors with the line and the likely key', () => {
    assert.deepEqual(problems('env', 'envName: p\nlocks: {backend: etcd}\n'), ['2:1: unknown key `locks` (did you mean "lock"?)']);
    assert.deepEqual(problems('env', 'machine:\n  - name: a\n'), ['1:1: unknown key `machine` (did you mean "machines"?)']);
    assert.deepEqual(problems('home', 'workPath: /w\nwrokPath: /x\n'), ['2:1: unknown key `wrokPath` (did you mean "workPath"?)']);
    assert.deepEqual(problems('manifest', 'nodes: [{hostname: a}]\nhealthcheck: {http: "http://x/"}\n'), [
      '2:1: unknown key `healthcheck` (did you mean "healthCheck"?)',
    ]);
  });

  it('nested keys, list items, types and enums name their dotted path', () => {
    const yaml = 'ssh:\n  scpoe: user\n  port: "22"\nmachines:\n  - name: a\n    adress: 10.0.0.1\nlock: {backend: zk}\n';
    assert.deepEqual(problems('env', yaml), [
      '2:3: unknown key `ssh.scpoe` (did you mean "scope"?)',
      '3:9: `ssh.port` must be an integer, e.g. 22',
      '6:5: unknown key `machines[0].adress` (did you mean "address"?)',
      '7:17: `lock.backend` must be one of ssh, etcd',
    ]);
    assert.deepEqual(problems('manifest', 'nodes:\n  - hostname: a\n    healthCheck: {http: x, retries: 3}\n'), [
      '3:28: unknown key `nodes[0].healthCheck.retries` (known: http, tcp, exec, timeout, interval)',
    ]);
    assert.deepEqual(problems('manifest', 'nodes: []\n'), ['1:8: `nodes` must list at least 1']);
    assert.deepEqual(problems('env', 'ssh: {user: a}\n'), []);
    // node attributes are free: any key is template data
    assert.deepEqual(problems('manifest', 'nodes:\n  - {hostname: a, threads: 4, anything: {x: 1}}\n'), []);
  });

  it('a typo in the home config and in its overrideConfig names the home file and line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-schema-'));
    try {
      fs.mkdirSync(path.join(dir, 'tree', 'env', 'prod'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'config.yml'), 'workPath: tree\noverrideConfig:\n  prod:\n    lok: {backend: ssh}\n');
      assert.throws(
        () => loadHome(dir),
        (e: unknown) =>
          e instanceof GgnError && e.oneLine() === `${path.join(dir, 'config.yml')}:4:5: unknown key \`overrideConfig.prod.lok\` (did you mean "lock"?)`,
      );
      fs.writeFileSync(path.join(dir, 'config.yml'), 'workPath: tree\n');
      fs.writeFileSync(
        path.join(dir, 'tree', 'env', 'prod', 'config.yml'),
        '# prod\nmachines:\n  - name: a\n    port: 0\nupdateOrdr: [a]\nssh: {sudo: yes please}\n',
      );
      assert.throws(
        () => loadEnv(loadHome(dir), 'prod'),
        (e: unknown) =>
          e instanceof GgnError &&
          e.oneLine() ===
            `${path.join(dir, 'tree/env/prod/config.yml')}:4:11: \`machines[0].port\` must be at least 1 (and 2 more problems: \`ggn <env> validate\` lists them all)`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
