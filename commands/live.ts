/** Shared by the commands that talk to hosts: flags, the driver's lifecycle, colours, errors. */
import * as Flags from './flags';
import { createDriver, DEFAULT_HOST_PARALLEL } from '../src/drivers';
import { Driver } from '../src/drivers/types';
import { printable } from '../src/report/printable';
import { GgnError } from '../src/errors';
import { CommandContext } from './base';
import { reportError } from './errors';
import { readProgress } from './progress';

export const parallelFlag = Flags.integer({ description: 'hosts contacted at once', default: DEFAULT_HOST_PARALLEL, min: 1, helpValue: 'N' });
export const jsonFlag = Flags.boolean({ description: 'print one JSON document instead of text' });

/**
 * `progress`: a count of the hosts read on a terminal's stderr (commands/progress.ts), for the
 * commands that only read; a function: only while it says so (update while it asks questions).
 * `onReadProgress`: the reads the line does not show go there (update's live task list shows
 * the count among its own lines).
 */
export async function withDriver<T>(
  ctx: CommandContext,
  parallel: number,
  fn: (d: Driver) => Promise<T>,
  opts: { progress?: boolean | (() => boolean); onReadProgress?: (done: number, total: number) => void } = {},
): Promise<T> {
  const progress = opts.progress && ctx.globals.logLevel !== 'error' ? readProgress(ctx.err) : undefined;
  const lineNow = typeof opts.progress === 'function' ? opts.progress : () => true;
  const warn = (machine: string, message: string): void => {
    if (ctx.globals.logLevel === 'error') return;
    progress?.clear();
    ctx.err.write(`warning: host ${machine}: ${printable(message)}\n`);
  };
  const onReadProgress = (done: number, total: number): void => {
    if (progress && lineNow()) return progress.update(done, total);
    opts.onReadProgress?.(done, total);
  };
  const driver = createDriver(ctx.ws.env(ctx.target.env), { parallel, onWarning: warn, onReadProgress });
  try {
    return await fn(driver);
  } finally {
    progress?.close();
    await driver.close();
  }
}

export function reportAll(ctx: CommandContext, errors: GgnError[]): void {
  for (const e of errors) reportError(ctx, e);
}
