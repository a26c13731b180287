/** How the transport reaches a test host of the user-scope cluster (strict host keys, the cluster's key). */
import type { Cluster, TestHost } from '../harness';
import type { HostSpec } from '../../src/transport/types';

export function hostSpec(cluster: Cluster, h: TestHost, over: Partial<HostSpec> = {}): HostSpec {
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
