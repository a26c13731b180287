/**
 * Service locks (`ggn <env> <service> lock -t 1h <message>` / `unlock`, and held by update,
 * rollback, start, stop, restart and destroy as one run: `withServiceLock`). The backend comes
 * from the env config:
 *
 *   lock: {backend: ssh}                                    # default: a directory on the first machine
 *   lock: {backend: etcd, endpoints: [http://10.0.0.1:2379]} # GGN's /ggn-lock/<service>/lock
 */
import type { LockConfig } from '../../config/env-config';
import { Clock, RemoteExec } from '../types';
import { ServiceLocks } from './dance';
import { EtcdLockStore } from './etcd';
import { SshLockStore } from './ssh';

export { LockRecord, LockStore, LockHeldError, LockLostError, formatDuration, parseDuration, timeLeft, describeLock, MIN_TTL_MS } from './common';
export { ServiceLocks, HeldRun, PENDING_REAP_MS } from './dance';
export { withServiceLock, LockedOutcome, DEFAULT_LOCK_TTL } from './run';
export { SshLockStore, SSH_LOCK_SCRIPT } from './ssh';
export { EtcdLockStore, lockKey, recordKey } from './etcd';

export { LockConfig, readLockConfig } from '../../config/env-config';

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
