// Real system-scope test hosts on one machine (root only).
//
// Each host is a real systemd *system* manager: systemd-nspawn boots it as PID 1 of its own PID
// namespace, on an overlay (per-host upper dir) over one shared Debian rootfs
// (system-rootfs.sh, built once per machine). Its own sshd listens on its own loopback address
// 127.0.2.(10+k):22 (the containers share the machine's network namespace), and the login
// `deploy` has passwordless sudo (or, per host, sudo with a password / no sudo rights; root can
// log in with the client key when asked). So `sudo -n systemctl daemon-reload`, units in
// /etc/systemd/system, journald and /var/lib/ggn are all real.
//
// Per host, in <dir>/hosts/<name>/: upper/ work/ root/ (the overlay), launch.sh, console.log.
// Processes are tracked in the cgroup ggn-syshosts/<name> (in /sys/fs/cgroup/unified and
// /sys/fs/cgroup/systemd): the launcher itself, nspawn's supervisor/ and payload/ (the whole
// container), and exec/ (commands run by exec()). The launcher runs in a private mount namespace
// that holds the overlay mount and a tmpfs on /run/systemd/nspawn, so both vanish with it, even
// after SIGKILL. The measured facts are in shared/notes/system-hosts.md; see
// test/harness/README.md.
import { forget, remember } from './teardown';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
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

/** deploy's sudo rights on a host. */
export type SudoMode = 'nopasswd' | 'password' | 'none';

export interface SystemHost {
  name: string;
  address: string;
  port: number;
  /** The ssh login: always `deploy` (root can log in too when the host has rootLogin). */
  user: string;
  identityFile: string;
  knownHostsFile: string;
  /** "ssh-ed25519 AAAA..." (no comment) */
  hostKeyPub: string;
  /** cgroup path of the host, relative to the hierarchy root ("ggn-syshosts/sys1") */
  cgroup: string;
  /** deploy's sudo rights as configured at up() (setSudo() changes them later). */
  sudo: SudoMode;
  rootLogin: boolean;
}

export type SystemHostRef = SystemHost | string | number;

export interface SystemExecOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  /** Run as this user of the host (through runuser) instead of root. */
  user?: string;
}

export interface SystemHostStatus {
  name: string;
  address: string;
  launcherAlive: boolean;
  initPid?: number;
  systemState: string;
  frozen: boolean;
  partitioned: boolean;
}

export interface SystemUpOptions {
  /** State dir (keys, configs, overlays, logs). Default /tmp/ggn-syshosts. */
  dir?: string;
  /** Host names are `${namePrefix}${k}`, k = 1..n. Default "sys". */
  namePrefix?: string;
  /** deploy's sudo rights: one mode for every host, or one per host. Default nopasswd. */
  sudo?: SudoMode | SudoMode[];
  /** Let root log in with the client key (PermitRootLogin prohibit-password): all hosts or per host. Default false. */
  rootLogin?: boolean | boolean[];
  /** Wait this long for another process's system hosts to go down. Default 300000. */
  lockTimeoutMs?: number;
  /** Time allowed for all hosts to boot to `running`. Default 60000. */
  readyTimeoutMs?: number;
  /** Build the shared rootfs when it is missing (about 1 min of CPU). Default true. */
  build?: boolean;
  /** Also start a single-node etcd on the machine, at 127.0.0.1:etcdClientPort (default 12479), for the etcd lock backend. */
  etcd?: boolean;
  etcdClientPort?: number;
  etcdPeerPort?: number;
}

export interface SystemCluster {
  dir: string;
  rootfs: string;
  hosts: SystemHost[];
  clientKeyPath: string;
  knownHostsPath: string;
  sshConfigPath: string;
  /** Set when started with `{ etcd: true }`. */
  etcd?: { endpoint: string };
  host(ref: SystemHostRef): SystemHost;
  /** Runs argv as root (or opts.user) inside the host's namespaces, without ssh. Rejects if the host is down or hung. */
  exec(host: SystemHostRef, argv: string[], opts?: SystemExecOptions): Promise<RunResult>;
  /** SIGKILL of everything of the host (cgroup.kill): a power cut. New connections get ECONNREFUSED. */
  kill(host: SystemHostRef): Promise<void>;
  /** Boots a host that is down again, keeping its disk (upper dir). */
  start(host: SystemHostRef): Promise<void>;
  /** Graceful power-off (SIGTERM to nspawn: units stop, journald flushes). */
  stop(host: SystemHostRef): Promise<void>;
  /** Power cycle: kill, then start. */
  restart(host: SystemHostRef): Promise<void>;
  /** `systemctl reboot` inside the host; resolves once it has booted again (new boot id). */
  reboot(host: SystemHostRef): Promise<void>;
  /** Freezes the whole host (cgroup.freeze): sshd accepts TCP but never answers. */
  hang(host: SystemHostRef): Promise<void>;
  resume(host: SystemHostRef): Promise<void>;
  /** Drops every packet to and from the host's address (nft). */
  partition(host: SystemHostRef): Promise<void>;
  heal(host: SystemHostRef): Promise<void>;
  /** Changes deploy's sudo rights on a running host (/etc/sudoers.d/deploy). */
  setSudo(host: SystemHostRef, mode: SudoMode): Promise<void>;
  /** The host's boot id (changes with every boot). */
  bootId(host: SystemHostRef): Promise<string>;
  status(): Promise<SystemHostStatus[]>;
  /** Idempotent: no process, mount, cgroup, nft table, overlay dir or lock is left. Logs stay. */
  down(): Promise<void>;
}

