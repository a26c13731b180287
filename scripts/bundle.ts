/**
 * The second half of `npm run build`: bundles the CLI into one file, dist/bundle/ggn.js (and the
 * threads: dist/bundle/write-worker.js, decrypt-worker.js), with source maps, then warms its V8
 * code cache (dist/bundle/ggn.js.cache) by running `generate` and help on the example tree.
 *
 * Why: loading ~120 CommonJS files from dist/ and node_modules/ and compiling them cost every
 * command ~0.1 s before it did anything. One file and a code cache (bin/ggn.js loads the bundle
 * through vm.Script with the cache) make `generate` of one service start about as fast as
 * `node -e 0`. The unbundled dist/ from tsc stays (the tests import it).
 *
 * Kept out of the bundle, and required from node_modules/ by the commands that use them: ssh2
 * (optional native binding), etcd3 (loads .proto files next to its own sources) and cockatiel
 * (only with etcd3), typescript (oclif's optional ts-node path, never taken by ggn), and the big
 * libraries only some runs need: yaml (the full parser, behind src/tree/yaml-fast.ts), listr2
 * (update's task list), diff (changed units) and @oclif/core (flag parsing, when flags are given).
 * Every byte in the bundle is read at every start; these would triple it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build as esbuild, type Plugin } from 'esbuild';

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, 'dist', 'bundle');

export const EXTERNAL = ['ssh2', 'etcd3', 'cockatiel', 'typescript', 'yaml', 'listr2', 'diff', '@oclif/core', 'semver'];

/**
 * The age and AES code (ESM packages, about 250 KB) is left out of the CLI's bundle: only
 * `ggn secrets`, which bin/ggn.js runs from dist/ instead (a dynamic import() cannot run inside
 * the bundle's vm.Script), and the decryption thread (its own bundle, with them) need it.
 */
const CRYPTO = ['age-encryption', '@noble/ciphers', '@noble/hashes'];

async function bundle(): Promise<void> {
  fs.rmSync(OUT, { recursive: true, force: true });
  await build({ ggn: 'commands/main.ts', 'write-worker': 'src/render/write-worker.ts' }, [...EXTERNAL, ...CRYPTO]);
  await build({ 'decrypt-worker': 'src/secrets/decrypt-worker.ts' }, EXTERNAL);
}

/**
 * `import * as fs from 'node:fs'` becomes `__toESM(require("node:fs"))` in a bundle, which copies
 * every export of the builtin into a new object of getters, once per importing file (~3 ms of
 * every start for ~60 imports). The sources use these namespaces only as `fs.x`, so in the bundle
 * they become `import fs = require('node:fs')`: the builtin itself. Same lines, so the source
 * maps still point at the right line.
 */
const plainBuiltins: Plugin = {
  name: 'plain-builtins',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const text = fs.readFileSync(args.path, 'utf8');
      return { contents: text.replace(/^import \* as (\w+) from '(node:[\w/]+)';$/gm, "import $1 = require('$2');"), loader: 'ts' };
    });
  },
};

async function build(entryPoints: Record<string, string>, external: string[]): Promise<void> {
  await esbuild({
    plugins: [plainBuiltins],
    absWorkingDir: ROOT,
    entryPoints,
    outdir: OUT,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external,
    // Whitespace and syntax only: names stay, so stack traces read well under -L debug.
    minifyWhitespace: true,
    minifySyntax: true,
    // ASCII only, so bin/ggn.js reads it as latin1 into a one-byte string (no UTF-8 decoding).
    charset: 'ascii',
    // The file is one function expression that runs itself when required (the -L debug path,
    // with source maps) and is returned as-is to bin/ggn.js's vm.Script (the code-cache path):
    // no wrapper string concatenated at every start.
    banner: {
      js: '(function(f){return typeof module==="object"?f.call(exports,exports,require,module,__filename,__dirname):f})(function(exports,require,module,__filename,__dirname){',
    },
    footer: { js: '})' },
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'warning',
  });
}

/** Runs the bundle once on a copy of envs/ so bin/ggn.js writes the code cache it will load. */
function warmCodeCache(): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-bundle-'));
  try {
    fs.cpSync(path.join(ROOT, 'envs'), path.join(tmp, 'work'), { recursive: true });
    fs.mkdirSync(path.join(tmp, 'home'));
    fs.writeFileSync(path.join(tmp, 'home', 'config.yml'), `workPath: ${path.join(tmp, 'work')}\n`);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'ggn.js'), '-H', path.join(tmp, 'home'), 'prod', 'generate', '-q'], {
      encoding: 'utf8',
      env: { ...process.env, GGN_CODE_CACHE: 'write' },
    });
    if (r.status !== 0) throw new Error(`warming the code cache: ggn prod generate exited ${r.status}: ${r.stderr}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

bundle()
  .then(warmCodeCache)
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
