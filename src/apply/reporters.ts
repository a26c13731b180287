/**
 * Rollout reporters (the `Reporter` contract of ./types):
 *   LiveReporter   a live task list on a terminal: a line per unit once it has finished, and the
 *                  units in flight with a count of all rewritten in place below them
 *   PlainReporter  one timestamped line per event, for logs and pipes
 *   JsonReporter   one JSON object per line (`--json`)
 *   TerminalReporter  at a terminal where the user is asked: plain lines while questions are
 *                  asked, a live task list while a service rolls out without them
 *
 * How events map to a unit's state (LiveReporter; the line reporters print every event as is):
 *   - the first event of a unit starts it (its line leaves "pending");
 *   - `step: 'done'` finishes it: result ok -> done, skipped -> skipped, failed -> failed (with
 *     the failing step and message seen before); so does a restore (`restored` or
 *     `restore-failed`), a unit's last step;
 *   - `step: 'pending', result: 'skipped'` finishes it as skipped before any work (up to date);
 *   - a `failed` result on any other step marks the unit as failing (a restore may follow);
 *   - on close(), units still pending are shown as "not run" (skipped) and units in flight as
 *     failed "interrupted", so the final screen never shows a unit as still running.
 * Events may come in any order across units and several units may be in flight at once.
 */
import { realTimers, Timers } from '../clock';
import { formatDuration, formatElapsed } from '../durations';
import { Colors } from '../report/diff';
import { printable } from '../report/printable';
import { canRedraw, colorsFor, hostsRead } from '../report/terminal';
import { Reporter, RolloutEvent } from './types';

export type Out = NodeJS.WritableStream;

export interface ReporterOptions {
  json?: boolean;
  tty?: boolean;
  out: Out;
  /** Time source for info() lines; default Date.now. */
  now?: () => number;
}

/** `tty`: a live task list is wanted, shown where the output can redraw lines (else plain lines). */
export function createReporter(opts: ReporterOptions): Reporter {
  if (opts.json) return new JsonReporter(opts.out, opts.now);
  if (opts.tty && canRedraw(opts.out)) return new LiveReporter(opts.out);
  return new PlainReporter(opts.out, opts.now);
}

/**
 * A terminal where the user is asked questions: a prompt and a live task list would fight over
 * the screen, so lines are plain until `live()` (the user said "apply all"), and `pause()` ends
 * the task list before the next question (the next service's plan).
 */
export class TerminalReporter implements Reporter {
  private list?: LiveReporter;
  private readonly plain: PlainReporter;

  constructor(
    private readonly out: Out,
    now?: () => number,
  ) {
    this.plain = new PlainReporter(out, now);
  }

  /** From now on, a live task list (plain lines go on where the terminal cannot redraw). */
  live(): void {
    if (canRedraw(this.out)) this.list ??= new LiveReporter(this.out);
  }

