export { up, attach, currentOwner, DEFAULT_CLUSTER_DIR } from './cluster';
export type { Cluster, TestHost, HostRef, ExecOptions, HangOptions, HostStatus, UpOptions } from './cluster';
export type { RunResult } from './sys';
export { generateEd25519 } from './keys';
