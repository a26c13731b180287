/**
 * `npm run bench`: prints wall time and peak memory of ggn's hot paths against their targets.
 *   startup  `ggn version` and `ggn prod cassandra generate` vs `node -e 0` (bench/startup.ts)
 *   render   `ggn bench generate` of 10,000 units (40 services x 250 nodes) vs writing the same
 *            files with writeFileSync (the copy floor), target <= 2.5x, 150 MiB
 *   diff     `ggn prod web diff` of 5 units on each of 30 test hosts vs 30 parallel `ssh cat`, target <= 1.5x
 *   update   30 units on 6 hosts at concurrency 5: ggn's overhead per unit, target <= 0.3 s
 *   settle   how long typical broken services look up before they die, against --settle's default
 *   hosts    diff, check and update of 1,000 units on 200 test hosts vs 200 parallel OpenSSH
 *            processes doing the same reads / writes, with peak RSS and open descriptors;
 *            diff's target <= 0.5x (bench/hosts.ts; `npm run bench -- hosts` runs it alone)
 *   zdt      HTTP load through HAProxy on 4 hosts while 4 nodes are updated, in place then with
 *            `rollout: overlap`: requests sent, failed, slowest; goal 0 failed with overlap
 *            (bench/zdt.ts; `npm run bench -- zdt` runs it alone)
 * Numbers are medians of several runs; the targets are printed, not asserted. Every figure ends
 * in one table with its yardstick measured in the same run. `--baseline <dir>`: a built checkout
 * to time start-up and the render against in the same rounds.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateBenchTree } from './gen-tree';
import { benchDiff } from './diff';
import { benchHosts } from './hosts';
import { benchStartup } from './startup';
import { addRow, median, printTable } from './table';
import { benchUpdate } from './update';
import { benchSettle } from './settle';
import { DEFAULT_SETTLE } from '../src/apply/rollout';
import { parseDuration } from '../src/durations';
import { benchZdt } from './zdt';
import { scratchRoot } from '../test/support/cli';

const ROOT = path.resolve(__dirname, '..', '..');
const MEASURED = path.join(ROOT, 'bench', 'measured-ggn.js');
const RENDER_RUNS = Number(process.env.GGN_BENCH_RENDER_RUNS ?? 5);

function timeRun(
  args: string[],
  opts: { measured?: boolean; env?: NodeJS.ProcessEnv } = {},
): { ms: number; rssMiB?: number; cpuMs?: number; code: number; stderr: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], encoding: 'utf8', env: { ...process.env, ...opts.env } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let rssMiB: number | undefined;
  let cpuMs: number | undefined;
  if (opts.measured) {
    const line = (r.output[3] as unknown as string) ?? '';
    const m = /"maxRSSKiB":(\d+)/.exec(line);
    if (m) rssMiB = Number(m[1]) / 1024;
    const c = /"cpuUs":(\d+)/.exec(line);
    if (c) cpuMs = Number(c[1]) / 1000;
  }
  return { ms, rssMiB, cpuMs, code: r.status ?? -1, stderr: r.stderr };
}

/** The floor: writing the same files with plain writeFileSync, nothing else. Wall and CPU ms. */
function writeFloor(units: { file: string; content: Buffer }[], root: string): { ms: number; cpuMs: number } {
  const dir = path.join(root, 'ggn-bench-floor');
  fs.rmSync(dir, { recursive: true, force: true });
  const dirs = new Set(units.map((u) => path.join(dir, path.basename(path.dirname(path.dirname(u.file))))));
  for (const d of dirs) fs.mkdirSync(d, { recursive: true });
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (const u of units) fs.writeFileSync(path.join(dir, path.basename(path.dirname(path.dirname(u.file))), path.basename(u.file)), u.content);
  const c = process.cpuUsage(c0);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  fs.rmSync(dir, { recursive: true, force: true });
  return { ms, cpuMs: (c.user + c.system) / 1000 };
}

