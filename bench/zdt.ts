/**
 * Zero-downtime bench (root only; `npm run bench -- zdt`): steady HTTP load (keep-alive clients
 * and clients opening a new connection per request) through the HAProxy of each of 4 test hosts
 * while a service of 4 nodes is updated, twice: in place (the unit restarted behind its one
 * server), then with `rollout: overlap` (test/support/zdt.ts). Prints requests sent, failed and
 * the slowest for each; the goal is 0 failed with overlap. Not a timed test: the in-place run is
 * the yardstick of the same run.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { up, Cluster } from '../test/harness';
import { clusterTree } from '../test/support/cluster-tree';
import { FRONT_PORT, haproxyCommand, hostAddress, LoadStats, manifest, setUpHosts, startLoad, stopHosts, UNIT_TMPL } from '../test/support/zdt';
import { addRow } from './table';

const ROOT = path.resolve(__dirname, '..', '..');
const HOSTS = 4;

/** ggn in a child process, without blocking the load running in this one. */
function ggn(home: string, ...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [path.join(ROOT, 'bin', 'ggn.js'), '-H', home, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

async function underLoad(cluster: Cluster, home: string): Promise<{ stats: LoadStats; wallMs: number }> {
  const urls = cluster.hosts.map((_, i) => `http://${hostAddress(i + 1)}:${FRONT_PORT}/`);
  const load = startLoad(urls, { keepAlive: 2, fresh: 2 });
  await new Promise((r) => setTimeout(r, 1000)); // steady before the update starts
  const t0 = performance.now();
  const r = await ggn(home, 'prod', 'web', 'update', '-y');
  const wallMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 1000));
  const stats = await load.stop();
  if (r.code !== 0) throw new Error(`update failed: ${r.stderr}`);
  return { stats, wallMs };
}

function report(what: string, s: { stats: LoadStats; wallMs: number }, overlap: boolean): void {
  const st = s.stats;
  console.log(
    `zdt ${what}: sent ${st.sent}, failed ${st.failed}, slowest ${st.slowestMs.toFixed(0)} ms, update ${(s.wallMs / 1000).toFixed(1)} s; answers by version ${JSON.stringify(st.versions)}${st.errors.length ? `; first failures: ${st.errors.join(' | ')}` : ''}`,
  );
  addRow({
    what: `update of ${HOSTS} nodes under load, ${what}`,
    measured: `${st.failed} failed of ${st.sent} requests, slowest ${st.slowestMs.toFixed(0)} ms, update ${(s.wallMs / 1000).toFixed(1)} s`,
    yardstick: overlap ? 'the in-place run above' : '',
    target: overlap ? '0 failed' : '',
    ok: overlap ? st.failed === 0 : undefined,
  });
}

export async function benchZdt(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('zdt: skipped (the test cluster needs root)');
    return;
  }
  const cluster = await up(HOSTS, { dir: '/tmp/ggn-bench-zdt' });
  try {
    await setUpHosts(cluster);
    const files = (overlap: boolean) => ({
      'env/prod/attributes/base.yml': 'default:\n  version: "1"\n',
      'env/prod/services/web/service-manifest.yml': manifest(cluster.hosts, { overlap }),
      'env/prod/services/web/unit.tmpl': UNIT_TMPL,
    });

    // In place: one unit per node on the blue port, its server ready; the update restarts it.
    const inPlace = clusterTree(cluster, files(false));
    const first = await ggn(inPlace.home, 'prod', 'web', 'update', '-y', '--parallel', String(HOSTS));
    if (first.code !== 0) throw new Error(`first update failed: ${first.stderr}`);
    for (let i = 0; i < HOSTS; i++) await haproxyCommand(cluster, i, 'set server web/blue state ready');
    inPlace.write('env/prod/attributes/base.yml', 'default:\n  version: "2"\n');
    report('in place', await underLoad(cluster, inPlace.home), false);
    for (let i = 0; i < HOSTS; i++) {
      await cluster.exec(cluster.hosts[i], ['systemctl', '--user', 'stop', `prod_web_w${i + 1}.service`]);
      await haproxyCommand(cluster, i, 'set server web/blue state maint');
    }

    // Overlap: the same app in two slots; the first update brings blue up, the measured one moves to green.
    const overlap = clusterTree(cluster, files(true));
    const firstO = await ggn(overlap.home, 'prod', 'web', 'update', '-y', '--parallel', String(HOSTS));
    if (firstO.code !== 0) throw new Error(`first overlap update failed: ${firstO.stderr}`);
    overlap.write('env/prod/attributes/base.yml', 'default:\n  version: "2"\n');
    report('with overlap (rollout: overlap)', await underLoad(cluster, overlap.home), true);
  } finally {
    await stopHosts(cluster);
    await cluster.down();
  }
}
