/** Runs the real `ggn` binary (bin/ggn.js over the compiled dist/) and captures everything. */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const GGN = path.join(ROOT, 'bin', 'ggn.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `update` and `rollback` wait `--settle` (1s by default) for every service they start; the
 * tests' units start in milliseconds, so they settle for 100 ms unless a test says otherwise
 * (test/integration/rollout.test.ts checks the default itself).
 */
export function withTestSettle(args: string[]): string[] {
  const rollout = args.includes('update') || args.includes('rollback');
  if (!rollout || args.some((a) => a === '--settle' || a.startsWith('--settle=') || a === '--help' || a === '-h' || a === '--')) return args;
  return [...args, '--settle', '100ms'];
}

export function ggn(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; defaultSettle?: boolean } = {}): Run {
  const r = spawnSync(process.execPath, [GGN, ...(opts.defaultSettle ? args : withTestSettle(args))], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    input: opts.input ?? '',
    encoding: 'utf8',
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * tmpfs when there is one, else the temp dir: thousands of files created and deleted on a disk
 * mounted with `discard` (this machine's ext4) stall it for seconds, which a benchmark would
 * measure and a test would wait for.
 */
export function scratchRoot(): string {
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ggn-${prefix}-`));
}

/** Every file below `dir`, as relative paths, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out.push(path.relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

/** A work tree in a temp dir with a home whose config.yml points at it. */
export function scratchTree(files: Record<string, string>, homeExtra = ''): { work: string; home: string } {
  const base = tmpDir('tree');
  const work = path.join(base, 'work');
  const home = path.join(base, 'home');
  for (const [rel, content] of Object.entries(files)) {
    const f = path.join(work, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, content);
  }
  fs.mkdirSync(path.join(work, 'env'), { recursive: true });
  fs.mkdirSync(home, { recursive: true });
  fs.writeFileSync(path.join(home, 'config.yml'), `workPath: ${work}\n${homeExtra}`);
  return { work, home };
}

export interface Background {
  process: ChildProcess;
  done: Promise<Run>;
  /** Resolves when a JSON event line on stdout matches. */
  until(test: (e: any) => boolean): Promise<void>;
}

/** Starts ggn in the background (for signals and concurrency), collecting its output. */
export function background(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Background {
  const p = spawn(process.execPath, [GGN, ...withTestSettle(args)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...opts.env } });
  let stdout = '';
  let stderr = '';
  let partial = '';
  const waiters: { test: (e: any) => boolean; resolve: () => void }[] = [];
  p.stdout!.on('data', (d) => {
    stdout += d;
    const lines = (partial + String(d)).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      let e: any;
      try {
        e = JSON.parse(line);
      } catch {
        continue;
      }
      for (const w of [...waiters]) {
        if (w.test(e)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    }
  });
  p.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Run>((resolve) =>
    p.on('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 + (({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1 } as Record<string, number>)[signal] ?? 0) : -1),
        stdout,
        stderr,
      }),
    ),
  );
  return { process: p, done, until: (test) => new Promise<void>((resolve) => waiters.push({ test, resolve })) };
}

/**
 * Runs ggn on a real pseudo-terminal (test/support/pty-run.py, Python's pty module) and types
 * each `send` once its `expect` has appeared. `output` is what the terminal was sent, escape
 * sequences removed; `raw` as it was sent (for test/support/screen.ts: what it showed).
 */
export function ggnOnTerminal(
  args: string[],
  answers: { expect: string; send: string }[],
  opts: { env?: NodeJS.ProcessEnv } = {},
): { code: number; output: string; raw: string } {
  const r = spawnSync('python3', [path.join(ROOT, 'test/support/pty-run.py'), JSON.stringify(answers), process.execPath, GGN, ...withTestSettle(args)], {
    env: { ...process.env, TERM: 'xterm-256color', NO_COLOR: '1', ...opts.env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences are what is removed
  const output = (r.stdout ?? '').replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r/g, '');
  return { code: r.status ?? -1, output, raw: r.stdout ?? '' };
}
