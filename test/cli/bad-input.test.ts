/**
 * Bad input: every case must exit non-zero with one clear line naming the file (and line where
 * there is one), print no stack trace, and leave no unit file behind for what failed.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ggn, listFiles, scratchTree } from '../support/cli';

const MANIFEST = 'nodes:\n  - hostname: web1\n';
const UNIT = '[Service]\nExecStart=/bin/true {{.port}}\n';
const ATTRS = 'default:\n  port: 80\n';

/** 10 lists of 10 aliases of the previous one: 10^10 nodes once expanded. */
function aliasBomb(): string {
  const lines = ['default:', '  a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 10; i++)
    lines.push(
      `  a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  return lines.join('\n') + '\n';
}

/** A valid one-service tree; `files` override or add paths. */
function tree(files: Record<string, string | null>, homeExtra = '') {
  const base: Record<string, string | null> = {
    'env/prod/attributes/prod.yml': ATTRS,
    'env/prod/services/web/service-manifest.yml': MANIFEST,
    'env/prod/services/web/unit.tmpl': UNIT,
    ...files,
  };
  const kept = Object.fromEntries(Object.entries(base).filter(([, v]) => v !== null)) as Record<string, string>;
  return scratchTree(kept, homeExtra);
}

interface Case {
  name: string;
  files?: Record<string, string | null>;
  args?: string[];
  homeExtra?: string;
  /** The single error line must match. */
  error: RegExp;
  exit?: number;
}

const CASES: Case[] = [
  {
    name: 'malformed YAML',
    files: { 'env/prod/attributes/prod.yml': 'default:\n  a: [1, 2\n' },
    error: /env\/prod\/attributes\/prod\.yml:\d+:\d+: invalid YAML/,
  },
  { name: 'empty attribute file', files: { 'env/prod/attributes/empty.yml': '' }, error: /env\/prod\/attributes\/empty\.yml: attribute file is empty/ },
  { name: 'non-map attribute file', files: { 'env/prod/attributes/list.yml': '- a\n- b\n' }, error: /list\.yml: attribute file must be a map .* not a list/ },
  { name: 'default that is not a map', files: { 'env/prod/attributes/x.yml': 'default: [1]\n' }, error: /x\.yml: `default:` must be a map, not a list/ },
  {
    name: 'boolean map key',
    files: { 'env/prod/attributes/x.yml': 'default:\n  flags:\n    on: 1\n' },
    error: /x\.yml:3:5: map key "true" is a bool; keys must be strings or integers .*quote it/,
  },
  // YAML that GGN's go-yaml v2 refused (GGN exit 1) or could not render (GGN panicked).
  {
    name: 'YAML 1.2 escape \\/ (go-yaml v2 refuses it)',
    files: { 'env/prod/attributes/x.yml': 'default:\n  p: "x\\/y"\n' },
    error: /x\.yml:2:\d+: invalid YAML: found unknown escape character `\\\/`/,
  },
  {
    name: 'tag that does not match the value (!!float 1)',
    files: { 'env/prod/attributes/x.yml': 'default:\n  p: !!float 1\n' },
    error: /x\.yml:2:\d+: invalid YAML: cannot decode !!int `1` as a !!float/,
  },
  {
    name: 'map key beyond int64',
    files: { 'env/prod/attributes/x.yml': 'default:\n  9223372036854775808: a\n' },
    error: /x\.yml:2:3: map key "9223372036854775808" is a uint64; keys must be strings or integers/,
  },
  {
    name: 'infinite float -inf (GGN panicked)',
    files: { 'env/prod/attributes/x.yml': 'default:\n  p: -inf\n' },
    error: /x\.yml:2:6: `-inf` reads as an infinite float, which GGN cannot write as JSON: quote it/,
  },
  {
    name: 'infinite float +Infinity in a manifest',
    files: { 'env/prod/services/web/service-manifest.yml': 'nodes:\n  - hostname: web1\n    w: +Infinity\n' },
    error: /service-manifest\.yml:3:\d+: .*`\+Infinity` reads as an infinite float/,
  },
  {
    name: 'two YAML documents (GGN read the first only)',
    files: { 'env/prod/attributes/x.yml': 'default:\n  a: 1\n---\ndefault:\n  a: 2\n' },
    error: /x\.yml:3: the file holds more than one YAML document/,
  },
  {
    name: 'missing include',
    files: { 'env/prod/attributes/x.yml': 'include:\n  - nope.thing\n' },
    error: /x\.yml: include "nope\.thing": file not found: .*common-attributes\/nope\/thing\.yml/,
  },
  {
    name: 'env:: include inside env attributes',
    files: { 'env/prod/attributes/x.yml': 'include:\n  - env::a.b\n' },
    error: /x\.yml: include "env::a\.b": an env attribute file cannot include its own env's common attributes/,
  },
  { name: 'malformed include name', files: { 'env/prod/attributes/x.yml': 'include:\n  - a:b\n' }, error: /x\.yml: include "a:b": expected/ },
  {
    name: 'unknown template function',
    files: { 'env/prod/services/web/unit.tmpl': 'X={{ frobnicate .port }}\n' },
    error: /services\/web\/unit\.tmpl:1(:\d+)?: service web: template: .*function "frobnicate" not defined/,
  },
  {
    name: 'template syntax error',
    files: { 'env/prod/services/web/unit.tmpl': 'a\n{{if .port}}\nb\n' },
    error: /services\/web\/unit\.tmpl:\d+(:\d+)?: service web: template: .*unexpected EOF/,
  },
  {
    name: 'wrong argument type at run time',
    files: { 'env/prod/services/web/unit.tmpl': 'A\nX={{ toUpper .port }}\n' },
    error: /services\/web\/unit\.tmpl:2:\d+: unit prod_web_web1\.service: .*wrong type for value; expected string; got int/,
  },
  {
    name: 'index out of range at run time',
    files: { 'env/prod/attributes/prod.yml': 'default:\n  l: [1]\n', 'env/prod/services/web/unit.tmpl': 'X={{ index .l 3 }}\n' },
    error: /unit\.tmpl:1:\d+: unit prod_web_web1\.service: .*index out of range: 3/,
  },
  {
    name: 'missing unit.tmpl',
    files: { 'env/prod/services/web/unit.tmpl': null },
    error: /services\/web\/unit\.tmpl: service web: the service has no unit\.tmpl/,
  },
  {
    name: 'service without manifest',
    files: { 'env/prod/services/web/service-manifest.yml': null },
    error: /unknown command, service or unit "web" in env prod/,
    exit: 2,
  },
  {
    name: 'manifest that is not a map',
    files: { 'env/prod/services/web/service-manifest.yml': '- a\n' },
    error: /service-manifest\.yml: service web: service-manifest\.yml must be a map/,
  },
  {
    name: 'no nodes',
    files: { 'env/prod/services/web/service-manifest.yml': 'containers: []\n' },
    error: /service-manifest\.yml: service web: no nodes defined/,
  },
  {
    name: 'node without hostname',
    files: { 'env/prod/services/web/service-manifest.yml': 'nodes:\n  - ip: 10.0.0.1\n' },
    error: /service-manifest\.yml: service web: node #1 has no `hostname`/,
  },
  {
    name: 'duplicate hostnames',
    files: { 'env/prod/services/web/service-manifest.yml': 'nodes:\n  - hostname: a\n  - hostname: a\n' },
    error: /service-manifest\.yml: service web: duplicate hostname "a"/,
  },
  {
    name: "'*' mixed with other nodes",
    files: { 'env/prod/services/web/service-manifest.yml': "nodes:\n  - hostname: '*'\n  - hostname: b\n" },
    error: /service web: hostname '\*' \(every machine\) cannot be mixed with other nodes/,
  },
  {
    name: "'*' without a machine list",
    files: { 'env/prod/services/web/service-manifest.yml': "nodes:\n  - hostname: '*'\n" },
    error: /hostname '\*' needs the list of machines/,
  },
  {
    name: 'hostname that is not a valid unit name',
    files: { 'env/prod/services/web/service-manifest.yml': 'nodes:\n  - hostname: ../../etc/x\n' },
    error: /hostname "\.\.\/\.\.\/etc\/x" cannot be used in a systemd unit name/,
  },
  {
    name: 'hostname with a space',
    files: { 'env/prod/services/web/service-manifest.yml': 'nodes:\n  - hostname: web 1\n' },
    error: /hostname "web 1" cannot be used in a systemd unit name/,
  },
  {
    name: 'envName that is not a valid unit name',
    files: { 'env/prod/config.yml': 'envName: pr@d\n' },
    error: /envName "pr@d" cannot be used in a systemd unit name/,
  },
  {
    name: '<no value> in the rendered manifest',
    files: { 'env/prod/services/web/service-manifest.yml': 'nodes:\n  - hostname: web1\n    v: "{{.version}}"\n' },
    error: /service-manifest\.yml:3: service web: the rendered manifest has `<no value>`/,
  },
  { name: 'invalid -A JSON', args: ['-A', '{"version":', 'prod', 'web', 'generate'], error: /-A\/--manifest-attributes is not valid JSON/ },
  { name: '-A that is not an object', args: ['-A', '[1]', 'prod', 'web', 'generate'], error: /-A\/--manifest-attributes must be a JSON object/ },
  {
    name: 'env-level -A (GGN: usage printed, exit 0)',
    args: ['prod', 'generate', '-A', '{"x": 1}'],
    error: /-A\/--manifest-attributes templates one service's service-manifest\.yml: name the service/,
    exit: 2,
  },
  { name: 'missing -M manifest', args: ['-M', 'nope.json', 'prod', 'web', 'generate'], error: /nope\.json: cannot read manifest given with -M: ENOENT/ },
  {
    name: 'container without version or manifest',
    files: { 'env/prod/services/web/service-manifest.yml': 'containers:\n  - aci.example.net/web\nnodes:\n  - hostname: web1\n' },
    error: /container "aci\.example\.net\/web" has no version/,
  },
  { name: 'unknown env', args: ['prdo', 'web', 'generate'], error: /unknown env or command "prdo" \(did you mean "prod"\?\)/, exit: 2 },
  { name: 'unknown service', args: ['prod', 'wbe', 'generate'], error: /unknown command, service or unit "wbe" in env prod \(did you mean "web"\?\)/, exit: 2 },
  {
    name: 'unknown command',
    args: ['prod', 'web', 'generat'],
    error: /unknown command or unit "generat" for service web \(did you mean "generate"\?\)/,
    exit: 2,
  },
  {
    name: 'home without config.yml',
    homeExtra: '',
    args: ['-H', '/nonexistent-ggn-home', 'prod', 'generate'],
    error: /\/nonexistent-ggn-home\/config\.yml: cannot read the home config: ENOENT/,
  },
  {
    name: 'YAML alias bomb',
    files: { 'env/prod/attributes/bomb.yml': aliasBomb() },
    error: /env\/prod\/attributes\/bomb\.yml(:\d+:\d+)?: invalid YAML: aliases expand to too many nodes/,
  },
  {
    name: 'YAML nested 10,000 levels (flow map)',
    files: { 'env/prod/attributes/deep.yml': `default:\n  x: ${'{a: '.repeat(10000)}1${'}'.repeat(10000)}\n` },
    error: /env\/prod\/attributes\/deep\.yml: invalid YAML: nested too deeply/,
  },
  {
    name: 'YAML nested 10,000 levels (flow list)',
    files: { 'env/prod/attributes/deep.yml': `default:\n  x: ${'['.repeat(10000)}${']'.repeat(10000)}\n` },
    error: /env\/prod\/attributes\/deep\.yml: invalid YAML: nested too deeply/,
  },
  {
    name: 'YAML nested 10,000 levels (block list)',
    files: { 'env/prod/attributes/deep.yml': `default:\n  x:\n    ${'- '.repeat(10000)}v\n` },
    error: /env\/prod\/attributes\/deep\.yml:3:\d+: invalid YAML: nested too deeply/,
  },
  {
    name: 'YAML nested 1,001 levels (a manifest)',
    files: { 'env/prod/services/web/service-manifest.yml': `nodes:\n  - hostname: web1\n    x: ${'['.repeat(1001)}${']'.repeat(1001)}\n` },
    error: /services\/web\/service-manifest\.yml: service web: invalid YAML: nested too deeply \(more than 1000 levels/,
  },
  { name: 'unknown log level', args: ['-L', 'loud', 'prod', 'generate'], error: /unknown log level "loud"/, exit: 2 },
];

describe('a YAML syntax error points at the line', () => {
  it('prints the offending line and a caret under the column', () => {
    const { home } = tree({ 'env/prod/attributes/prod.yml': 'default:\n  port: 80\n  hosts: [a, b\n  other: 1\n' });
    const run = ggn(['-H', home, 'prod', 'web', 'generate']);
    assert.equal(run.code, 1);
    const lines = run.stderr.trimEnd().split('\n');
    const m = /^error: env\/prod\/attributes\/prod\.yml:(\d+):(\d+): invalid YAML: /.exec(lines[0]);
    assert.ok(m, run.stderr);
    const [line, col] = [Number(m![1]), Number(m![2])];
    const src = 'default:\n  port: 80\n  hosts: [a, b\n  other: 1\n'.split('\n')[line - 1];
    assert.equal(lines[1], `  ${line} | ${src}`);
    assert.equal(lines[2], `  ${' '.repeat(String(line).length + 1)}| ${' '.repeat(col - 1)}^`);
  });
});

describe('bad input gives one clear line and writes nothing', () => {
  it(`covers at least 20 kinds of bad input (${CASES.length})`, () => assert.ok(CASES.length >= 20));
  for (const c of CASES) {
    it(c.name, () => {
      const { work, home } = tree(c.files ?? {}, c.homeExtra);
      const args = c.args ?? ['prod', 'web', 'generate'];
      const run = ggn(args[0] === '-H' ? args : ['-H', home, ...args]);
      assert.equal(run.code, c.exit ?? 1, `exit code; stderr: ${run.stderr}`);
      const errors = run.stderr.split('\n').filter((l) => l.startsWith('error:'));
      assert.equal(errors.length, 1, run.stderr);
      assert.match(errors[0], c.error);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
      assert.deepEqual(
        listFiles(work).filter((f) => f.includes(`${path.sep}units${path.sep}`)),
        [],
      );
    });
  }

  it('a broken file blocks every command that needs it, and only those (GGN failed on any service of the env)', () => {
    const broken = 'default:\n  a: [1\n';
    const { work, home } = tree({
      'env/prod/services/api/service-manifest.yml': MANIFEST,
      'env/prod/services/api/unit.tmpl': UNIT,
      'env/prod/services/api/attributes/bad.yml': broken,
      'env/prod/services/web/attributes/inc.yml': 'include: [shared.web]\n',
      'common-attributes/shared/web.yml': 'default:\n  port: 81\n',
    });
    // Another service's broken file: web still generates (GGN: exit 1 for every service).
    const ok = ggn(['-H', home, 'prod', 'web', 'generate']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(fs.readFileSync(path.join(work, 'env/prod/services/web/units/prod_web_web1.service'), 'utf8'), '[Service]\nExecStart=/bin/true 81');
    // The env-level command needs every service.
    const all = ggn(['-H', home, 'prod', 'generate']);
    assert.equal(all.code, 1);
    assert.match(all.stderr, /^error: env\/prod\/services\/api\/attributes\/bad\.yml:\d+:\d+: service api: invalid YAML/m);
    // A file web needs: its include, then an env attribute file.
    for (const [file, err] of [
      ['common-attributes/shared/web.yml', /common-attributes\/shared\/web\.yml:\d+:\d+: service web: invalid YAML/],
      ['env/prod/attributes/zz.yml', /env\/prod\/attributes\/zz\.yml:\d+:\d+: .*invalid YAML/],
    ] as const) {
      fs.writeFileSync(path.join(work, file), broken);
      const run = ggn(['-H', home, 'prod', 'web', 'generate']);
      assert.equal(run.code, 1, file);
      assert.match(run.stderr, err);
      fs.writeFileSync(path.join(work, file), 'default: {}\n');
    }
  });

  it('shows a stack trace with -L debug', () => {
    const { home } = tree({ 'env/prod/attributes/prod.yml': 'default: [1]\n' });
    const run = ggn(['-H', home, '-L', 'debug', 'prod', 'web', 'generate']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /\n\s+at /);
  });

  it('a failing unit is not written, the other units and services are, and the exit code is 1', () => {
    const { work, home } = tree({
      'env/prod/services/web/service-manifest.yml': 'nodes:\n  - hostname: web1\n    l: [1]\n  - hostname: web2\n    l: []\n',
      'env/prod/services/web/unit.tmpl': 'X={{ index .l 0 }}\n',
      'env/prod/services/api/service-manifest.yml': MANIFEST,
      'env/prod/services/api/unit.tmpl': UNIT,
      'env/prod/services/broken/service-manifest.yml': MANIFEST,
      'env/prod/services/broken/unit.tmpl': '{{ end }}',
    });
    const run = ggn(['-H', home, 'prod', 'generate']);
    assert.equal(run.code, 1, run.stderr);
    const units = listFiles(work).filter((f) => f.includes('units'));
    assert.deepEqual(units, ['env/prod/services/api/units/prod_api_web1.service', 'env/prod/services/web/units/prod_web_web1.service']);
    assert.equal(fs.readFileSync(path.join(work, units[1]), 'utf8'), 'X=1');
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('error:'));
    assert.equal(errors.length, 2, run.stderr);
    assert.match(errors[0], /broken\/unit\.tmpl:1(:\d+)?: service broken: template: .*unexpected \{\{end\}\}/);
    assert.match(errors[1], /web\/unit\.tmpl:1:\d+: unit prod_web_web2\.service: .*index out of range: 0/);
    assert.match(run.stderr, /generate prod: 2 written, 0 unchanged, 2 failed/);
  });
});