const CG_BASE = 'ggn-syshosts';
const NFT_TABLE = 'ggn_syshosts';
const LOCK_DIR = '/run/ggn-syshosts';
const DEFAULT_DIR = '/tmp/ggn-syshosts';
const ROOTFS_SCRIPT = path.resolve(__dirname, '..', '..', '..', 'test', 'harness', 'system-rootfs.sh');
const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MAX_HOSTS = 244; // 127.0.2.11 .. 127.0.2.254
const DEPLOY_UID = 1000;
const TRACE = !!process.env.GGN_HARNESS_TRACE;
let traceT0 = Date.now();
function trace(msg: string): void {
  if (TRACE) process.stderr.write(`[syshosts +${Date.now() - traceT0}ms] ${msg}\n`);
}

export function sudoersLine(mode: SudoMode): string {
  if (mode === 'nopasswd') return 'deploy ALL=(ALL) NOPASSWD: ALL\n';
  if (mode === 'password') return 'deploy ALL=(ALL) ALL\n';
  return '# deploy has no sudo rights on this host\n';
}

// ------------------------------------------------------------------ rootfs

/** The rootfs dir for the current recipe (system-rootfs.sh path). */
export function systemRootfsPath(): string {
  const r = spawnSync('bash', [ROOTFS_SCRIPT, 'path'], { encoding: 'utf8', env: TOOL_ENV });
  if (r.status !== 0) throw new Error(`${ROOTFS_SCRIPT} path failed: ${r.stderr}`);
  return r.stdout.trim();
}

export function systemRootfsReady(): boolean {
  return fs.existsSync(path.join(systemRootfsPath(), '.ggn-rootfs-stamp'));
}

async function ensureRootfs(build: boolean): Promise<string> {
  const dir = systemRootfsPath();
  if (fs.existsSync(path.join(dir, '.ggn-rootfs-stamp'))) return dir;
  if (!build) throw new Error(`the system-host rootfs ${dir} is missing: run test/harness/install-deps.sh`);
  if (!hasBinary('mmdebstrap')) throw new Error(`the system-host rootfs ${dir} is missing and mmdebstrap is not installed: run test/harness/install-deps.sh`);
  process.stderr.write(`[syshosts] building the shared rootfs ${dir} (once per machine)\n`);
  const r = await run('bash', [ROOTFS_SCRIPT, 'build'], { env: TOOL_ENV, timeoutMs: 900_000 });
  if (r.code !== 0) throw new Error(`building the system-host rootfs failed:\n${(r.stdout + r.stderr).trim().split('\n').slice(-15).join('\n')}`);
  return dir;
}

// ------------------------------------------------------------------ lock

/** Machine-wide lock of the system hosts (independent of the user-scope harness's). */
const lock = new MachineLock(LOCK_DIR, 'system test hosts', 'syshosts', 250);

function releaseLock(): void {
  lock.release();
}

function removeOverlays(dir: string): void {
  const hostsDir = path.join(dir, 'hosts');
  let names: string[] = [];
  try {
    names = fs.readdirSync(hostsDir);
  } catch {
    return;
  }
  for (const n of names) for (const sub of ['upper', 'work', 'root']) fs.rmSync(path.join(hostsDir, n, sub), { recursive: true, force: true });
}

/** What a crashed run may have left: processes, cgroups, the nft table, overlay dirs. */
async function cleanupStale(roots: string[], v2: string, dirs: string[]): Promise<void> {
  if (hasBinary('nft')) await run('nft', ['delete', 'table', 'inet', NFT_TABLE], { env: TOOL_ENV });
  if (cgPids(roots, CG_BASE).length > 0) await cgKill(roots, v2, CG_BASE, 10_000);
  const failed = cgRemove(roots, CG_BASE);
  if (failed.length) throw new Error(`cannot remove stale cgroups: ${failed.join(' ')}`);
  for (const d of dirs) removeOverlays(d);
}

