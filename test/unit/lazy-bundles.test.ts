/**
 * The libraries bundled on their own (scripts/bundle.ts LAZY: ssh2, diff), which bin/ggn.js
 * loads the first time the CLI requires them: each bundle exports exactly what src/ uses of the
 * library, its key parser answers as ssh2's own does, and the CLI takes ssh2 from its bundle (not
 * node_modules/) when it connects, reporting a refused connection and an unusable key as before.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { LAZY } from '../../scripts/bundle';
import { GGN, ROOT, scratchTree, tmpDir } from '../support/cli';

const BUNDLE = path.join(ROOT, 'dist', 'bundle');

function tsFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .flatMap((e) => (e.isFile() && e.name.endsWith('.ts') ? [path.join(e.parentPath, e.name)] : []));
}

/**
 * What src/ and commands/ use of `lib`, as dotted paths: `const { a } = require('lib')` gives a,
 * `const lib = (): ... => require('lib')` and then `lib().x.y(...)` gives x.y. Any other use
 * (an import that is not `import type`, another form of require) fails: the test could not see it.
 */
function usedOf(lib: string): string[] {
  const used = new Set<string>();
  const q = lib.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  for (const file of [...tsFiles(path.join(ROOT, 'src')), ...tsFiles(path.join(ROOT, 'commands'))]) {
    const text = fs.readFileSync(file, 'utf8');
    const rel = path.relative(ROOT, file);
    for (const m of text.matchAll(new RegExp(`^import (?!type )[^;]*from '${q}(/[^']*)?';`, 'gm')))
      assert.fail(`${rel}: ${m[0]}: only \`import type\` (bin/ggn.js's LAZY)`);
    let requires = 0;
    for (const m of text.matchAll(new RegExp(`const \\{([^}]+)\\} = require\\('${q}'\\)`, 'g'))) {
      requires++;
      for (const name of m[1].split(',')) used.add(name.split(':')[0].trim());
    }
    for (const m of text.matchAll(new RegExp(`const (\\w+) = \\(\\)[^=]*=> require\\('${q}'\\)`, 'g'))) {
      requires++;
      for (const u of text.matchAll(new RegExp(`\\b${m[1]}\\(\\)\\.([\\w.]+)`, 'g'))) used.add(u[1]);
    }
    const all = [...text.matchAll(new RegExp(`require\\('${q}(/[^']*)?'\\)`, 'g'))].length;
    assert.equal(all, requires, `${rel}: a require of ${lib} in a form this test does not read`);
  }
  return [...used].sort();
}

/** The dotted paths of what a bundle exports (its plain objects walked into). */
function exportedBy(exports: Record<string, unknown>, prefix = ''): string[] {
  return Object.keys(exports)
    .flatMap((k) => {
      const v = exports[k];
      return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype
        ? exportedBy(v as Record<string, unknown>, `${prefix}${k}.`)
        : [`${prefix}${k}`];
    })
    .sort();
}

