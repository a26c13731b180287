/**
 * What happens when ggn's own output cannot be written: its reader went away (`ggn prod diff |
 * head`: EPIPE), or the file it goes to cannot grow (`ggn ... > log` on a full disk: ENOSPC).
 * Node would throw either as an unhandled error: a stack trace, and a rollout cut short between
 * two units with its lock left behind. Instead the rest of that stream is dropped and the command
 * finishes what it was doing. A reader that left is no failure; output lost to an error is: a
 * warning on stderr (when stdout failed and stderr still works) and exit 1 instead of 0.
 */
const WATCHED = Symbol('ggn.outputLoss');

/** Why output was lost, and not just left unread. */
const isLeftUnread = (code: string | undefined) => code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';

export interface OutputWatch {
  /** The first error (not a reader that left) that lost output, if any. */
  lost(): string | undefined;
}

export function surviveOutputErrors(stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): OutputWatch {
  let lost: string | undefined;
  const watch = (s: NodeJS.WritableStream, name: string) => {
    const g = s as NodeJS.WritableStream & { [WATCHED]?: true };
    if (g[WATCHED] || typeof (s as NodeJS.WriteStream).on !== 'function') return;
    g[WATCHED] = true;
    let failed = false;
    const fail = (e: NodeJS.ErrnoException) => {
      if (failed) return;
      failed = true;
      if (isLeftUnread(e.code)) return;
      lost ??= `${name}: ${e.code ?? e.message}`;
      if (s !== stderr) stderr.write(`warning: cannot write to ${name} (${e.code ?? e.message}): the rest of it is dropped; ggn goes on\n`);
    };
    s.on('error', fail);
    const write = s.write.bind(s) as (...args: unknown[]) => boolean;
    s.write = ((chunk: unknown, ...rest: unknown[]) => {
      const cb = rest.find((a) => typeof a === 'function') as (() => void) | undefined;
      if (!failed) {
        try {
          return write(chunk, ...rest);
        } catch (e) {
          // A file's stream writes synchronously and throws (ENOSPC); a pipe's emits 'error'.
          // Anything but a system error (a bad argument) is a bug, not lost output.
          if (typeof (e as NodeJS.ErrnoException).code !== 'string' || typeof (e as NodeJS.ErrnoException).syscall !== 'string') throw e;
          fail(e as NodeJS.ErrnoException);
        }
      }
      // Dropped: the callback still runs, as after a write that went nowhere.
      if (cb) process.nextTick(cb);
      return true;
    }) as typeof s.write;
  };
  watch(stdout, 'standard output');
  watch(stderr, 'standard error');
  return { lost: () => lost };
}
