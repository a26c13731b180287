/**
 * Env hooks: executables under `env/<dir>/hooks/{early,late,command}/` run on the client around
 * actions.
 *
 * WHAT GGN DID (blablacar/ggn, read from the repository's history):
 *   - work/env.go (newest version, `runHookAndGetNumRun`): `ioutil.ReadDir(env/<dir>/hooks/<kind>)`
 *     (entries sorted by name), every entry that is not a directory is run, one after the other,
 *     as `bash -c "K='v' K2='v2' ... /abs/path/to/hook"` with the variables
 *       ENVDIR        the env DIRECTORY NAME (e.g. `prod-dc1`), not a path
 *       ENV           `envName` from config.yml, defaulting to the directory name
 *       COMMAND       the command being run, e.g. `service/update`, `restart`
 *       UNIT          the unit's GGN name (the node hostname, `w1`, or `w1.timer`), only for units
 *       SERVICE       the service name, only for service/unit actions
 *       WHO           user@localhost (ggn.GetUserAndHost, see tree/home.ts whoAmI)
 *       ACTION        `unit/<action>`, `service/<action>`, `env/check`
 *       ATTRIBUTES    json.Marshal of the attributes (unit: its generated attributes; service:
 *                     the service attributes; absent for env-level hooks)
 *       GGN_HOME_PATH the home folder (-H)
 *       LOG_LEVEL     the current log level (go-erlog's level name)
 *     layered over ggn's own environment (bash inherits it); stdout/stderr went to the terminal.
 *     A missing hooks directory is not an error (nothing runs).
 *   - The first hook that fails stops the list. `RunEarlyHookFatal` / `RunLateHookFatal` then
 *     exit ggn (logs.Fatal); older versions (work/env/service/unit-command.go, work/unit.go)
 *     called RunEarlyHook/RunLateHook with the same fatal behaviour. Late hooks were `defer`red,
 *     so they also ran after a failed action.
 *   - Since the file is exec'd by bash, a non-executable file fails (`Permission denied`,
 *     exit 126) and aborts; a text file without `#!` is interpreted by bash.
 *   - Actions nest: unit `restart` runs the `unit/restart` hooks around `unit/stop` and
 *     `unit/start` (each with their own early/late hooks) and `service/lock`/`service/unlock`.
 *     `service update` runs the `service/update` early hook once, before the first unit it
 *     updates (work/service-update.go, `globalUpdater`).
 *   - `Env.RunHook(info)` runs `hooks/command/` the same way but RETURNS the error of the first
 *     failing hook instead of exiting (work/env.go). Its caller, an availability check after a
 *     unit is (re)started, is not in the versions of the repository we could read, so
 *     `runAvailabilityHooks` implements the closest faithful equivalent: the `command` hooks are a
 *     gate that passes when every hook exits 0, retried until a deadline.
 *
 * WHAT WE DO
 *   - Same directories, same order (byte order of names), same variables; also `HOST` (the machine
 *     name) for availability hooks. Hooks are spawned directly (`spawn(file, [])`, no shell string
 *     building); a file that does not start with `#!` (or an ELF header) is run with `bash file`,
 *     as bash -c did. cwd is the env directory (GGN used ggn's cwd). stdin is closed (GGN passed
 *     the terminal's) because the task list owns the terminal; stdout and stderr are captured
 *     (interleaved) and returned.
 *   - Variables we do not set (UNIT for service actions, SERVICE/UNIT for env actions) are removed
 *     from the inherited environment so a stale value cannot leak into a hook.
 *   - Non-executable files fail with code 126 as they did in GGN (silently skipping a gate that
 *     lost its +x bit would be unsafe). Deviation: dot-files (`.gitkeep`, editor swap files) are
 *     skipped with a reason; GGN would have tried (and failed) to run them.
 *   - Early hooks: the first failure stops the list and throws a GgnError naming the hook, its exit
 *     and the last lines of its output. Late hooks: all run, failures are returned, not thrown
 *     (the action already happened; the caller reports them).
 *   - A hook that outlives `timeoutMs` or is aborted is killed with its process group (SIGTERM,
 *     then SIGKILL after 2 s); hooks run in their own process group for that reason.
 *   - ATTRIBUTES is also written to a private file named by ATTRIBUTES_FILE (removed when the hooks
 *     are done). Linux refuses one environment variable over 128 KiB (`spawn E2BIG`, every hook
 *     failing, which GGN suffered too): over that size ATTRIBUTES is left out, ATTRIBUTES_FILE
 *     still works.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgnError } from '../errors';
import { goJsonMarshal } from '../template/funcs/gojson';
import { GoMap } from '../template/values';
import { Env } from '../tree/env';
import { Clock, realClock } from './types';

export interface HookInfo {
  env: Env;
  service?: string;
  /** GGN's unit name (node hostname, `w1` or `w1.timer`). */
  unit?: string;
  /** e.g. 'service/update', 'unit/restart' */
  action: string;
  /** the CLI verb, e.g. 'service/update', 'restart' */
  command: string;
  /** user@host, see whoAmI */
  who: string;
  /** JSON of the attributes (hookAttributes); '' for env-level hooks */
  attributes: string;
  logLevel: string;
}

