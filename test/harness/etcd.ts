// A single-node etcd for lock tests, in a cgroup of the hosts it comes with (so their teardown
// removes it too). Its data dir is fresh every time.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { cgCreate, isAlive, sleep, tail, TOOL_ENV } from './sys';

export interface EtcdOptions {
  /** The hosts' state dir: etcd/ (data) and etcd.log go there. */
  dir: string;
  roots: string[];
  /** Relative cgroup path, e.g. ggn-test/etcd. */
  cgroup: string;
  clientPort: number;
  peerPort: number;
}

export interface RunningEtcd {
  endpoint: string;
  pid?: number;
  child: ChildProcess;
}

function httpGetJson(url: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Starts etcd on 127.0.0.1 and resolves once it answers /health. */
export async function startEtcd(o: EtcdOptions): Promise<RunningEtcd> {
  const dataDir = path.join(o.dir, 'etcd');
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.mkdirSync(dataDir, { mode: 0o700 });
  cgCreate(o.roots, o.cgroup);
  const client = `http://127.0.0.1:${o.clientPort}`;
  const peer = `http://127.0.0.1:${o.peerPort}`;
  const log = path.join(o.dir, 'etcd.log');
  const fd = fs.openSync(log, 'a');
  let child: ChildProcess;
  try {
    // Node marks every fd but stdio close-on-exec: no lock fd can leak into etcd.
    child = spawn(
      '/bin/sh',
      [
        '-c',
        'for f in $CG_FILES; do echo $$ > "$f"; done; exec "$@"',
        'sh',
        'etcd',
        '--name',
        'ggn-test',
        '--data-dir',
        dataDir,
        '--listen-client-urls',
        client,
        '--advertise-client-urls',
        client,
        '--listen-peer-urls',
        peer,
        '--initial-advertise-peer-urls',
        peer,
        '--initial-cluster',
        `ggn-test=${peer}`,
        '--initial-cluster-state',
        'new',
        '--logger',
        'zap',
        '--log-outputs',
        'stderr',
      ],
      {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: { ...TOOL_ENV, CG_FILES: o.roots.map((r) => path.join(r, o.cgroup, 'cgroup.procs')).join(' ') },
        cwd: o.dir,
      },
    );
    child.on('error', (e) => fs.appendFileSync(log, `[harness] spawn failed: ${e.message}\n`));
    child.unref();
  } finally {
    fs.closeSync(fd);
  }
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (!isAlive(child.pid)) throw new Error(`etcd exited during startup\n--- ${log}:\n${tail(log, 15)}`);
    try {
      const h = (await httpGetJson(`${client}/health`, 1000)) as { health?: string };
      if (h.health === 'true') break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`etcd not healthy after 20 s\n--- ${log}:\n${tail(log, 15)}`);
    await sleep(50);
  }
  return { endpoint: client, pid: child.pid, child };
}
