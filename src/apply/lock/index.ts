/**
 * Service locks (`ggn <env> <service> lock -t 1h <message>` / `unlock`, and held by update,
 * rollback, start, stop, restart and destroy as one run: `withServiceLock`). The backend comes
 * from the env config:
 *
 *   lock: {backend: ssh}                                    # default: a directory on the first machine
 *   lock: {backend: etcd, endpoints: [http://10.0.0.1:2379]} # GGN's /ggn-lock/<service>/lock
 */
import { GgnError } from '../../errors';
import { isMapValue } from '../../tree/yaml';
import { GoMap, GoValue } from '../../template/values';
import { Clock, RemoteExec } from '../types';
import { ServiceLocks } from './dance';
import { EtcdLockStore } from './etcd';
import { SshLockStore } from './ssh';

export { LockRecord, LockStore, LockHeldError, LockLostError, formatDuration, parseDuration, timeLeft, describeLock, MIN_TTL_MS } from './common';
export { ServiceLocks, HeldRun, PENDING_REAP_MS } from './dance';
export { withServiceLock, LockedOutcome, DEFAULT_LOCK_TTL } from './run';
export { SshLockStore, SSH_LOCK_SCRIPT } from './ssh';
export { EtcdLockStore, lockKey, recordKey } from './etcd';

export type LockConfig = { backend: 'ssh' } | { backend: 'etcd'; endpoints: string[] };

const LOCK_KEYS = ['backend', 'endpoints'];

/** Reads and checks `lock:` of an env config; errors name the file. */
export function readLockConfig(envConfig: GoMap, configFile: string): LockConfig {
  const err = (msg: string) => new GgnError(msg, { file: configFile });
  const raw = envConfig.lock as GoValue | undefined;
  if (raw === undefined || raw === null) return { backend: 'ssh' };
  if (!isMapValue(raw)) throw err('`lock:` must be a map, e.g. `lock: {backend: ssh}` or `lock: {backend: etcd, endpoints: [http://127.0.0.1:2379]}`');
  for (const k of Object.keys(raw)) if (!LOCK_KEYS.includes(k)) throw err(`unknown key \`lock.${k}\` (known: ${LOCK_KEYS.join(', ')})`);
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

export interface LockDeps {
  exec: RemoteExec;
  /** The first machine of the env's `machines:` (ssh backend). */
  firstMachine: string;
  scope: 'system' | 'user';
  sudo: boolean;
  envName: string;
  clock: Clock;
  /** Poll interval while waiting (`--lock-wait`); defaults: ssh 2 s, etcd 1 s. */
  pollMs?: number;
}

export function createLockBackend(cfg: LockConfig, deps: LockDeps): ServiceLocks {
  const store =
    cfg.backend === 'etcd'
      ? new EtcdLockStore({ endpoints: cfg.endpoints, clock: deps.clock })
      : new SshLockStore({ exec: deps.exec, machine: deps.firstMachine, scope: deps.scope, sudo: deps.sudo, envName: deps.envName });
  return new ServiceLocks(store, deps.clock, deps.pollMs ?? (cfg.backend === 'etcd' ? 1000 : 2000));
}