function keygen(dir: string, name: string, type: string, passphrase = ''): Buffer {
  const file = path.join(dir, name);
  const r = spawnSync('ssh-keygen', ['-q', '-t', type, '-N', passphrase, '-C', '', '-f', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return fs.readFileSync(file);
}

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A tree whose env `solo` has one service on one machine at 127.0.0.1:port. */
function soloTree(port: number, identityFile: string, knownHosts: string): { home: string } {
  return scratchTree({
    'env/solo/config.yml': [
      'ssh:',
      '  scope: user',
      `  identityFile: ${identityFile}`,
      `  knownHostsFile: ${knownHosts}`,
      '  connectTimeout: 10',
      'machines:',
      '  - name: h1',
      '    address: 127.0.0.1',
      `    port: ${port}`,
      `    user: ${os.userInfo().username}`,
      '',
    ].join('\n'),
    'env/solo/services/one/service-manifest.yml': 'nodes:\n  - hostname: one1\n    machine_id: h1\n',
    'env/solo/services/one/unit.tmpl': '[Unit]\nDescription=one {{.hostname}}\n\n[Service]\nExecStart=/bin/sleep 600\n\n[X-Fleet]\nMachineID={{.machine_id}}\n',
  });
}

/** `ggn solo one diff` through bin/ggn.js, with the node_modules/ files it required listed. */
function diffThroughCli(home: string, dir: string): { code: number | null; signal: string | null; stderr: string; fromNodeModules: string[] } {
  const record = path.join(dir, 'required.json');
  const preload = path.join(dir, 'preload.js');
  fs.writeFileSync(
    preload,
    `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(Object.keys(require.cache).filter((f) => f.includes('/node_modules/')))));\n`,
  );
  const r = spawnSync(process.execPath, ['--require', preload, GGN, '-H', home, 'solo', 'one', 'diff'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', SSH_AUTH_SOCK: '' },
    timeout: 120_000,
  });
  const fromNodeModules = fs.existsSync(record) ? (JSON.parse(fs.readFileSync(record, 'utf8')) as string[]) : [];
  return { code: r.status, signal: r.signal, stderr: r.stderr, fromNodeModules };
}

describe('lazy bundles (scripts/bundle.ts LAZY, bin/ggn.js)', () => {
  it('bin/ggn.js loads the libraries the bundle script bundles on their own', () => {
    const bin = fs.readFileSync(GGN, 'utf8');
    const m = /const LAZY = \[([^\]]*)\]/.exec(bin);
    assert.ok(m, 'bin/ggn.js declares LAZY');
    assert.deepEqual([...m[1].matchAll(/'([^']+)'/g)].map((x) => x[1]).sort(), Object.keys(LAZY).sort());
  });

  for (const lib of Object.keys(LAZY)) {
    it(`dist/bundle/${lib}.js exports exactly what src/ uses of ${lib}`, () => {
      const used = usedOf(lib);
      assert.ok(used.length > 0, `src/ uses something of ${lib}`);
      assert.deepEqual(exportedBy(require(path.join(BUNDLE, `${lib}.js`))), used);
    });
  }

  it('the ssh2 bundle parses keys as ssh2 does, and still refuses an encrypted key without bcrypt', () => {
    const bundled = require(path.join(BUNDLE, 'ssh2.js')) as typeof import('ssh2');
    const real = require('ssh2') as typeof import('ssh2');
    const dir = tmpDir('lazy-keys');
    try {
      for (const type of ['ed25519', 'ecdsa', 'rsa']) {
        const key = keygen(dir, type, type);
        const a = bundled.utils.parseKey(key);
        const b = real.utils.parseKey(key);
        assert.ok(!(a instanceof Error) && !(b instanceof Error) && !Array.isArray(a) && !Array.isArray(b), type);
        assert.equal(a.type, b.type);
        assert.ok(a.isPrivateKey());
        assert.deepEqual(a.getPublicSSH(), b.getPublicSSH());
        const data = Buffer.from('signed');
        assert.ok(b.verify(data, a.sign(data)), `${type}: the bundle's signature verifies with ssh2's`);
      }
      const enc = keygen(dir, 'enc', 'ed25519', 'secret');
      const a = bundled.utils.parseKey(enc);
      const b = real.utils.parseKey(enc);
      assert.ok(a instanceof Error && b instanceof Error);
      assert.equal(a.message, b.message);
      assert.match(a.message, /encrypted/i);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the CLI connects with the ssh2 bundle: a refused connection is reported as before, nothing from node_modules/ssh2', async () => {
    const dir = tmpDir('lazy-cli');
    try {
      keygen(dir, 'id', 'ed25519');
      fs.writeFileSync(path.join(dir, 'known_hosts'), '');
      const port = await closedPort();
      const { home } = soloTree(port, path.join(dir, 'id'), path.join(dir, 'known_hosts'));
      const r = diffThroughCli(home, dir);
      assert.equal(r.signal, null, 'it exits by itself');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`host h1 \\(127\\.0\\.0\\.1:${port}\\): connection refused`));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      // ssh2's native parts (when npm built them) still come from node_modules/, its code does not.
      assert.deepEqual(
        r.fromNodeModules.filter((f) => /\/node_modules\/(ssh2|diff)\//.test(f) && !f.endsWith('.node')),
        [],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an identity file that is no key: the CLI says so and exits (the connect begun meanwhile is closed)', async () => {
    const dir = tmpDir('lazy-nokey');
    const server = net.createServer((s) => s.on('error', () => {}));
    try {
      fs.writeFileSync(path.join(dir, 'id'), 'not a key\n');
      fs.writeFileSync(path.join(dir, 'known_hosts'), '');
      // A port that accepts and never answers: only a socket left open would keep the CLI running.
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as net.AddressInfo;
      const { home } = soloTree(port, path.join(dir, 'id'), path.join(dir, 'known_hosts'));
      // spawnSync blocks this process: the kernel accepts the connection and nothing answers.
      const r = diffThroughCli(home, dir);
      assert.equal(r.signal, null, 'it exits by itself');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /host h1: no usable SSH key for user \S+ \(.*id is not a usable private key/);
    } finally {
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