// ------------------------------------------------------------------ per-host files

interface HostRt {
  pub: SystemHost;
  hostDir: string;
  upper: string;
  work: string;
  root: string;
  log: string;
  launchScript: string;
  child?: ChildProcess;
  launcherPid?: number;
  initPid?: number;
  frozen: boolean;
  partitioned: boolean;
}

/** Creates rel (and its parents) in the upper dir with the owner and mode they have in the rootfs. */
function upperDir(rootfs: string, upper: string, rel: string): void {
  let cur = '';
  for (const part of rel.split('/').filter(Boolean)) {
    cur = path.join(cur, part);
    const dst = path.join(upper, cur);
    if (fs.existsSync(dst)) continue;
    const st = fs.statSync(path.join(rootfs, cur));
    fs.mkdirSync(dst);
    fs.chownSync(dst, st.uid, st.gid);
    fs.chmodSync(dst, st.mode & 0o7777);
  }
}

function sshdDropIn(h: SystemHost): string {
  return [
    '# generated by test/harness/system-hosts.ts',
    `ListenAddress ${h.address}:${h.port}`,
    'HostKey /etc/ssh/ssh_host_ed25519_key',
    'HostKeyAlgorithms ssh-ed25519',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    `PermitRootLogin ${h.rootLogin ? 'prohibit-password' : 'no'}`,
    'UseDNS no',
    'MaxStartups 200:30:400',
    'MaxSessions 64',
    'LogLevel VERBOSE',
    '',
  ].join('\n');
}

function launchScriptText(rt: HostRt, rootfs: string, roots: string[]): string {
  const procs = roots.map((r) => sq(path.join(r, rt.pub.cgroup, 'cgroup.procs'))).join(' ');
  const nspawn = [
    'systemd-nspawn',
    '--quiet',
    '--boot',
    `--directory=${sq(rt.root)}`,
    `--machine=${sq(rt.pub.name)}`,
    // no D-Bus system bus and no machined on this machine
    '--register=no',
    '--keep-unit',
    // boot messages go to this script's stdout (the console log); the journal stays in the host
    '--console=read-only',
    '--link-journal=no',
  ].join(' ');
  return [
    '#!/bin/bash',
    '# generated by test/harness/system-hosts.ts: runs inside `unshare --mount --propagation private`',
    'set -u',
    // one cgroup per host in every hierarchy, before nspawn (else nspawn makes /payload at the top)
    `for f in ${procs}; do echo $$ > "$f"; done`,
    // the overlay lives in this mount namespace only; a killed host's namespace may take a moment to go
    'i=0',
    `until mount -t overlay overlay -o lowerdir=${sq(rootfs)},upperdir=${sq(rt.upper)},workdir=${sq(rt.work)} ${sq(rt.root)}; do`,
    '  i=$((i+1)); [ $i -lt 50 ] || exit 1; sleep 0.1',
    'done',
    // /run is not a tmpfs here: nspawn refuses to clean up its propagate dir on a disk file system
    'mkdir -p /run/systemd/nspawn && mount -t tmpfs -o size=1m,mode=0755 tmpfs /run/systemd/nspawn || exit 1',
    'stop=0 pid=',
    'trap \'stop=1; [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null\' TERM',
    'while :; do',
    `  echo "[launcher] boot $(date -u +%FT%T.%3NZ)"`,
    `  SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 ${nspawn} &`,
    '  pid=$!',
    '  wait "$pid"; rc=$?',
    '  while kill -0 "$pid" 2>/dev/null; do wait "$pid"; rc=$?; done',
    '  echo "[launcher] systemd-nspawn exited with status $rc"',
    // 133: the host ran `reboot`
    '  [ "$stop" = 0 ] && [ "$rc" = 133 ] || exit "$rc"',
    'done',
    '',
  ].join('\n');
}

// ------------------------------------------------------------------ the cluster

class SystemClusterImpl implements SystemCluster {
  readonly hosts: SystemHost[];
  private readonly rts: HostRt[];
  private readonly roots: string[];
  private readonly v2: string;
  private nftReady = false;
  etcd?: { endpoint: string };
  private downPromise?: Promise<void>;
  private downDone = false;