  /** Whether the live task list is shown (else plain lines, and questions may come). */
  isLive(): boolean {
    return this.list !== undefined;
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

  reading(done: number, total: number): void {
    this.list?.reading(done, total);
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
// The live task list

/** The fastest the live lines are redrawn after a change. */
export const LIVE_REDRAW_MS = 100;
/** How often they are redrawn without a change (the clocks), in ms. */
export const LIVE_TICK_MS = 1000;
/** Units not run are named one per line up to this many; the rest are counted. */
const NOT_RUN_LISTED = 10;
/** A stream that does not say its size is taken to be a classic terminal. */
const DEFAULT_ROWS = 24;
const DEFAULT_COLUMNS = 80;

type Ending = 'done' | 'skipped' | 'failed';

interface UnitLine {
  key: string;
  /** Its step while in flight (the live line). */
  text: string;
  /** Its first event: the event's time ("done in") and this machine's (the live line's clock). */
  started?: { eventTime: number; at: number };
  failure?: string;
  /** How its permanent line ended it. */
  ended?: Ending;
}

export interface LiveOptions {
  timers?: Timers;
  colors?: Colors;
  /** Other streams that write to the same screen (default: process.stdout and process.stderr when they are terminals). */
  sharing?: NodeJS.WritableStream[];
}

/**
 * The task list on a terminal, at any number of units. A unit's line is printed once, for good,
 * when it finishes (`✔ done in 2.1s`, `↓ skipped`, `✖ failed at ...`: the scrollback is the
 * record), and below those lines a few live ones are rewritten in place: the units in flight, as
 * many as the terminal has room for, and a count of all. The live part is never taller than the
 * terminal, so a rollout of 200 units neither hides the units at work below the screen's edge
 * nor leaves its redraws in the scrollback. A line another part of ggn writes to the same
 * screen meanwhile (a host's warning, the notice of a signal) goes above the live part.
 */
export class LiveReporter implements Reporter {
  private readonly units = new Map<string, UnitLine>();
  private readonly timers: Timers;
  private readonly colors: Colors;
  private readonly began: number;
  /** Writes to the terminal, past the interception of other writes. */
  private readonly raw: (text: string) => void;
  /** Permanent lines waiting for the next draw. */
  private pending = '';
  /** Live lines on the screen now (the cursor is at the start of the line below them). */
  private drawn = 0;
  /** Whether the last thing written to the screen ended a line (else the live part waits). */
  private atLineStart = true;
  private lastDraw = -Infinity;
  private due?: { at: number; cancel: () => void };
  /** A read of the hosts under way (not yet all answered). */
  private read?: { done: number; total: number };
  private closed = false;
  private readonly undo: (() => void)[] = [];

  constructor(
    private readonly out: Out,
    opts: LiveOptions = {},
  ) {
    this.timers = opts.timers ?? realTimers;
    this.colors = opts.colors ?? colorsFor(out);
    this.began = this.timers.now();
    const write = out.write.bind(out) as (text: string) => boolean;
    this.raw = (text) => {
      if (text) write(text);
    };
    const sharing = opts.sharing ?? [process.stdout, process.stderr].filter((s) => s !== out && (s as NodeJS.WriteStream).isTTY);
    for (const s of [out, ...sharing]) this.intercept(s);
  }

  plan(units: { unit: string; host: string }[]): void {
    for (const u of units) {
      const key = keyOf(u.unit, u.host);
      if (!this.units.has(key)) this.units.set(key, { key, text: 'pending' });
    }
    this.changed();
  }

  event(e: RolloutEvent): void {
    const key = keyOf(e.unit, e.host);
    const line = this.units.get(key);
    // The end of a unit whose restore already ended its line.
    if (line?.ended && e.step === 'done') return;
    if (!line || line.ended) {
      const dur = e.durationMs !== undefined ? ` (${formatElapsed(e.durationMs)})` : '';
      this.info(`${key} ${e.step} ${e.result}${dur}${e.message ? `: ${oneLine(e.message)}` : ''}`);
      return;
    }
    line.started ??= { eventTime: e.time, at: this.timers.now() };
    const dur = e.durationMs !== undefined ? ` (${formatElapsed(e.durationMs)})` : '';
    const msg = e.message ? `: ${printable(oneLine(e.message))}` : '';
    const total = formatElapsed(e.time - line.started.eventTime);
    switch (e.result) {
      case 'started':
        line.text = `${e.step}…`;
        break;
      case 'ok':
        if (e.step === 'done') return this.finish(line, line.failure ? 'failed' : 'done', line.failure ?? `done in ${total}`);
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
      // A restore is a unit's last step (the rollout goes on without it): its line ends here.
      // With no failure before it, the run was stopped (a signal, the lock lost).
      case 'restored':
        return this.finish(line, 'failed', `${line.failure ?? 'stopped'}; previous unit restored${dur}`);
      case 'restore-failed':
        return this.finish(line, 'failed', `${line.failure ?? 'stopped'}; RESTORE FAILED${msg}`);
    }
    this.changed();
  }

  info(message: string): void {
    this.permanent(printable(oneLine(message)));
  }

  reading(done: number, total: number): void {
    this.read = done < total ? { done, total } : undefined;
    this.changed();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const notRun: UnitLine[] = [];
    for (const line of this.units.values()) {
      if (line.ended) continue;
      if (line.failure) this.finish(line, 'failed', line.failure);
      else if (line.started) this.finish(line, 'failed', `interrupted during ${line.text.replace(/…$/, '')}`);
      else notRun.push(line);
    }
    for (const line of notRun.slice(0, NOT_RUN_LISTED)) this.finish(line, 'skipped', 'not run');
    if (notRun.length > NOT_RUN_LISTED) this.permanent(`${this.colors.dim('↓')} and ${notRun.length - NOT_RUN_LISTED} more units not run`);
    this.closed = true;
    this.due?.cancel();
    this.due = undefined;
    // The final screen: the permanent lines, without the live part.
    this.raw(this.erase() + this.pending);
    this.pending = '';
    for (const u of this.undo.splice(0)) u();
  }

  private finish(line: UnitLine, kind: Ending, text: string): void {
    line.ended = kind;
    const icon = kind === 'done' ? this.colors.green('✔') : kind === 'failed' ? this.colors.red('✖') : this.colors.dim('↓');
    this.permanent(`${icon} ${line.key}  ${text}`);
  }

  private permanent(line: string): void {
    this.pending += line + '\n';
    this.changed();
  }

  /** Something to show: drawn at once, or when LIVE_REDRAW_MS has passed since the last draw. */
  private changed(): void {
    if (this.closed) return;
    this.schedule(Math.max(0, this.lastDraw + LIVE_REDRAW_MS - this.timers.now()));
  }

  private schedule(ms: number): void {
    const at = this.timers.now() + ms;
    if (this.due && this.due.at <= at) return;
    this.due?.cancel();
    this.due = { at, cancel: this.timers.after(ms, () => this.draw()) };
  }

  private draw(): void {
    this.due = undefined;
    if (this.closed) return;
    this.lastDraw = this.timers.now();
    const permanent = this.erase() + this.pending;
    // Permanent lines end a line, so the live part can follow even after another's partial line.
    if (this.pending) this.atLineStart = true;
    this.pending = '';
    const live = this.atLineStart ? this.liveLines() : [];
    this.raw(permanent + live.map((l) => l + '\n').join(''));
    this.drawn = live.length;
    // The clocks move on without events.
    this.schedule(LIVE_TICK_MS);
  }

  /** Moves up over the live lines and clears from there to the end of the screen. */
  private erase(): string {
    const n = this.drawn;
    this.drawn = 0;
    return n > 0 ? `\r\x1b[${n}A\x1b[J` : '';
  }

  /** The units in flight that fit, then the count line; each shorter than the terminal is wide. */
  private liveLines(): string[] {
    const reading = this.read ? [hostsRead(this.read.done, this.read.total)] : [];
    if (this.units.size === 0) return reading;
    const s = this.out as NodeJS.WriteStream;
    const rows = s.rows > 0 ? s.rows : DEFAULT_ROWS;
    const width = (s.columns > 0 ? s.columns : DEFAULT_COLUMNS) - 1;
    const now = this.timers.now();
    const running: UnitLine[] = [];
    let done = 0;
    let failed = 0;
    let skipped = 0;
    for (const u of this.units.values()) {
      if (u.ended === 'done') done++;
      else if (u.ended === 'failed') failed++;
      else if (u.ended) skipped++;
      else if (u.started) running.push(u);
    }
    // At most rows - 1 lines: the count line, a read under way and, when not all units in flight
    // fit, a "more" line.
    const room = Math.max(1, rows - 2 - reading.length);
    const shown = running.length <= room ? running : running.slice(0, room - 1);
    const lines = shown.map((u) => `${this.colors.cyan('▸')} ${fit(`${u.key}  ${u.text} ${clock(now - u.started!.at)}`, width - 2)}`);
    if (shown.length < running.length) lines.push(fit(`  … and ${running.length - shown.length} more in flight`, width));
    lines.push(...reading);
    const pendingCount = this.units.size - done - failed - skipped - running.length;
    const parts = [`${done} of ${this.units.size} done`];
    if (failed) parts.push(this.colors.red(`${failed} failed`));
    if (skipped) parts.push(`${skipped} skipped`);
    parts.push(`${running.length} in flight`, `${pendingCount} pending`, clock(now - this.began));
    lines.push(this.colors.dim(fit(parts.join(' · '), width)));
    // A terminal of a few rows: the last lines that fit, the count at least.
    return lines.slice(-Math.max(1, rows - 1));
  }

  /**
   * Another write to the screen (a warning on stderr) while the live lines are shown: they are
   * erased first and drawn again below it. Undone at close when nothing wrapped the stream since.
   */
  private intercept(s: NodeJS.WritableStream): void {
    const original = s.write;
    const wrapped = ((chunk: unknown, ...rest: unknown[]) => {
      if (this.closed) return (original as (...a: unknown[]) => boolean).call(s, chunk, ...rest);
      // The live part off the screen; the lines already finished first, to keep the order.
      this.raw(this.erase() + this.pending);
      this.pending = '';
      const r = (original as (...a: unknown[]) => boolean).call(s, chunk, ...rest);
      // Only its last character matters: whether it ended a line.
      const last =
        typeof chunk === 'string' ? chunk.at(-1) : chunk instanceof Uint8Array && chunk.length ? String.fromCharCode(chunk[chunk.length - 1]) : undefined;
      if (last !== undefined) this.atLineStart = last === '\n';
      this.changed();
      return r;
    }) as typeof s.write;
    s.write = wrapped;
    this.undo.push(() => {
      if (s.write === wrapped) s.write = original;
    });
  }
}

/** A clock that ticks on screen: whole seconds gone by (`0s`, `45s`, `1m5s`). */
function clock(ms: number): string {
  return formatDuration(Math.floor(ms / 1000) * 1000);
}

/** A line cut to `width` characters (an ellipsis marks the cut), so that it never wraps. */
function fit(s: string, width: number): string {
  return s.length <= width ? s : s.slice(0, Math.max(0, width - 1)) + '…';
}
