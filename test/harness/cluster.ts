// A real multi-host test cluster on one machine (root only).
//
// Each test host = its own unix user (ggnt<k>), its own `systemd --user` manager running in a
// private mount + UTS namespace (where /run/systemd/system exists so sd_booted() is true), and
// its own sshd (inside the same namespace) on its own loopback address (or port) with its own
// ed25519 host key. Processes are tracked through cgroups:
//
//   <root>/ggn-test/<host>/manager   delegated (chowned) to the user; systemd --user lives here
//   <root>/ggn-test/<host>/sshd      root-owned; the sshd listener and every ssh session
//   <root>/ggn-test/<host>/exec      root-owned; commands run by Cluster.exec()
//   <root>/ggn-test/etcd             etcd, when requested
//
// for <root> in /sys/fs/cgroup/unified and /sys/fs/cgroup/systemd (hybrid layout). See
// test/harness/README.md.
import { forget, remember } from './teardown';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateEd25519 } from './keys';
import { MachineLock } from './machine-lock';
import { startEtcd } from './etcd';
import {
  cgCreate,
  cgFreeze,
  cgKill,
  cgKillSync,
  cgPids,
  cgRemove,
  cgroupRoots,
  isAlive,
  readPidFile,
  run,
  RunResult,
  signal,
  sleep,
  tail,
  tcpListeners,
  waitGone,
  TOOL_ENV,
  sq,
  hasBinary,
  writeOwned,
} from './sys';

export interface TestHost {
  name: string;
  address: string;
  port: number;
  user: string;
  uid: number;
  home: string;
  /** "ssh-ed25519 AAAA..." (no comment) */
  hostKeyPub: string;
  gid: number;
  /** /run/user/<uid> */
  runtimeDir: string;
  /** cgroup path of the host, relative to the hierarchy root ("ggn-test/host1") */
  cgroup: string;
}

export type HostRef = TestHost | string;

export interface ExecOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: Record<string, string>;
}

export interface HangOptions {
  /** Freeze the host's cgroups (sshd + manager + units) instead of SIGSTOPping sshd only. */
  freeze?: boolean;
}

export interface Cluster {
  dir: string;
  hosts: TestHost[];
  mode: 'address' | 'port';
  clientKeyPath: string;
  knownHostsPath: string;
  sshConfigPath: string;
  etcd?: { endpoint: string };
  host(ref: HostRef | number): TestHost;
  kill(host: HostRef): Promise<void>;
  restart(host: HostRef): Promise<void>;
  hang(host: HostRef, opts?: HangOptions): Promise<void>;
  resume(host: HostRef): Promise<void>;
  partition(host: HostRef): Promise<void>;
  heal(host: HostRef): Promise<void>;
  exec(host: HostRef, argv: string[], opts?: ExecOptions): Promise<RunResult>;
  /** Per-host liveness, for diagnostics and the CLI's status. */
  status(): Promise<HostStatus[]>;
  down(): Promise<void>;
}

export interface HostStatus {
  name: string;
  address: string;
  port: number;
  managerPid?: number;
  managerAlive: boolean;
  sshdPid?: number;
  sshdAlive: boolean;
  systemState: string;
  hung: boolean;
  partitioned: boolean;
}

export interface UpOptions {
  /** State dir (keys, configs, logs, homes). Default /tmp/ggn-test-cluster (stable, so user homes don't change). */
  dir?: string;
  etcd?: boolean;
  /** Host names are `${namePrefix}${k}`, k = 1..n. Default "host". Users are always ggnt<k>. */
  namePrefix?: string;
  /** Force a listen mode. Default: per-address unless something listens on :22 for all addresses. */
  mode?: 'address' | 'port';
  /** First port in port mode: host k listens on basePort + k. Default 2200. */
  basePort?: number;
  etcdClientPort?: number;
  etcdPeerPort?: number;
  /** Wait this long for another process's cluster to go down. Default 300000. */
  lockTimeoutMs?: number;
  /** Time allowed for all hosts to become ready. Default 20000. */
  readyTimeoutMs?: number;
  /**
   * Leave the cluster running after this process exits (used by scripts/cluster.ts); no exit
   * handler is installed and `attach(dir)` + `down()` from another process tears it down.
   */
  persistent?: boolean;
  /** Treat a persistent cluster left by the CLI as stale and tear it down. */
  takeOver?: boolean;
}