  constructor(
    readonly dir: string,
    readonly rootfs: string,
    rts: HostRt[],
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

  host(ref: SystemHostRef): SystemHost {
    return this.rt(ref).pub;
  }

  private rt(ref: SystemHostRef): HostRt {
    const r = typeof ref === 'number' ? this.rts[ref] : this.rts.find((x) => x.pub.name === (typeof ref === 'string' ? ref : ref.name));
    if (!r) throw new Error(`no such system test host: ${typeof ref === 'object' ? ref.name : ref}`);
    return r;
  }

  // ---- lifecycle of one host

  launch(r: HostRt): void {
    const cg = r.pub.cgroup;
    cgRemove(this.roots, cg);
    cgCreate(this.roots, cg);
    cgCreate(this.roots, path.join(cg, 'exec'));
    fs.mkdirSync(r.root, { recursive: true });
    r.initPid = undefined;
    r.frozen = false;
    const fd = fs.openSync(r.log, 'a');
    try {
      const child = spawn('unshare', ['--mount', '--propagation', 'private', '--', '/bin/bash', r.launchScript], {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: TOOL_ENV,
        cwd: '/',
      });
      child.on('error', (e) => fs.appendFileSync(r.log, `[harness] spawn failed: ${e.message}\n`));
      child.unref();
      r.child = child;
      r.launcherPid = child.pid;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The host's PID 1 as seen from the machine: the process of the host whose NSpid ends in 1. */
  private findInit(r: HostRt): number | undefined {
    if (r.initPid && isAlive(r.initPid)) return r.initPid;
    r.initPid = undefined;
    for (const pid of cgPids([this.v2], path.join(r.pub.cgroup, 'payload'))) {
      try {
        const m = /^NSpid:\s+(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
        const ns = m?.[1].trim().split(/\s+/) ?? [];
        if (ns.length > 1 && ns[ns.length - 1] === '1' && isAlive(pid)) {
          r.initPid = pid;
          return pid;
        }
      } catch {
        /* gone */
      }
    }
    return undefined;
  }

  private hostFailure(r: HostRt, why: string, extra = ''): Error {
    return new Error(
      `system test host ${r.pub.name} (${r.pub.address}:${r.pub.port}) did not come up: ${why}${extra}\n--- console log ${r.log}:\n${tail(r.log, 20)}`,
    );
  }

  async waitReady(r: HostRt, deadline: number, oldBootId?: string): Promise<void> {
    let last = 'no init process yet';
    for (;;) {
      if (!isAlive(r.launcherPid)) throw this.hostFailure(r, `the launcher (pid ${r.launcherPid}) exited`);
      if (Date.now() > deadline) throw this.hostFailure(r, `timed out; last state: ${last}`);
      const init = this.findInit(r);
      if (!init) {
        await sleep(25);
        continue;
      }
      if (oldBootId) {
        const t = Date.now();
        const b = await this.execIn(r, ['cat', '/proc/sys/kernel/random/boot_id'], { timeoutMs: 5000 }).catch(() => undefined);
        trace(`${r.pub.name}: boot id ${b?.code} ${b?.stdout.trim()} ${b?.stderr.trim()} in ${Date.now() - t} ms`);
        if (!b || b.code !== 0 || b.stdout.trim() === oldBootId) {
          last = 'still the old boot';
          await sleep(50);
          continue;
        }
        oldBootId = undefined;
      }
      const left = Math.max(1000, deadline - Date.now());
      const t = Date.now();
      const s = await this.execIn(r, ['systemctl', 'is-system-running', '--wait'], { timeoutMs: left }).catch((e: Error) => ({
        code: -1,
        stdout: '',
        stderr: e.message,
      }));
      last = s.stdout.trim() || s.stderr.trim();
      trace(`${r.pub.name}: is-system-running ${last} in ${Date.now() - t} ms`);
      if (last === 'degraded') {
        const f = await this.execIn(r, ['systemctl', '--failed', '--no-legend', '--plain', '--no-pager'], { timeoutMs: 5000 });
        throw this.hostFailure(r, 'booted degraded', `; failed units:\n${f.stdout.trim()}`);
      }
      if (last === 'running') break;
      await sleep(100);
    }
    // ssh.service is up; make sure the listener answers on the host's address
    for (;;) {
      if (await tcpOpen(r.pub.address, r.pub.port)) return;
      if (Date.now() > deadline) throw this.hostFailure(r, `sshd does not listen on ${r.pub.address}:${r.pub.port}`);
      await sleep(50);
    }
  }

  private async execIn(r: HostRt, argv: string[], opts: SystemExecOptions = {}): Promise<RunResult> {
    const init = this.findInit(r);
    if (!init) throw new Error(`system test host ${r.pub.name} is down: no init process to enter`);
    const cgFiles = this.roots.map((root) => path.join(root, r.pub.cgroup, 'exec', 'cgroup.procs')).join(' ');
    const as = opts.user ? ['runuser', '-u', opts.user, '--'] : [];
    const args = [
      '-c',
      'for f in $CG_FILES; do echo $$ > "$f"; done; exec "$@"',
      'sh',
      'nsenter',
      `--target=${init}`,
      '--mount',
      '--uts',
      '--ipc',
      '--pid',
      '--cgroup',
      '--root',
      '--wd',
      '--',
      'env',
      '-i',
      `PATH=${HOST_PATH}`,
      'LANG=C.UTF-8',
      `HOME=${opts.user ? `/home/${opts.user}` : '/root'}`,
      'TERM=dumb',
      ...as,
      ...argv,
    ];
    return run('/bin/sh', args, { env: { ...TOOL_ENV, CG_FILES: cgFiles }, input: opts.input, timeoutMs: opts.timeoutMs ?? 30_000 });
  }

  exec(ref: SystemHostRef, argv: string[], opts: SystemExecOptions = {}): Promise<RunResult> {
    const r = this.rt(ref);
    // the command would join the host's frozen cgroup and block until resume()
    if (r.frozen) return Promise.reject(new Error(`system test host ${r.pub.name} is hung (frozen): resume() it first`));
    return this.execIn(r, argv, opts);
  }

  async kill(ref: SystemHostRef): Promise<void> {
    const r = this.rt(ref);
    await cgKill(this.roots, this.v2, r.pub.cgroup, 10_000);
    r.initPid = undefined;
    r.frozen = false;
  }

  async start(ref: SystemHostRef): Promise<void> {
    const r = this.rt(ref);
    if (isAlive(r.launcherPid)) throw new Error(`system test host ${r.pub.name} is already up`);
    if (cgPids(this.roots, r.pub.cgroup).length) await cgKill(this.roots, this.v2, r.pub.cgroup, 10_000);
    this.launch(r);
    await this.waitReady(r, Date.now() + 60_000);
  }

  async stop(ref: SystemHostRef): Promise<void> {
    const r = this.rt(ref);
    await this.resume(r.pub);
    if (isAlive(r.launcherPid)) {
      signal(r.launcherPid!, 'SIGTERM');
      const deadline = Date.now() + 10_000;
      while (isAlive(r.launcherPid) && Date.now() < deadline) await sleep(20);
    }
    await cgKill(this.roots, this.v2, r.pub.cgroup, 10_000);
    r.initPid = undefined;
  }

  async restart(ref: SystemHostRef): Promise<void> {
    await this.kill(ref);
    await this.start(ref);
  }

  async bootId(ref: SystemHostRef): Promise<string> {
    const res = await this.exec(ref, ['cat', '/proc/sys/kernel/random/boot_id']);
    if (res.code !== 0) throw new Error(`cannot read the boot id of ${this.rt(ref).pub.name}: ${res.stderr}`);
    return res.stdout.trim();
  }

  async reboot(ref: SystemHostRef): Promise<void> {
    const r = this.rt(ref);
    const old = await this.bootId(r.pub);
    const res = await this.execIn(r, ['systemctl', 'reboot']);
    if (res.code !== 0) throw new Error(`systemctl reboot on ${r.pub.name} failed: ${res.stderr}`);
    r.initPid = undefined;
    await this.waitReady(r, Date.now() + 60_000, old);
  }

  async hang(ref: SystemHostRef): Promise<void> {
    const r = this.rt(ref);
    cgFreeze(this.v2, r.pub.cgroup, true);
    r.frozen = true;
  }

  async resume(ref: SystemHostRef): Promise<void> {
    const r = this.rt(ref);
    cgFreeze(this.v2, r.pub.cgroup, false);
    for (const p of cgPids(this.roots, r.pub.cgroup)) signal(p, 'SIGCONT');
    r.frozen = false;
  }

  private async nft(script: string): Promise<void> {
    const res = await run('nft', ['-f', '-'], { input: script, env: TOOL_ENV });
    if (res.code !== 0) throw new Error(`nft failed: ${res.stderr.trim()}\nscript:\n${script}`);
  }

  async partition(ref: SystemHostRef): Promise<void> {
    const r = this.rt(ref);
    if (!this.nftReady) {
      if (!hasBinary('nft')) throw new Error('nft is not installed (run test/harness/install-deps.sh)');
      // loopback packets traverse the output hook in both directions
      await this.nft(
        `table inet ${NFT_TABLE} {}\ndelete table inet ${NFT_TABLE}\n` +
          `table inet ${NFT_TABLE} {\n  set addrs { type ipv4_addr; }\n  chain out { type filter hook output priority -10; policy accept; ip daddr @addrs drop; ip saddr @addrs drop; }\n}\n`,
      );
      this.nftReady = true;
    }
    await this.nft(`add element inet ${NFT_TABLE} addrs { ${r.pub.address} }\n`);
    r.partitioned = true;
  }

  async heal(ref: SystemHostRef): Promise<void> {
    const r = this.rt(ref);
    if (!this.nftReady || !r.partitioned) return;
    await this.nft(`delete element inet ${NFT_TABLE} addrs { ${r.pub.address} }\n`);
    r.partitioned = false;
  }

  async setSudo(ref: SystemHostRef, mode: SudoMode): Promise<void> {
    const res = await this.exec(
      ref,
      ['sh', '-c', 'cat > /etc/sudoers.d/.deploy.tmp && chmod 0440 /etc/sudoers.d/.deploy.tmp && mv -f /etc/sudoers.d/.deploy.tmp /etc/sudoers.d/deploy'],
      {
        input: sudoersLine(mode),
      },
    );
    if (res.code !== 0) throw new Error(`setSudo(${mode}) on ${this.rt(ref).pub.name} failed: ${res.stderr}`);
  }

  async status(): Promise<SystemHostStatus[]> {
    return Promise.all(
      this.rts.map(async (r) => {
        const launcherAlive = isAlive(r.launcherPid);
        const initPid = launcherAlive ? this.findInit(r) : undefined;
        let systemState = 'down';
        if (r.frozen) systemState = 'frozen';
        else if (initPid) {
          const s = await this.execIn(r, ['systemctl', 'is-system-running'], { timeoutMs: 5000 }).catch((e: Error) => ({ stdout: '', stderr: e.message }));
          systemState = s.stdout.trim() || `error: ${s.stderr.trim()}`;
        }
        return { name: r.pub.name, address: r.pub.address, launcherAlive, initPid, systemState, frozen: r.frozen, partitioned: r.partitioned };
      }),
    );
  }

  // ---- teardown

  down(): Promise<void> {
    if (!this.downPromise) this.downPromise = this.doDown();
    return this.downPromise;
  }

  private async doDown(): Promise<void> {
    const t0 = Date.now();
    // 1. thaw and continue, else the power-off is not acted upon
    cgFreeze(this.v2, CG_BASE, false);
    for (const p of cgPids(this.roots, CG_BASE)) signal(p, 'SIGCONT');
    // 2. graceful power-off: the launcher forwards SIGTERM to nspawn and does not boot again
    const launchers = this.rts.map((r) => r.launcherPid).filter((p): p is number => isAlive(p));
    for (const p of launchers) signal(p, 'SIGTERM');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && launchers.some((p) => isAlive(p))) await sleep(20);
    // 3. whatever is left, until the cgroups are empty; the overlay and tmpfs go with the namespaces
    const seen = await cgKill(this.roots, this.v2, CG_BASE, 10_000);
    // 4. cgroups depth-first, nft table, overlay dirs (logs stay)
    const failed = cgRemove(this.roots, CG_BASE);
    if (hasBinary('nft')) await run('nft', ['delete', 'table', 'inet', NFT_TABLE], { env: TOOL_ENV });
    this.nftReady = false;
    removeOverlays(this.dir);
    this.downDone = true;
    forget(this);
    releaseLock();
    const left = await waitGone([...new Set([...seen, ...launchers])], 3000);
    trace(`down in ${Date.now() - t0} ms`);
    if (failed.length) throw new Error(`system test hosts down: cannot remove cgroups ${failed.join(' ')}`);
    if (left.length) process.stderr.write(`[syshosts] down: ${left.length} zombie(s) not yet reaped by PID 1 after ${Date.now() - t0} ms\n`);
  }

  /** Best-effort synchronous teardown for process exit and signals. */
  downSync(): void {
    if (this.downDone) return;
    this.downDone = true;
    forget(this);
    try {
      cgKillSync(this.roots, this.v2, CG_BASE, 10_000);
      cgRemove(this.roots, CG_BASE);
    } finally {
      if (hasBinary('nft')) spawnSync('nft', ['delete', 'table', 'inet', NFT_TABLE], { stdio: 'ignore', env: TOOL_ENV });
      // the namespaces holding the overlays may outlive the kill by a moment
      try {
        removeOverlays(this.dir);
      } catch {
        /* best effort */
      }
      releaseLock();
    }
  }

  register(): void {
    remember(this, 'syshosts');
  }
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.on('connect', () => done(true));
    s.on('error', () => done(false));
  });
}

function perHost<T>(v: T | T[] | undefined, i: number, dflt: T): T {
  if (Array.isArray(v)) return v[i] ?? dflt;
  return v ?? dflt;
}

// ------------------------------------------------------------------ up

function checkPrereqs(): void {
  if (process.getuid?.() !== 0) throw new Error('the system test hosts must run as root');
  const missing = ['systemd-nspawn', 'unshare', 'nsenter', 'mount', 'ss'].filter((b) => !hasBinary(b));
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: run test/harness/install-deps.sh`);
}

/** Raises root's inotify instance limit (every host's systemd is uid 0 of the machine); never lowers it. */
function raiseInotify(n: number): void {
  const f = '/proc/sys/fs/inotify/max_user_instances';
  try {
    const cur = parseInt(fs.readFileSync(f, 'utf8'), 10);
    const want = 128 + 16 * n + 64;
    if (cur < want) fs.writeFileSync(f, String(want));
  } catch {
    /* not fatal: at worst hosts beyond ~15 fail to boot, with a clear error */
  }
}

export async function upSystem(n: number, opts: SystemUpOptions = {}): Promise<SystemCluster> {
  if (!Number.isInteger(n) || n < 1 || n > MAX_HOSTS) throw new Error(`upSystem: bad host count ${n} (1..${MAX_HOSTS})`);
  checkPrereqs();
  const { roots, v2 } = cgroupRoots();
  const dir = path.resolve(opts.dir ?? DEFAULT_DIR);
  const prefix = opts.namePrefix ?? 'sys';
  traceT0 = Date.now();
  const rootfs = await ensureRootfs(opts.build ?? true);
  trace('rootfs ready');
  const { staleDir } = await lock.acquire(dir, { timeoutMs: opts.lockTimeoutMs ?? 300_000 });
  trace('lock acquired');
  let cluster: SystemClusterImpl | undefined;
  try {
    await cleanupStale(roots, v2, [dir, ...(staleDir ? [staleDir] : [])]);

    const listeners = await tcpListeners();
    const wildcard22 = listeners.some((l) => l.port === 22 && ['0.0.0.0', '::', '*'].includes(l.addr));
    const addrs = Array.from({ length: n }, (_, i) => `127.0.2.${11 + i}`);
    const ports = addrs.map((_, i) => (wildcard22 ? 2300 + 1 + i : 22));
    const busy = addrs.filter((a, i) => listeners.some((l) => l.port === ports[i] && (l.addr === a || ['0.0.0.0', '::', '*'].includes(l.addr))));
    if (busy.length) throw new Error(`system test hosts: something already listens on ${busy.map((a, i) => `${a}:${ports[i]}`).join(' ')}`);
    const etcdPorts = [opts.etcdClientPort ?? 12479, opts.etcdPeerPort ?? 12480];
    if (opts.etcd && listeners.some((l) => etcdPorts.includes(l.port))) throw new Error(`system test hosts: etcd ports already in use: ${etcdPorts.join(' ')}`);
    raiseInotify(n);

    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    fs.rmSync(path.join(dir, 'hosts'), { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, 'hosts'), { mode: 0o755 });
    const clientKey = generateEd25519('ggn-syshosts-client');
    const clientKeyPath = path.join(dir, 'client_ed25519');
    const knownHostsPath = path.join(dir, 'known_hosts');
    writeOwned(clientKeyPath, clientKey.privateKey, 0o600);
    writeOwned(clientKeyPath + '.pub', clientKey.publicKey + '\n', 0o644);

    const rts: HostRt[] = [];
    const known: string[] = [];
    const sshCfg: string[] = ['# generated by test/harness/system-hosts.ts', ''];
    for (let i = 0; i < n; i++) {
      const name = `${prefix}${i + 1}`;
      const hostKey = generateEd25519(`root@${name}`);
      const pubNoComment = hostKey.publicKey.split(' ').slice(0, 2).join(' ');
      const pub: SystemHost = {
        name,
        address: addrs[i],
        port: ports[i],
        user: 'deploy',
        identityFile: clientKeyPath,
        knownHostsFile: knownHostsPath,
        hostKeyPub: pubNoComment,
        cgroup: path.join(CG_BASE, name),
        sudo: perHost(opts.sudo, i, 'nopasswd' as SudoMode),
        rootLogin: perHost(opts.rootLogin, i, false),
      };
      const hostDir = path.join(dir, 'hosts', name);
      const rt: HostRt = {
        pub,
        hostDir,
        upper: path.join(hostDir, 'upper'),
        work: path.join(hostDir, 'work'),
        root: path.join(hostDir, 'root'),
        log: path.join(hostDir, 'console.log'),
        launchScript: path.join(hostDir, 'launch.sh'),
        frozen: false,
        partitioned: false,
      };
      rts.push(rt);
      for (const d of [hostDir, rt.upper, rt.work, rt.root]) fs.mkdirSync(d, { recursive: true, mode: 0o755 });
      fs.writeFileSync(rt.log, '');

      // the host's own files, in the upper dir before it is mounted (never while it is)
      const U = rt.upper;
      for (const d of ['etc/ssh/sshd_config.d', 'etc/sudoers.d', 'home/deploy/.ssh', 'root/.ssh']) upperDir(rootfs, U, d);
      writeOwned(path.join(U, 'etc/hostname'), `${name}\n`, 0o644);
      // without the hostname in /etc/hosts every sudo prints "unable to resolve host"
      writeOwned(path.join(U, 'etc/hosts'), `127.0.0.1\tlocalhost\n127.0.1.1\t${name}\n::1\tlocalhost ip6-localhost ip6-loopback\n`, 0o644);
      writeOwned(path.join(U, 'etc/machine-id'), fs.readFileSync('/proc/sys/kernel/random/uuid', 'utf8').trim().replace(/-/g, '') + '\n', 0o444);
      writeOwned(path.join(U, 'etc/ssh/ssh_host_ed25519_key'), hostKey.privateKey, 0o600);
      writeOwned(path.join(U, 'etc/ssh/ssh_host_ed25519_key.pub'), hostKey.publicKey + '\n', 0o644);
      writeOwned(path.join(U, 'etc/ssh/sshd_config.d/10-ggn-test.conf'), sshdDropIn(pub), 0o644);
      writeOwned(path.join(U, 'etc/sudoers.d/deploy'), sudoersLine(pub.sudo), 0o440);
      writeOwned(path.join(U, 'home/deploy/.ssh/authorized_keys'), clientKey.publicKey + '\n', 0o600, DEPLOY_UID, DEPLOY_UID);
      if (pub.rootLogin) writeOwned(path.join(U, 'root/.ssh/authorized_keys'), clientKey.publicKey + '\n', 0o600);
      writeOwned(rt.launchScript, launchScriptText(rt, rootfs, roots), 0o700);

      known.push(pub.port === 22 ? `${name},${pub.address} ${pubNoComment}` : `[${name}]:${pub.port},[${pub.address}]:${pub.port} ${pubNoComment}`);
      sshCfg.push(
        `Host ${name}`,
        `  HostName ${pub.address}`,
        `  Port ${pub.port}`,
        '  User deploy',
        `  IdentityFile ${clientKeyPath}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${knownHostsPath}`,
        '  GlobalKnownHostsFile /dev/null',
        '  StrictHostKeyChecking yes',
        '  HostKeyAlgorithms ssh-ed25519',
        '  KexAlgorithms curve25519-sha256',
        '  CheckHostIP no',
        '  BatchMode yes',
        '  ConnectTimeout 5',
        '  LogLevel ERROR',
        '',
      );
    }
    fs.writeFileSync(knownHostsPath, known.join('\n') + '\n', { mode: 0o644 });
    fs.writeFileSync(path.join(dir, 'ssh_config'), sshCfg.join('\n'), { mode: 0o644 });
    trace('files written');

    cluster = new SystemClusterImpl(dir, rootfs, rts);
    cluster.register();
    const c = cluster;
    const etcdP = opts.etcd
      ? startEtcd({ dir, roots, cgroup: path.join(CG_BASE, 'etcd'), clientPort: etcdPorts[0], peerPort: etcdPorts[1] }).then((e) => {
          c.etcd = { endpoint: e.endpoint };
        })
      : Promise.resolve();
    for (const r of rts) c.launch(r);
    trace('launched');
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
    const results = await Promise.allSettled([etcdP, ...rts.map((r) => c.waitReady(r, deadline))]);
    const errors = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected').map((x) => (x.reason as Error).message);
    if (errors.length) throw new Error(`system test hosts did not come up (${errors.length} failure(s)):\n${errors.slice(0, 3).join('\n\n')}`);
    trace('all running');
    return c;
  } catch (e) {
    if (cluster) await cluster.down().catch(() => undefined);
    else releaseLock();
    throw e;
  }
}

export const DEFAULT_SYSTEM_HOSTS_DIR = DEFAULT_DIR;
