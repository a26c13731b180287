/**
 * Many hosts (root only: it starts the test cluster): a service with 5 units on each of 200
 * user-scope test hosts (1,000 units), through the real CLI:
 *   diff    `ggn prod web diff --exit-code` against the OpenSSH floor, 200 parallel
 *           `ssh -F <config> host cat <the 5 unit files>`, in the same rounds; target <= 0.5x;
 *   check   `ggn prod web check`, against the same floor (it reads the same);
 *   update  `ggn prod web update -y --parallel W` after a change to all 1,000 units, against
 *           200 parallel `ssh host sh -c 'write the 5 files; daemon-reload; restart the 5'`
 *           (what a hand-written rollout of the same change does at the least);
 * each with ggn's peak RSS (bench/measured-ggn.js) and its peak number of open file
 * descriptors (sampled in /proc/<pid>/fd every 5 ms while it runs).
 *
 * Knobs (environment): GGN_BENCH_HOSTS (200), GGN_BENCH_HOSTS_RUNS (5 rounds of diff and check,
 * after a warm-up), GGN_BENCH_HOSTS_UPDATES (3 updates), GGN_BENCH_HOSTS_UPDATE_PARALLEL (the
 * update's units at once, 100), GGN_BENCH_HOSTS_WIDTHS (diff/check `--parallel` values to sweep,
 * e.g. `10,20,50,100,200`; default: only ggn's default width).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { up, Cluster } from '../test/harness';
import { clusterTree } from '../test/support/cluster-tree';
import { DEFAULT_HOST_PARALLEL } from '../src/drivers';
import { addRow, median } from './table';

const ROOT = path.resolve(__dirname, '..', '..');
const MEASURED = path.join(ROOT, 'bench', 'measured-ggn.js');
const HOSTS = Number(process.env.GGN_BENCH_HOSTS ?? 200);
const PER_HOST = 5;
const RUNS = Number(process.env.GGN_BENCH_HOSTS_RUNS ?? 5);
const UPDATES = Number(process.env.GGN_BENCH_HOSTS_UPDATES ?? 3);
const UPDATE_PARALLEL = Number(process.env.GGN_BENCH_HOSTS_UPDATE_PARALLEL ?? 100);
const WIDTHS = (process.env.GGN_BENCH_HOSTS_WIDTHS ?? String(DEFAULT_HOST_PARALLEL)).split(',').map(Number);

export interface GgnRun {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
  rssMiB: number;
  cpuMs: number;
  peakFds: number;
}

/** Runs the ggn CLI (bench/measured-ggn.js) and samples its open descriptors while it runs. */
export function runMeasured(args: string[], opts: { sampleMs?: number } = {}): Promise<GgnRun> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(process.execPath, [MEASURED, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const fd3: Buffer[] = [];
    p.stdout!.on('data', (d: Buffer) => out.push(d));
    p.stderr!.on('data', (d: Buffer) => err.push(d));
    (p.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => fd3.push(d));
    let peakFds = 0;
    const fdDir = `/proc/${p.pid}/fd`;
    const sample = (): void => {
      try {
        peakFds = Math.max(peakFds, fs.readdirSync(fdDir).length);
      } catch {
        /* gone */
      }
    };
    const timer = setInterval(sample, opts.sampleMs ?? 5);
    p.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    p.on('close', (code) => {
      clearInterval(timer);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const line = Buffer.concat(fd3).toString('utf8');
      const rss = /"maxRSSKiB":(\d+)/.exec(line);
      const cpu = /"cpuUs":(\d+)/.exec(line);
      resolve({
        ms,
        code: code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        rssMiB: rss ? Number(rss[1]) / 1024 : NaN,
        cpuMs: cpu ? Number(cpu[1]) / 1000 : NaN,
        peakFds,
      });
    });
  });
}

/** CPU time (ms) of this process's children that have exited and been reaped (/proc/self/stat cutime + cstime). */
function childrenCpuMs(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the command: state is field 3, cutime 16 and cstime 17 (1-based), in clock ticks of 10 ms.
  return (Number(f[13]) + Number(f[14])) * 10;
}

/** The floor's CPU time of its ssh clients, from the last sshAll() (ms). */
export let lastSshCpuMs = 0;