const CG_BASE = 'ggn-test';
const NFT_TABLE = 'ggn_test';
const LOCK_DIR = '/run/ggn-test';
const DEFAULT_DIR = '/tmp/ggn-test-cluster';
const USER_PREFIX = 'ggnt';
const SYSTEMD = fs.existsSync('/lib/systemd/systemd') ? '/lib/systemd/systemd' : '/usr/lib/systemd/systemd';
const SSHD = '/usr/sbin/sshd';
const USER_PATH = '/usr/local/bin:/usr/bin:/bin';
const MAX_ADDRESS_HOSTS = 244; // 127.0.0.11 .. 127.0.0.254
const TRACE = !!process.env.GGN_HARNESS_TRACE;
let traceT0 = Date.now();
function trace(msg: string): void {
  if (TRACE) process.stderr.write(`[harness +${Date.now() - traceT0}ms] ${msg}\n`);
}

interface HostRt {
  pub: TestHost;
  index: number;
  hostDir: string;
  sshdConfig: string;
  sshdLog: string;
  launcherLog: string;
  pidFile: string;
  launchScript: string;
  managerPid?: number;
  child?: ChildProcess;
  hung: boolean;
  frozen: boolean;
  partitioned: boolean;
}

interface SavedState {
  version: 1;
  dir: string;
  mode: 'address' | 'port';
  hosts: Array<TestHost & { managerPid?: number }>;
  etcd?: { endpoint: string; pid?: number };
  nft: boolean;
}

// ------------------------------------------------------------------ helpers

function mkdirOwned(dir: string, mode: number, uid: number, gid: number): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, mode);
  fs.chownSync(dir, uid, gid);
}

function resetRuntimeDir(uid: number, gid: number): string {
  const d = `/run/user/${uid}`;
  fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync('/run/user', { recursive: true, mode: 0o755 });
  fs.mkdirSync(d, { mode: 0o700 });
  fs.chmodSync(d, 0o700);
  fs.chownSync(d, uid, gid);
  return d;
}

function userRuntimeDirsToClean(): number[] {
  // every ggnt<k> user's runtime dir: a crashed run may have used more hosts than this one
  const out: number[] = [];
  for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f.length > 3 && new RegExp(`^${USER_PREFIX}\\d+$`).test(f[0])) out.push(parseInt(f[2], 10));
  }
  return out;
}

interface PwEnt {
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

function readPasswd(): Map<string, PwEnt> {
  const m = new Map<string, PwEnt>();
  for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f.length < 7) continue;
    m.set(f[0], { uid: parseInt(f[2], 10), gid: parseInt(f[3], 10), home: f[5], shell: f[6] });
  }
  return m;
}

function readColumn(file: string, col: number): Map<string, string> {
  const m = new Map<string, string>();
  try {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > col) m.set(f[0], f[col]);
    }
  } catch {
    /* ignore */
  }
  return m;
}

/** Creates (or fixes) the ggnt<k> users. Sequential: useradd/usermod lock /etc/passwd. */
async function ensureUsers(specs: Array<{ user: string; home: string }>): Promise<Map<string, PwEnt>> {
  let pw = readPasswd();
  const shadow = readColumn('/etc/shadow', 1);
  const groups = readColumn('/etc/group', 2);
  let changed = false;
  for (const { user, home } of specs) {
    const cur = pw.get(user);
    let r: RunResult | undefined;
    if (!cur) {
      // '*' = no password but not locked; sshd with UsePAM no refuses even keys for '!' (locked)
      const grp = groups.has(user) ? ['--gid', user] : ['--user-group'];
      r = await run('useradd', ['--no-create-home', '--home-dir', home, '--shell', '/bin/bash', ...grp, '--password', '*', user], { env: TOOL_ENV });
      changed = true;
    } else if (cur.home !== home || cur.shell !== '/bin/bash' || shadow.get(user) !== '*') {
      r = await run('usermod', ['--home', home, '--shell', '/bin/bash', '--password', '*', user], { env: TOOL_ENV });
      changed = true;
    }
    if (r && r.code !== 0) throw new Error(`cannot create/update user ${user}: ${r.stderr.trim()}`);
  }
  if (changed) pw = readPasswd();
  return pw;
}

function sshdConfigText(h: TestHost, hostKey: string, pidFile: string): string {
  return [
    '# generated by test/harness; one test host',
    `ListenAddress ${h.address}:${h.port}`,
    `HostKey ${hostKey}`,
    'HostKeyAlgorithms ssh-ed25519',
    `PidFile ${pidFile}`,
    `AllowUsers ${h.user}`,
    'AuthenticationMethods publickey',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin no',
    'UsePAM no',
    'StrictModes yes',
    'AuthorizedKeysFile .ssh/authorized_keys',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'X11Forwarding no',
    'Subsystem sftp internal-sftp',
    'MaxStartups 200:30:400',
    'MaxSessions 64',
    'LogLevel VERBOSE',
    `SetEnv XDG_RUNTIME_DIR=/run/user/${h.uid}`,
    '',
  ].join('\n');
}

