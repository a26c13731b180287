/**
 * A one-line progress count on a terminal's stderr while many hosts are read (`reading hosts:
 * 57/200`): a read of 200 hosts takes tens of seconds, and silence looks like a hang. It shows
 * only after SHOW_AFTER_MS (a quick read never flashes), redraws at most every REDRAW_MS, and
 * erases itself when the read ends or before any other line is written to stderr. Not a terminal
 * (a CI log, a pipe) or TERM=dumb: nothing.
 */
import { realTimers, Timers } from '../src/clock';
import { canRedraw, hostsRead } from '../src/report/terminal';

export const SHOW_AFTER_MS = 500;
export const REDRAW_MS = 100;

export interface ReadProgress {
  /** `done` of `total` hosts answered (0 when the read starts). */
  update(done: number, total: number): void;
  /** Erases the line if it is drawn (before another line goes to the stream); the next update redraws it. */
  clear(): void;
  /** The end: erases the line, and nothing is drawn any more. */
  close(): void;
}

const NONE: ReadProgress = { update: () => {}, clear: () => {}, close: () => {} };

export function readProgress(stream: NodeJS.WritableStream, timers: Timers = realTimers): ReadProgress {
  if (!canRedraw(stream)) return NONE;
  let started: number | undefined;
  let lastDraw = -Infinity;
  let drawn = false;
  let closed = false;
  let state = { done: 0, total: 0 };
  /** The one timer pending: the first draw, or a redraw the throttle held back. */
  let cancel: (() => void) | undefined;
  const later = (ms: number) => {
    cancel ??= timers.after(ms, () => {
      cancel = undefined;
      if (started !== undefined) draw();
    });
  };
  const draw = () => {
    lastDraw = timers.now();
    drawn = true;
    stream.write(`\r\x1b[K${hostsRead(state.done, state.total)}`);
  };
  const clear = () => {
    if (drawn) stream.write('\r\x1b[K');
    drawn = false;
  };
  const stop = () => {
    cancel?.();
    cancel = undefined;
    started = undefined;
    clear();
  };
  return {
    update(done, total) {
      if (closed) return;
      state = { done, total };
      if (done >= total) return stop();
      const now = timers.now();
      if (started === undefined || done === 0) {
        stop();
        started = now;
        // Drawn after SHOW_AFTER_MS even when no host has answered by then.
        return later(SHOW_AFTER_MS);
      }
      if (now - started < SHOW_AFTER_MS) return;
      if (now - lastDraw >= REDRAW_MS) draw();
      else later(lastDraw + REDRAW_MS - now);
    },
    clear,
    close() {
      closed = true;
      stop();
    },
  };
}
