/**
 * The base of every ggn command. Flags are declared with oclif's `Flags` and parsed by oclif's
 * parser (validation, `--flag=value`, `-abc`, "did you mean" for flags). ggn does not use
 * oclif's Command/Config classes: GGN's positional grammar (`<env> <service> <unit> <verb>`)
 * needs its own router anyway, and loading them costs ~0.1 s at every start.
 * Commands are thin: parse flags, call `src/`, print, return an exit code.
 */
import type { FlagInput } from '@oclif/core/parser';
import { Workspace } from '../src/workspace';
import { GlobalFlags } from './globals';

export type Level = 'env' | 'service' | 'unit';

export interface Target {
  level: Level;
  env: string;
  service?: string;
  unit?: string;
}

export interface CommandContext {
  ws: Workspace;
  target: Target;
  globals: GlobalFlags;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

export abstract class GgnCommand {
  static description = '';
  static examples: string[] = [];
  static flags: FlagInput = {};

  constructor(
    readonly argv: string[],
    readonly ctx: CommandContext,
  ) {}

  abstract run(): Promise<number>;

  /** Parses this command's flags (strict: unknown flags and stray arguments are errors). */
  protected async flags<F extends FlagInput>(def: F): Promise<{ [K in keyof F]: any }> {
    return parseCommandFlags(this.argv, def) as Promise<{ [K in keyof F]: any }>;
  }

  protected print(line: string): void {
    this.ctx.out.write(line + '\n');
  }
}

/**
 * oclif's parser, loaded only when there is something to parse: with no arguments the result is
 * each flag's default (what the parser returns then; test/unit/flags.test.ts checks it for every
 * command), and `ggn prod svc diff` starts without loading oclif.
 */
export async function parseCommandFlags(argv: string[], def: FlagInput): Promise<Record<string, unknown>> {
  if (argv.length === 0) {
    const out: Record<string, unknown> = {};
    for (const [name, flag] of Object.entries(def)) {
      if (flag.default === undefined) continue;
      out[name] = typeof flag.default === 'function' ? await (flag.default as () => unknown)() : flag.default;
    }
    return out;
  }
  const { parse } = require('@oclif/core/parser') as typeof import('@oclif/core/parser');
  return (await parse(argv, { flags: def, strict: true, args: {} })).flags;
}

export type CommandClass = Omit<typeof GgnCommand, 'prototype'> & { new (argv: string[], ctx: CommandContext): GgnCommand };
