/** How the transport reaches a test host of either scope (strict host keys, the cluster's key). */
import type { LiveHost } from '../harness';
import type { HostSpec } from '../../src/transport/types';

export function hostSpec(cluster: { clientKeyPath: string; knownHostsPath: string }, h: LiveHost, over: Partial<HostSpec> = {}): HostSpec {
  return {
    name: h.name,
    address: h.address,
    port: h.port,
    user: h.user,
    identityFiles: [cluster.clientKeyPath],
    knownHostsFile: cluster.knownHostsPath,
    strictHostKeyChecking: true,
    connectTimeoutMs: 5000,
    ...over,
  };
}

/** A host for tests whose transport is a fake that never connects (nothing here is used to reach it). */
export function offlineHostSpec(name: string): HostSpec {
  return {
    name,
    address: '127.0.0.1',
    port: 22,
    user: 'u',
    identityFiles: [],
    knownHostsFile: '/dev/null',
    strictHostKeyChecking: true,
    connectTimeoutMs: 1000,
  };
}
