/**
 * Start-up benchmark: the everyday commands against `node -e 0`, interleaved run by run so both
 * see the same machine load, medians of RUNS runs.
 *   ggn version                              target <= 2x node -e 0
 *   ggn prod cassandra generate (envs/)      target <= 1.25x node -e 0
 *   the same with -q (a flag: no oclif parser) target <= 1.25x node -e 0
 * With a baseline checkout (`--baseline <dir>`, built), its generate is timed in the same rounds.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { addRow, median } from './table';

const ROOT = path.resolve(__dirname, '..', '..');
const RUNS = Number(process.env.GGN_BENCH_RUNS ?? 31);

export function timeSpawn(args: string[], env?: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore', env: env ?? process.env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return ms;
}

/**
 * CPU time (user + system, ms) of this process's waited-for children so far, from /proc (in
 * clock ticks, 10 ms: only the mean over many runs means something); undefined off Linux.
 */
function childrenCpuMs(): number | undefined {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 16 and 17 of stat(5), cutime and cstime; f starts at field 3.
    return ((Number(f[13]) + Number(f[14])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** A copy of envs/ with a home pointing at it. */
export function exampleTree(): { home: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-bench-startup-'));
  fs.cpSync(path.join(ROOT, 'envs'), path.join(dir, 'work'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'home'));
  fs.writeFileSync(path.join(dir, 'home', 'config.yml'), `workPath: ${path.join(dir, 'work')}\n`);
  return { home: path.join(dir, 'home'), dir };
}

export function benchStartup(baseline?: string): void {
  const t = exampleTree();
  try {
    const cases: [string, string[]][] = [
      ['node -e 0', ['-e', '0']],
      ['ggn version', [path.join(ROOT, 'bin', 'ggn.js'), 'version']],
      ['ggn prod cassandra generate', [path.join(ROOT, 'bin', 'ggn.js'), '-H', t.home, 'prod', 'cassandra', 'generate']],
      ['ggn prod cassandra generate -q', [path.join(ROOT, 'bin', 'ggn.js'), '-H', t.home, 'prod', 'cassandra', 'generate', '-q']],
    ];
    if (baseline) cases.push(['baseline generate', [path.join(baseline, 'bin', 'ggn.js'), '-H', t.home, 'prod', 'cassandra', 'generate']]);
    const times = cases.map(() => [] as number[]);
    const cpu = cases.map(() => 0);
    // One warm-up round (page cache, the code cache), then RUNS interleaved rounds.
    for (let i = 0; i <= RUNS; i++) {
      for (const [j, [, args]] of cases.entries()) {
        const c0 = childrenCpuMs();
        const ms = timeSpawn(args);
        const c1 = childrenCpuMs();
        if (i > 0) times[j].push(ms);
        if (i > 0 && c0 !== undefined && c1 !== undefined) cpu[j] += c1 - c0;
      }
    }
    const m = times.map(median);
    console.log(`startup: medians of ${RUNS} interleaved runs`);
    const node = `node -e 0: ${m[0].toFixed(1)} ms`;
    addRow({ what: '`ggn version`', measured: `${m[1].toFixed(1)} ms`, yardstick: node, ratio: m[1] / m[0], target: '<= 2x', ok: m[1] <= 2 * m[0] });
    addRow({
      what: '`ggn prod cassandra generate` (envs/)',
      measured: `${m[2].toFixed(1)} ms`,
      yardstick: node,
      ratio: m[2] / m[0],
      target: '<= 1.25x',
      ok: m[2] <= 1.25 * m[0],
    });
    addRow({
      what: '`ggn prod cassandra generate -q`',
      measured: `${m[3].toFixed(1)} ms`,
      yardstick: node,
      ratio: m[3] / m[0],
      target: '<= 1.25x',
      ok: m[3] <= 1.25 * m[0],
    });
    if (baseline) addRow({ what: '  generate, baseline build', measured: `${m[4].toFixed(1)} ms`, yardstick: node, ratio: m[4] / m[0], target: '' });
    // CPU time counts no waiting for a core, which on a loaded machine is most of the noise.
    if (cpu[0] > 0) {
      const mean = cpu.map((c) => c / RUNS);
      const nodeCpu = `node -e 0: ${mean[0].toFixed(1)} ms`;
      for (const [j, [name]] of cases.entries()) {
        if (j === 0) continue;
        addRow({ what: `  CPU time (mean), ${name}`, measured: `${mean[j].toFixed(1)} ms`, yardstick: nodeCpu, ratio: mean[j] / mean[0], target: '' });
      }
    }
  } finally {
    fs.rmSync(t.dir, { recursive: true, force: true });
  }
}
