/**
 * Machine names for `hostname: '*'`. From the env config's `machines:` list when it has one
 * (the SSH driver's inventory), else from GGN's cache of `fleetctl list-machines`
 * (`<home>/list-machines.cache.<envDir>`, fresh for 12 h): each line is split on `,` then `=`,
 * and every `dirName=<x>` names a machine.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GgnError } from '../errors';
import { Env } from './env';
import { isMapValue } from './yaml';

export const MACHINES_CACHE_TTL_MS = 12 * 3600 * 1000;

export function machinesCacheFile(env: Env): string {
  return path.join(env.home.path, `list-machines.cache.${env.dir}`);
}

export function parseFleetMachines(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n')) {
    for (const meta of line.split(',')) {
      const [k, v] = meta.split('=');
      if (k === 'dirName' && v !== undefined) names.push(v);
    }
  }
  return names;
}

export function machineNames(env: Env, now = Date.now()): string[] {
  const machines = env.config.machines;
  if (Array.isArray(machines)) {
    return machines.map((m, i) => {
      if (!isMapValue(m) || typeof m.name !== 'string' || m.name === '') {
        throw new GgnError(`machines[${i}] needs a \`name\``, { file: env.configFile });
      }
      return m.name;
    });
  }
  const file = machinesCacheFile(env);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new GgnError(
      `hostname '*' needs the list of machines: add \`machines:\` to ${path.relative(env.home.workPath, env.configFile)}, or provide GGN's cache ${file}`,
      { env: env.dir },
    );
  }
  if (stat.mtimeMs + MACHINES_CACHE_TTL_MS < now) {
    throw new GgnError(`hostname '*' needs the list of machines, and the cache ${file} is older than 12 h`, { env: env.dir });
  }
  return parseFleetMachines(fs.readFileSync(file, 'utf8'));
}