function benchRender(baseline?: string): void {
  const root = scratchRoot();
  const dir = path.join(root, 'ggn-bench-render');
  const t = generateBenchTree(dir, 40, 250);
  const svcDir = path.join(t.work, 'env', t.env, 'services');
  const clean = () => {
    for (const s of fs.readdirSync(svcDir)) fs.rmSync(path.join(svcDir, s, 'units'), { recursive: true, force: true });
  };
  const runs: { ms: number; rssMiB: number; cpuMs: number }[] = [];
  const baseRuns: { ms: number; rssMiB: number; cpuMs: number }[] = [];
  const floors: { ms: number; cpuMs: number }[] = [];
  let written: { file: string; content: Buffer }[] = [];
  // A warm-up (whose files the floor copies), then RENDER_RUNS rounds: ggn, the baseline build
  // if any, and the copy floor, interleaved so that each round sees the same machine load.
  for (let i = 0; i <= RENDER_RUNS; i++) {
    for (const [bin, into] of [[undefined, runs], ...(baseline ? [[path.join(baseline, 'bin', 'ggn.js'), baseRuns] as const] : [])] as const) {
      clean();
      const r = timeRun([MEASURED, '-H', t.home, t.env, 'generate', '--quiet'], { measured: true, env: bin ? { GGN_MEASURED_BIN: bin } : {} });
      if (r.code !== 0) throw new Error(`generate failed (${r.code}): ${r.stderr}`);
      if (i > 0) into.push({ ms: r.ms, rssMiB: r.rssMiB ?? NaN, cpuMs: r.cpuMs ?? NaN });
    }
    if (i === 0) {
      written = fs.readdirSync(svcDir).flatMap((s) =>
        fs.readdirSync(path.join(svcDir, s, 'units')).map((u) => {
          const file = path.join(svcDir, s, 'units', u);
          return { file, content: fs.readFileSync(file) };
        }),
      );
    } else floors.push(writeFloor(written, root));
  }
  const ms = median(runs.map((r) => r.ms));
  const rss = Math.max(...runs.map((r) => r.rssMiB));
  const floor = median(floors.map((f) => f.ms));
  const floorCpu = median(floors.map((f) => f.cpuMs));
  const cpu = median(runs.map((r) => r.cpuMs));
  console.log(`render: ${written.length} units written (40 services x 250 nodes) under ${root}, median of ${runs.length} runs after a warm-up`);
  addRow({
    what: `generate of ${written.length} units (tmpfs)`,
    measured: `${(ms / 1000).toFixed(3)} s`,
    yardstick: `copy floor ${(floor / 1000).toFixed(3)} s`,
    ratio: ms / floor,
    target: '<= 2.5x',
    ok: ms <= 2.5 * floor,
  });
  // On a loaded machine the wall time counts waiting for a core; CPU time (both threads) does not.
  addRow({
    what: '  its CPU time (user+sys, all threads)',
    measured: `${(cpu / 1000).toFixed(3)} s`,
    yardstick: `copy floor CPU ${(floorCpu / 1000).toFixed(3)} s`,
    ratio: cpu / floorCpu,
    target: '',
  });
  addRow({ what: '  its peak memory (RSS)', measured: `${rss.toFixed(1)} MiB`, yardstick: '', target: '<= 150 MiB', ok: rss <= 150 });
  if (baseline) {
    const bms = median(baseRuns.map((r) => r.ms));
    const brss = Math.max(...baseRuns.map((r) => r.rssMiB));
    const bcpu = median(baseRuns.map((r) => r.cpuMs));
    addRow({
      what: '  the same, baseline build',
      measured: `${(bms / 1000).toFixed(3)} s, CPU ${(bcpu / 1000).toFixed(3)} s (${(bcpu / floorCpu).toFixed(2)}x), ${brss.toFixed(1)} MiB`,
      yardstick: `copy floor ${(floor / 1000).toFixed(3)} s`,
      ratio: bms / floor,
      target: '',
    });
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const b = args.indexOf('--baseline');
  const baseline = b >= 0 ? path.resolve(args.splice(b, 2)[1]) : undefined;
  // Without its bundle a checkout's bin/ggn.js runs the unbundled tsc output (a build whose
  // bundling step did not run): timing that would compare something else than the build.
  if (baseline && !fs.existsSync(path.join(baseline, 'dist', 'bundle', 'ggn-local.js'))) {
    console.error(`--baseline ${baseline}: no dist/bundle/ggn-local.js there (run npm ci && npm run build in it)`);
    process.exit(2);
  }
  const only = args[0];
  if (!only || only === 'startup') benchStartup(baseline);
  if (!only || only === 'render') benchRender(baseline);
  if (!only || only === 'diff') await benchDiff();
  if (!only || only === 'update') await benchUpdate();
  if (!only || only === 'settle') await benchSettle(parseDuration(DEFAULT_SETTLE));
  if (!only || only === 'hosts') await benchHosts();
  if (!only || only === 'zdt') await benchZdt();
  printTable();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
