/** What a stream can show: colours, and lines rewritten in place. */
import { ANSI, Colors, PLAIN } from './diff';

/** A terminal that can move the cursor and erase lines: not a pipe or a log, and not TERM=dumb. */
export function canRedraw(stream: NodeJS.WritableStream): boolean {
  return !!(stream as NodeJS.WriteStream).isTTY && process.env.TERM !== 'dumb';
}

/** Colours on a terminal unless NO_COLOR is set (no-color.org). */
export function colorsFor(stream: NodeJS.WritableStream): Colors {
  return (stream as NodeJS.WriteStream).isTTY && !process.env.NO_COLOR ? ANSI : PLAIN;
}

/** The count of hosts answered while a long read runs, wherever it is shown. */
export function hostsRead(done: number, total: number): string {
  return `reading hosts: ${done}/${total}`;
}
