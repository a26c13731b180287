/**
 * diff benchmark (root only: it starts the test cluster): a service with 5 units on each of 30
 * test hosts, `ggn prod web diff` through the real CLI, against the floor of 30 parallel OpenSSH
 * processes `ssh hostN cat <the 5 unit files>`. Target: ggn <= 1.5x the floor.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { up, Cluster } from '../test/harness';
import { clusterTree, envConfigFor } from '../test/support/cluster-tree';
import { addRow, median } from './table';

const ROOT = path.resolve(__dirname, '..', '..');
const HOSTS = 30;
const PER_HOST = 5;
const RUNS = 5;

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
      // An env of one machine with one unit: the start-up of `diff` against `generate` of the same
      // service (in an env of 30 machines all 30 are read: a unit may be orphaned anywhere).
      'env/solo/config.yml': envConfigFor(Object.create(cluster, { hosts: { value: [cluster.hosts[0]] } }) as Cluster),
      'env/solo/services/one/service-manifest.yml': `nodes:\n  - hostname: one1\n    machine_id: ${cluster.hosts[0].name}\n`,
      'env/solo/services/one/unit.tmpl':
        '[Unit]\nDescription=one {{.hostname}}\n\n[Service]\nExecStart=/bin/sleep 600\n\n[X-Fleet]\nMachineID={{.machine_id}}\n',
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
    // diff of one service on one host vs its generate plus one OpenSSH connection running `true`.
    const one: { diff: number[]; gen: number[]; ssh: number[] } = { diff: [], gen: [], ssh: [] };
    const time = (args: string[]) => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
      if (r.status !== 0 && r.status !== 2) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    for (let i = 0; i <= 2 * RUNS; i++) {
      const solo = [path.join(ROOT, 'bin', 'ggn.js'), '-H', tree.home, 'solo', 'one'];
      const d = time([...solo, 'diff']);
      const gen = time([...solo, 'generate', '-q']);
      const t0 = process.hrtime.bigint();
      spawnSync('ssh', ['-F', cluster.sshConfigPath, cluster.hosts[0].name, 'true'], { stdio: 'ignore' });
      const ssh = Number(process.hrtime.bigint() - t0) / 1e6;
      if (i === 0) continue;
      one.diff.push(d);
      one.gen.push(gen);
      one.ssh.push(ssh);
    }
    const [od, og, os] = [median(one.diff), median(one.gen), median(one.ssh)];
    addRow({
      what: '`ggn solo one diff`: 1 unit on 1 host',
      measured: `${od.toFixed(0)} ms`,
      yardstick: `generate ${og.toFixed(0)} ms + \`ssh host true\` ${os.toFixed(0)} ms`,
      ratio: od / (og + os),
      target: '<= 1x',
      ok: od <= og + os,
    });
    console.log(`diff: ${HOSTS * PER_HOST} units on ${HOSTS} hosts (${PER_HOST} each), median of ${RUNS} runs after a warm-up`);
    console.log(`  floor: ${HOSTS} parallel \`ssh host cat <${PER_HOST} files>\`   ${f.toFixed(0)} ms`);
    addRow({
      what: `\`ggn prod web diff\`: ${HOSTS * PER_HOST} units on ${HOSTS} hosts`,
      measured: `${g.toFixed(0)} ms`,
      yardstick: `${HOSTS} parallel \`ssh host cat\` ${f.toFixed(0)} ms`,
      ratio: g / f,
      target: '<= 1.5x',
      ok: g <= 1.5 * f,
    });
  } finally {
    await cluster.down();
  }
}
