/**
 * The base of every ggn command: an oclif Command that knows its target (env, service, unit),
 * the workspace, and the global flags. Commands are thin: they parse their own flags, call
 * `src/`, print, and return an exit code.
 */
import { Command } from '@oclif/core';
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

export abstract class GgnCommand extends Command {
  ctx!: CommandContext;
  /** Levels this command exists at. */
  static levels: Level[] = [];
  /** One line for the command lists in help. */
  static override summary = '';

  abstract execute(): Promise<number>;

  override async run(): Promise<number> {
    return this.execute();
  }

  protected print(line: string): void {
    this.ctx.out.write(line + '\n');
  }
}
