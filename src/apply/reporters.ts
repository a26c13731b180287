/**
 * Rollout reporters (the `Reporter` contract of ./types):
 *   ListrReporter  a live task list on a TTY (listr2): one line per unit@host
 *   PlainReporter  one timestamped line per event, for logs and pipes
 *   JsonReporter   one JSON object per line (`--json`)
 *   TerminalReporter  at a terminal where the user is asked: plain lines while questions are
 *                  asked, a live task list while a service rolls out without them
 *
 * How events map to a unit's state (ListrReporter; the line reporters print every event as is):
 *   - the first event of a unit starts it (its line leaves "pending");
 *   - `step: 'done'` finishes it: result ok -> done, skipped -> skipped, failed / restored /
 *     restore-failed -> failed (with the failing step and message seen before);
 *   - `step: 'pending', result: 'skipped'` finishes it as skipped before any work (up to date);
 *   - a `failed` result on any other step marks the unit as failing (a restore may follow);
 *   - on close(), units still pending are shown as "not run" (skipped) and units in flight as
 *     failed "interrupted", so the final screen never shows a spinner.
 * Events may come in any order across units and several units may be in flight at once.
 */
import { formatElapsed } from '../durations';
import { DefaultRenderer, Listr, ListrLogger, ListrTaskState, ProcessOutput } from 'listr2';
import type { ListrTaskWrapper } from 'listr2';
import { Reporter, RolloutEvent } from './types';

export type Out = NodeJS.WritableStream;

export interface ReporterOptions {
  json?: boolean;
  tty?: boolean;
  out: Out;
  /** Time source for info() lines; default Date.now. */
  now?: () => number;
}

export function createReporter(opts: ReporterOptions): Reporter {
  if (opts.json) return new JsonReporter(opts.out, opts.now);
  if (opts.tty) return new ListrReporter(opts.out);
  return new PlainReporter(opts.out, opts.now);
}

/**
 * A terminal where the user is asked questions: a prompt and a live task list would fight over
 * the screen, so lines are plain until `live()` (the user said "apply all"), and `pause()` ends
 * the task list before the next question (the next service's plan).
 */
export class TerminalReporter implements Reporter {
  private list?: ListrReporter;
  private readonly plain: PlainReporter;

  constructor(
    private readonly out: Out,
    now?: () => number,
  ) {
    this.plain = new PlainReporter(out, now);
  }

  /** From now on, a live task list. */
  live(): void {
    this.list ??= new ListrReporter(this.out);
  }

  /** Ends the task list (its final screen stays): the terminal is free for a question. */
  async pause(): Promise<void> {
    const list = this.list;
    this.list = undefined;
    await list?.close();
  }

  plan(units: { unit: string; host: string }[]): void {
    (this.list ?? this.plain).plan(units);
  }

  event(e: RolloutEvent): void {
    (this.list ?? this.plain).event(e);
  }

  info(message: string): void {
    (this.list ?? this.plain).info(message);
  }

