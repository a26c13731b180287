/**
 * Service locks (`ggn <env> <service> lock -t 1h <message>` / `unlock`, and held by update,
 * rollback, start, stop, restart and destroy as one run: `withServiceLock`). The backend comes
 * from the env config:
 *
 *   lock: {backend: ssh}                                    # default: a directory on the first machine
 *   lock: {backend: etcd, endpoints: [http://10.0.0.1:2379]} # GGN's /ggn-lock/<service>/lock
 */
import type { LockConfig } from '../../config/env-config';
import { GgnError } from '../../errors';
import type { LockStore } from '../../drivers/lock-store';
import { Clock } from '../types';
import { ServiceLocks } from './dance';
import { EtcdLockStore } from './etcd';

export { LockRecord, LockStore, LockHeldError, LockLostError, formatDuration, parseDuration, timeLeft, describeLock, MIN_TTL_MS } from './common';
export { ServiceLocks, HeldRun, PENDING_REAP_MS } from './dance';
export { withServiceLock, LockedOutcome, DEFAULT_LOCK_TTL } from './run';
export { EtcdLockStore, lockKey, recordKey } from './etcd';

export { LockConfig, readLockConfig } from '../../config/env-config';

export interface LockDeps {
  /** The driver's own store, for the `ssh` backend (Driver.lockStore); unset: the driver has none. */
  hostStore?: () => LockStore;
  clock: Clock;
  /** Poll interval while waiting (`--lock-wait`); defaults: ssh 2 s, etcd 1 s. */
  pollMs?: number;
}

export function createLockBackend(cfg: LockConfig, deps: LockDeps): ServiceLocks {
  let store: LockStore;
  if (cfg.backend === 'etcd') store = new EtcdLockStore({ endpoints: cfg.endpoints, clock: deps.clock });
  else if (deps.hostStore) store = deps.hostStore();
  else throw new GgnError('this driver cannot keep the ssh lock (use `lock: {backend: etcd, ...}`)');
  return new ServiceLocks(store, deps.clock, deps.pollMs ?? (cfg.backend === 'etcd' ? 1000 : 2000));
}
