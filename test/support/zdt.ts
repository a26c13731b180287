/**
 * Zero-downtime rollouts on test hosts (integration tests and `npm run bench -- zdt`): a tiny
 * HTTP app (its version in every answer, `/slow` for long-lived requests), one HAProxy per host
 * run as a user unit, and a load generator of real HTTP clients (keep-alive and new connections).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { Cluster, TestHost } from '../harness';

export const APP_DIR = '/tmp/ggn-zdt-app';
export const FRONT_PORT = 8080;
export const SLOT_PORTS = { blue: 8081, green: 8082 };

/** The service: answers its VERSION; `broken` exits at start, `unhealthy` fails /health. */
export const APP_JS = `'use strict';
const http = require('node:http');
const { PORT, ADDR, VERSION } = process.env;
if (VERSION === 'broken') process.exit(3);
const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/health') {
    res.statusCode = VERSION === 'unhealthy' ? 500 : 200;
    return res.end(VERSION);
  }
  if (u.pathname === '/slow') return void setTimeout(() => res.end(VERSION), Number(u.searchParams.get('ms') || 3000));
  res.end(VERSION);
});
// Longer than HAProxy keeps an idle server connection: the app never closes one HAProxy is about to reuse.
server.keepAliveTimeout = 120000;
server.listen(Number(PORT), ADDR);
`;

/** Each host's own address for its proxy and slots (127.0.0.(10+k)), whatever the ssh listen mode. */
export const hostAddress = (k: number) => `127.0.0.${10 + k}`;
/** The runtime API socket of node w<k> (one dir per node: the hosts share /tmp). */
export const socketFor = (node: string) => `/tmp/ggn-zdt/${node}/admin.sock`;

export function haproxyConfig(address: string, socket: string): string {
  return `global
  stats socket ${socket} mode 600 level admin
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
frontend fe
  bind ${address}:${FRONT_PORT}
  default_backend web
backend web
  server blue ${address}:${SLOT_PORTS.blue} disabled
  server green ${address}:${SLOT_PORTS.green} disabled
`;
}

export const UNIT_TMPL = `[Unit]
Description=web {{.hostname}} {{.slot}} v{{.version}}

[Service]
Environment=PORT={{.slotPort}} ADDR={{.addr}} VERSION={{.version}}
ExecStart=${process.execPath} ${APP_DIR}/app.js

[Install]
WantedBy=default.target

[X-Fleet]
MachineID={{.machine_id}}
`;

/** The manifest: node w<k> on host k; slots blue/green; the proxy of its own host. */
export function manifest(hosts: TestHost[], opts: { drainTimeout?: string; overlap?: boolean } = {}): string {
  const rollout =
    opts.overlap === false
      ? ''
      : 'rollout:\n  strategy: overlap\n' +
        `  slots: [{name: blue, port: ${SLOT_PORTS.blue}}, {name: green, port: ${SLOT_PORTS.green}}]\n` +
        `  drainTimeout: ${opts.drainTimeout ?? '20s'}\n` +
        `  proxy: {haproxy: {socket: "/tmp/ggn-zdt/{hostname}/admin.sock", backend: web}}\n`;
  const port = opts.overlap === false ? String(SLOT_PORTS.blue) : '$SLOT_PORT';
  return (
    rollout +
    'nodes:\n' +
    hosts
      .map(
        (h, i) =>
          `  - hostname: w${i + 1}\n    machine_id: ${h.name}\n    addr: ${hostAddress(i + 1)}\n` +
          (opts.overlap === false ? `    slotPort: ${SLOT_PORTS.blue}\n    slot: inplace\n` : '') +
          `    healthCheck: {http: "http://${hostAddress(i + 1)}:${port}/health", timeout: 8s, interval: 200ms}\n`,
      )
      .join('')
  );
}

async function writeAs(cluster: Cluster, h: TestHost, file: string, content: string): Promise<void> {
  const r = await cluster.exec(h, ['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1"', 'sh', file], { input: content });
  if (r.code !== 0) throw new Error(`write ${file} on ${h.name}: ${r.stderr}`);
}