export type HookKind = 'early' | 'late' | 'command';

export interface HookRun {
  /** Path relative to the env directory, e.g. `hooks/early/10-notify`. */
  name: string;
  ok: boolean;
  /** Exit code; null when killed by a signal or never started. */
  code: number | null;
  /** stdout and stderr, interleaved, at most the last 64 KiB. */
  output: string;
  ms: number;
  /** Set when the file was not run (dot-file); ok is true then. */
  skipped?: string;
  /** Set when the hook was killed (timeout/abort) or could not be spawned. */
  error?: string;
}

export interface HookOptions {
  signal?: AbortSignal;
  /** Per hook; default: no limit. */
  timeoutMs?: number;
  /** For timings only; default realClock. */
  clock?: Clock;
}

const HOOK_VARS = ['ENV', 'ENVDIR', 'SERVICE', 'UNIT', 'ACTION', 'COMMAND', 'WHO', 'ATTRIBUTES', 'ATTRIBUTES_FILE', 'GGN_HOME_PATH', 'LOG_LEVEL', 'HOST'];
/** Linux's MAX_ARG_STRLEN (128 KiB) holds `ATTRIBUTES=`, the value and a NUL. */
export const MAX_ATTRIBUTES_ENV = 128 * 1024 - 'ATTRIBUTES='.length - 1;
const MAX_OUTPUT = 64 * 1024;
const KILL_GRACE_MS = 2000;

/** GGN's ATTRIBUTES value: Go json.Marshal of the attributes. */
export function hookAttributes(attributes: GoMap): string {
  return goJsonMarshal(attributes);
}

/** The variables a hook gets on top of ggn's environment. */
export function hookVars(info: HookInfo, extra: Record<string, string> = {}): Record<string, string> {
  const vars: Record<string, string> = {
    ENVDIR: info.env.dir,
    ENV: info.env.name,
    COMMAND: info.command,
    ACTION: info.action,
    WHO: info.who,
    ATTRIBUTES: info.attributes,
    GGN_HOME_PATH: info.env.home.path,
    LOG_LEVEL: info.logLevel,
  };
  if (info.service !== undefined) vars.SERVICE = info.service;
  if (info.unit !== undefined) vars.UNIT = info.unit;
  return { ...vars, ...extra };
}

/**
 * Runs `fn` with the hooks' environment; a non-empty ATTRIBUTES is also in the file
 * ATTRIBUTES_FILE (a private temporary folder, removed afterwards) and is left out of the
 * environment when too long for it.
 */
