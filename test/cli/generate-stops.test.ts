/**
 * How a big `generate` stops. A signal during it (Ctrl-C, a CI runner's SIGTERM, a closed terminal's SIGHUP):
 * nothing more is rendered, the unit being written is finished, no temporary file is left, the
 * exit code is 128 + the signal, and every unit file there is whole (a full run afterwards finds
 * each of them unchanged). Before, SIGTERM and SIGHUP killed the process between a temporary
 * file's write and its rename. And output that cannot be written does not stop it either: a
 * reader that goes away (`| head`) is no failure; a full disk under `> log` is (a warning, exit 1);
 * either way the rest of the output is dropped and there is no stack trace.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GGN, ggn, listFiles, scratchRoot } from '../support/cli';
import { generateBenchTree } from '../../bench/gen-tree';

const CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

const scratch = (name: string) => fs.mkdtempSync(path.join(scratchRoot(), `ggn-${name}-`));

/** `ggn bench generate ARGS` in the background, its stdout piped (or to `stdout`, a descriptor). */
function spawnGenerate(home: string, args: string[], stdout: 'pipe' | number = 'pipe') {
  const child = spawn(process.execPath, [GGN, '-H', home, 'bench', 'generate', ...args], {
    stdio: ['ignore', stdout, 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

const isUnitFile = (f: string) => f.includes(`${path.sep}units${path.sep}`);
/** The unit files under the tree's env (relative paths). */
const unitFiles = (work: string) => listFiles(path.join(work, 'env')).filter(isUnitFile);

/** Runs `generate` of 4,000 units and sends `sig` once the first unit file is there. */
async function interrupted(work: string, home: string, sig: keyof typeof CODES): Promise<{ code: number | null; stderr: string }> {
  const g = spawnGenerate(home, ['--quiet']);
  let done = false;
  void g.exited.then(() => (done = true));
  const first = path.join(work, 'env', 'bench', 'services', 'svc00', 'units');
  while (!done && !(fs.existsSync(first) && fs.readdirSync(first).some((n) => !n.startsWith('.')))) await new Promise((r) => setTimeout(r, 2));
  g.child.kill(sig);
  return { code: await g.exited, stderr: g.stderr() };
}

describe('generate stopped by a signal', () => {
  for (const sig of Object.keys(CODES) as (keyof typeof CODES)[]) {
    it(`${sig}: exit ${CODES[sig]}, no temporary file, every unit written is whole`, async () => {
      const { work, home } = generateBenchTree(scratch(`gen-${sig}`), 20, 200);
      const r = await interrupted(work, home, sig);
      assert.equal(r.code, CODES[sig], r.stderr);
      assert.match(r.stderr, new RegExp(`^${sig}: stopping: the unit being written is finished, nothing more is rendered$`, 'm'));
      const m = /^generate bench: stopped: (\d+) written, 0 unchanged(; .*)?$/m.exec(r.stderr);
      assert.ok(m, r.stderr);
      const files = listFiles(path.join(work, 'env'));
      assert.deepEqual(
        files.filter((f) => path.basename(f).startsWith('.')),
        [],
        'no temporary file',
      );
      const units = files.filter(isUnitFile);
      assert.equal(units.length, Number(m[1]), 'the files there are the ones it says it wrote');
      assert.ok(units.length < 4_000, `stopped before the end (${units.length} written)`);
      // A full run afterwards finds every one of those files unchanged (whole, the right bytes)
      // and writes the others.
      const again = ggn(['-H', home, 'bench', 'generate']);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`^generate bench: ${4_000 - units.length} written, ${units.length} unchanged$`, 'm'));
      fs.rmSync(path.dirname(work), { recursive: true, force: true });
    });
  }
});

describe('generate whose reader goes away (| head)', () => {
  it('finishes its work and exits 0 without a stack trace: the rest of its output is dropped', async () => {
    const { work, home } = generateBenchTree(scratch('gen-pipe'), 20, 200);
    const g = spawnGenerate(home, []);
    // The reader reads one chunk and goes away, as `head -1` does: later writes get EPIPE.
    g.child.stdout!.once('data', () => g.child.stdout!.destroy());
    const code = await g.exited;
    assert.equal(g.stderr(), '');
    assert.equal(code, 0);
    const units = unitFiles(work);
    assert.equal(units.length, 4_000, 'every unit written');
    fs.rmSync(path.dirname(work), { recursive: true, force: true });
  });
});

describe('generate whose output goes to a full disk (> log)', () => {
  it('finishes its work, warns once on stderr and exits 1: the output was lost', async () => {
    const { work, home } = generateBenchTree(scratch('gen-full'), 2, 200);
    // /dev/full: every write fails with ENOSPC, as on a full disk.
    const full = fs.openSync('/dev/full', 'w');
    const g = spawnGenerate(home, [], full);
    fs.closeSync(full);
    const code = await g.exited;
    assert.equal(g.stderr(), 'warning: cannot write to standard output (ENOSPC): the rest of it is dropped; ggn goes on\n');
    assert.equal(code, 1);
    const units = unitFiles(work);
    assert.equal(units.length, 400, 'every unit written');
    fs.rmSync(path.dirname(work), { recursive: true, force: true });
  });
});