/** The app on disk, and HAProxy (both servers in maint) running as a user unit on every host. */
export async function setUpHosts(cluster: Cluster): Promise<void> {
  fs.mkdirSync(APP_DIR, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(APP_DIR, 'app.js'), APP_JS, { mode: 0o644 });
  fs.mkdirSync('/tmp/ggn-zdt', { recursive: true, mode: 0o755 });
  fs.chmodSync('/tmp/ggn-zdt', 0o755);
  for (const [i, h] of cluster.hosts.entries()) {
    const node = `w${i + 1}`;
    fs.rmSync(`/tmp/ggn-zdt/${node}`, { recursive: true, force: true });
    fs.mkdirSync(`/tmp/ggn-zdt/${node}`, { mode: 0o700 });
    fs.chownSync(`/tmp/ggn-zdt/${node}`, h.uid, h.gid);
    await writeAs(cluster, h, `${h.home}/zdt/haproxy.cfg`, haproxyConfig(hostAddress(i + 1), socketFor(node)));
    await writeAs(
      cluster,
      h,
      `${h.home}/.config/systemd/user/zdt-haproxy.service`,
      `[Service]\nExecStart=/usr/sbin/haproxy -db -f ${h.home}/zdt/haproxy.cfg\n`,
    );
    const r = await cluster.exec(h, ['sh', '-c', 'systemctl --user daemon-reload && systemctl --user restart zdt-haproxy.service']);
    if (r.code !== 0) throw new Error(`haproxy on ${h.name}: ${r.stderr}`);
  }
  // Up when its socket answers.
  for (const [i] of cluster.hosts.entries()) {
    for (let n = 0; ; n++) {
      const r = await haproxyCommand(cluster, i, 'show info');
      if (r.includes('Version:')) break;
      if (n > 100) throw new Error(`haproxy on host ${i + 1} did not come up: ${r}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }
}

/** A runtime API command on host i's proxy (for assertions and fault injection). */
export async function haproxyCommand(cluster: Cluster, i: number, command: string): Promise<string> {
  const r = await cluster.exec(cluster.hosts[i], ['socat', 'stdio', `unix-connect:${socketFor(`w${i + 1}`)}`], { input: command + '\n' });
  return r.stdout + r.stderr;
}

/** Servers of host i's backend: name -> status column (UP, no check, DRAIN, MAINT). */
export async function serverStatus(cluster: Cluster, i: number): Promise<Record<string, string>> {
  const csv = await haproxyCommand(cluster, i, 'show stat');
  const out: Record<string, string> = {};
  const lines = csv.split('\n');
  const cols = (lines.find((l) => l.startsWith('# ')) ?? '').slice(2).split(',');
  for (const l of lines) {
    const f = l.split(',');
    if (f[cols.indexOf('pxname')] === 'web' && !['BACKEND', 'FRONTEND'].includes(f[cols.indexOf('svname')]))
      out[f[cols.indexOf('svname')]] = f[cols.indexOf('status')];
  }
  return out;
}

export async function stopHosts(cluster: Cluster | undefined): Promise<void> {
  if (!cluster) return;
  for (const h of cluster.hosts) await cluster.exec(h, ['systemctl', '--user', 'stop', 'zdt-haproxy.service']).catch(() => undefined);
}

export interface LoadStats {
  sent: number;
  failed: number;
  slowestMs: number;
  /** Answers by body (the version that served them). */
  versions: Record<string, number>;
  /** The first few failures, for messages. */
  errors: string[];
}

/** One GET; resolves to the body, rejects on a non-200 or a connection error. */
export function get(url: string, agent: http.Agent | false, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body.replace(/\s+/g, ' ').slice(0, 60)}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/**
 * Steady load through each proxy: per target, `keepAlive` clients reusing one connection each
 * and `fresh` clients opening a new connection per request, each with a short pause between
 * requests. `stop()` ends the loops and returns the counts.
 */
export function startLoad(urls: string[], opts: { keepAlive?: number; fresh?: number; pauseMs?: number } = {}): { stop(): Promise<LoadStats> } {
  const stats: LoadStats = { sent: 0, failed: 0, slowestMs: 0, versions: {}, errors: [] };
  let running = true;
  const agents: http.Agent[] = [];
  const loop = async (url: string, agent: http.Agent | false) => {
    while (running) {
      const t0 = performance.now();
      stats.sent++;
      try {
        const body = await get(url, agent);
        stats.versions[body] = (stats.versions[body] ?? 0) + 1;
      } catch (e) {
        stats.failed++;
        if (stats.errors.length < 5) stats.errors.push(`${url}: ${(e as Error).message}`);
      }
      stats.slowestMs = Math.max(stats.slowestMs, performance.now() - t0);
      await new Promise((r) => setTimeout(r, opts.pauseMs ?? 5));
    }
  };
  const loops: Promise<void>[] = [];
  for (const url of urls) {
    for (let i = 0; i < (opts.keepAlive ?? 2); i++) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      loops.push(loop(url, agent));
    }
    for (let i = 0; i < (opts.fresh ?? 1); i++) loops.push(loop(url, false));
  }
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      for (const a of agents) a.destroy();
      return stats;
    },
  };
}
