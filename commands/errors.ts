/** Printing errors: one line each, relative paths, a stack only with -L debug or trace. */
import * as path from 'node:path';
import { GgnError, toGgnError } from '../src/errors';
import { printable } from '../src/report/printable';
import { CommandContext } from './base';

export function formatError(e: unknown, workPath?: string): string {
  const err = e instanceof GgnError ? e : toGgnError(e);
  const rel = (p: string) => {
    if (!workPath) return p;
    const r = path.relative(workPath, p);
    return r.startsWith('..') ? p : r;
  };
  return err.oneLine(rel);
}

/** A warning line (`warning: file:line:col: unit X: message`); `-L error` hides them. */
export function reportWarning(ctx: Pick<CommandContext, 'err' | 'globals'> & { ws?: CommandContext['ws'] }, e: GgnError): void {
  if (ctx.globals.logLevel === 'error') return;
  let workPath: string | undefined;
  try {
    workPath = ctx.ws?.home.workPath;
  } catch {
    workPath = undefined;
  }
  const color = (ctx.err as NodeJS.WriteStream).isTTY ? (s: string) => `\x1b[33m${s}\x1b[0m` : (s: string) => s;
  ctx.err.write(`${color('warning:')} ${printable(formatError(e, workPath))}\n`);
}

export function reportError(ctx: Pick<CommandContext, 'err' | 'globals'> & { ws?: CommandContext['ws'] }, e: unknown): void {
  let workPath: string | undefined;
  try {
    workPath = ctx.ws?.home.workPath;
  } catch {
    workPath = undefined;
  }
  const color = (ctx.err as NodeJS.WriteStream).isTTY ? (s: string) => `\x1b[31m${s}\x1b[0m` : (s: string) => s;
  // Messages carry remote words (stderr, lock messages): never raw control characters.
  ctx.err.write(`${color('error:')} ${printable(formatError(e, workPath))}\n`);
  if (e instanceof GgnError && e.excerpt) for (const l of e.excerpt) ctx.err.write(`${printable(l)}\n`);
  if (ctx.globals.logLevel === 'debug' || ctx.globals.logLevel === 'trace') {
    const stack = e instanceof Error ? (e.cause instanceof Error ? e.cause.stack : e.stack) : undefined;
    if (stack) ctx.err.write(stack + '\n');
  }
}