async function withHookEnvironment<T>(vars: Record<string, string>, fn: (env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  const attrs = vars.ATTRIBUTES;
  if (!attrs) return fn(hookEnvironment(vars));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-hook-'));
  try {
    const file = path.join(dir, 'attributes.json');
    fs.writeFileSync(file, attrs, { mode: 0o600 });
    const v: Record<string, string> = { ...vars, ATTRIBUTES_FILE: file };
    if (Buffer.byteLength(attrs) > MAX_ATTRIBUTES_ENV) delete v.ATTRIBUTES;
    return await fn(hookEnvironment(v));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function hookEnvironment(vars: Record<string, string>, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const k of HOOK_VARS) delete env[k];
  // The age private keys themselves (sops' variable) are not the hooks' business.
  delete env.SOPS_AGE_KEY;
  return { ...env, ...vars };
}

export interface HookFile {
  name: string;
  path: string;
  /** Why it is not run (dot-file); undefined when it runs. */
  skip?: string;
  /** Why it cannot run (not executable, dangling link); it fails with code 126/127. */
  problem?: { code: number; message: string };
}

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The files of `hooks/<kind>/`, in the order they run; [] when the directory does not exist. */
export function listHooks(env: Env, kind: HookKind): HookFile[] {
  const dir = path.join(env.path, 'hooks', kind);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new GgnError(`cannot read the hooks folder: ${code ?? (e as Error).message}`, { file: dir, env: env.dir });
  }
  const out: HookFile[] = [];
  for (const n of names.sort(byBytes)) {
    const full = path.join(dir, n);
    const rel = path.posix.join('hooks', kind, n);
    let st: fs.Stats;
    try {
      st = fs.statSync(full);
    } catch {
      out.push({ name: rel, path: full, problem: { code: 127, message: 'dangling symbolic link' } });
      continue;
    }
    if (st.isDirectory()) continue;
    if (n.startsWith('.')) {
      out.push({ name: rel, path: full, skip: 'dot-file, not run' });
      continue;
    }
    try {
      fs.accessSync(full, fs.constants.X_OK);
    } catch {
      out.push({ name: rel, path: full, problem: { code: 126, message: `not executable (run \`chmod +x ${rel}\`, or move it out of hooks/${kind}/)` } });
      continue;
    }
    out.push({ name: rel, path: full });
  }
  return out;
}

/**
 * Runs `hooks/early/` or `hooks/late/`. Early: stops at the first failing hook and throws.
 * Late: runs them all and returns every result (failures included).
 */
export async function runHooks(kind: 'early' | 'late', info: HookInfo, opts: HookOptions = {}): Promise<HookRun[]> {
  const files = listHooks(info.env, kind);
  if (files.length === 0) return [];
  return withHookEnvironment(hookVars(info), async (env) => {
    const results: HookRun[] = [];
    for (const f of files) {
      const r = await runHookFile(f, env, info.env.path, opts);
      results.push(r);
      if (!r.ok && kind === 'early') {
        throw new GgnError(`early hook ${r.name} failed (${exitText(r)})${tailText(r.output)}`, { env: info.env.dir, service: info.service, file: f.path });
      }
    }
    return results;
  });
}

export interface AvailabilityResult {
  ok: boolean;
  /** How many times the hook list was run (0 when there are no hooks). */
  attempts: number;
  ms: number;
  /** Number of hooks in hooks/command/ that run. */
  hooks: number;
  /** The results of the last attempt. */
  results: HookRun[];
  /** When not ok: which hook failed and how, e.g. `hooks/command/ready failed (exit 1): not yet`. */
  last?: string;
}

/**
 * GGN's `hooks/command/` as an availability gate after a unit (re)start: the hooks run in order
 * (with `HOST` = the machine), stopping at the first failure as GGN's Env.RunHook did; the whole
 * list is retried every `intervalMs` until it passes or `timeoutMs` is spent. Each hook is
 * bounded by the time left. No hooks: passes at once with `attempts: 0`.
 */
export async function runAvailabilityHooks(
  info: HookInfo & { host: string },
  opts: { clock: Clock; timeoutMs: number; intervalMs: number; signal?: AbortSignal },
): Promise<AvailabilityResult> {
  const { clock } = opts;
  const start = clock.now();
  const files = listHooks(info.env, 'command').filter((f) => !f.skip);
  if (files.length === 0) return { ok: true, attempts: 0, ms: 0, hooks: 0, results: [] };
  return withHookEnvironment(hookVars(info, { HOST: info.host }), (env) => availabilityLoop(files, env, info, opts, start));
}

async function availabilityLoop(
  files: HookFile[],
  env: NodeJS.ProcessEnv,
  info: HookInfo,
  opts: { clock: Clock; timeoutMs: number; intervalMs: number; signal?: AbortSignal },
  start: number,
): Promise<AvailabilityResult> {
  const { clock } = opts;
  const deadline = start + opts.timeoutMs;
  let attempts = 0;
  let last = '';
  let results: HookRun[] = [];
  const done = (ok: boolean): AvailabilityResult => ({ ok, attempts, ms: clock.now() - start, hooks: files.length, results, ...(ok ? {} : { last }) });
  for (;;) {
    if (opts.signal?.aborted) {
      last = `aborted${last ? ` (last: ${last})` : ''}`;
      return done(false);
    }
    attempts++;
    results = [];
    let failed: HookRun | undefined;
    for (const f of files) {
      const left = Math.max(1, deadline - clock.now());
      const r = await runHookFile(f, env, info.env.path, { signal: opts.signal, timeoutMs: left, clock });
      results.push(r);
      if (!r.ok) {
        failed = r;
        break;
      }
    }
    if (!failed) return done(true);
    last = `${failed.name} failed (${exitText(failed)})${tailText(failed.output)}`;
    const now = clock.now();
    if (now >= deadline) return done(false);
    try {
      await clock.sleep(Math.min(opts.intervalMs, deadline - now), opts.signal);
    } catch {
      last = `aborted (last: ${last})`;
      return done(false);
    }
    if (clock.now() >= deadline) return done(false);
  }
}

function exitText(r: HookRun): string {
  if (r.error) return r.error;
  return r.code === null ? 'no exit code' : `exit ${r.code}`;
}

/** `: line | line | line` from the last non-empty lines of the output. */
function tailText(output: string, lines = 5): string {
  const t = output
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '')
    .slice(-lines);
  return t.length ? `: ${t.join(' | ')}` : '';
}

