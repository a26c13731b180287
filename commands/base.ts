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
 * oclif's parser, loaded only when it has something to do. With no arguments the result is each
 * flag's default; with only plain boolean flags (`-q`, `--yes`, each once, no negation) it is the
 * defaults with those set to true. That is what the parser returns then (test/unit/flags.test.ts
 * checks both for every command), and `ggn prod svc generate -q` starts without loading oclif
 * (~20 ms).
 */
export async function parseCommandFlags(argv: string[], def: FlagInput): Promise<Record<string, unknown>> {
  const set = booleansOnly(argv, def);
  if (set) {
    const out: Record<string, unknown> = {};
    for (const [name, flag] of Object.entries(def)) {
      if (flag.default === undefined) continue;
      out[name] = typeof flag.default === 'function' ? await (flag.default as () => unknown)() : flag.default;
    }
    for (const name of set) out[name] = true;
    return out;
  }
  const { parse } = require('@oclif/core/parser') as typeof import('@oclif/core/parser');
  return (await parse(argv, { flags: def, strict: true, args: {} })).flags;
}

/** The names of the flags when every argument is a distinct plain boolean flag; else undefined. */
function booleansOnly(argv: string[], def: FlagInput): string[] | undefined {
  const names: string[] = [];
  for (const a of argv) {
    const name = a.startsWith('--') ? a.slice(2) : /^-[^-]$/.test(a) ? Object.keys(def).find((n) => (def[n] as { char?: string }).char === a[1]) : undefined;
    const flag = name === undefined || !Object.hasOwn(def, name) ? undefined : (def[name] as Record<string, unknown>);
    if (!flag || flag.type !== 'boolean' || names.includes(name!)) return undefined;
    // Anything the parser would check or compute beyond "true" goes to the parser.
    for (const k of ['exclusive', 'dependsOn', 'exactlyOne', 'relationships', 'combinable', 'env']) if (flag[k] !== undefined) return undefined;
    names.push(name!);
  }
  return names;
}

export type CommandClass = Omit<typeof GgnCommand, 'prototype'> & { new (argv: string[], ctx: CommandContext): GgnCommand };