function launchScriptText(h: TestHost, roots: string[], rt: HostRt): string {
  const procs = (sub: string) => roots.map((r) => sq(path.join(r, h.cgroup, sub, 'cgroup.procs'))).join(' ');
  // unshare (no --fork) -> bash -> setpriv -> env -> systemd all exec in turn: $$ is the manager's pid.
  return [
    '#!/bin/bash',
    '# generated by test/harness: runs inside `unshare --mount --uts --propagation private`',
    'set -e',
    `for f in ${procs('sshd')}; do echo $$ > "$f"; done`,
    // sd_booted() is true only inside this namespace; never create /run/systemd/system outside
    'mount -t tmpfs -o mode=0755,size=64m tmpfs /run/systemd',
    'mkdir /run/systemd/system',
    `hostname ${sq(h.name)}`,
    `rm -f ${sq(rt.pidFile)}`,
    // -D + '&': sshd becomes a child of this process, i.e. of the manager after the exec below,
    // which reaps it at once when it exits (a daemonized sshd would be left to PID 1, which on this
    // machine reaps only every ~2 s). It still writes PidFile right after binding.
    `${SSHD} -D -f ${sq(rt.sshdConfig)} -E ${sq(rt.sshdLog)} </dev/null &`,
    `for f in ${procs('manager')}; do echo $$ > "$f"; done`,
    `cd ${sq(h.home)}`,
    `exec setpriv --reuid=${h.uid} --regid=${h.gid} --init-groups -- env -i HOME=${sq(h.home)} USER=${h.user} LOGNAME=${h.user} ` +
      `SHELL=/bin/bash PATH=${USER_PATH} XDG_RUNTIME_DIR=${h.runtimeDir} ${SYSTEMD} --user`,
    '',
  ].join('\n');
}

// ------------------------------------------------------------------ lock

const lock = new MachineLock(LOCK_DIR, 'test cluster', 'harness', 200);

function acquireLock(dir: string, opts: UpOptions, roots: string[]): Promise<unknown> {
  return lock.acquire(dir, {
    timeoutMs: opts.lockTimeoutMs ?? 300_000,
    persistent: !!opts.persistent,
    takeOver: opts.takeOver,
    // a CLI cluster is alive while its processes are
    persistentLive: () => cgPids(roots, CG_BASE).length > 0,
  });
}

function releaseLock(dir: string): void {
  lock.release(dir);
}

// ------------------------------------------------------------------ stale state

async function nftDeleteTable(): Promise<void> {
  if (!hasBinary('nft')) return;
  await run('nft', ['delete', 'table', 'inet', NFT_TABLE], { env: TOOL_ENV });
}

/** Removes everything a previous (crashed) run may have left: processes, cgroups, runtime dirs, nft table. */
async function cleanupStale(roots: string[], v2: string): Promise<void> {
  const nft = nftDeleteTable();
  if (cgPids(roots, CG_BASE).length > 0) await cgKill(roots, v2, CG_BASE);
  const failed = cgRemove(roots, CG_BASE);
  if (failed.length) throw new Error(`cannot remove stale cgroups: ${failed.join(' ')}`);
  for (const uid of userRuntimeDirsToClean()) fs.rmSync(`/run/user/${uid}`, { recursive: true, force: true });
  await nft;
}

// ------------------------------------------------------------------ the cluster

class ClusterImpl implements Cluster {
  readonly hosts: TestHost[];
  etcd?: { endpoint: string };
  private etcdPid?: number;
  private etcdChild?: ChildProcess;
  private nftReady = false;
  private downPromise?: Promise<void>;
  private downDone = false;
  private readonly rts: HostRt[];
  private readonly roots: string[];
  private readonly v2: string;

  constructor(
    readonly dir: string,
    readonly mode: 'address' | 'port',
    rts: HostRt[],
    readonly persistent: boolean,
  ) {
    this.rts = rts;
    this.hosts = rts.map((r) => r.pub);
    const cg = cgroupRoots();
    this.roots = cg.roots;
    this.v2 = cg.v2;
  }

  get clientKeyPath(): string {
    return path.join(this.dir, 'client_ed25519');
  }
  get knownHostsPath(): string {
    return path.join(this.dir, 'known_hosts');
  }
  get sshConfigPath(): string {
    return path.join(this.dir, 'ssh_config');
  }
  private get statePath(): string {
    return path.join(this.dir, 'cluster.json');
  }

  host(ref: HostRef | number): TestHost {
    return this.rt(ref).pub;
  }

  private rt(ref: HostRef | number): HostRt {
    const r = typeof ref === 'number' ? this.rts[ref] : this.rts.find((x) => x.pub.name === (typeof ref === 'string' ? ref : ref.name));
    if (!r) throw new Error(`no such test host: ${typeof ref === 'object' ? ref.name : ref}`);
    return r;
  }

  // ---- lifecycle of one host