/** The program and arguments for a hook file: itself, or `bash file` without `#!`/ELF header. */
function commandFor(file: string): [string, string[]] {
  let head = Buffer.alloc(0);
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const b = Buffer.alloc(4);
      const n = fs.readSync(fd, b, 0, 4, 0);
      head = b.subarray(0, n);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return [file, []];
  }
  const isScript = head.length >= 2 && head[0] === 0x23 && head[1] === 0x21; // #!
  const isElf = head.length === 4 && head[0] === 0x7f && head.toString('latin1', 1, 4) === 'ELF';
  return isScript || isElf ? [file, []] : ['bash', [file]];
}

async function runHookFile(f: HookFile, env: NodeJS.ProcessEnv, cwd: string, opts: HookOptions): Promise<HookRun> {
  const clock = opts.clock ?? realClock;
  if (f.skip) return { name: f.name, ok: true, code: null, output: '', ms: 0, skipped: f.skip };
  if (f.problem) return { name: f.name, ok: false, code: f.problem.code, output: '', ms: 0, error: f.problem.message };
  if (opts.signal?.aborted) return { name: f.name, ok: false, code: null, output: '', ms: 0, error: 'not run: aborted' };
  const t0 = clock.now();
  const [cmd, args] = commandFor(f.path);
  return new Promise<HookRun>((resolve) => {
    let output = '';
    let error: string | undefined;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const onData = (d: Buffer) => {
      output += d.toString('utf8');
      if (output.length > MAX_OUTPUT * 2) output = output.slice(-MAX_OUTPUT);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    const killGroup = (why: string) => {
      if (error) return;
      error = why;
      const sig = (s: NodeJS.Signals) => {
        try {
          if (child.pid) process.kill(-child.pid, s);
        } catch {
          try {
            child.kill(s);
          } catch {
            /* already gone */
          }
        }
      };
      sig('SIGTERM');
      graceTimer = setTimeout(() => sig('SIGKILL'), KILL_GRACE_MS);
      graceTimer.unref();
    };
    if (opts.timeoutMs !== undefined) killTimer = setTimeout(() => killGroup(`killed after the ${opts.timeoutMs}ms timeout`), opts.timeoutMs);
    const onAbort = () => killGroup('killed: aborted');
    if (opts.signal) {
      if (opts.signal.aborted) onAbort();
      else opts.signal.addEventListener('abort', onAbort, { once: true });
    }
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: string) => {
      if (settled) return;
      settled = true;
      if (killTimer) clearTimeout(killTimer);
      if (graceTimer) clearTimeout(graceTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      const err = spawnError ?? error ?? (signal ? `killed by ${signal}` : undefined);
      resolve({
        name: f.name,
        ok: code === 0 && !err,
        code,
        output: output.length > MAX_OUTPUT ? output.slice(-MAX_OUTPUT) : output,
        ms: clock.now() - t0,
        ...(err ? { error: err } : {}),
      });
    };
    child.on('error', (e: NodeJS.ErrnoException) => finish(null, null, `cannot run: ${e.code ?? e.message}`));
    child.on('close', (code, signal) => finish(code, signal));
  });
}
