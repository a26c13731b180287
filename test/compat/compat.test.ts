/**
 * The golden cases produced by the real GGN (test/fixtures/compat, see its README), run through
 * the real `ggn` binary the way the oracle ran GGN, and compared byte for byte.
 *
 * Where GGN was buggy we differ on purpose (README "Migrating from GGN"), and the test says how:
 *  - envname-env-generate: GGN wrote the partial output of a unit whose template failed at run
 *    time and exited 0. ggn writes nothing for that unit, still writes every other unit, names
 *    the file, line, column and unit, and exits 1.
 *  - tail-broken-other-service: GGN loaded every service of the env and failed on another
 *    service's bad YAML; ggn generates the service asked for.
 *  - tail-empty-default-last: GGN panicked on an empty `default:` in the last file; ggn applies
 *    the rule GGN followed for the other files (it resets the level's defaults).
 *  - tail-capfirst-non-ascii: GGN wrote invalid UTF-8; ggn upper-cases the whole first character.
 *  - tail-two-documents: GGN silently dropped the second YAML document; ggn refuses the file.
 *  - tail-env-generate-manifest-attributes: GGN printed its usage for an env-level -A and exited 0.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ggn, listFiles, ROOT, tmpDir } from '../support/cli';

const CASES = path.join(ROOT, 'test', 'fixtures', 'compat', 'cases');
const UNIT = 'env/prod/services/svc/units/prod_svc_n1.service';

interface Deviation {
  exitCode: number;
  /** GGN wrote these, ggn does not. */
  notWritten?: string[];
  /** ggn writes these bytes (where GGN wrote other bytes, or nothing). */
  written?: Record<string, string>;
  stderr?: RegExp[];
}

const DEVIATIONS: Record<string, Deviation> = {
  'envname-env-generate': {
    exitCode: 1,
    notWritten: ['env/prod-dc2/services/memcached/units/prod_memcached_mc2.service'],
    stderr: [/services\/memcached\/unit\.tmpl:7:30: unit prod_memcached_mc2\.service: .*index out of range: 3/],
  },
  'tail-broken-other-service': { exitCode: 0, written: { [UNIT]: 'a=1' } },
  'tail-empty-default-last': { exitCode: 0, written: { [UNIT]: 'a=<no value> c=3' } },
  'tail-capfirst-non-ascii': { exitCode: 0, written: { [UNIT]: 'Été|Ïle|Abc' } },
  'tail-two-documents': {
    exitCode: 1,
    notWritten: [UNIT],
    stderr: [/^error: env\/prod\/attributes\/prod\.yml:3: the file holds more than one YAML document \(GGN silently read only the first\)/m],
  },
  'tail-env-generate-manifest-attributes': {
    exitCode: 2,
    stderr: [/^error: -A\/--manifest-attributes templates one service's service-manifest\.yml: name the service/m],
  },
};

/** What a failing case must say (one line naming the file, and line where there is one). */
const FAILURE_MESSAGES: Record<string, RegExp> = {
  'fail-bad-yaml': /^error: env\/prod\/attributes\/prod\.yml:[45]:\d+: (service varnish: )?invalid YAML: .*end with a \]/m,
  'fail-missing-unit-tmpl': /^error: env\/prod\/services\/statsd\/unit\.tmpl: service statsd: the service has no unit\.tmpl$/m,
  'fail-template-syntax': /^error: env\/prod\/services\/rabbitmq\/unit\.tmpl:10(:\d+)?: service rabbitmq: template: .*unexpected EOF/m,
  'tail-refused-escape': /^error: env\/prod\/attributes\/prod\.yml:2:\d+: invalid YAML: found unknown escape character `\\\/`/m,
  'tail-refused-float-tag': /^error: env\/prod\/attributes\/prod\.yml:2:\d+: invalid YAML: cannot decode !!int `1` as a !!float/m,
  'tail-refused-uint64-key': /^error: env\/prod\/attributes\/prod\.yml:3:5: map key "9223372036854775808" is a uint64; keys must be strings or integers/m,
  'tail-infinite-float': /^error: env\/prod\/attributes\/prod\.yml:2:6: `-inf` reads as an infinite float, which GGN cannot write as JSON: quote it/m,
};

function runCase(name: string) {
  const dir = path.join(CASES, name);
  const args = fs
    .readFileSync(path.join(dir, 'command.txt'), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const scratch = tmpDir(`compat-${name}`);
  const work = path.join(scratch, 'work');
  const home = path.join(scratch, 'home');
  fs.cpSync(path.join(dir, 'tree'), work, { recursive: true });
  fs.mkdirSync(home);
  fs.writeFileSync(path.join(home, 'config.yml'), `workPath: ${work}\n`);
  const machines = path.join(dir, 'fleet-machines.txt');
  if (fs.existsSync(machines)) fs.copyFileSync(machines, path.join(home, `list-machines.cache.${args[0]}`));
  const run = ggn(['-H', home, ...args], { cwd: dir });
  const produced = listFiles(work).filter((f) => f.split(path.sep).includes('units'));
  return { dir, work, run, produced, expected: listFiles(path.join(dir, 'expected')) };
}

describe('GGN compatibility cases', () => {
  const names = fs.readdirSync(CASES).sort();
  it('has the 16 original cases and the long-tail ones', () => assert.ok(names.length >= 36, String(names.length)));
  for (const name of names) {
    it(name, () => {
      const { dir, work, run, produced, expected } = runCase(name);
      const ggnExit = Number(fs.readFileSync(path.join(dir, 'exit-code.txt'), 'utf8').trim());
      const dev = DEVIATIONS[name];
      const ours = dev?.written ?? {};
      const wanted = [...new Set([...expected.filter((f) => !dev?.notWritten?.includes(f)), ...Object.keys(ours)])].sort();
      assert.deepEqual(produced, wanted, `files written (stderr: ${run.stderr})`);
      for (const f of wanted) {
        const got = fs.readFileSync(path.join(work, f));
        const exp = f in ours ? Buffer.from(ours[f]) : fs.readFileSync(path.join(dir, 'expected', f));
        assert.ok(got.equals(exp), `${f} differs:\n--- expected\n${exp}\n--- got\n${got}`);
      }
      // ggn warns of every <no value> it prints for a missing key (the bytes stay GGN's).
      const warnings = run.stderr.split('\n').filter((l) => l.startsWith('warning: '));
      for (const w of warnings) assert.match(w, /: unit \S+: no value: `.+` renders as <no value> \(a missing attribute\?\)$/);
      if (warnings.length)
        assert.ok(
          wanted.some((f) => fs.readFileSync(path.join(work, f), 'utf8').includes('<no value>')),
          'a warning without <no value>',
        );
      run.stderr = run.stderr
        .split('\n')
        .filter((l) => !l.startsWith('warning: '))
        .join('\n');
      if (dev) {
        assert.equal(run.code, dev.exitCode, run.stderr);
        if (dev.exitCode === 0) assert.equal(run.stderr, '');
        for (const re of dev.stderr ?? []) assert.match(run.stderr, re);
      } else if (ggnExit === 0) {
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stderr, '');
      } else {
        assert.notEqual(run.code, 0);
        assert.match(run.stderr, FAILURE_MESSAGES[name] ?? /^error: /m);
        assert.equal(run.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1, run.stderr);
        assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace without -L debug');
      }
    });
  }
});