  /** Cgroups + runtime dir + launcher. Does not wait. */
  launch(r: HostRt): void {
    const h = r.pub;
    cgRemove(this.roots, h.cgroup);
    cgCreate(this.roots, path.join(h.cgroup, 'sshd'));
    cgCreate(this.roots, path.join(h.cgroup, 'exec'));
    cgCreate(this.roots, path.join(h.cgroup, 'manager'), { uid: h.uid, gid: h.gid });
    resetRuntimeDir(h.uid, h.gid);
    fs.rmSync(r.pidFile, { force: true });
    const fd = fs.openSync(r.launcherLog, 'a');
    try {
      const child = spawn('unshare', ['--mount', '--uts', '--propagation', 'private', '--', '/bin/bash', r.launchScript], {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: TOOL_ENV,
        cwd: '/',
      });
      child.on('error', (e) => fs.appendFileSync(r.launcherLog, `[harness] spawn failed: ${e.message}\n`));
      child.unref();
      r.child = child;
      r.managerPid = child.pid;
      r.hung = false;
      r.frozen = false;
      if (child.pid) fs.writeFileSync(path.join(r.hostDir, 'manager.pid'), `${child.pid}\n`);
    } finally {
      fs.closeSync(fd);
    }
  }

  private hostFailure(r: HostRt, why: string): Error {
    return new Error(
      `test host ${r.pub.name} (${r.pub.address}:${r.pub.port}, user ${r.pub.user}) did not come up: ${why}\n` +
        `--- launcher log ${r.launcherLog}:\n${tail(r.launcherLog, 10)}\n--- sshd log ${r.sshdLog}:\n${tail(r.sshdLog, 15)}`,
    );
  }

  async systemState(r: HostRt): Promise<string> {
    if (!fs.existsSync(path.join(r.pub.runtimeDir, 'systemd', 'private'))) return 'no-manager';
    // the manager's private socket only accepts its own uid (root gets EPERM)
    const h = r.pub;
    const res = await run(
      'setpriv',
      [`--reuid=${h.uid}`, `--regid=${h.gid}`, '--clear-groups', '--', 'systemctl', '--user', 'show', '-p', 'SystemState', '--value'],
      {
        env: { ...TOOL_ENV, XDG_RUNTIME_DIR: h.runtimeDir },
        timeoutMs: 5000,
      },
    );
    return res.code === 0 ? res.stdout.trim() : `error: ${(res.stderr || res.stdout).trim()}`;
  }

  async waitReady(r: HostRt, deadline: number): Promise<void> {
    let managerReadyAt = 0;
    let polls = 0;
    let last = '';
    for (;;) {
      if (!isAlive(r.managerPid)) throw this.hostFailure(r, `the launcher/manager (pid ${r.managerPid}) exited`);
      if (!managerReadyAt) {
        last = await this.systemState(r);
        if (last === 'running' || last === 'degraded') managerReadyAt = Date.now();
        polls++;
      }
      if (managerReadyAt) {
        const sshd = readPidFile(r.pidFile);
        if (sshd && isAlive(sshd)) {
          trace(`${r.pub.name} ready after ${polls} SystemState poll(s)`);
          return;
        }
        // sshd is started before the manager and writes its pid file right after binding
        if (Date.now() - managerReadyAt > 2000 || /Cannot bind any address|no hostkeys available|^fatal/m.test(tail(r.sshdLog, 5))) {
          throw this.hostFailure(r, 'sshd did not write its pid file');
        }
        last = 'manager ready, waiting for sshd pid file';
      }
      if (Date.now() > deadline) throw this.hostFailure(r, `timed out; last state: ${last}`);
      await sleep(managerReadyAt ? 10 : 25);
    }
  }

  private sshdPid(r: HostRt): number | undefined {
    return readPidFile(r.pidFile);
  }

  async kill(ref: HostRef): Promise<void> {
    const r = this.rt(ref);
    await cgKill(this.roots, this.v2, r.pub.cgroup);
    r.hung = false;
    r.frozen = false;
  }

  async restart(ref: HostRef): Promise<void> {
    const r = this.rt(ref);
    await this.kill(r.pub);
    this.launch(r);
    await this.waitReady(r, Date.now() + 20_000);
    this.save();
  }

  async hang(ref: HostRef, opts: HangOptions = {}): Promise<void> {
    const r = this.rt(ref);
    if (opts.freeze) {
      cgFreeze(this.v2, path.join(r.pub.cgroup, 'sshd'), true);
      cgFreeze(this.v2, path.join(r.pub.cgroup, 'manager'), true);
      r.frozen = true;
    } else {
      // stop the listener first so it forks no new sessions, then every session process
      const l = this.sshdPid(r);
      if (l) signal(l, 'SIGSTOP');
      for (let i = 0; i < 2; i++) for (const p of cgPids(this.roots, path.join(r.pub.cgroup, 'sshd'))) signal(p, 'SIGSTOP');
    }
    r.hung = true;
  }

