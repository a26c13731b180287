export { up, attach, currentOwner, DEFAULT_CLUSTER_DIR } from './cluster';
export type { Cluster, TestHost, HostRef, ExecOptions, HangOptions, HostStatus, UpOptions } from './cluster';
export type { RunResult } from './sys';
export { generateEd25519 } from './keys';
export { upSystem, systemRootfsPath, systemRootfsReady, sudoersLine, DEFAULT_SYSTEM_HOSTS_DIR } from './system-hosts';
export type { SystemCluster, SystemHost, SystemHostRef, SystemExecOptions, SystemHostStatus, SystemUpOptions, SudoMode } from './system-hosts';
export { upHosts, scopes } from './hosts';
export type { HostCluster, LiveHost, Scope, HostsOptions, FileStat, HostExecOptions } from './hosts';
