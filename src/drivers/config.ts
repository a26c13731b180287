/**
 * The env config's driver settings (`env/<env>/config.yml`, with the home's overrideConfig
 * merged in): `driver`, `ssh:` and `machines:`. Their keys and types are checked when the env is
 * loaded (schemas/env-config.schema.json); this reads them into the driver's settings.
 */
import * as path from 'node:path';
import { GgnError } from '../errors';
import { Env } from '../tree/env';
import { isMapValue } from '../tree/yaml';
import { GoMap, GoValue } from '../template/values';
import { EnvSshConfig, MachineSpec } from '../transport/resolve';
import { Machine } from './types';
import { Scope } from './systemd/commands';
import { FleetConfig, parseFleetConfig } from './fleet/config';

export interface SshDriverConfig extends EnvSshConfig {
  scope: Scope;
  sudo: boolean;
}

export interface MachineConfig extends MachineSpec, Machine {}

export interface DriverConfig {
  driver: 'ssh' | 'fleet';
  ssh: SshDriverConfig;
  machines: MachineConfig[];
  /** Folder relative paths resolve against. */
  configDir: string;
  /** `driver: fleet`: its `fleet:` map. */
  fleet?: FleetConfig;
}

export function readDriverConfig(env: Env): DriverConfig {
  const file = env.configFile;
  const c = env.config;
  const err = (msg: string) => new GgnError(msg, { file, env: env.dir });
  const driver = c.driver ?? (c.machines !== undefined ? 'ssh' : c.fleet !== undefined ? 'fleet' : 'ssh');
  if (driver !== 'ssh' && driver !== 'fleet') throw err(`\`driver:\` must be ssh or fleet, not ${String(driver)}`);
  // The fleet driver's own map: one pure parser (./fleet/config.ts); its etcd defaults to the lock's.
  // With `driver: ssh` it is ignored, so one env config can hold both while moving off fleet.
  const lock = isMapValue((c.lock ?? null) as GoValue) ? (c.lock as GoMap) : undefined;
  const lockEtcd = lock?.backend === 'etcd' && Array.isArray(lock.endpoints) ? lock.endpoints.filter((e): e is string => typeof e === 'string') : undefined;
  const fleet = driver === 'fleet' ? parseFleetConfig(c.fleet, err, { etcd: lockEtcd }) : undefined;

  const ssh = (c.ssh ?? Object.create(null)) as GoValue;
  if (!isMapValue(ssh)) throw err('`ssh:` must be a map');
  const scope = ssh.scope ?? 'system';
  if (scope !== 'system' && scope !== 'user') throw err('`ssh.scope:` must be system or user');
  const sshConfig: SshDriverConfig = {
    user: optString(ssh, 'user', 'ssh.user', err),
    port: optPort(ssh.port, 'ssh.port', err),
    identityFile: optString(ssh, 'identityFile', 'ssh.identityFile', err),
    knownHostsFile: optString(ssh, 'knownHostsFile', 'ssh.knownHostsFile', err),
    strictHostKeyChecking: optBool(ssh.strictHostKeyChecking, 'ssh.strictHostKeyChecking', err),
    jumpHost: optString(ssh, 'jumpHost', 'ssh.jumpHost', err),
    connectTimeout: optPositive(ssh.connectTimeout, 'ssh.connectTimeout', err),
    scope,
    sudo: optBool(ssh.sudo, 'ssh.sudo', err) ?? false,
  };

  const list = c.machines ?? [];
  if (!Array.isArray(list)) throw err('`machines:` must be a list');
  const seen = new Set<string>();
  const machines = list.map((m, i): MachineConfig => {
    const where = `machines[${i}]`;
    if (!isMapValue(m)) throw err(`${where} must be a map with name and address`);
    const name = optString(m, 'name', `${where}.name`, err);
    if (!name) throw err(`${where} needs a \`name\``);
    if (!/^[A-Za-z0-9:_.-]+$/.test(name)) throw err(`${where}.name ${JSON.stringify(name)} may use only letters, digits, ":", "_", ".", "-"`);
    if (seen.has(name)) throw err(`machine name "${name}" appears twice in machines`);
    seen.add(name);
    const address = optString(m, 'address', `${where}.address`, err) ?? name;
    const metadata: Record<string, string> = {};
    if (m.metadata !== undefined && m.metadata !== null) {
      if (!isMapValue(m.metadata)) throw err(`${where}.metadata must be a map`);
      for (const [k, v] of Object.entries(m.metadata)) metadata[k] = scalarString(v, `${where}.metadata.${k}`, err);
    }
    return {
      name,
      address,
      port: optPort(m.port, `${where}.port`, err),
      user: optString(m, 'user', `${where}.user`, err),
      identityFile: optString(m, 'identityFile', `${where}.identityFile`, err),
      metadata,
    };
  });
  return { driver, ssh: sshConfig, machines, configDir: path.dirname(file), fleet };
}

function optString(m: GoMap, key: string, where: string, err: (m: string) => GgnError): string | undefined {
  const v = m[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw err(`\`${where}\` must be a non-empty string`);
  return v;
}

function optPort(v: GoValue | undefined, where: string, err: (m: string) => GgnError): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'bigint' || v < 1n || v > 65535n) throw err(`\`${where}\` must be a port number (1-65535)`);
  return Number(v);
}

function optPositive(v: GoValue | undefined, where: string, err: (m: string) => GgnError): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !(n > 0)) throw err(`\`${where}\` must be a positive number of seconds`);
  return n;
}

function optBool(v: GoValue | undefined, where: string, err: (m: string) => GgnError): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw err(`\`${where}\` must be true or false`);
  return v;
}

function scalarString(v: GoValue, where: string, err: (m: string) => GgnError): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw err(`\`${where}\` must be a string`);
}
