// One small interface over both kinds of test host, so that the live integration suites run in
// both scopes: the user-scope cluster (cluster.ts: `systemd --user` managers, `scope: user`) and
// the system hosts (system-hosts.ts: real system managers in nspawn, `scope: system` with
// `sudo: true` for the login deploy). Assertions go through it for everything that differs:
// where units and ggn's state live, who owns them, how to run systemctl, how to read a file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { up, type Cluster, type TestHost } from './cluster';
import { upSystem, type SystemCluster, type SystemHost } from './system-hosts';
import { run, TOOL_ENV, type RunResult } from './sys';

export type Scope = 'user' | 'system';

/** What a test needs to know about a host to reach it with ggn. */
export interface LiveHost {
  name: string;
  address: string;
  port: number;
  /** The ssh login. */
  user: string;
}

export interface HostExecOptions {
  input?: string;
  timeoutMs?: number;
}

export interface FileStat {
  uid: number;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  isDirectory: boolean;
}

export interface HostCluster {
  readonly scope: Scope;
  readonly hosts: LiveHost[];
  /** The harness's state dir (keys, logs). */
  readonly dir: string;
  readonly clientKeyPath: string;
  readonly knownHostsPath: string;
  /** `ssh -F <it> <name> ...` reaches a host as its login. */
  readonly sshConfigPath: string;
  readonly etcd?: { endpoint: string };

  /** SIGKILL of the whole host: new connections are refused. */
  kill(h: LiveHost): Promise<void>;
  /** A reboot after a power cut (or a kill): a fresh manager, the disk kept. */
  restart(h: LiveHost): Promise<void>;
  /** The host stops answering (TCP still accepted): `resume` undoes it. */
  hang(h: LiveHost): Promise<void>;
  resume(h: LiveHost): Promise<void>;
  /** Every packet to and from the host is dropped: `heal` undoes it. */
  partition(h: LiveHost): Promise<void>;
  heal(h: LiveHost): Promise<void>;

  /** Runs argv on the host as its login, without ssh. */
  exec(h: LiveHost, argv: string[], opts?: HostExecOptions): Promise<RunResult>;
  /** Runs argv on the host as root, without ssh (user scope: on this machine). */
  execRoot(h: LiveHost, argv: string[], opts?: HostExecOptions): Promise<RunResult>;
  /** `systemctl` of the manager ggn drives (`--user` as the login, or the system's as root); stdout, trimmed. */
  systemctl(h: LiveHost, ...args: string[]): Promise<string>;

  /** Where ggn puts unit files: ~/.config/systemd/user or /etc/systemd/system. */
  unitDir(h: LiveHost): string;
  /** ggn's state (revisions, audit log, ssh locks): ~/.local/state/ggn or /var/lib/ggn. */
  stateDir(h: LiveHost): string;
  /** The login's home ($HOME of health checks and `ggn ssh`). */
  loginHome(h: LiveHost): string;
  /** %h of the units: the login's home, or /root for system units. */
  unitHome(h: LiveHost): string;
  /** Who owns the files ggn writes: the login's uid, or root. */
  ownerUid(h: LiveHost): number;

  /** A file on the host; null when there is none. */
  read(h: LiveHost, file: string): Promise<string | null>;
  write(h: LiveHost, file: string, content: string): Promise<void>;
  remove(h: LiveHost, file: string): Promise<void>;
  /** Names in a directory; [] when there is none. */
  list(h: LiveHost, dir: string): Promise<string[]>;
  stat(h: LiveHost, file: string): Promise<FileStat | null>;
  mkdir(h: LiveHost, dir: string): Promise<void>;

  down(): Promise<void>;
}

export interface HostsOptions {
  /** A name for this suite's state dir (e.g. "rollout"). */
  name: string;
  etcd?: boolean;
}

/**
 * The scopes the live suites run in: both, or the one named by GGN_TEST_SCOPE (user | system)
 * while iterating.
 */
export function scopes(): Scope[] {
  const s = process.env.GGN_TEST_SCOPE;
  if (s === 'user' || s === 'system') return [s];
  if (s && s !== 'both') throw new Error(`GGN_TEST_SCOPE=${s}: use user, system or both`);
  return ['user', 'system'];
}

export async function upHosts(scope: Scope, n: number, opts: HostsOptions): Promise<HostCluster> {
  if (scope === 'user') return new UserHosts(await up(n, { dir: `/tmp/ggn-test-${opts.name}`, etcd: opts.etcd }));
  return new SystemHosts(await upSystem(n, { dir: `/tmp/ggn-syshosts-${opts.name}`, etcd: opts.etcd }));
}

