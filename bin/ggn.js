#!/usr/bin/env node
'use strict';
// Loads the CLI bundled by `npm run build` (dist/bundle/ggn.js, or for generate and validate its
// smaller subset ggn-local.js; scripts/bundle.ts) with V8's code cache, so a command starts
// about as fast as node itself. With -L debug or trace it loads the
// bundle with source maps on instead, so stack traces point at the TypeScript sources.
const argv = process.argv.slice(2);
// dist/bundle/ggn-local.js (scripts/bundle.ts) holds only these verbs and is smaller to load; it
// is picked when the words name one of them and none of the other verbs or top-level commands.
const LOCAL_VERBS = ['generate', 'validate'];
// Every other verb (commands/registry.ts), top-level command, and the completion hook;
// test/unit/bin-bundle-choice.test.ts checks this list against the registry.
const OTHER_WORDS = [
  'diff',
  'check',
  'update',
  'rollback',
  'prune',
  'list-units',
  'list-machines',
  'lock',
  'unlock',
  'history',
  'status',
  'journal',
  'ssh',
  'load',
  'start',
  'stop',
  'restart',
  'unload',
  'destroy',
  'version',
  'help',
  'completion',
  'show',
  'secrets',
  '__complete',
];

// Libraries bundled on their own (scripts/bundle.ts LAZY), each compiled with its own code cache
// the first time the CLI requires it: ssh2 by the commands that reach hosts, diff for a changed
// unit. From node_modules/ they cost ~40 ms and ~10 ms to load.
const LAZY = ['ssh2', 'diff'];

// `ggn version` answers before loading anything else.
if (argv.length === 1 && (argv[0] === 'version' || argv[0] === '--version')) {
  process.stdout.write(`ggn version ${require('../package.json').version}\n`);
} else if (firstWord(argv) === 'secrets') {
  // `ggn secrets` needs the age code, kept out of the bundle (scripts/bundle.ts): run it from dist/.
  require('../dist/commands/main.js')
    .main(argv)
    .then((code) => {
      process.exitCode = code;
    });
} else {
  load()
    .main(argv)
    .then((code) => {
      process.exitCode = code;
    });
}

/** The first word that is neither a global flag nor its value (commands/globals.ts). */
function firstWord(args) {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (['-H', '--home-path', '-L', '--log-level', '-M', '--generate-manifest', '-A', '--manifest-attributes'].includes(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/** Which bundle: 'local' when a local verb is named and nothing else could be; else 'full'. */
function bundleFor(args) {
  if (process.env.GGN_BUNDLE === 'local' || process.env.GGN_BUNDLE === 'full') return process.env.GGN_BUNDLE;
  let local = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') break;
    if (['-H', '--home-path', '-L', '--log-level', '-M', '--generate-manifest', '-A', '--manifest-attributes'].includes(a)) i++;
    else if (LOCAL_VERBS.includes(a)) local = true;
    else if (OTHER_WORDS.includes(a)) return 'full';
  }
  return local ? 'local' : 'full';
}

/** -L/--log-level debug or trace, anywhere before `--` (as commands/globals.ts reads it). */
function wantsStacks(args) {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return false;
    let v;
    if (a === '-L' || a === '--log-level') v = args[++i];
    else if (a.startsWith('--log-level=')) v = a.slice('--log-level='.length);
    else continue;
    v = String(v).toLowerCase();
    if (v === 'debug' || v === 'trace') return true;
  }
  return false;
}

function load() {
  const path = require('node:path');
  const file = path.join(__dirname, '..', 'dist', 'bundle', bundleFor(argv) === 'local' ? 'ggn-local.js' : 'ggn.js');
  if (wantsStacks(argv)) {
    process.setSourceMapsEnabled(true);
    return requireOr(file);
  }
  const cli = compiled(file);
  if (cli === undefined) return requireOr(file);
  // `npm run build` (scripts/bundle.ts) writes every code cache, the LAZY bundles' too: a
  // read-only install cannot write them later.
  if (process.env.GGN_CODE_CACHE === 'write') for (const id of LAZY) compiled(path.join(path.dirname(file), `${id}.js`));
  return cli;
}

/**
 * A bundle (one function expression taking CommonJS's arguments, scripts/bundle.ts) compiled
 * with V8's code cache, dist/bundle/<name>.js.cache; undefined when the bundle cannot be read.
 */
function compiled(file) {
  const fs = require('node:fs');
  const path = require('node:path');
  let source;
  let stat;
  try {
    // ASCII (scripts/bundle.ts): latin1 makes a one-byte string without decoding UTF-8.
    source = fs.readFileSync(file, 'latin1');
    stat = fs.statSync(file);
  } catch {
    return undefined;
  }
  const Module = require('node:module');
  const vm = require('node:vm');
  // The cache starts with a line naming the bundle it was made from (size and mtime): V8 itself
  // checks only the source's length and its own version and flags.
  const cacheFile = `${file}.cache`;
  const stamp = `${stat.size}:${stat.mtimeMs}\n`;
  let cachedData;
  try {
    const buf = fs.readFileSync(cacheFile);
    if (buf.subarray(0, stamp.length).toString('latin1') === stamp) cachedData = buf.subarray(stamp.length);
  } catch {}
  const script = new vm.Script(source, { filename: file, cachedData });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, requireFor(file, Module.createRequire(file)), mod, file, path.dirname(file));
  if (cachedData === undefined || script.cachedDataRejected) {
    // Missing, stale or made by another node: write a new one when this run ends, with every
    // function this run compiled. Atomic; a read-only install just goes without.
    process.on('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        fs.writeFileSync(tmp, Buffer.concat([Buffer.from(stamp, 'latin1'), script.createCachedData()]));
        fs.renameSync(tmp, cacheFile);
      } catch {
        try {
          fs.rmSync(tmp, { force: true });
        } catch {}
      }
    });
  }
  return mod.exports;
}

/** The bundle's require: a LAZY library from its own bundle (node_modules/ when it is missing), the rest as usual. */
function requireFor(file, req) {
  const path = require('node:path');
  const loaded = new Map();
  const r = (id) => {
    if (!LAZY.includes(id)) return req(id);
    if (!loaded.has(id)) loaded.set(id, compiled(path.join(path.dirname(file), `${id}.js`)) ?? req(id));
    return loaded.get(id);
  };
  return Object.assign(r, { resolve: req.resolve, cache: req.cache, main: req.main });
}

/** The bundle, or the unbundled tsc output when only `tsc` was run. */
function requireOr(file) {
  return require(require('node:fs').existsSync(file) ? file : '../dist/commands/main.js');
}
