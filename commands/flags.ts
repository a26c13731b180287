/**
 * oclif's flag builders (`Flags.boolean`, `Flags.string`, `Flags.integer`), the same definitions
 * as @oclif/core/flags builds, without loading that module: it pulls in oclif's errors, help,
 * logger and debug (~20 modules), which every command paid at start even when it parses no flag.
 * oclif's parser still parses and validates (commands/base.ts loads it when there are flags).
 */
import type * as OclifFlags from '@oclif/core/flags';
import { parseDuration } from '../src/durations';
import { UsageError } from './globals';

type CLIErrorClass = new (message: string) => Error;
const cliError = (message: string): Error => new (require('@oclif/core/errors').CLIError as CLIErrorClass)(message);

export const boolean: typeof OclifFlags.boolean = ((options = {}) => ({
  parse: async (b: boolean) => b,
  ...options,
  allowNo: Boolean(options.allowNo),
  type: 'boolean',
})) as typeof OclifFlags.boolean;

function custom(parse?: (input: string, ctx: unknown, opts: { min?: number; max?: number }) => Promise<unknown>) {
  return (options: { multiple?: boolean } = {}) => ({
    parse: async (input: string) => input,
    ...(parse ? { parse } : {}),
    ...options,
    input: [],
    multiple: Boolean(options.multiple ?? false),
    type: 'option',
  });
}

export const string = custom() as unknown as typeof OclifFlags.string;

export const integer = custom(async (input, _ctx, opts) => {
  if (!/^-?\d+$/.test(input)) throw cliError(`Expected an integer but received: ${input}`);
  const num = Number.parseInt(input, 10);
  if (opts.min !== undefined && num < opts.min) throw cliError(`Expected an integer greater than or equal to ${opts.min} but received: ${input}`);
  if (opts.max !== undefined && num > opts.max) throw cliError(`Expected an integer less than or equal to ${opts.max} but received: ${input}`);
  return num;
}) as unknown as typeof OclifFlags.integer;

/**
 * A duration flag's value in ms (`--timeout 5m`). One that is not a duration, or that `check`
 * refuses (throws), is a usage error naming the flag (exit 2), found before any host is contacted.
 */
export function durationValue(value: string, flag: string, check?: (ms: number) => void): number {
  try {
    const ms = parseDuration(value);
    check?.(ms);
    return ms;
  } catch (e) {
    throw new UsageError(`--${flag}: ${(e as Error).message}`);
  }
}

/** For durationValue: a wait that must not be zero (a zero `--timeout` would fail every start). */
export function positive(ms: number): void {
  if (ms <= 0) throw new Error('it must be more than 0s');
}
