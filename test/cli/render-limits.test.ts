/**
 * Bounded rendering: a unit over `maxUnitSize:` (default 1 MiB) is an error naming the unit and
 * the template, found while the template writes, and a huge intermediate string (`repeat`)
 * fails before it is allocated.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ggn, listFiles, scratchTree } from '../support/cli';
import { Template } from '../../src/template';
import { ggnFuncs } from '../../src/template/funcs';
import { unitLimits } from '../../src/render/size-limit';

function tree(unitTmpl: string, config?: string) {
  return scratchTree({
    'env/prod/attributes/prod.yml': 'default:\n  port: 80\n',
    'env/prod/services/web/service-manifest.yml': 'nodes:\n  - hostname: web1\n',
    'env/prod/services/web/unit.tmpl': unitTmpl,
    ...(config === undefined ? {} : { 'env/prod/config.yml': config }),
  });
}

function generate(unitTmpl: string, config?: string) {
  const { work, home } = tree(unitTmpl, config);
  const t0 = Date.now();
  const run = ggn(['-H', home, 'prod', 'web', 'generate']);
  const ms = Date.now() - t0;
  const units = listFiles(work).filter((f) => f.includes(`${path.sep}units${path.sep}`));
  const errors = run.stderr.split('\n').filter((l) => l.startsWith('error:'));
  return { run, ms, units, errors, work };
}

describe('bounded rendering', () => {
  it('repeat "x," 100000000 fails fast (no gigabytes), naming the template, the unit and the limit', (t) => {
    const r = generate('[Service]\n{{range split (repeat "x," 100000000) ","}}{{.}}{{end}}\n');
    t.diagnostic(`generate took ${r.ms} ms`);
    assert.equal(r.run.code, 1, r.run.stderr);
    assert.equal(r.errors.length, 1, r.run.stderr);
    assert.match(
      r.errors[0],
      /^error: env\/prod\/services\/web\/unit\.tmpl:2:\d+: unit prod_web_web1\.service: .*error calling repeat: its result \(200000000 characters\) would be larger than maxUnitSize \(1 MiB/,
    );
    assert.doesNotMatch(r.run.stderr, /\n\s+at /);
    assert.deepEqual(r.units, []);
    assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
  });

  it('an output that grows past the limit stops when it crosses it', () => {
    const r = generate('[Service]\n{{range split (repeat "x," 400000) ","}}{{.}}{{.}}{{.}}{{end}}\n');
    assert.equal(r.run.code, 1);
    assert.match(
      r.errors[0],
      /unit\.tmpl:2:\d+: unit prod_web_web1\.service: .*the rendered output is larger than maxUnitSize \(1 MiB; set in the env's config\.yml\)/,
    );
    assert.deepEqual(r.units, []);
  });

  it('maxUnitSize: in config.yml raises (or lowers) the limit; counted in bytes', () => {
    const big = generate('[Service]\n{{range split (repeat "x," 400000) ","}}{{.}}{{.}}{{.}}{{end}}\n', 'maxUnitSize: 4MiB\n');
    assert.equal(big.run.code, 0, big.run.stderr);
    assert.equal(fs.statSync(path.join(big.work, big.units[0])).size, 10 + 3 * 400000);
    // 600 "é" = 600 characters but 1200 bytes: over a 1000-byte limit
    const multi = generate('{{repeat "é" 600}}', 'maxUnitSize: 1000\n');
    assert.equal(multi.run.code, 1);
    assert.match(
      multi.errors[0],
      /unit\.tmpl: unit prod_web_web1\.service: the rendered unit is 1200 bytes, larger than maxUnitSize \(1000 bytes; set `maxUnitSize:`/,
    );
    assert.equal(generate('{{repeat "é" 500}}', 'maxUnitSize: 1000\n').run.code, 0, 'exactly at the limit');
  });

  it('a bad maxUnitSize is an error naming config.yml', () => {
    for (const bad of ['maxUnitSize: -1\n', 'maxUnitSize: lots\n', 'maxUnitSize: 0\n', 'maxUnitSize: [1]\n']) {
      const r = generate('x', bad);
      assert.equal(r.run.code, 1);
      assert.match(
        r.errors[0],
        /env\/prod\/config\.yml:(1:\d+:)? .*(`maxUnitSize:` must be a positive size in bytes|`maxUnitSize` must be an integer or a string, e\.g\. 4MiB)/,
        bad,
      );
    }
  });

  it('the engine: limits apply to output and to strings built by functions, including recovered (gtf) ones', () => {
    const limits = unitLimits(100);
    const run = (src: string) => Template.parse('t', src, ggnFuncs()).execute(null, limits);
    assert.equal(run('{{repeat "ab" 50}}'), 'ab'.repeat(50));
    assert.throws(() => run('{{repeat "ab" 51}}'), /error calling repeat: its result \(102 characters\) would be larger than maxUnitSize \(100 bytes/);
    assert.throws(() => run('{{range split (repeat "x," 40) ","}}{{.}}{{.}}{{.}}{{end}}'), /the rendered output is larger than maxUnitSize/);
    assert.throws(
      () => run('{{$s := "0123456789"}}{{range split (repeat "x," 10) ","}}{{$s = printf "%s%s" $s $s}}{{end}}'),
      /error calling printf: its result \(160 characters\)/,
    );
    assert.throws(() => run('{{"x" | rjust 1000000}}'), /error calling rjust: its result \(999999 spaces\) would be larger/);
    // without limits (GGN compatibility for direct engine use) nothing changes
    assert.equal(Template.parse('t', '{{repeat "ab" 51}}', ggnFuncs()).execute(null).length, 102);
  });
});
