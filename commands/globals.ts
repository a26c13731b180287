/**
 * Global flags, accepted anywhere on the line as in GGN: -H/--home-path, -L/--log-level,
 * -M/--generate-manifest, -A/--manifest-attributes, and -h/--help.
 */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

export interface GlobalFlags {
  homePath?: string;
  logLevel: LogLevel;
  generateManifest?: string;
  manifestAttributes?: string;
  /** `--strict`: a missing attribute is an error, not a warning. */
  strict: boolean;
  help: boolean;
}

const WITH_VALUE: Record<string, keyof GlobalFlags> = {
  '-H': 'homePath',
  '--home-path': 'homePath',
  '-L': 'logLevel',
  '--log-level': 'logLevel',
  '-M': 'generateManifest',
  '--generate-manifest': 'generateManifest',
  '-A': 'manifestAttributes',
  '--manifest-attributes': 'manifestAttributes',
};

export const GLOBAL_FLAG_HELP: [string, string][] = [
  ['-H, --home-path <dir>', 'ggn home with config.yml (default ~/.config/ggn)'],
  ['-L, --log-level <level>', 'trace, debug, info, warn or error (default info); debug shows stack traces'],
  ['-M, --generate-manifest <files>', 'comma-separated local ACI/pod manifests to resolve `containers:`'],
  ['-A, --manifest-attributes <json>', 'JSON object used to template service-manifest.yml'],
  ['--strict', 'a missing attribute (rendered as <no value>) is an error, not a warning'],
  ['-h, --help', 'show help for the env, service or unit named before it'],
];

export class UsageError extends Error {}

/** Splits argv into global flags and the rest (words and command flags, order kept). */
export function extractGlobals(argv: string[]): { globals: GlobalFlags; rest: string[] } {
  const globals: GlobalFlags = { logLevel: 'info', help: false, strict: false };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === '-h' || arg === '--help') {
      globals.help = true;
      continue;
    }
    if (arg === '--strict') {
      globals.strict = true;
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const key = WITH_VALUE[name];
    if (!key) {
      rest.push(arg);
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
    }
    if (key === 'logLevel') {
      const lvl = value.toLowerCase() as LogLevel;
      if (!LOG_LEVELS.includes(lvl)) throw new UsageError(`unknown log level "${value}" (use ${LOG_LEVELS.join(', ')})`);
      globals.logLevel = lvl;
    } else {
      (globals as unknown as Record<string, string>)[key] = value;
    }
  }
  return { globals, rest };
}