const ok = (r: RunResult, what: string) => {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr.trim()}`);
  return r;
};

class UserHosts implements HostCluster {
  readonly scope = 'user' as const;
  constructor(private readonly c: Cluster) {}
  get hosts(): TestHost[] {
    return this.c.hosts;
  }
  get dir() {
    return this.c.dir;
  }
  get clientKeyPath() {
    return this.c.clientKeyPath;
  }
  get knownHostsPath() {
    return this.c.knownHostsPath;
  }
  get sshConfigPath() {
    return this.c.sshConfigPath;
  }
  get etcd() {
    return this.c.etcd;
  }
  private h(h: LiveHost): TestHost {
    return this.c.host(h.name);
  }
  kill(h: LiveHost) {
    return this.c.kill(h.name);
  }
  restart(h: LiveHost) {
    return this.c.restart(h.name);
  }
  hang(h: LiveHost) {
    return this.c.hang(h.name);
  }
  resume(h: LiveHost) {
    return this.c.resume(h.name);
  }
  partition(h: LiveHost) {
    return this.c.partition(h.name);
  }
  heal(h: LiveHost) {
    return this.c.heal(h.name);
  }
  exec(h: LiveHost, argv: string[], opts: HostExecOptions = {}) {
    return this.c.exec(h.name, argv, opts);
  }
  async execRoot(_h: LiveHost, argv: string[], opts: HostExecOptions = {}) {
    return run(argv[0], argv.slice(1), { env: TOOL_ENV, input: opts.input, timeoutMs: opts.timeoutMs ?? 30_000 });
  }
  async systemctl(h: LiveHost, ...args: string[]) {
    return (await this.c.exec(h.name, ['systemctl', '--user', ...args])).stdout.trim();
  }
  unitDir(h: LiveHost) {
    return path.join(this.h(h).home, '.config/systemd/user');
  }
  stateDir(h: LiveHost) {
    return path.join(this.h(h).home, '.local/state/ggn');
  }
  loginHome(h: LiveHost) {
    return this.h(h).home;
  }
  unitHome(h: LiveHost) {
    return this.h(h).home;
  }
  ownerUid(h: LiveHost) {
    return this.h(h).uid;
  }
  // The hosts' files are this machine's: plain fs (as root).
  async read(_h: LiveHost, file: string) {
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
  }
  async write(h: LiveHost, file: string, content: string) {
    fs.writeFileSync(file, content);
    const t = this.h(h);
    fs.chownSync(file, t.uid, t.gid);
  }
  async remove(_h: LiveHost, file: string) {
    fs.rmSync(file, { recursive: true, force: true });
  }
  async list(_h: LiveHost, dir: string) {
    return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
  }
  async stat(_h: LiveHost, file: string) {
    if (!fs.existsSync(file)) return null;
    const st = fs.statSync(file);
    return { uid: st.uid, mode: st.mode & 0o7777, isDirectory: st.isDirectory() };
  }
  async mkdir(h: LiveHost, dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    const t = this.h(h);
    fs.chownSync(dir, t.uid, t.gid);
  }
  down() {
    return this.c.down();
  }
}

class SystemHosts implements HostCluster {
  readonly scope = 'system' as const;
  constructor(private readonly c: SystemCluster) {}
  get hosts(): SystemHost[] {
    return this.c.hosts;
  }
  get dir() {
    return this.c.dir;
  }
  get clientKeyPath() {
    return this.c.clientKeyPath;
  }
  get knownHostsPath() {
    return this.c.knownHostsPath;
  }
  get sshConfigPath() {
    return this.c.sshConfigPath;
  }
  get etcd() {
    return this.c.etcd;
  }
  kill(h: LiveHost) {
    return this.c.kill(h.name);
  }
  restart(h: LiveHost) {
    return this.c.restart(h.name);
  }
  hang(h: LiveHost) {
    return this.c.hang(h.name);
  }
  resume(h: LiveHost) {
    return this.c.resume(h.name);
  }
  partition(h: LiveHost) {
    return this.c.partition(h.name);
  }
  heal(h: LiveHost) {
    return this.c.heal(h.name);
  }
  exec(h: LiveHost, argv: string[], opts: HostExecOptions = {}) {
    return this.c.exec(h.name, argv, { ...opts, user: h.user });
  }
  execRoot(h: LiveHost, argv: string[], opts: HostExecOptions = {}) {
    return this.c.exec(h.name, argv, opts);
  }
  async systemctl(h: LiveHost, ...args: string[]) {
    return (await this.c.exec(h.name, ['systemctl', ...args])).stdout.trim();
  }
  unitDir() {
    return '/etc/systemd/system';
  }
  stateDir() {
    return '/var/lib/ggn';
  }
  loginHome(h: LiveHost) {
    return `/home/${h.user}`;
  }
  unitHome() {
    return '/root';
  }
  ownerUid() {
    return 0;
  }
  async read(h: LiveHost, file: string) {
    const r = await this.c.exec(h.name, ['sh', '-c', 'if [ -f "$1" ]; then echo y; cat "$1"; else echo n; fi', 'sh', file]);
    ok(r, `reading ${file} on ${h.name}`);
    return r.stdout.startsWith('y\n') ? r.stdout.slice(2) : null;
  }
  async write(h: LiveHost, file: string, content: string) {
    ok(await this.c.exec(h.name, ['sh', '-c', 'cat > "$1"', 'sh', file], { input: content }), `writing ${file} on ${h.name}`);
  }
  async remove(h: LiveHost, file: string) {
    ok(await this.c.exec(h.name, ['rm', '-rf', '--', file]), `removing ${file} on ${h.name}`);
  }
  async list(h: LiveHost, dir: string) {
    const r = ok(await this.c.exec(h.name, ['sh', '-c', '[ -d "$1" ] || exit 0; ls -A1 -- "$1"', 'sh', dir]), `listing ${dir} on ${h.name}`);
    return r.stdout.split('\n').filter(Boolean).sort();
  }
  async stat(h: LiveHost, file: string) {
    const r = ok(await this.c.exec(h.name, ['sh', '-c', '[ -e "$1" ] || exit 0; stat -c "%u %a %F" -- "$1"', 'sh', file]), `stat ${file} on ${h.name}`);
    const m = /^(\d+) ([0-7]+) (.*)$/.exec(r.stdout.trim());
    return m ? { uid: Number(m[1]), mode: parseInt(m[2], 8), isDirectory: m[3] === 'directory' } : null;
  }
  async mkdir(h: LiveHost, dir: string) {
    ok(await this.c.exec(h.name, ['mkdir', '-p', '--', dir]), `mkdir ${dir} on ${h.name}`);
  }
  down() {
    return this.c.down();
  }
}
