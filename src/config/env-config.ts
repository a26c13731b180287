/**
 * The env config (`env/<env>/config.yml`, with the home's `overrideConfig.<env>` merged over it)
 * as one checked object, read once per env and run. Its keys and types are defined once, in
 * schemas/env-config.schema.json (checked when the env is loaded: src/tree/env.ts); what the
 * schema cannot say (URLs, sizes with units, service names) is checked here. The driver's own
 * keys (`ssh:`, `machines:`, `fleet:`) are read by the driver (src/drivers/config.ts).
 */
import { GgnError } from '../errors';
import type { Env } from '../tree/env';
import { GoMap, GoValue } from '../template/values';

export type LockConfig = { backend: 'ssh' } | { backend: 'etcd'; endpoints: string[] };

export interface EnvSettings {
  lock: LockConfig;
  /** Services an env-level update takes first, in this order. */
  updateOrder: string[];
  /** Bytes. */
  maxUnitSize: number;
  /** Missing attributes are errors, not warnings. */
  strict: boolean;
  /** `secrets.hookAttributes`: what hooks see of secret attributes. */
  secretsInHooks: 'masked' | 'plain';
}

export const DEFAULT_MAX_UNIT_SIZE = 1 << 20;

const cache = new WeakMap<object, EnvSettings>();

/** The env's settings (computed once per loaded env). */
export function envSettings(env: Pick<Env, 'config' | 'configFile'>): EnvSettings {
  let s = cache.get(env);
  if (!s) {
    s = readEnvSettings(env.config, env.configFile);
    cache.set(env, s);
  }
  return s;
}

export function readEnvSettings(config: GoMap, file: string): EnvSettings {
  const order = config.updateOrder;
  return {
    lock: readLockConfig(config, file),
    updateOrder: Array.isArray(order) ? (order as string[]) : [],
    maxUnitSize: readMaxUnitSize(config.maxUnitSize, file),
    strict: config.strict === true,
    secretsInHooks: isMap(config.secrets) && config.secrets.hookAttributes === 'plain' ? 'plain' : 'masked',
  };
}

/** `lock:` of an env config; errors name the file. */
export function readLockConfig(envConfig: GoMap, configFile: string): LockConfig {
  const err = (msg: string) => new GgnError(msg, { file: configFile });
  const raw = envConfig.lock as GoMap | undefined | null;
  if (raw === undefined || raw === null) return { backend: 'ssh' };
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw err('`lock:` must be a map, e.g. `lock: {backend: ssh}` or `lock: {backend: etcd, endpoints: [http://127.0.0.1:2379]}`');
  const backend = raw.backend ?? 'ssh';
  if (backend !== 'ssh' && backend !== 'etcd')
    throw err(`\`lock.backend:\` must be ssh or etcd, not ${JSON.stringify(typeof backend === 'bigint' ? String(backend) : backend)}`);
  if (backend === 'ssh') {
    if (raw.endpoints !== undefined && raw.endpoints !== null) throw err('`lock.endpoints` is only for `lock.backend: etcd`');
    return { backend };
  }
  const eps = raw.endpoints;
  if (eps === undefined || eps === null) throw err('`lock.backend: etcd` needs `lock.endpoints:` (a list of URLs such as http://127.0.0.1:2379)');
  const list = Array.isArray(eps) ? eps : [eps];
  if (list.length === 0) throw err('`lock.endpoints:` must list at least one URL');
  const endpoints = list.map((e, i) => {
    if (typeof e !== 'string' || e === '') throw err(`\`lock.endpoints[${i}]\` must be a URL such as http://127.0.0.1:2379`);
    if (!/^https?:\/\//.test(e)) throw err(`\`lock.endpoints[${i}]\` ${JSON.stringify(e)} must start with http:// or https://`);
    let u: URL;
    try {
      u = new URL(e);
    } catch {
      throw err(`\`lock.endpoints[${i}]\` ${JSON.stringify(e)} is not a URL (expected e.g. http://127.0.0.1:2379)`);
    }
    if (!u.hostname || (u.pathname !== '/' && u.pathname !== '') || u.search || u.username)
      throw err(`\`lock.endpoints[${i}]\` ${JSON.stringify(e)} must be scheme://host:port only`);
    return e.replace(/\/+$/, '');
  });
  return { backend, endpoints };
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** `maxUnitSize:`: a positive integer, or a string such as `4MiB`, `512KiB`, `2M`. */
export function readMaxUnitSize(v: GoValue | undefined, file: string): number {
  if (v === undefined || v === null) return DEFAULT_MAX_UNIT_SIZE;
  const bad = () => new GgnError(`\`maxUnitSize:\` must be a positive size in bytes, e.g. 1048576 or 4MiB (got ${shown(v)})`, { file });
  let n: number;
  if (typeof v === 'bigint' || typeof v === 'number') n = Number(v);
  else if (typeof v === 'string') {
    const m = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(v);
    if (!m || !(m[2].toLowerCase() in SIZE_UNITS)) throw bad();
    n = Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()];
  } else throw bad();
  if (!Number.isSafeInteger(n) || n <= 0) throw bad();
  return n;
}

function isMap(v: GoValue | undefined): v is GoMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' && v !== null ? 'a map' : String(v);
}
