/**
 * When the reader of ggn's output goes away (`ggn prod diff | head`, a closed log pipe), the
 * writes fail with EPIPE. Node would throw that as an unhandled stream error: a stack trace, and
 * a rollout cut short between two units. ggn instead drops the rest of that stream's output and
 * finishes what it was doing (an update still restores, settles and releases its lock); the exit
 * code is the command's own.
 */
const HANDLED = Symbol('ggn.brokenPipe');

export function tolerateBrokenPipes(streams: NodeJS.WritableStream[]): void {
  for (const s of streams) {
    const g = s as NodeJS.WritableStream & { [HANDLED]?: true };
    if (g[HANDLED] || typeof (s as NodeJS.WriteStream).on !== 'function') continue;
    g[HANDLED] = true;
    let broken = false;
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') {
        broken = true;
        return;
      }
      throw e;
    });
    const write = s.write.bind(s) as (...args: unknown[]) => boolean;
    s.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (broken) {
        // The callback, if any, still runs (as after a write that went nowhere).
        const cb = rest.find((a) => typeof a === 'function') as (() => void) | undefined;
        if (cb) process.nextTick(cb);
        return true;
      }
      return write(chunk, ...rest);
    }) as typeof s.write;
  }
}
