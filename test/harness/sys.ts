// Low-level helpers for the test-cluster harness: processes, cgroups, small waits.
import { spawn, SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Spawns argv[0] with args, collects output. Never rejects on a non-zero exit; rejects on spawn failure. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const so: SpawnOptions = { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd };
    const child = spawn(cmd, args, so);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      let stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) stderr += `\n[harness] ${cmd} killed after ${opts.timeoutMs} ms`;
      resolve({
        code: code ?? 128 + (signal ? signalNumber(signal) : 0),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr,
      });
    });
    if (opts.timeoutMs) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, opts.timeoutMs);
    }
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(opts.input ?? '');
  });
}

function signalNumber(sig: NodeJS.Signals): number {
  const n = (require('node:os') as typeof import('node:os')).constants.signals[sig];
  return typeof n === 'number' ? n : 0;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const sab = new Int32Array(new SharedArrayBuffer(4));
export function sleepSync(ms: number): void {
  Atomics.wait(sab, 0, 0, ms);
}

/** Process state letter from /proc/PID/stat, or undefined when the pid does not exist. */
export function procState(pid: number): string | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** Start time (clock ticks since boot) of a pid, used to detect pid reuse. */
export function procStartTime(pid: number): string | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Alive = exists and is not a zombie (kill -0 succeeds on zombies). */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  const st = procState(pid);
  return st !== undefined && st !== 'Z' && st !== 'X';
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

export function readPidFile(file: string): number | undefined {
  try {
    const n = parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isFinite(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export function tail(file: string, lines = 20): string {
  try {
    const t = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    return t.slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

// ---------------------------------------------------------------- cgroups

/**
 * Hierarchies a test host's processes are placed in. On the hybrid layout (this machine) the
 * same relative path is created in cgroup2 (`unified`) and in the named v1 `name=systemd`
 * hierarchy; on a pure cgroup2 machine only /sys/fs/cgroup is used.
 */
export function cgroupRoots(): { roots: string[]; v2: string } {
  if (fs.existsSync('/sys/fs/cgroup/unified/cgroup.procs') && fs.existsSync('/sys/fs/cgroup/systemd/cgroup.procs')) {
    return { roots: ['/sys/fs/cgroup/unified', '/sys/fs/cgroup/systemd'], v2: '/sys/fs/cgroup/unified' };
  }
  if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    return { roots: ['/sys/fs/cgroup'], v2: '/sys/fs/cgroup' };
  }
  throw new Error('no usable cgroup hierarchy (need cgroup2 at /sys/fs/cgroup or /sys/fs/cgroup/unified)');
}

function subdirs(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => path.join(dir, d.name));
  } catch {
    return [];
  }
}

/** All directories of a cgroup subtree, parents before children. */
export function cgTree(absDir: string): string[] {
  if (!fs.existsSync(absDir)) return [];
  const out = [absDir];
  for (let i = 0; i < out.length; i++) out.push(...subdirs(out[i]));
  return out;
}

/** Every pid listed in cgroup.procs anywhere under rel, in every hierarchy. Zombies are not listed. */
export function cgPids(roots: string[], rel: string): number[] {
  const pids = new Set<number>();
  for (const root of roots) {
    for (const d of cgTree(path.join(root, rel))) {
      let txt = '';
      try {
        txt = fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8');
      } catch {
        continue;
      }
      for (const l of txt.split('\n')) {
        const n = parseInt(l, 10);
        if (n > 0) pids.add(n);
      }
    }
  }
  return [...pids];
}

/** Writes cgroup.freeze in every cgroup2 group of the subtree that has it (0 = thaw). */
export function cgFreeze(v2root: string, rel: string, on: boolean): void {
  for (const d of cgTree(path.join(v2root, rel))) {
    try {
      fs.writeFileSync(path.join(d, 'cgroup.freeze'), on ? '1' : '0');
    } catch {
      /* root of hierarchy or gone */
    }
  }
}

/** One round: SIGKILL what is in the subtree. True when it is empty; throws past the deadline. */
function killRound(roots: string[], rel: string, seen: Set<number>, deadline: number): boolean {
  const pids = cgPids(roots, rel);
  if (pids.length === 0) return true;
  for (const p of pids) {
    seen.add(p);
    signal(p, 'SIGKILL');
  }
  if (Date.now() > deadline) throw new Error(`cgroup ${rel} still has processes: ${pids.join(' ')}`);
  return false;
}

/** SIGKILL everything in the subtree until it is empty. Returns every pid seen. Synchronous. */
export function cgKillSync(roots: string[], v2root: string, rel: string, maxMs = 5000): number[] {
  cgFreeze(v2root, rel, false);
  const seen = new Set<number>();
  const deadline = Date.now() + maxMs;
  while (!killRound(roots, rel, seen, deadline)) sleepSync(5);
  return [...seen];
}

/** Async variant of cgKillSync that yields to the event loop between rounds. */
export async function cgKill(roots: string[], v2root: string, rel: string, maxMs = 5000): Promise<number[]> {
  cgFreeze(v2root, rel, false);
  const seen = new Set<number>();
  const deadline = Date.now() + maxMs;
  while (!killRound(roots, rel, seen, deadline)) await sleep(5);
  return [...seen];
}

/** rmdir the subtree depth-first in every hierarchy. Returns directories that could not be removed. */
export function cgRemove(roots: string[], rel: string): string[] {
  const failed: string[] = [];
  for (const root of roots) {
    const dirs = cgTree(path.join(root, rel)).reverse();
    for (const d of dirs) {
      try {
        fs.rmdirSync(d);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') failed.push(d);
      }
    }
  }
  return failed;
}

export function cgCreate(roots: string[], rel: string, owner?: { uid: number; gid: number }): void {
  for (const root of roots) {
    const d = path.join(root, rel);
    fs.mkdirSync(d, { recursive: true });
    if (owner) {
      fs.chownSync(d, owner.uid, owner.gid);
      for (const f of fs.readdirSync(d)) fs.chownSync(path.join(d, f), owner.uid, owner.gid);
    }
  }
}

/** Puts an existing pid into rel in every hierarchy. */
export function cgAttach(roots: string[], rel: string, pid: number): void {
  for (const root of roots) fs.writeFileSync(path.join(root, rel, 'cgroup.procs'), String(pid));
}

/** Waits (bounded) until none of the pids exists any more, zombies included (PID 1 reaps every ~2 s). */
export async function waitGone(pids: number[], maxMs: number): Promise<number[]> {
  const deadline = Date.now() + maxMs;
  let left = pids.filter((p) => procState(p) !== undefined);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = left.filter((p) => procState(p) !== undefined);
  }
  return left;
}

/** TCP listeners as [address, port] pairs from `ss -ltnH`. */
export async function tcpListeners(): Promise<Array<{ addr: string; port: number }>> {
  const r = await run('ss', ['-ltnH']);
  if (r.code !== 0) throw new Error(`ss -ltnH failed: ${r.stderr}`);
  const out: Array<{ addr: string; port: number }> = [];
  for (const line of r.stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4) continue;
    const local = cols[3];
    const i = local.lastIndexOf(':');
    if (i < 0) continue;
    let addr = local.slice(0, i).replace(/^\[|\]$/g, '');
    addr = addr.replace(/%.*$/, '');
    out.push({ addr, port: parseInt(local.slice(i + 1), 10) });
  }
  return out;
}

/** The environment of the tools the harnesses run (a fixed PATH, a known locale). */
export const TOOL_ENV: NodeJS.ProcessEnv = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };

/** A word for a shell script, single-quoted. */
export function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function hasBinary(name: string): boolean {
  return TOOL_ENV.PATH!.split(':').some((d) => fs.existsSync(path.join(d, name)));
}

/** Writes a file with exactly this mode and owner (whatever the umask). */
export function writeOwned(file: string, data: string, mode: number, uid = 0, gid = 0): void {
  fs.writeFileSync(file, data, { mode });
  fs.chmodSync(file, mode);
  fs.chownSync(file, uid, gid);
}
