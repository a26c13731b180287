/**
 * The second half of `npm run build`: bundles the CLI into one file, dist/bundle/ggn.js, and its
 * offline subset dist/bundle/ggn-local.js (generate, validate; see localOnly) (and the threads:
 * dist/bundle/write-worker.js, decrypt-worker.js), with source maps, then warms their V8 code
 * caches (dist/bundle/*.js.cache) by running `generate` on the example tree.
 *
 * Why: loading ~120 CommonJS files from dist/ and node_modules/ and compiling them cost every
 * command ~0.1 s before it did anything. One file and a code cache (bin/ggn.js loads the bundle
 * through vm.Script with the cache) make `generate` of one service start about as fast as
 * `node -e 0`. The unbundled dist/ from tsc stays (the tests import it).
 *
 * Kept out of the bundle, and required from node_modules/ by the commands that use them: etcd3
 * (loads .proto files next to its own sources) and cockatiel (only with etcd3), typescript
 * (oclif's optional ts-node path, never taken by ggn), and the big libraries only some runs need:
 * yaml (the full parser, behind src/tree/yaml-fast.ts) and @oclif/core (flag parsing, when
 * flags are given). ssh2 and diff are kept out too, but bundled on
 * their own (LAZY below). Every byte in the bundle is read at every start; these would triple it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build as esbuild, type Plugin } from 'esbuild';

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, 'dist', 'bundle');

export const EXTERNAL = ['ssh2', 'etcd3', 'cockatiel', 'typescript', 'yaml', 'diff', '@oclif/core', 'semver'];

/**
 * Libraries bundled on their own into dist/bundle/<name>.js, each with its own code cache, which
 * bin/ggn.js (its LAZY list) loads the first time the CLI bundle requires them: ssh2 for the
 * commands that reach hosts (from node_modules/: ~60 files resolved and compiled, and node's
 * http, zlib and child_process modules), diff for a changed unit. From node_modules/ the two cost
 * `diff` of one unit ~75 ms of CPU (node's 125 ms in the same run). Each entry
 * exports exactly what src/ imports of the library (test/unit/lazy-bundles.test.ts checks it).
 */
export const LAZY: Record<string, string> = {
  // The client and the key parser only: not the server, SFTP, the HTTP agents or keygen.
  ssh2: "module.exports = { Client: require('ssh2/lib/client.js'), utils: { parseKey: require('ssh2/lib/protocol/keyParser.js').parseKey } };",
  // Its ES module build, so that only the patch code is kept.
  diff: "export { createTwoFilesPatch } from 'diff';",
};

/**
 * The age and AES code (ESM packages, about 250 KB) is left out of the CLI's bundle: only
 * `ggn secrets`, which bin/ggn.js runs from dist/ instead (a dynamic import() cannot run inside
 * the bundle's vm.Script), and the decryption thread (its own bundle, with them) need it.
 */
const CRYPTO = ['age-encryption', '@noble/ciphers', '@noble/hashes'];

/** The verbs in the small bundle (bin/ggn.js's LOCAL_VERBS): the offline, everyday ones. */
export const LOCAL_VERBS = ['generate', 'validate'];

async function bundle(): Promise<void> {
  fs.rmSync(OUT, { recursive: true, force: true });
  await build({ ggn: 'commands/main.ts', 'write-worker': 'src/render/write-worker.ts' }, [...EXTERNAL, ...CRYPTO]);
  await build({ 'ggn-local': 'commands/main.ts' }, [...EXTERNAL, ...CRYPTO], [localOnly]);
  await build({ 'decrypt-worker': 'src/secrets/decrypt-worker.ts' }, EXTERNAL);
  for (const name of Object.keys(LAZY)) await build({ [name]: `lazy:${name}` }, [], [lazyEntries, ssh2Stubs]);
}

