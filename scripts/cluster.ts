// Small CLI around test/harness: keep a test cluster running between commands.
//
//   node dist/scripts/cluster.js up N [--dir D] [--etcd] [--prefix P] [--mode address|port] [--force]
//   node dist/scripts/cluster.js status [--dir D]
//   node dist/scripts/cluster.js down [--dir D]
//
// `up` leaves the cluster running after it exits (persistent); `down` tears it down.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { attach, currentOwner, DEFAULT_CLUSTER_DIR, up } from '../test/harness';

function usage(msg?: string): never {
  if (msg) process.stderr.write(`cluster: ${msg}\n`);
  process.stderr.write(
    'usage: cluster up N [--dir D] [--etcd] [--prefix P] [--mode address|port] [--force]\n' +
      '       cluster status [--dir D]\n' +
      '       cluster down [--dir D]\n',
  );
  process.exit(2);
}

interface Args {
  cmd: string;
  n?: number;
  dir?: string;
  etcd: boolean;
  prefix?: string;
  mode?: 'address' | 'port';
  force: boolean;
}

function parse(argv: string[]): Args {
  const a: Args = { cmd: argv[0] ?? '', etcd: false, force: false };
  for (let i = 1; i < argv.length; i++) {
    const v = argv[i];
    const next = (): string => argv[++i] ?? usage(`${v} needs a value`);
    if (v === '--dir') a.dir = next();
    else if (v === '--etcd') a.etcd = true;
    else if (v === '--prefix') a.prefix = next();
    else if (v === '--force') a.force = true;
    else if (v === '--mode') {
      const m = next();
      if (m !== 'address' && m !== 'port') usage(`bad mode ${m}`);
      a.mode = m;
    } else if (/^\d+$/.test(v) && a.n === undefined) a.n = parseInt(v, 10);
    else usage(`unexpected argument ${v}`);
  }
  return a;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function stateDir(a: Args): string {
  if (a.dir) return path.resolve(a.dir);
  return currentOwner()?.dir ?? DEFAULT_CLUSTER_DIR;
}

async function main(): Promise<void> {
  const a = parse(process.argv.slice(2));
  if (a.cmd === 'up') {
    if (!a.n) usage('up needs a host count');
    const t0 = Date.now();
    const c = await up(a.n, { dir: a.dir, etcd: a.etcd, namePrefix: a.prefix, mode: a.mode, persistent: true, takeOver: a.force });
    process.stdout.write(
      `up: ${c.hosts.length} host(s) in ${Date.now() - t0} ms, ${c.mode} mode, state dir ${c.dir}\n` +
        c.hosts.map((h) => `  ${h.name}\t${h.address}:${h.port}\t${h.user} (uid ${h.uid})\n`).join('') +
        (c.etcd ? `  etcd\t${c.etcd.endpoint}\n` : '') +
        `try: ssh -F ${c.sshConfigPath} ${c.hosts[0].name} systemctl --user is-system-running\n` +
        `down: node dist/scripts/cluster.js down --dir ${c.dir}\n`,
    );
    return;
  }
  if (a.cmd === 'down') {
    const dir = stateDir(a);
    if (!fs.existsSync(path.join(dir, 'cluster.json'))) {
      process.stdout.write(`down: no cluster in ${dir}\n`);
      return;
    }
    const owner = currentOwner();
    if (owner && !owner.persistent && alive(owner.pid)) {
      throw new Error(`the machine's test cluster belongs to running process ${owner.pid} (${owner.dir}); not touching it`);
    }
    const t0 = Date.now();
    await attach(dir).down();
    process.stdout.write(`down: ${dir} in ${Date.now() - t0} ms\n`);
    return;
  }
  if (a.cmd === 'status') {
    const dir = stateDir(a);
    const owner = currentOwner();
    if (!fs.existsSync(path.join(dir, 'cluster.json'))) {
      process.stdout.write(`no cluster in ${dir}${owner ? ` (lock held by pid ${owner.pid} for ${owner.dir})` : ''}\n`);
      return;
    }
    const c = attach(dir);
    process.stdout.write(`cluster ${dir} (${c.mode} mode)${c.etcd ? `, etcd ${c.etcd.endpoint}` : ''}\n`);
    for (const s of await c.status()) {
      process.stdout.write(
        `  ${s.name}\t${s.address}:${s.port}\tmanager ${s.managerAlive ? `up (${s.managerPid})` : 'down'}\t` +
          `sshd ${s.sshdAlive ? `up (${s.sshdPid})` : 'down'}\t${s.systemState}\n`,
      );
    }
    return;
  }
  usage(a.cmd ? `unknown command ${a.cmd}` : undefined);
}

main().catch((e: Error) => {
  process.stderr.write(`cluster: ${e.message}\n`);
  process.exit(1);
});