  close(): Promise<void> {
    return this.pause();
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting helpers

/** `2026-11-22T01:02:03Z` (UTC, whole seconds). */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A message on one line: lines joined with " | ". */
function oneLine(message: string): string {
  return message
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' | ');
}

function shorten(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

const keyOf = (unit: string, host: string) => `${unit}@${host}`;

// ---------------------------------------------------------------------------------------------
// Plain

export class PlainReporter implements Reporter {
  constructor(
    private readonly out: Out,
    private readonly now: () => number = Date.now,
  ) {}

  plan(_units: { unit: string; host: string }[]): void {}

  event(e: RolloutEvent): void {
    const dur = e.durationMs !== undefined ? ` (${formatElapsed(e.durationMs)})` : '';
    const msg = e.message ? `: ${oneLine(e.message)}` : '';
    this.out.write(`${isoSeconds(e.time)} ${keyOf(e.unit, e.host)} ${e.step} ${e.result}${dur}${msg}\n`);
  }

  info(message: string): void {
    this.out.write(`${isoSeconds(this.now())} ${oneLine(message)}\n`);
  }

  async close(): Promise<void> {}
}

// ---------------------------------------------------------------------------------------------
// JSON lines

export class JsonReporter implements Reporter {
  constructor(
    private readonly out: Out,
    private readonly now: () => number = Date.now,
  ) {}

  plan(_units: { unit: string; host: string }[]): void {}

  event(e: RolloutEvent): void {
    const o: Record<string, unknown> = { time: new Date(e.time).toISOString(), unit: e.unit, host: e.host, step: e.step, result: e.result };
    if (e.durationMs !== undefined) o.durationMs = e.durationMs;
    if (e.message !== undefined) o.message = e.message;
    this.out.write(JSON.stringify(o) + '\n');
  }

  info(message: string): void {
    this.out.write(JSON.stringify({ time: new Date(this.now()).toISOString(), info: message }) + '\n');
  }

  async close(): Promise<void> {}
}

// ---------------------------------------------------------------------------------------------
// listr2 task list

/** The default renderer, usable whatever process.stdout is (we pick the TTY case ourselves). */
class TtyRenderer extends DefaultRenderer {
  static override nonTTY = true;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  done: boolean;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const d = { done: false } as Deferred<T>;
  d.promise = new Promise<T>((r) => (resolve = r));
  d.resolve = (v: T) => {
    if (d.done) return;
    d.done = true;
    resolve(v);
  };
  return d;
}

type Final = { kind: 'done' | 'skipped' | 'failed'; text: string };

interface UnitLine {
  key: string;
  text: string;
  firstTime?: number;
  failure?: string;
  started: Deferred<void>;
  finished: Deferred<Final>;
  wrapper?: ListrTaskWrapper<unknown, typeof TtyRenderer, typeof TtyRenderer>;
}

const TITLE_MESSAGE_MAX = 100;

export class ListrReporter implements Reporter {
  private readonly units = new Map<string, UnitLine>();
  private readonly infos: string[] = [];
  private infoWrapper?: ListrTaskWrapper<unknown, typeof TtyRenderer, typeof TtyRenderer>;
  private readonly closing = deferred<void>();
  private running: Promise<void> = Promise.resolve();
  private lists = 0;
  private readonly processOutput: ProcessOutput;

  constructor(private readonly out: Out) {
    const err = out === process.stdout ? process.stderr : out;
    this.processOutput = new ProcessOutput(out as NodeJS.WriteStream, err as NodeJS.WriteStream, { leaveEmptyLine: false });
  }

  plan(units: { unit: string; host: string }[]): void {
    const fresh: UnitLine[] = [];
    for (const u of units) {
      const key = keyOf(u.unit, u.host);
      if (this.units.has(key)) continue;
      const line: UnitLine = { key, text: 'pending', started: deferred(), finished: deferred() };
      this.units.set(key, line);
      fresh.push(line);
    }
    if (fresh.length === 0) return;
    const first = this.lists++ === 0;
    const tasks = fresh.map((line) => ({
      title: this.title(line),
      task: async (_ctx: unknown, t: ListrTaskWrapper<unknown, typeof TtyRenderer, typeof TtyRenderer>) => {
        line.wrapper = t;
        t.title = this.title(line);
        if (!line.started.done) {
          t.task.state$ = ListrTaskState.WAITING;
          await Promise.race([line.started.promise, line.finished.promise]);
          if (!line.finished.done) t.task.state$ = ListrTaskState.STARTED;
        }
        const end = await line.finished.promise;
        line.text = end.text;
        t.title = this.title(line);
        if (end.kind === 'skipped') t.skip(this.title(line));
        else if (end.kind === 'failed') throw new Error(this.title(line));
      },
    }));
    if (first) {
      // A task without a title renders its output in the bottom bar: the live info() lines.
      tasks.push({
        title: undefined as unknown as string,
        task: async (_ctx, t) => {
          this.infoWrapper = t;
          if (this.infos.length) t.output = this.infos.slice(-3).join('\n');
          await this.closing.promise;
        },
        rendererOptions: { bottomBar: 3, persistentOutput: false },
      } as (typeof tasks)[number]);
    }
    const list = new Listr<unknown, typeof TtyRenderer, typeof TtyRenderer>(tasks, {
      concurrent: true,
      exitOnError: false,
      registerSignalListeners: false,
      renderer: TtyRenderer,
      fallbackRenderer: TtyRenderer,
      rendererOptions: {
        logger: new ListrLogger({ processOutput: this.processOutput, useIcons: true, toStderr: [] }),
        collapseErrors: true,
        showErrorMessage: true,
        collapseSkips: true,
        showSkipMessage: true,
        formatOutput: 'wrap',
      },
    });
    this.running = this.running.then(() =>
      list.run().then(
        () => undefined,
        () => undefined,
      ),
    );
  }

  event(e: RolloutEvent): void {
    const key = keyOf(e.unit, e.host);
    const line = this.units.get(key);
    if (!line || line.finished.done) {
      const dur = e.durationMs !== undefined ? ` (${formatElapsed(e.durationMs)})` : '';
      this.info(`${key} ${e.step} ${e.result}${dur}${e.message ? `: ${oneLine(e.message)}` : ''}`);
      return;
    }
    if (line.firstTime === undefined) line.firstTime = e.time;
    line.started.resolve();
    const dur = e.durationMs !== undefined ? ` (${formatElapsed(e.durationMs)})` : '';
    const msg = e.message ? `: ${shorten(oneLine(e.message), TITLE_MESSAGE_MAX)}` : '';
    const total = formatElapsed(e.time - line.firstTime);
    switch (e.result) {
      case 'started':
        line.text = `${e.step}…`;
        break;
      case 'ok':
        if (e.step === 'done') {
          if (line.failure) return this.finish(line, 'failed', line.failure);
          return this.finish(line, 'done', `done in ${total}`);
        }
        line.text = `${e.step} ok${dur}`;
        break;
      case 'skipped':
        if (e.step === 'done' || e.step === 'pending') return this.finish(line, 'skipped', `skipped${msg}`);
        line.text = `${e.step} skipped${msg}`;
        break;
      case 'failed':
        // `done failed` closes a failure already reported by its step: keep that one.
        if (e.step === 'done') return this.finish(line, 'failed', line.failure ?? `failed${msg}`);
        line.failure = `failed at ${e.step}${dur}${msg}`;
        line.text = line.failure;
        break;
      case 'restored':
        line.failure = `${line.failure ?? 'failed'}; previous unit restored${dur}`;
        if (e.step === 'done') return this.finish(line, 'failed', line.failure);
        line.text = line.failure;
        break;
      case 'restore-failed':
        line.failure = `${line.failure ?? 'failed'}; RESTORE FAILED${msg}`;
        if (e.step === 'done') return this.finish(line, 'failed', line.failure);
        line.text = line.failure;
        break;
    }
    if (line.wrapper) line.wrapper.title = this.title(line);
  }

  info(message: string): void {
    const m = oneLine(message);
    this.infos.push(m);
    if (this.infoWrapper) this.infoWrapper.output = m;
  }

  async close(): Promise<void> {
    for (const line of this.units.values()) {
      if (line.finished.done) continue;
      if (line.failure) this.finish(line, 'failed', line.failure);
      else if (line.started.done) this.finish(line, 'failed', `interrupted during ${line.text.replace(/…$/, '')}`);
      else this.finish(line, 'skipped', 'not run');
    }
    this.closing.resolve();
    await this.running;
    if (this.infos.length) this.out.write(this.infos.map((l) => l + '\n').join(''));
  }

  private finish(line: UnitLine, kind: Final['kind'], text: string): void {
    line.text = text;
    line.started.resolve();
    line.finished.resolve({ kind, text });
  }

  private title(line: UnitLine): string {
    return `${line.key}  ${line.text}`;
  }
}
