/**
 * The CLI entry: global flags, GGN's grammar, help, then one command. Only this layer decides
 * exit codes and prints errors; `src/` returns errors that say where and what.
 */
import { ggnVersion } from '../src/version';
import { GgnError } from '../src/errors';
import { Workspace } from '../src/workspace';
import { CommandContext } from './base';
import { complete, completionScript } from './completion';
import { reportError } from './errors';
import { guardStreams } from './redact';
import { surviveOutputErrors } from './output-loss';
import { extractGlobals, GlobalFlags, UsageError } from './globals';
import { resolve } from './grammar';
import { commandHelp, helpText } from './help';
import { loadVerb } from './registry';

/** The grammar's own refusals (commands/grammar.ts); other errors while resolving (a broken tree) exit 1. */
const GRAMMAR = /^(unknown (env or command|command or unit|command, service or unit|command) "|unit ".*" exists in services )/;

export async function main(
  argv: string[],
  io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = { out: process.stdout, err: process.stderr },
): Promise<number> {
  guardStreams([io.out, io.err, process.stdout, process.stderr]);
  const output = surviveOutputErrors(process.stdout, process.stderr);
  const code = await dispatch(argv, io);
  // Output lost to an error (not a reader that left) fails a command that would have succeeded;
  // a stream says so on the next tick (a file's failed write too), hence the turn first.
  await new Promise((resolve) => setImmediate(resolve));
  return code === 0 && output.lost() !== undefined ? 1 : code;
}

async function dispatch(argv: string[], io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream }): Promise<number> {
  let globals: GlobalFlags = { logLevel: 'info', help: false, strict: false };
  let ws: Workspace | undefined;
  try {
    const parsed = extractGlobals(argv);
    globals = parsed.globals;
    const workspace = (deferSchemaChecks: boolean) =>
      new Workspace({
        homePath: globals.homePath,
        generateManifest: globals.generateManifest,
        manifestAttributes: globals.manifestAttributes,
        strict: globals.strict,
        deferSchemaChecks,
      });
    // `validate` lists every config problem itself, so its line is read without the schema check.
    const maybeValidate = parsed.rest.includes('validate');
    ws = workspace(maybeValidate);
    if (parsed.rest[0] === '__complete') {
      io.out.write(
        complete(ws, parsed.rest.slice(1))
          .map((c) => c + '\n')
          .join(''),
      );
      return 0;
    }
    let r: ReturnType<typeof resolve>;
    try {
      r = resolve(ws, parsed.rest, globals.help);
      if (maybeValidate && !(r.kind === 'command' && r.verb === 'validate')) r = resolve((ws = workspace(false)), parsed.rest, globals.help);
    } catch (e) {
      // An unknown or ambiguous env, service, unit or command is a usage error (exit 2).
      if (!(e instanceof GgnError) || !GRAMMAR.test(e.message)) throw e;
      reportError({ err: io.err, globals, ws }, e);
      io.err.write('See: ggn --help\n');
      return 2;
    }
    if (r.kind === 'help') {
      io.out.write(helpText(ws, r.level, r.env, r.service, r.unit));
      return 0;
    }
    if (r.kind === 'top') {
      switch (r.verb) {
        case 'version':
          io.out.write(`ggn version ${ggnVersion()}\n`);
          return 0;
        case 'completion':
          io.out.write(completionScript(r.args[0] ?? 'bash'));
          return 0;
        case 'show':
          return await (require('./show') as typeof import('./show')).runShow(r.args, io);
        case 'secrets':
          return await (require('./secrets') as typeof import('./secrets')).runSecrets(globals.help ? ['help'] : r.args, io);
        default:
          io.out.write(helpText(ws, 'top'));
          return 0;
      }
    }
    if (r.level === 'env' && globals.manifestAttributes !== undefined) {
      // GGN had -A on service and unit commands only (at env level it printed usage and exited 0).
      throw new UsageError(`-A/--manifest-attributes templates one service's service-manifest.yml: name the service (ggn ${r.env} <service> ${r.verb} -A ...)`);
    }
    const target = [r.env, r.service, r.unit].filter(Boolean).join(' ');
    if (globals.help) {
      io.out.write(commandHelp(r.verb, target));
      return 0;
    }
    const Cls = loadVerb(r.verb)!;
    const ctx: CommandContext = { ws, globals, out: io.out, err: io.err, target: { level: r.level, env: r.env, service: r.service, unit: r.unit } };
    return await new Cls(r.args, ctx).run();
  } catch (e) {
    const badValue = flagValueError(e);
    if (e instanceof UsageError || isOclifParseError(e) || badValue) {
      io.err.write(`error: ${badValue ?? (e as Error).message.split('\n')[0]}\nSee: ggn --help\n`);
      return 2;
    }
    reportError({ err: io.err, globals, ws }, e);
    return 1;
  }
}

/**
 * A flag's value its parser refused (`--parallel 0`): oclif says `Parsing --parallel \n\t<why>\n...`
 * on three lines; one line, `--parallel: <why>`, and a usage error (exit 2).
 */
function flagValueError(e: unknown): string | undefined {
  const m = e instanceof Error ? /^Parsing (--[\w-]+) *\n\t([^\n]+)/.exec(e.message) : null;
  return m ? `${m[1]}: ${m[2]}` : undefined;
}

/** oclif's parser errors (unknown flag, missing value, ...) are usage errors. */
function isOclifParseError(e: unknown): boolean {
  return e instanceof Error && 'parse' in e && typeof (e as { parse?: unknown }).parse === 'object';
}
