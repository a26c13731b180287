/**
 * GGN's command grammar:
 *   ggn <env> <command>
 *   ggn <env> <service> <command>
 *   ggn <env> <service> <unit> <command>
 *   ggn <env> <unit> <command>        when the unit name is unique in the env
 * Words are read left to right; flags stay with the command.
 */
import { isService, isTimer, isValidUnitName, slotUnitName, unitFileName, unitPrefix } from '../src/render/names';
import { GgnError } from '../src/errors';
import { Workspace } from '../src/workspace';
import { Level } from './base';
import { UsageError } from './globals';
import { verbNames, verbsAt, TOP_LEVEL } from './registry';
import { didYouMean } from '../src/report/suggest';

export type Resolved =
  | { kind: 'top'; verb?: string; args: string[] }
  | { kind: 'help'; level: 'top' | Level; env?: string; service?: string; unit?: string }
  | { kind: 'command'; level: Level; env: string; service?: string; unit?: string; verb: string; args: string[] };

export function resolve(ws: Workspace, argv: string[], help: boolean): Resolved {
  const words: string[] = [];
  let i = 0;
  // Positional words up to (and including) the verb; everything after is the command's.
  for (; i < argv.length; i++) {
    if (argv[i].startsWith('-') && argv[i] !== '-') break;
    words.push(argv[i]);
    if (isVerbPosition(words)) break;
  }

  const w = words;
  if (w.length === 0) return help || argv.length === 0 ? { kind: 'help', level: 'top' } : usage(`expected an env before ${argv[0]}`);
  if (w[0] in TOP_LEVEL) return { kind: 'top', verb: w[0], args: argv.slice(1) };

  const envs = ws.envNames();
  if (!envs.includes(w[0])) {
    throw new GgnError(`unknown env or command "${w[0]}"${didYouMean(w[0], [...envs, ...Object.keys(TOP_LEVEL)])}; envs: ${envs.join(', ') || '(none)'}`);
  }
  const env = w[0];
  if (w.length === 1) return { kind: 'help', level: 'env', env };

  const envVerbs = verbsAt('env').map((v) => v.name);
  if (envVerbs.includes(w[1])) return command('env', env, undefined, undefined, w[1], argv.slice(i + 1));

  const envObj = ws.env(env);
  const services = ws.serviceNames(envObj);
  if (services.includes(w[1])) {
    const service = w[1];
    if (w.length === 2) return { kind: 'help', level: 'service', env, service };
    const svcVerbs = verbsAt('service').map((v) => v.name);
    if (svcVerbs.includes(w[2])) return command('service', env, service, undefined, w[2], argv.slice(i + 1));
    const units = unitNamesOf(ws, env, service);
    // `destroy` also takes a unit no longer in the tree (an orphan on a host), by its full name.
    const orphanName = w[3] === 'destroy' && isOrphanName(ws.env(env).name, service, services, w[2]);
    if (!units.includes(w[2]) && !orphanName) {
      throw new GgnError(`unknown command or unit "${w[2]}" for service ${service}${didYouMean(w[2], [...svcVerbs, ...units])}`, { env, service });
    }
    return unitLevel(env, service, w[2], w[3], argv.slice(i + 1));
  }

  // `ggn <env> <unit> <command>`: the unit must be unique in the env.
  const owners = services.filter((s) => safeUnitNames(ws, env, s).includes(w[1]));
  if (owners.length === 1) return unitLevel(env, owners[0], w[1], w[2], argv.slice(i + 1));
  if (owners.length > 1) {
    throw new GgnError(`unit "${w[1]}" exists in services ${owners.join(', ')}: name the service, e.g. ggn ${env} ${owners[0]} ${w[1]} ...`, { env });
  }
  throw new GgnError(`unknown command, service or unit "${w[1]}" in env ${env}${didYouMean(w[1], [...envVerbs, ...services])}`, { env });
}

/** `<envName>_<service>_<x>.service|.timer` of this service (not of a longer-named one), a valid unit name. */
function isOrphanName(envName: string, service: string, services: string[], word: string): boolean {
  if (!isValidUnitName(word) || !(isService(word) || isTimer(word))) return false;
  const owners = services.filter((s) => word.startsWith(unitPrefix(envName, s))).sort((a, b) => b.length - a.length);
  return owners[0] === service;
}

function unitLevel(env: string, service: string, unit: string, verb: string | undefined, args: string[]): Resolved {
  if (!verb) return { kind: 'help', level: 'unit', env, service, unit };
  const unitVerbs = verbsAt('unit').map((v) => v.name);
  if (!unitVerbs.includes(verb)) {
    throw new GgnError(`unknown command "${verb}" for unit ${unit}${didYouMean(verb, unitVerbs)}`, { env, service, unit });
  }
  return command('unit', env, service, unit, verb, args);
}

function command(level: Level, env: string, service: string | undefined, unit: string | undefined, verb: string, args: string[]): Resolved {
  return { kind: 'command', level, env, service, unit, verb, args };
}

function usage(msg: string): never {
  throw new UsageError(msg);
}

/** A word is a verb when it names one and stands where a verb can stand (2nd to 4th word). */
function isVerbPosition(words: string[]): boolean {
  const last = words[words.length - 1];
  if (words.length === 1) return last in TOP_LEVEL;
  return verbNames().includes(last);
}

/** Names a user may type for the units of a service: hostname, hostname.timer, full names. */
export function unitNamesOf(ws: Workspace, env: string, service: string): string[] {
  const svc = ws.service(ws.env(env), service);
  const names: string[] = [];
  const slots = svc.manifest.rollout?.slots ?? [];
  for (const node of svc.nodes) {
    const host = node.hostname as string;
    names.push(host);
    // A service with `rollout:`: `w1` (the node), `w1.blue` and the full name of each slot's unit.
    for (const s of slots) names.push(`${host}.${s.name}`, slotUnitName(svc.source.env.name, service, host, s.name));
    if (slots.length) continue;
    for (const t of svc.templates) {
      if (t.kind === 'timer') names.push(`${host}.timer`);
      names.push(unitFileName(svc.source.env.name, service, host, t.kind));
    }
  }
  return names;
}

function safeUnitNames(ws: Workspace, env: string, service: string): string[] {
  try {
    return unitNamesOf(ws, env, service);
  } catch {
    return [];
  }
}