  async resume(ref: HostRef): Promise<void> {
    const r = this.rt(ref);
    cgFreeze(this.v2, r.pub.cgroup, false);
    for (const p of cgPids(this.roots, r.pub.cgroup)) signal(p, 'SIGCONT');
    r.hung = false;
    r.frozen = false;
  }

  private async nft(script: string): Promise<void> {
    const res = await run('nft', ['-f', '-'], { input: script, env: TOOL_ENV });
    if (res.code !== 0) throw new Error(`nft failed: ${res.stderr.trim()}\nscript:\n${script}`);
  }

  private async ensureNft(): Promise<void> {
    if (this.nftReady) return;
    if (!hasBinary('nft')) throw new Error('nft is not installed (run test/harness/install-deps.sh)');
    const set = this.mode === 'address' ? 'set addrs { type ipv4_addr; }' : 'set ports { type inet_service; }';
    const rules = this.mode === 'address' ? 'ip daddr @addrs drop; ip saddr @addrs drop;' : 'tcp dport @ports drop; tcp sport @ports drop;';
    // loopback packets traverse the output hook in both directions
    await this.nft(
      `table inet ${NFT_TABLE} {}\ndelete table inet ${NFT_TABLE}\n` +
        `table inet ${NFT_TABLE} {\n  ${set}\n  chain out { type filter hook output priority -10; policy accept; ${rules} }\n}\n`,
    );
    this.nftReady = true;
    this.save();
  }

  private nftElement(r: HostRt): string {
    return this.mode === 'address' ? `addrs { ${r.pub.address} }` : `ports { ${r.pub.port} }`;
  }

  async partition(ref: HostRef): Promise<void> {
    const r = this.rt(ref);
    await this.ensureNft();
    await this.nft(`add element inet ${NFT_TABLE} ${this.nftElement(r)}\n`);
    r.partitioned = true;
  }

  async heal(ref: HostRef): Promise<void> {
    const r = this.rt(ref);
    if (!this.nftReady || !r.partitioned) return;
    await this.nft(`delete element inet ${NFT_TABLE} ${this.nftElement(r)}\n`);
    r.partitioned = false;
  }

  async exec(ref: HostRef, argv: string[], opts: ExecOptions = {}): Promise<RunResult> {
    const r = this.rt(ref);
    const h = r.pub;
    const target = [r.managerPid, this.sshdPid(r)].find((p) => isAlive(p));
    if (!target) throw new Error(`test host ${h.name} is down: no live process to enter its namespace`);
    const cgFiles = this.roots.map((root) => path.join(root, h.cgroup, 'exec', 'cgroup.procs')).join(' ');
    const extraEnv = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const args = [
      '-c',
      'for f in $CG_FILES; do echo $$ > "$f"; done; exec "$@"',
      'sh',
      'nsenter',
      `--target=${target}`,
      '--mount',
      '--uts',
      '--',
      'setpriv',
      `--reuid=${h.uid}`,
      `--regid=${h.gid}`,
      '--init-groups',
      '--',
      'env',
      '-i',
      '-C',
      h.home,
      `HOME=${h.home}`,
      `USER=${h.user}`,
      `LOGNAME=${h.user}`,
      'SHELL=/bin/bash',
      `PATH=${USER_PATH}`,
      `XDG_RUNTIME_DIR=${h.runtimeDir}`,
      ...extraEnv,
      ...argv,
    ];
    return run('/bin/sh', args, { env: { ...TOOL_ENV, CG_FILES: cgFiles }, input: opts.input, timeoutMs: opts.timeoutMs ?? 30_000 });
  }

  async status(): Promise<HostStatus[]> {
    return Promise.all(
      this.rts.map(async (r) => {
        const sshdPid = this.sshdPid(r);
        const managerAlive = isAlive(r.managerPid);
        return {
          name: r.pub.name,
          address: r.pub.address,
          port: r.pub.port,
          managerPid: r.managerPid,
          managerAlive,
          sshdPid,
          sshdAlive: isAlive(sshdPid),
          systemState: managerAlive && !r.frozen ? await this.systemState(r) : managerAlive ? 'frozen' : 'down',
          hung: r.hung,
          partitioned: r.partitioned,
        };
      }),
    );
  }

  // ---- etcd

  async startEtcd(clientPort: number, peerPort: number): Promise<void> {
    const e = await startEtcd({ dir: this.dir, roots: this.roots, cgroup: path.join(CG_BASE, 'etcd'), clientPort, peerPort });
    this.etcdChild = e.child;
    this.etcdPid = e.pid;
    this.etcd = { endpoint: e.endpoint };
  }