/** One OpenSSH process per host, all at once; resolves with the wall time of the slowest. */
export function sshAll(cluster: Cluster, argv: (hostIndex: number) => string[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  const cpu0 = childrenCpuMs();
  return Promise.all(
    cluster.hosts.map(
      (h, i) =>
        new Promise<void>((resolve, reject) => {
          const p = spawn('ssh', ['-F', cluster.sshConfigPath, h.name, ...argv(i)], { stdio: ['ignore', 'ignore', 'pipe'] });
          let err = '';
          p.stderr.on('data', (d) => (err += d));
          p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ssh ${h.name}: ${code} ${err}`))));
        }),
    ),
  ).then(() => {
    lastSshCpuMs = childrenCpuMs() - cpu0;
    return Number(process.hrtime.bigint() - t0) / 1e6;
  });
}

const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** The shell quoting of OpenSSH's remote command (it joins argv with spaces, the remote shell splits). */
const q = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;

export async function benchHosts(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('hosts: skipped (the test cluster needs root)');
    return;
  }
  const tUp = Date.now();
  const cluster = await up(HOSTS, { dir: '/tmp/ggn-bench-hosts', readyTimeoutMs: 180_000, lockTimeoutMs: 3_600_000 });
  console.log(`hosts: up(${HOSTS}) in ${s(Date.now() - tUp)}`);
  try {
    const unitOf = (i: number, j: number) => `prod_web_w${i + 1}x${j + 1}.service`;
    const nodes = cluster.hosts.flatMap((h, i) => Array.from({ length: PER_HOST }, (_, j) => `  - hostname: w${i + 1}x${j + 1}\n    machine_id: ${h.name}\n`));
    const template = (version: string) =>
      `[Unit]\nDescription=web {{.hostname}} v${version}\n\n[Service]\nExecStart=/bin/sleep 3600\n\n[X-Fleet]\nMachineID={{.machine_id}}\n`;
    // A connect timeout that 200 handshakes on 2 shared cores cannot run into: the bench
    // measures speed; what a too-short timeout does is the integration test's business.
    const tree = clusterTree(
      cluster,
      {
        'env/prod/services/web/service-manifest.yml': 'nodes:\n' + nodes.join(''),
        'env/prod/services/web/unit.tmpl': template('1'),
      },
      { connectTimeout: 60 },
    );
    const ggn = (...args: string[]) => runMeasured(['-H', tree.home, 'prod', 'web', ...args]);
    const files = (i: number) => Array.from({ length: PER_HOST }, (_, j) => `.config/systemd/user/${unitOf(i, j)}`);

    // Install: 1,000 new units.
    const install = await ggn('update', '-y', '--parallel', String(UPDATE_PARALLEL));
    if (install.code !== 0) throw new Error(`first update exited ${install.code}: ${install.stderr.slice(-2000)}`);
    console.log(
      `  install of ${HOSTS * PER_HOST} new units at --parallel ${UPDATE_PARALLEL}: ${s(install.ms)}, ${install.rssMiB.toFixed(0)} MiB, ${install.peakFds} fds`,
    );

    // diff and check, interleaved with the floor, at each width.
    const floorMs: number[] = [];
    const floorCpuMs: number[] = [];
    const byWidth = new Map<number, { diff: GgnRun[]; check: GgnRun[] }>(WIDTHS.map((w) => [w, { diff: [], check: [] }]));
    for (let round = 0; round <= RUNS; round++) {
      const f = await sshAll(cluster, (i) => ['cat', ...files(i)]);
      if (round > 0) floorMs.push(f);
      if (round > 0) floorCpuMs.push(lastSshCpuMs);
      // The warm-up round: the floor and one diff only.
      for (const w of round === 0 ? WIDTHS.slice(0, 1) : WIDTHS) {
        const d = await ggn('diff', '--exit-code', '--parallel', String(w));
        if (d.code !== 0 || !new RegExp(`0 changed, 0 new, 0 orphaned, ${HOSTS * PER_HOST} unchanged`).test(d.stdout))
          throw new Error(`diff exited ${d.code}: ${d.stdout.slice(-500)} ${d.stderr.slice(-2000)}`);
        const c = await ggn('check', '--parallel', String(w));
        if (c.code !== 0 || !c.stdout.includes(`${HOSTS * PER_HOST} of ${HOSTS * PER_HOST} units ok`))
          throw new Error(`check exited ${c.code}: ${c.stdout.slice(-500)} ${c.stderr.slice(-2000)}`);
        if (round > 0) {
          byWidth.get(w)!.diff.push(d);
          byWidth.get(w)!.check.push(c);
        }
      }
    }
    const floor = median(floorMs);
    console.log(`hosts: ${HOSTS * PER_HOST} units on ${HOSTS} hosts (${PER_HOST} each), median of ${RUNS} rounds after a warm-up`);
    console.log(
      `  floor: ${HOSTS} parallel \`ssh host cat <${PER_HOST} files>\`: ${floorMs.map((x) => x.toFixed(0)).join(', ')} ms; CPU of the ssh clients ${median(floorCpuMs).toFixed(0)} ms`,
    );
    for (const [w, r] of byWidth) {
      for (const [what, runs] of [
        ['diff', r.diff],
        ['check', r.check],
      ] as const) {
        const ms = median(runs.map((x) => x.ms));
        const def = w === DEFAULT_HOST_PARALLEL ? ' (the default)' : '';
        console.log(`  ${what} --parallel ${w}: ${runs.map((x) => x.ms.toFixed(0)).join(', ')} ms; CPU ${median(runs.map((x) => x.cpuMs)).toFixed(0)} ms`);
        addRow({
          what: `\`ggn prod web ${what}\`: ${HOSTS * PER_HOST} units on ${HOSTS} hosts, --parallel ${w}${def}`,
          measured: `${s(ms)}, ${Math.max(...runs.map((x) => x.rssMiB)).toFixed(0)} MiB, ${Math.max(...runs.map((x) => x.peakFds))} fds`,
          yardstick: `${HOSTS} parallel \`ssh host cat\` ${s(floor)}`,
          ratio: ms / floor,
          target: what === 'diff' ? '<= 0.5x' : '',
          ok: what === 'diff' ? ms <= 0.5 * floor : undefined,
        });
      }
    }

    // update after a change to all units, interleaved with the floor of the same change by hand.
    const updates: GgnRun[] = [];
    const updateFloor: number[] = [];
    for (let round = 2; round < 2 + UPDATES; round++) {
      tree.write('env/prod/services/web/unit.tmpl', template(String(round)));
      const u = await ggn('update', '-y', '--parallel', String(UPDATE_PARALLEL));
      if (u.code !== 0) throw new Error(`update exited ${u.code}: ${u.stderr.slice(-2000)}`);
      updates.push(u);
      console.log(`  update --parallel ${UPDATE_PARALLEL}: ${u.ms.toFixed(0)} ms, ${u.rssMiB.toFixed(0)} MiB, ${u.peakFds} fds; CPU ${u.cpuMs.toFixed(0)} ms`);
      // The floor writes the same units with other bytes of the same size (`f` for `v`), then
      // reloads and restarts them: the next round's update again changes every unit.
      // (`update` renders in memory: the template filled in by hand, as ggn fills it.)
      const content = (i: number, j: number) =>
        template(String(round))
          .replace(' v', ' f')
          .replace('{{.hostname}}', `w${i + 1}x${j + 1}`)
          .replace('{{.machine_id}}', cluster.hosts[i].name);
      updateFloor.push(
        await sshAll(cluster, (i) => {
          const names = Array.from({ length: PER_HOST }, (_, j) => unitOf(i, j));
          const writes = names.map((n, j) => `printf %s ${q(content(i, j))} > .config/systemd/user/${n}`).join(' && ');
          return [`${writes} && systemctl --user daemon-reload && systemctl --user restart ${names.join(' ')}`];
        }),
      );
    }
    if (UPDATES === 0) return;
    const um = median(updates.map((x) => x.ms));
    const uf = median(updateFloor);
    console.log(
      `  update --parallel ${UPDATE_PARALLEL}: ${updates.map((x) => x.ms.toFixed(0)).join(', ')} ms; floor ${updateFloor.map((x) => x.toFixed(0)).join(', ')} ms`,
    );
    addRow({
      what: `\`ggn prod web update -y --parallel ${UPDATE_PARALLEL}\`: ${HOSTS * PER_HOST} changed units on ${HOSTS} hosts`,
      measured: `${s(um)}, ${Math.max(...updates.map((x) => x.rssMiB)).toFixed(0)} MiB, ${Math.max(...updates.map((x) => x.peakFds))} fds`,
      yardstick: `${HOSTS} parallel \`ssh host\` write 5 + reload + restart 5: ${s(uf)}`,
      ratio: um / uf,
      target: '',
    });
  } finally {
    await cluster.down();
  }
}
