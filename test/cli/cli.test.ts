/**
 * The CLI on the bundled example tree (a scratch copy of envs/): GGN's grammar at every level,
 * help that lists what the tree holds, completion, version.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ggn, listFiles, ROOT, scratchTree, tmpDir } from '../support/cli';

let work: string;
let home: string;
const run = (...args: string[]) => ggn(['-H', home, ...args]);
const units = () => listFiles(work).filter((f) => f.includes(`${path.sep}units${path.sep}`));

function freshCopy(): void {
  const base = tmpDir('cli');
  work = path.join(base, 'work');
  home = path.join(base, 'home');
  fs.cpSync(path.join(ROOT, 'envs'), work, { recursive: true, filter: (s) => !s.includes(`${path.sep}units`) });
  fs.mkdirSync(home);
  fs.writeFileSync(path.join(home, 'config.yml'), `workPath: ${work}\n`);
}

describe('ggn CLI', () => {
  before(freshCopy);

  it('generates one unit by hostname, with its timer', () => {
    const r = run('prod', 'logrotate', 'node2', 'generate');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(units(), [
      'env/prod/services/logrotate/units/prod_logrotate_node2.service',
      'env/prod/services/logrotate/units/prod_logrotate_node2.timer',
    ]);
    assert.match(r.stdout, /generate prod\/logrotate: 2 written, 0 unchanged/);
  });

  it('generates only the timer when named <host>.timer, and accepts a full unit name', () => {
    freshCopy();
    assert.equal(run('prod', 'logrotate', 'node1.timer', 'generate').code, 0);
    assert.deepEqual(units(), ['env/prod/services/logrotate/units/prod_logrotate_node1.timer']);
    assert.equal(run('prod', 'nginx', 'prod_nginx_front2.service', 'generate').code, 0);
    assert.ok(units().includes('env/prod/services/nginx/units/prod_nginx_front2.service'));
  });

  it('accepts `ggn <env> <unit> <command>` when the unit is unique in the env', () => {
    freshCopy();
    const r = run('prod', 'cass2', 'generate');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(units(), ['env/prod/services/cassandra/units/prod_cassandra_cass2.service']);
  });

  it('refuses an ambiguous unit name and says which services have it', () => {
    const base = tmpDir('amb');
    const w = path.join(base, 'w');
    for (const svc of ['a', 'b']) {
      fs.mkdirSync(path.join(w, 'env/e/services', svc), { recursive: true });
      fs.writeFileSync(path.join(w, 'env/e/services', svc, 'service-manifest.yml'), 'nodes:\n  - hostname: h1\n');
      fs.writeFileSync(path.join(w, 'env/e/services', svc, 'unit.tmpl'), 'x');
    }
    fs.writeFileSync(path.join(base, 'config.yml'), `workPath: ${w}\n`);
    const r = ggn(['-H', base, 'e', 'h1', 'generate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unit "h1" exists in services a, b: name the service/);
  });

  it('generates the whole env, and a second run changes nothing', () => {
    freshCopy();
    const r = run('prod', 'generate');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(units().length, 3 + 3 * 2 + 2);
    assert.match(r.stdout, /generate prod: 11 written, 0 unchanged/);
    const again = run('prod', 'generate', '-q');
    assert.equal(again.code, 0);
    assert.equal(again.stdout, '');
  });

  it('ggn --help lists the envs and commands', () => {
    const r = run('--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage:\n  ggn \[flags\] <env> <command>/);
    assert.match(r.stdout, /Envs:\n  prod  staging/);
    assert.match(r.stdout, /generate +render unit files/);
    assert.match(r.stdout, /-H, --home-path <dir>/);
    assert.equal(ggn(['-H', home]).stdout, r.stdout, 'no arguments shows the same help');
  });

  it('ggn <env> --help lists the services; ggn <env> <service> --help lists the units', () => {
    const env = run('prod', '--help');
    assert.match(env.stdout, /Services:\n  cassandra  logrotate  nginx/);
    const svc = run('prod', 'logrotate', '--help');
    assert.match(svc.stdout, /Units:\n  prod_logrotate_node1\.service\n  prod_logrotate_node1\.timer\n/);
    const unit = run('prod', 'cassandra', 'cass1', '--help');
    assert.match(unit.stdout, /unit cass1 of service cassandra/);
    const cmd = run('prod', 'cassandra', 'generate', '--help');
    assert.match(cmd.stdout, /ggn prod cassandra generate: render unit files/);
    assert.match(cmd.stdout, /-q, --quiet +print only errors/);
  });

  it('suggests the closest name for an unknown unit', () => {
    const r = run('prod', 'cassandra', 'cass9', 'generate');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command or unit "cass9" for service cassandra \(did you mean "cass1" or "cass2" or "cass3"\?\)/);
  });

  it('completes envs, commands, services and units from the tree', () => {
    assert.deepEqual(run('__complete', 'p').stdout.trim().split('\n'), ['prod']);
    assert.deepEqual(run('__complete', 'prod', '').stdout.trim().split('\n'), [
      'cassandra',
      'check',
      'diff',
      'generate',
      'history',
      'list-machines',
      'list-units',
      'logrotate',
      'nginx',
      'prune',
      'rollback',
      'update',
      'validate',
    ]);
    assert.deepEqual(run('__complete', 'prod', 'logrotate', 'node1').stdout.trim().split('\n'), ['node1', 'node1.timer']);
    assert.deepEqual(run('__complete', 'prod', 'cassandra', 'cass1', 'g').stdout.trim().split('\n'), ['generate']);
    const script = run('completion', 'bash');
    assert.match(script.stdout, /complete -o default -F _ggn_complete ggn/);
    assert.match(run('completion', 'fish').stdout, /complete -c ggn/);
  });

  it('prints its version (fast path and normal path agree)', () => {
    const v = require(path.join(ROOT, 'package.json')).version;
    assert.equal(ggn(['version']).stdout, `ggn version ${v}\n`);
    assert.equal(run('version').stdout, `ggn version ${v}\n`);
  });

  it("uses GGN's list-machines cache for '*' only while it is fresh (12 h)", () => {
    const base = tmpDir('star');
    const w = path.join(base, 'w');
    fs.mkdirSync(path.join(w, 'env/e/services/s'), { recursive: true });
    fs.writeFileSync(path.join(w, 'env/e/services/s/service-manifest.yml'), "nodes:\n  - hostname: '*'\n");
    fs.writeFileSync(path.join(w, 'env/e/services/s/unit.tmpl'), '{{.hostname}}');
    fs.writeFileSync(path.join(base, 'config.yml'), `workPath: ${w}\n`);
    const cache = path.join(base, 'list-machines.cache.e');
    fs.writeFileSync(cache, 'dirName=m1,rack=1\nrack=2\ndirName=m2\n');
    const ok = ggn(['-H', base, 'e', 's', 'generate']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(listFiles(path.join(w, 'env/e/services/s/units')), ['e_s_m1.service', 'e_s_m2.service']);
    const old = (Date.now() - 13 * 3600 * 1000) / 1000;
    fs.utimesSync(cache, old, old);
    const stale = ggn(['-H', base, 'e', 's', 'generate']);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /is older than 12 h/);
  });

  it('merges overrideConfig from the home config over the env config', () => {
    const base = tmpDir('ovr');
    const w = path.join(base, 'w');
    fs.mkdirSync(path.join(w, 'env/e/services/s'), { recursive: true });
    fs.writeFileSync(path.join(w, 'env/e/config.yml'), 'envName: e\n');
    fs.writeFileSync(path.join(w, 'env/e/services/s/service-manifest.yml'), 'nodes:\n  - hostname: h\n');
    fs.writeFileSync(path.join(w, 'env/e/services/s/unit.tmpl'), 'x');
    fs.writeFileSync(path.join(base, 'config.yml'), `workPath: ${w}\noverrideConfig:\n  e:\n    envName: renamed\n`);
    assert.equal(ggn(['-H', base, 'e', 'generate']).code, 0);
    assert.deepEqual(listFiles(path.join(w, 'env/e/services/s/units')), ['renamed_s_h.service']);
  });

  it('writes large services through the writer thread, and reports a unit it cannot write', () => {
    const base = tmpDir('big');
    const w = path.join(base, 'w');
    fs.mkdirSync(path.join(w, 'env/e/services/big'), { recursive: true });
    fs.mkdirSync(path.join(w, 'env/e/services/small'), { recursive: true });
    const nodes = Array.from({ length: 300 }, (_, i) => `  - hostname: n${i}\n`).join('');
    fs.writeFileSync(path.join(w, 'env/e/services/big/service-manifest.yml'), `nodes:\n${nodes}`);
    fs.writeFileSync(path.join(w, 'env/e/services/big/unit.tmpl'), 'host={{.hostname}}');
    fs.writeFileSync(path.join(w, 'env/e/services/small/service-manifest.yml'), 'nodes:\n  - hostname: s1\n');
    fs.writeFileSync(path.join(w, 'env/e/services/small/unit.tmpl'), 'x');
    fs.writeFileSync(path.join(base, 'config.yml'), `workPath: ${w}\n`);
    const r = ggn(['-H', base, 'e', 'generate', '-q']);
    assert.equal(r.code, 0, r.stderr);
    const dir = path.join(w, 'env/e/services/big/units');
    assert.equal(fs.readdirSync(dir).length, 300);
    assert.equal(fs.readFileSync(path.join(dir, 'e_big_n123.service'), 'utf8'), 'host=n123');
    // A directory where a unit file should be: that unit fails, the others are written.
    fs.rmSync(dir, { recursive: true });
    fs.mkdirSync(path.join(dir, 'e_big_n7.service'), { recursive: true });
    const bad = ggn(['-H', base, 'e', 'generate', '-q']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: env\/e\/services\/big\/units\/e_big_n7\.service: .*cannot write unit file: (EISDIR|EEXIST|ENOTEMPTY)/m);
    assert.equal(fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile()).length, 299);
    assert.match(bad.stderr, /generate e: 299 written, 1 unchanged, 1 failed/);
  });
});

describe('rollout verbs: help shows the flags that go with each, the others are refused', () => {
  const { home } = scratchTree({
    'env/prod/config.yml': 'machines:\n  - {name: m1, address: 127.0.0.1}\n',
    'env/prod/services/web/service-manifest.yml': 'nodes:\n  - {hostname: w1, machine: m1}\n',
    'env/prod/services/web/unit.tmpl': '[Service]\nExecStart=/bin/true\n',
  });
  it('rollback: --to, no --prune/--plan/--all/--force; update: no --to', () => {
    const rb = ggn(['-H', home, 'prod', 'web', 'rollback', '--help']);
    assert.match(rb.stdout, /--to <HASH\|COMMIT>/);
    assert.doesNotMatch(rb.stdout, /--prune|--plan|--all|--force/);
    const up = ggn(['-H', home, 'prod', 'web', 'update', '--help']);
    assert.doesNotMatch(up.stdout, /--to\b/);
    assert.match(up.stdout, /--prune/);
    for (const [args, why] of [
      [['rollback', '--all'], /rollback does not take --all/],
      [['rollback', '--force'], /rollback does not take --force/],
      [['update', '--to', 'abcd'], /--to goes with rollback: update applies the tree/],
      [['rollback', '--to', 'HEAD~1'], /--to "HEAD~1": expected a revision's content hash or a git commit/],
      // A value the flag's parser refuses: one line naming the flag (oclif said it on three), exit 2.
      [['update', '--parallel', '0'], /^error: --parallel: Expected an integer greater than or equal to 1 but received: 0\nSee: ggn --help\n$/],
      [['update', '--max-fail', 'x'], /^error: --max-fail: Expected an integer but received: x\nSee: ggn --help\n$/],
      // Durations and batches too, before any host is contacted (m1 is never reached: no SSH error).
      [['update', '--timeout', 'xyz'], /^error: --timeout: invalid duration "xyz": use a number with a unit, e\.g\. 90s, 5m, 1h or 1h30m\nSee: ggn --help\n$/],
      [['rollback', '--settle', '5'], /^error: --settle: invalid duration "5"/],
      [['update', '--lock-wait', 'forever'], /^error: --lock-wait: invalid duration "forever"/],
      [['update', '--batch', '1,0'], /^error: --batch: "0" is not a count/],
      [['w1', 'restart', '--lock-ttl', 'abc'], /^error: --lock-ttl: invalid duration "abc"/],
      // Durations that parse but cannot work: a lock shorter than one renewal, a zero timeout.
      [['update', '--lock-ttl', '1s'], /^error: --lock-ttl: invalid lock TTL 1s: it must be at least 3s$/m],
      [['w1', 'stop', '--lock-ttl', '0s'], /^error: --lock-ttl: invalid lock TTL 0s: it must be at least 3s$/m],
      [['update', '--timeout', '0s'], /^error: --timeout: it must be more than 0s$/m],
    ] as const) {
      const r = ggn(['-H', home, 'prod', 'web', ...args, '-y']);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, why);
    }
    const lock = ggn(['-H', home, 'prod', 'web', 'lock', '-t', 'abc', 'why']);
    assert.equal(lock.code, 2, lock.stderr);
    assert.match(lock.stderr, /^error: --ttl: invalid duration "abc"/);
    const short = ggn(['-H', home, 'prod', 'web', 'lock', '-t', '2s', 'why']);
    assert.equal(short.code, 2, short.stderr);
    assert.match(short.stderr, /^error: --ttl: invalid lock TTL 2s: it must be at least 3s$/m);
  });
});