/** The LAZY entries, as virtual files resolved from the project root. */
const lazyEntries: Plugin = {
  name: 'lazy-entries',
  setup(b) {
    b.onResolve({ filter: /^lazy:/ }, (args) => ({ path: args.path.slice('lazy:'.length), namespace: 'lazy' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => ({ contents: LAZY[args.path], resolveDir: ROOT, loader: 'js' }));
  },
};

/**
 * What ggn's ssh2 bundle leaves out: bcrypt-pbkdf, which only decrypts a key with a passphrase
 * (ggn never passes one: an encrypted key is refused before), and SFTP, which ggn never opens.
 * ssh2's optional native parts (its crypto binding and cpu-features, built by npm's install
 * script when a compiler is there) stay in node_modules/ and are required from there as ssh2
 * itself does, so the bundle picks the same ciphers and implementations (~5 ms to load them).
 */
const ssh2Stubs: Plugin = {
  name: 'ssh2-stubs',
  setup(b) {
    b.onResolve({ filter: /^cpu-features$/ }, (args) => ({ path: args.path, external: true }));
    b.onResolve({ filter: /sshcrypto\.node$/ }, () => ({ path: 'ssh2/lib/protocol/crypto/build/Release/sshcrypto.node', external: true }));
    const stubs: [RegExp, string][] = [
      [/^bcrypt-pbkdf$/, "exports.pbkdf = () => { throw new Error('bcrypt-pbkdf: left out of the bundle (ggn reads no key with a passphrase)'); };"],
      [/\/SFTP\.js$/, "exports.SFTP = class SFTP { constructor() { throw new Error('ssh2 SFTP: left out of the bundle'); } };"],
    ];
    for (const [filter, contents] of stubs) {
      b.onResolve({ filter }, (args) => (args.importer.includes('node_modules') ? { path: args.path, namespace: 'ssh2-stub' } : undefined));
      b.onLoad({ filter, namespace: 'ssh2-stub' }, () => ({ contents, loader: 'js' }));
    }
  },
};

/**
 * dist/bundle/ggn-local.js: the same CLI without the commands that reach hosts (drivers, SSH,
 * apply, plans, the lock: about 40% of the bytes), which bin/ggn.js loads when the words name
 * `generate` or `validate` and no other verb. Every byte of the bundle and its code cache is read
 * and deserialized at each start, so `generate` starts faster from it. The other commands'
 * modules are replaced by a stub that says so; bin/ggn.js never picks this bundle for them.
 */
const localOnly: Plugin = {
  name: 'local-only',
  setup(b) {
    const lazyCommand = /\/commands\/(registry|main)\.ts$/;
    b.onResolve({ filter: /^\.\/[\w-]+$/ }, (args) => {
      if (args.kind !== 'require-call' || !lazyCommand.test(args.importer)) return undefined;
      if (LOCAL_VERBS.some((v) => args.path === `./${v}`)) return undefined;
      return { path: args.path, namespace: 'not-local' };
    });
    b.onLoad({ filter: /.*/, namespace: 'not-local' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`internal: commands/${args.path.slice(2)} is not in the local bundle (bin/ggn.js picked the wrong one)`)});`,
      loader: 'js',
    }));
  },
};

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

async function build(entryPoints: Record<string, string>, external: string[], plugins: Plugin[] = []): Promise<void> {
  await esbuild({
    plugins: [...plugins, plainBuiltins],
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

/** Runs each CLI bundle once on a copy of envs/ so bin/ggn.js writes the code cache it will load. */
function warmCodeCache(): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-bundle-'));
  try {
    fs.cpSync(path.join(ROOT, 'envs'), path.join(tmp, 'work'), { recursive: true });
    fs.mkdirSync(path.join(tmp, 'home'));
    fs.writeFileSync(path.join(tmp, 'home', 'config.yml'), `workPath: ${path.join(tmp, 'work')}\n`);
    for (const which of ['local', 'full']) {
      const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'ggn.js'), '-H', path.join(tmp, 'home'), 'prod', 'generate', '-q'], {
        encoding: 'utf8',
        env: { ...process.env, GGN_CODE_CACHE: 'write', GGN_BUNDLE: which },
      });
      if (r.status !== 0) throw new Error(`warming the ${which} bundle's code cache: ggn prod generate exited ${r.status}: ${r.stderr}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  bundle()
    .then(warmCodeCache)
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
