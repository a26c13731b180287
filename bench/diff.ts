/**
 * diff benchmark (root only: it starts the test cluster): a service with 5 units on each of 30
 * test hosts, `ggn prod web diff` through the real CLI, against the floor of 30 parallel OpenSSH
 * processes `ssh hostN cat <the 5 unit files>`. Target: ggn <= 1.5x the floor.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { up, Cluster } from '../test/harness';
import { clusterTree } from '../test/support/cluster-tree';

const ROOT = path.resolve(__dirname, '..', '..');
const HOSTS = 30;
const PER_HOST = 5;
const RUNS = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function sshCatAll(cluster: Cluster, files: (hostIndex: number) => string[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  return Promise.all(
    cluster.hosts.map(
      (h, i) =>
        new Promise<void>((resolve, reject) => {
          const p = spawn('ssh', ['-F', cluster.sshConfigPath, h.name, 'cat', ...files(i)], { stdio: ['ignore', 'ignore', 'pipe'] });
          let err = '';
          p.stderr.on('data', (d) => (err += d));
          p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ssh ${h.name}: ${code} ${err}`))));
        }),
    ),
  ).then(() => Number(process.hrtime.bigint() - t0) / 1e6);
}

export async function benchDiff(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('diff: skipped (the test cluster needs root)');
    return;
  }
  const cluster = await up(HOSTS, { dir: '/tmp/ggn-bench-diff' });
  try {
    const nodes = cluster.hosts.flatMap((h, i) => Array.from({ length: PER_HOST }, (_, j) => `  - hostname: w${i + 1}x${j + 1}\n    machine_id: ${h.name}\n`));
    const tree = clusterTree(cluster, {
      'env/prod/attributes/base.yml': 'default:\n  version: "1"\n',
      'env/prod/services/web/service-manifest.yml': 'nodes:\n' + nodes.join(''),
      'env/prod/services/web/unit.tmpl':
        '[Unit]\nDescription=web {{.hostname}} v{{.version}}\n\n[Service]\nExecStart=/bin/sleep 600\n\n[X-Fleet]\nMachineID={{.machine_id}}\n',
    });
    const ggnArgs = [path.join(ROOT, 'bin', 'ggn.js'), '-H', tree.home, 'prod'];
    if (spawnSync(process.execPath, [...ggnArgs, 'generate', '-q']).status !== 0) throw new Error('generate failed');
    // Put the rendered units on their hosts (unchanged afterwards: diff reads, compares, finds nothing).
    const unitsDir = path.join(tree.work, 'env/prod/services/web/units');
    await Promise.all(
      cluster.hosts.map(async (h, i) => {
        const names = Array.from({ length: PER_HOST }, (_, j) => `prod_web_w${i + 1}x${j + 1}.service`);
        for (const n of names) {
          const w = await cluster.exec(h, ['sh', '-c', 'mkdir -p ~/.config/systemd/user && cat > ~/.config/systemd/user/"$1"', 'sh', n], {
            input: fs.readFileSync(path.join(unitsDir, n), 'utf8'),
          });
          if (w.code !== 0) throw new Error(`seeding ${h.name}: ${w.stderr}`);
        }
        const r = await cluster.exec(h, ['systemctl', '--user', 'daemon-reload']);
        if (r.code !== 0) throw new Error(`seeding ${h.name}: ${r.stderr}`);
      }),
    );
    const files = (i: number) => Array.from({ length: PER_HOST }, (_, j) => `.config/systemd/user/prod_web_w${i + 1}x${j + 1}.service`);
    const ggnMs: number[] = [];
    const floorMs: number[] = [];
    for (let i = 0; i < RUNS + 1; i++) {
      floorMs.push(await sshCatAll(cluster, files));
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [...ggnArgs, 'web', 'diff', '--exit-code'], { encoding: 'utf8' });
      ggnMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      // The seeded units are current but not started: exit 2 (drift), with every file compared.
      if (r.status !== 2 || !/0 changed, 0 new, 0 orphaned, \d+ unchanged/.test(r.stdout))
        throw new Error(`diff exited ${r.status}: ${r.stdout.slice(-500)} ${r.stderr}`);
    }
    // The first round warms caches (users' pages, sshd); it is not counted.
    const g = median(ggnMs.slice(1));
    const f = median(floorMs.slice(1));
    console.log(`diff: ${HOSTS * PER_HOST} units on ${HOSTS} hosts (${PER_HOST} each), median of ${RUNS} runs after a warm-up`);
    console.log(`  floor: ${HOSTS} parallel \`ssh host cat <${PER_HOST} files>\`   ${f.toFixed(0)} ms`);
    console.log(
      `  ggn prod web diff                    ${g.toFixed(0)} ms (${(g / f).toFixed(2)}x the floor)   target <= 1.5x   ${g <= 1.5 * f ? 'OK' : 'OVER'}`,
    );
  } finally {
    await cluster.down();
  }
}
