/**
 * Help that teaches: the grammar, then what the tree holds at this level (envs, services,
 * units), the commands that exist here, global flags, and examples.
 */
import { Workspace } from '../src/workspace';
import { Level } from './base';
import { GLOBAL_FLAG_HELP } from './globals';
import { loadVerb, TOP_LEVEL, verbsAt, verbSummary } from './registry';
import { unitNamesOf } from './grammar';
import { formatError } from './errors';

const table = (rows: [string, string][], indent = '  ') => {
  const w = Math.max(0, ...rows.map((r) => r[0].length));
  return rows.map(([a, b]) => `${indent}${a.padEnd(w)}  ${b}`).join('\n');
};

const USAGE = `Usage:
  ggn [flags] <env> <command>
  ggn [flags] <env> <service> <command>
  ggn [flags] <env> <service> <unit> <command>
  ggn [flags] <env> <unit> <command>          (when the unit name is unique in the env)`;

export function helpText(ws: Workspace, level: 'top' | Level, env?: string, service?: string, unit?: string): string {
  const parts: string[] = [];
  if (level === 'top') {
    parts.push('ggn renders a GGN environment tree into systemd units, diffs them against the hosts, and rolls them out.');
    parts.push(USAGE);
    parts.push(
      `Envs:\n${listing(
        () => ws.envNames(),
        (e) => `  ${e.join('  ')}`,
      )}`,
    );
    parts.push(`Commands without an env:\n${table(Object.entries(TOP_LEVEL))}`);
    parts.push(`Commands of an env (ggn <env> <command>):\n${table(verbsAt('env').map((v) => [v.name, v.summary]))}`);
  } else if (level === 'env') {
    parts.push(`ggn ${env}: env ${env}`);
    parts.push(`Usage:\n  ggn ${env} <command>\n  ggn ${env} <service> <command>\n  ggn ${env} <service> <unit> <command>`);
    parts.push(`Commands:\n${table(verbsAt('env').map((v) => [v.name, v.summary]))}`);
    parts.push(
      `Services:\n${listing(
        () => ws.serviceNames(ws.env(env!)),
        (s) => `  ${s.join('  ')}`,
      )}`,
    );
  } else if (level === 'service') {
    parts.push(`ggn ${env} ${service}: service ${service} of env ${env}`);
    parts.push(`Usage:\n  ggn ${env} ${service} <command>\n  ggn ${env} ${service} <unit> <command>`);
    parts.push(`Commands:\n${table(verbsAt('service').map((v) => [v.name, v.summary]))}`);
    parts.push(
      `Units:\n${listing(
        () => unitNamesOf(ws, env!, service!).filter((n) => n.includes('_')),
        (u) => u.map((x) => `  ${x}`).join('\n'),
      )}`,
    );
  } else {
    parts.push(`ggn ${env} ${service} ${unit}: unit ${unit} of service ${service}`);
    parts.push(`Usage:\n  ggn ${env} ${service} ${unit} <command>`);
    parts.push(`Commands:\n${table(verbsAt('unit').map((v) => [v.name, v.summary]))}`);
  }
  parts.push(`Global flags:\n${table(GLOBAL_FLAG_HELP)}`);
  parts.push(
    `Examples:\n  ggn prod cassandra generate\n  ggn prod generate\n  ggn -A '{"version":"1.2"}' prod api generate\n  ggn prod cassandra generate --help`,
  );
  return parts.join('\n\n') + '\n';
}

/** Help for one command: its description, flags and examples (from the oclif class). */
export function commandHelp(verb: string, target: string): string {
  const cls = loadVerb(verb)!;
  const parts = [`ggn ${target} ${verb}: ${verbSummary(verb)}`];
  if (cls.description) parts.push(cls.description);
  const flags = Object.entries(cls.flags ?? {}).map(([name, f]: [string, any]) => [
    `${f.char ? `-${f.char}, ` : '    '}--${name}${f.type === 'option' ? ` <${f.helpValue ?? 'value'}>` : ''}`,
    `${f.description ?? ''}${f.default !== undefined && f.type === 'option' ? ` (default ${f.default})` : ''}`,
  ]) as [string, string][];
  if (flags.length) parts.push(`Flags:\n${table(flags)}`);
  parts.push(`Global flags:\n${table(GLOBAL_FLAG_HELP)}`);
  if (cls.examples?.length) parts.push(`Examples:\n${(cls.examples as string[]).map((e) => `  ${e}`).join('\n')}`);
  return parts.join('\n\n') + '\n';
}

function listing<T>(get: () => T, fmt: (v: T) => string): string {
  try {
    const v = get();
    return Array.isArray(v) && v.length === 0 ? '  (none)' : fmt(v);
  } catch (e) {
    return `  (cannot list: ${formatError(e)})`;
  }
}