  // ---- persistence (for scripts/cluster.ts)

  save(): void {
    const s: SavedState = {
      version: 1,
      dir: this.dir,
      mode: this.mode,
      hosts: this.rts.map((r) => ({ ...r.pub, managerPid: r.managerPid })),
      etcd: this.etcd ? { endpoint: this.etcd.endpoint, pid: this.etcdPid } : undefined,
      nft: this.nftReady,
    };
    fs.writeFileSync(this.statePath, JSON.stringify(s, null, 2) + '\n');
  }

  static load(dir: string): ClusterImpl {
    const file = path.join(dir, 'cluster.json');
    let s: SavedState;
    try {
      s = JSON.parse(fs.readFileSync(file, 'utf8')) as SavedState;
    } catch (e) {
      throw new Error(`no test cluster state in ${dir}: ${(e as Error).message}`);
    }
    const rts = s.hosts.map((h, i) => {
      const { managerPid, ...pub } = h;
      const rt = hostPaths(dir, pub, i);
      rt.managerPid = managerPid;
      return rt;
    });
    const c = new ClusterImpl(s.dir, s.mode, rts, true);
    if (s.etcd) {
      c.etcd = { endpoint: s.etcd.endpoint };
      c.etcdPid = s.etcd.pid;
    }
    c.nftReady = s.nft;
    return c;
  }

  // ---- teardown

  down(): Promise<void> {
    if (!this.downPromise) this.downPromise = this.doDown();
    return this.downPromise;
  }

  private async doDown(): Promise<void> {
    const t0 = Date.now();
    // 1. thaw / continue, otherwise SIGTERM is not acted upon
    cgFreeze(this.v2, CG_BASE, false);
    for (const p of cgPids(this.roots, CG_BASE)) signal(p, 'SIGCONT');
    // 2. graceful stop of the managers (exit.target), the sshd listeners and etcd
    const managers = this.rts.map((r) => r.managerPid).filter((p): p is number => isAlive(p));
    const sshds = this.rts.map((r) => this.sshdPid(r)).filter((p): p is number => isAlive(p));
    const etcd = isAlive(this.etcdPid) ? [this.etcdPid!] : [];
    // sshd first, while its parent (the manager) is still there to reap it
    for (const p of [...sshds, ...etcd]) signal(p, 'SIGTERM');
    await waitGone(sshds, 300);
    for (const p of managers) signal(p, 'SIGTERM');
    // 3. wait for the managers (bounded); in-process, this process is their parent and reaps them
    const deadline = Date.now() + 1000;
    while (Date.now() < deadline && [...managers, ...etcd].some((p) => isAlive(p))) await sleep(10);
    // 4. kill whatever is left, until the cgroups are empty
    const seen = await cgKill(this.roots, this.v2, CG_BASE);
    // 5. cgroups, depth-first
    const failed = cgRemove(this.roots, CG_BASE);
    // 6. runtime dirs
    for (const h of this.hosts) fs.rmSync(h.runtimeDir, { recursive: true, force: true });
    // 7. nft table
    await nftDeleteTable();
    this.nftReady = false;
    this.downDone = true;
    forget(this);
    releaseLock(this.dir);
    try {
      fs.unlinkSync(this.statePath);
    } catch {
      /* gone */
    }
    // 8. wait for PID 1 to reap the zombies (about every 2 s on this machine)
    const left = await waitGone([...new Set([...seen, ...managers, ...sshds, ...etcd])], 3000);
    if (failed.length) throw new Error(`test cluster down: cannot remove cgroups ${failed.join(' ')}`);
    if (left.length) process.stderr.write(`[harness] down: ${left.length} zombie(s) not yet reaped by PID 1 after ${Date.now() - t0} ms\n`);
  }

  /** Best-effort synchronous teardown for process exit / signals. */
  downSync(): void {
    if (this.downDone) return;
    this.downDone = true;
    forget(this);
    try {
      cgKillSync(this.roots, this.v2, CG_BASE);
      cgRemove(this.roots, CG_BASE);
    } finally {
      for (const h of this.hosts) fs.rmSync(h.runtimeDir, { recursive: true, force: true });
      if (hasBinary('nft')) spawnSync('nft', ['delete', 'table', 'inet', NFT_TABLE], { stdio: 'ignore', env: TOOL_ENV });
      releaseLock(this.dir);
    }
  }

  register(): void {
    if (!this.persistent) remember(this, 'harness');
  }
}

function hostPaths(dir: string, pub: TestHost, index: number): HostRt {
  const hostDir = path.join(dir, 'hosts', pub.name);
  return {
    pub,
    index,
    hostDir,
    sshdConfig: path.join(hostDir, 'sshd_config'),
    sshdLog: path.join(hostDir, 'sshd.log'),
    launcherLog: path.join(hostDir, 'launcher.log'),
    pidFile: path.join(hostDir, 'sshd.pid'),
    launchScript: path.join(hostDir, 'launch.sh'),
    hung: false,
    frozen: false,
    partitioned: false,
  };
}

