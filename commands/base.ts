/**
 * The base of every ggn command. Flags are declared with oclif's `Flags` and parsed by oclif's
 * parser (validation, `--flag=value`, `-abc`, "did you mean" for flags). ggn does not use
 * oclif's Command/Config classes: GGN's positional grammar (`<env> <service> <unit> <verb>`)
 * needs its own router anyway, and loading them costs ~0.1 s at every start.
 * Commands are thin: parse flags, call `src/`, print, return an exit code.
 */
import { parse as parseFlags, FlagInput } from '@oclif/core/parser';
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
    const out = await parseFlags(this.argv, { flags: def, strict: true, args: {} });
    return out.flags as { [K in keyof F]: any };
  }

  protected print(line: string): void {
    this.ctx.out.write(line + '\n');
  }
}

export type CommandClass = Omit<typeof GgnCommand, 'prototype'> & { new (argv: string[], ctx: CommandContext): GgnCommand };
