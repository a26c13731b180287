/**
 * bin/ggn.js and the bundle from `npm run build`, run from a copy (so the shared dist/ is not
 * touched): the V8 code cache is written when missing, kept when valid, replaced when stale or
 * corrupt (the command still works), and -L debug maps stack traces to the TypeScript sources.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, scratchTree, tmpDir } from '../support/cli';

function copyOfBuild(name = 'ggn.js'): { bin: string; cache: string; bundle: string } {
  const dir = tmpDir('bundle');
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.copyFileSync(path.join(ROOT, 'bin', 'ggn.js'), path.join(dir, 'bin', 'ggn.js'));
  fs.cpSync(path.join(ROOT, 'dist', 'bundle'), path.join(dir, 'dist', 'bundle'), { recursive: true });
  for (const f of fs.readdirSync(path.join(dir, 'dist', 'bundle'))) if (f.endsWith('.cache')) fs.rmSync(path.join(dir, 'dist', 'bundle', f));
  // What the bundle leaves out (ssh2, yaml's full parser, oclif's parser, ...) comes from here.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return { bin: path.join(dir, 'bin', 'ggn.js'), cache: path.join(dir, 'dist', 'bundle', `${name}.cache`), bundle: path.join(dir, 'dist', 'bundle', name) };
}

const tree = () =>
  scratchTree({
    'env/prod/attributes/a.yml': 'default:\n  port: 80\n',
    'env/prod/services/web/service-manifest.yml': 'nodes:\n  - hostname: web1\n',
    'env/prod/services/web/unit.tmpl': '[Service]\nExecStart=/bin/x {{.port}}\n',
  });

const run = (bin: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } });

describe('the bundled CLI and its code cache', () => {
  it('generate and validate run from the small bundle, other commands from the full one', () => {
    const b = copyOfBuild();
    const t = tree();
    const caches = () => fs.readdirSync(path.dirname(b.cache)).filter((f) => f.endsWith('.cache'));
    assert.equal(run(b.bin, ['-H', t.home, 'prod', 'web', 'generate', '-q']).status, 0);
    assert.equal(run(b.bin, ['-H', t.home, 'prod', 'validate']).status, 0);
    assert.deepEqual(caches(), ['ggn-local.js.cache']);
    const help = run(b.bin, ['-H', t.home, 'prod', 'web', 'diff', '--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /--parallel/);
    assert.deepEqual(caches().sort(), ['ggn-local.js.cache', 'ggn.js.cache']);
  });

  for (const [which, name] of [
    ['local', 'ggn-local.js'],
    ['full', 'ggn.js'],
  ]) {
    it(`${which} bundle: writes the cache when missing, keeps a valid one, replaces a stale or corrupt one`, () => {
      cacheLifecycle(which, name);
    });
  }

  function cacheLifecycle(which: string, name: string): void {
    const b = copyOfBuild(name);
    const t = tree();
    const gen = () => {
      const r = run(b.bin, ['-H', t.home, 'prod', 'generate', '-q'], { GGN_BUNDLE: which });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
    };
    gen();
    assert.ok(fs.existsSync(b.cache), 'written by the first run');
    const first = fs.readFileSync(b.cache);
    const st = fs.statSync(b.bundle);
    assert.equal(first.subarray(0, first.indexOf(10) + 1).toString(), `${st.size}:${st.mtimeMs}\n`, 'stamped with the bundle it was made from');
    gen();
    assert.ok(fs.readFileSync(b.cache).equals(first), 'a valid cache is kept');
    // Corrupt (right stamp, garbage data): V8 rejects it, the run works, a new one is written.
    fs.writeFileSync(b.cache, Buffer.concat([first.subarray(0, first.indexOf(10) + 1), Buffer.from('garbage')]));
    gen();
    assert.ok(fs.readFileSync(b.cache).length > 1000);
    // Stale (made from another bundle): not used, replaced.
    fs.writeFileSync(b.cache, Buffer.concat([Buffer.from('1:2\n'), first.subarray(first.indexOf(10) + 1)]));
    gen();
    assert.ok(fs.readFileSync(b.cache).subarray(0, 4).toString() !== '1:2\n');
    assert.deepEqual(
      fs.readdirSync(path.dirname(b.cache)).filter((f) => f.endsWith('.tmp')),
      [],
    );
  }

  it('-L debug: the stack trace names the TypeScript sources; without it, no stack', () => {
    const b = copyOfBuild();
    const home = tmpDir('badhome');
    fs.writeFileSync(path.join(home, 'config.yml'), 'workPath: [\n');
    const debug = run(b.bin, ['-H', home, '-L', 'debug', 'prod', 'generate']);
    assert.equal(debug.status, 1);
    assert.match(debug.stderr, /^error: .*config\.yml:2:1: invalid YAML/);
    assert.match(debug.stderr, /at parseYaml \(.*src\/tree\/yaml\.ts:\d+:\d+\)/);
    const plain = run(b.bin, ['-H', home, 'prod', 'generate']);
    assert.equal(plain.status, 1);
    assert.equal(plain.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1, plain.stderr);
    assert.doesNotMatch(plain.stderr, /\n\s+at /, 'no stack without -L debug');
  });
});