// ------------------------------------------------------------------ up

function checkPrereqs(etcd: boolean): void {
  if (process.getuid?.() !== 0) throw new Error('the test cluster harness must run as root');
  const missing = ['unshare', 'setpriv', 'nsenter', 'ss', 'useradd', 'usermod', 'systemctl', ...(etcd ? ['etcd'] : [])].filter((b) => !hasBinary(b));
  if (!fs.existsSync(SSHD)) missing.push(SSHD);
  if (!fs.existsSync(SYSTEMD)) missing.push(SYSTEMD);
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: run test/harness/install-deps.sh`);
}

export async function up(n: number, opts: UpOptions = {}): Promise<Cluster> {
  if (!Number.isInteger(n) || n < 1) throw new Error(`up: bad host count ${n}`);
  checkPrereqs(!!opts.etcd);
  const { roots, v2 } = cgroupRoots();
  const dir = path.resolve(opts.dir ?? DEFAULT_DIR);
  const prefix = opts.namePrefix ?? 'host';

  traceT0 = Date.now();
  await acquireLock(dir, opts, roots);
  trace('lock acquired');
  let cluster: ClusterImpl | undefined;
  try {
    await cleanupStale(roots, v2);

    // ---- listen mode
    const listeners = await tcpListeners();
    const addrs = Array.from({ length: n }, (_, i) => `127.0.0.${11 + i}`);
    const wildcard = (port: number) => listeners.some((l) => l.port === port && ['0.0.0.0', '::', '*'].includes(l.addr));
    const addrTaken = listeners.some((l) => l.port === 22 && addrs.includes(l.addr));
    let mode = opts.mode ?? (wildcard(22) || addrTaken || n > MAX_ADDRESS_HOSTS ? 'port' : 'address');
    if (mode === 'address' && n > MAX_ADDRESS_HOSTS) throw new Error(`at most ${MAX_ADDRESS_HOSTS} hosts in per-address mode`);
    const basePort = opts.basePort ?? 2200;
    if (mode === 'port') {
      const busy = Array.from({ length: n }, (_, i) => basePort + 1 + i).filter(
        (p) => wildcard(p) || listeners.some((l) => l.port === p && l.addr === '127.0.0.1'),
      );
      if (busy.length) throw new Error(`port mode: ports already in use on 127.0.0.1: ${busy.join(' ')}`);
    }
    const etcdClientPort = opts.etcdClientPort ?? 12379;
    const etcdPeerPort = opts.etcdPeerPort ?? 12380;
    if (opts.etcd) {
      const busy = [etcdClientPort, etcdPeerPort].filter((p) => listeners.some((l) => l.port === p));
      if (busy.length) throw new Error(`etcd ports already in use: ${busy.join(' ')}`);
    }

    // ---- state dir (must be traversable by the users: their homes live below it)
    for (let d = path.dirname(dir); ; d = path.dirname(d)) {
      if (fs.existsSync(d) && (fs.statSync(d).mode & 0o001) === 0) {
        throw new Error(`state dir ${dir}: ${d} is not traversable by other users (the test users' homes live below it); pick a dir under /tmp`);
      }
      if (d === path.dirname(d)) break;
    }
    fs.mkdirSync(dir, { recursive: true });
    fs.chmodSync(dir, 0o755);
    for (const sub of ['home', 'hosts']) fs.rmSync(path.join(dir, sub), { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, 'home'), { mode: 0o755 });
    fs.mkdirSync(path.join(dir, 'hosts'), { mode: 0o755 });
    fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation dir
    fs.mkdirSync('/run/systemd', { recursive: true, mode: 0o755 }); // mount point only; never /run/systemd/system here

    // ---- users
    const specs = Array.from({ length: n }, (_, i) => ({ user: `${USER_PREFIX}${i + 1}`, home: path.join(dir, 'home', `${USER_PREFIX}${i + 1}`) }));
    trace('stale state cleaned, mode chosen');
    const pw = await ensureUsers(specs);
    trace('users ready');

    // ---- keys and per-host files
    const clientKey = generateEd25519('ggn-test-client');
    writeOwned(path.join(dir, 'client_ed25519'), clientKey.privateKey, 0o600);
    writeOwned(path.join(dir, 'client_ed25519.pub'), clientKey.publicKey + '\n', 0o644);

    const rts: HostRt[] = [];
    const known: string[] = [];
    const sshCfg: string[] = ['# generated by test/harness', ''];
    for (let i = 0; i < n; i++) {
      const { user, home } = specs[i];
      const ent = pw.get(user)!;
      const name = `${prefix}${i + 1}`;
      const hostKey = generateEd25519(`root@${name}`);
      const pubNoComment = hostKey.publicKey.split(' ').slice(0, 2).join(' ');
      const pub: TestHost = {
        name,
        address: mode === 'address' ? addrs[i] : '127.0.0.1',
        port: mode === 'address' ? 22 : basePort + 1 + i,
        user,
        uid: ent.uid,
        gid: ent.gid,
        home,
        hostKeyPub: pubNoComment,
        runtimeDir: `/run/user/${ent.uid}`,
        cgroup: path.join(CG_BASE, name),
      };
      const r = hostPaths(dir, pub, i);
      rts.push(r);

      fs.mkdirSync(r.hostDir, { mode: 0o755 });
      const hostKeyPath = path.join(r.hostDir, 'ssh_host_ed25519_key');
      writeOwned(hostKeyPath, hostKey.privateKey, 0o600); // sshd refuses a 0644 host key
      writeOwned(hostKeyPath + '.pub', hostKey.publicKey + '\n', 0o644);
      writeOwned(r.sshdConfig, sshdConfigText(pub, hostKeyPath, r.pidFile), 0o644);
      writeOwned(r.launchScript, launchScriptText(pub, roots, r), 0o700);

      // home: StrictModes walks authorized_keys -> .ssh -> home; authorized_keys is read as the user
      mkdirOwned(home, 0o755, ent.uid, ent.gid);
      mkdirOwned(path.join(home, '.ssh'), 0o700, ent.uid, ent.gid);
      writeOwned(path.join(home, '.ssh', 'authorized_keys'), clientKey.publicKey + '\n', 0o600, ent.uid, ent.gid);
      for (const d of ['.config', '.config/systemd', '.config/systemd/user']) mkdirOwned(path.join(home, d), 0o755, ent.uid, ent.gid);

      known.push(mode === 'address' ? `${name},${pub.address} ${pubNoComment}` : `[${name}]:${pub.port},[${pub.address}]:${pub.port} ${pubNoComment}`);
      sshCfg.push(
        `Host ${name}`,
        `  HostName ${pub.address}`,
        `  Port ${pub.port}`,
        `  User ${user}`,
        `  IdentityFile ${path.join(dir, 'client_ed25519')}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${path.join(dir, 'known_hosts')}`,
        '  GlobalKnownHostsFile /dev/null',
        '  StrictHostKeyChecking yes',
        '  HostKeyAlgorithms ssh-ed25519',
        '  CheckHostIP no',
        '  BatchMode yes',
        '  ConnectTimeout 5',
        '  LogLevel ERROR',
        '',
      );
    }
    fs.writeFileSync(path.join(dir, 'known_hosts'), known.join('\n') + '\n', { mode: 0o644 });
    fs.writeFileSync(path.join(dir, 'ssh_config'), sshCfg.join('\n'), { mode: 0o644 });

    // config errors show up here at once instead of as a silent daemon exit
    const t = await run(SSHD, ['-t', '-f', rts[0].sshdConfig], { env: TOOL_ENV });
    if (t.code !== 0) throw new Error(`sshd -t -f ${rts[0].sshdConfig} failed: ${t.stderr.trim()}`);

    cluster = new ClusterImpl(dir, mode, rts, !!opts.persistent);
    cluster.register();
    const c = cluster;
    const etcdP = opts.etcd ? c.startEtcd(etcdClientPort, etcdPeerPort) : Promise.resolve();
    trace('files written');
    for (const r of rts) c.launch(r);
    trace('launched');
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
    const results = await Promise.allSettled([etcdP, ...rts.map((r) => c.waitReady(r, deadline))]);
    const errors = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected').map((x) => (x.reason as Error).message);
    if (errors.length) throw new Error(`test cluster did not come up (${errors.length} failure(s)):\n${errors.slice(0, 3).join('\n\n')}`);
    c.save();
    return c;
  } catch (e) {
    if (cluster) {
      await cluster.down().catch(() => undefined);
    } else {
      releaseLock(dir);
    }
    // a persistent cluster that failed must not keep the lock either
    releaseLock(dir);
    throw e;
  }
}

/** Re-opens a cluster left running by `up(..., { persistent: true })` (scripts/cluster.ts). */
export function attach(dir: string = DEFAULT_DIR): Cluster {
  return ClusterImpl.load(path.resolve(dir));
}

/** The state dir of the cluster currently holding the machine-wide lock, if any. */
export function currentOwner(): { pid: number; dir: string; persistent: boolean } | undefined {
  const o = lock.read();
  return o ? { pid: o.pid, dir: o.dir, persistent: !!o.persistent } : undefined;
}

export const DEFAULT_CLUSTER_DIR = DEFAULT_DIR;
