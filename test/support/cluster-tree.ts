/** A work tree whose env `prod` points at the hosts of a test cluster (scope: user) or at system test hosts (scope: system). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Cluster, HostCluster, SystemCluster } from '../harness';
import { tmpDir } from './cli';

export interface ClusterTree {
  base: string;
  work: string;
  home: string;
  write(rel: string, content: string): void;
}

export function envConfigFor(cluster: Cluster, opts: { knownHostsFile?: string; connectTimeout?: number; extra?: string } = {}): string {
  const lines = [
    'ssh:',
    '  scope: user',
    `  identityFile: ${cluster.clientKeyPath}`,
    `  knownHostsFile: ${opts.knownHostsFile ?? cluster.knownHostsPath}`,
    `  connectTimeout: ${opts.connectTimeout ?? 3}`,
    'machines:',
    ...cluster.hosts.flatMap((h, i) => [
      `  - name: ${h.name}`,
      `    address: ${h.address}`,
      `    port: ${h.port}`,
      `    user: ${h.user}`,
      `    metadata: {rack: r${(i % 2) + 1}}`,
    ]),
  ];
  return lines.join('\n') + '\n' + (opts.extra ?? '');
}

export interface SystemConfigOptions {
  /** ssh.user (default deploy). */
  user?: string;
  /** ssh.sudo (default true). */
  sudo?: boolean;
  connectTimeout?: number;
  extra?: string;
}

/** `scope: system` config for system test hosts (test/harness/system-hosts.ts): units in /etc/systemd/system, `sudo -n`. */
export function systemEnvConfigFor(cluster: SystemCluster, opts: SystemConfigOptions = {}): string {
  const lines = [
    'ssh:',
    '  scope: system',
    `  sudo: ${opts.sudo ?? true}`,
    `  user: ${opts.user ?? 'deploy'}`,
    `  identityFile: ${cluster.clientKeyPath}`,
    `  knownHostsFile: ${cluster.knownHostsPath}`,
    `  connectTimeout: ${opts.connectTimeout ?? 3}`,
    'machines:',
    ...cluster.hosts.flatMap((h, i) => [`  - name: ${h.name}`, `    address: ${h.address}`, `    port: ${h.port}`, `    metadata: {rack: r${(i % 2) + 1}}`]),
  ];
  return lines.join('\n') + '\n' + (opts.extra ?? '');
}

export interface LiveConfigOptions {
  knownHostsFile?: string;
  connectTimeout?: number;
  extra?: string;
}

/**
 * The env config for the hosts of either scope: `scope: user` for the user-scope cluster, or
 * `scope: system, sudo: true` (login deploy) for the system hosts.
 */
export function liveEnvConfig(c: HostCluster, opts: LiveConfigOptions = {}): string {
  const lines = [
    'ssh:',
    `  scope: ${c.scope}`,
    ...(c.scope === 'system' ? ['  sudo: true'] : []),
    `  identityFile: ${c.clientKeyPath}`,
    `  knownHostsFile: ${opts.knownHostsFile ?? c.knownHostsPath}`,
    `  connectTimeout: ${opts.connectTimeout ?? 3}`,
    'machines:',
    ...c.hosts.flatMap((h, i) => [
      `  - name: ${h.name}`,
      `    address: ${h.address}`,
      `    port: ${h.port}`,
      `    user: ${h.user}`,
      `    metadata: {rack: r${(i % 2) + 1}}`,
    ]),
  ];
  return lines.join('\n') + '\n' + (opts.extra ?? '');
}

/** A work tree whose env `prod` points at the hosts of either scope. */
export function liveTree(c: HostCluster, files: Record<string, string>, opts: LiveConfigOptions = {}): ClusterTree {
  return makeTree(liveEnvConfig(c, opts), files);
}

export function clusterTree(cluster: Cluster, files: Record<string, string>, configOpts: Parameters<typeof envConfigFor>[1] = {}): ClusterTree {
  return makeTree(envConfigFor(cluster, configOpts), files);
}

export function systemClusterTree(cluster: SystemCluster, files: Record<string, string>, configOpts: SystemConfigOptions = {}): ClusterTree {
  return makeTree(systemEnvConfigFor(cluster, configOpts), files);
}

function makeTree(config: string, files: Record<string, string>): ClusterTree {
  const base = tmpDir('live');
  const work = path.join(base, 'work');
  const home = path.join(base, 'home');
  const write = (rel: string, content: string) => {
    const f = path.join(work, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, content);
  };
  write('env/prod/config.yml', config);
  for (const [rel, content] of Object.entries(files)) write(rel, content);
  fs.mkdirSync(home, { recursive: true });
  fs.writeFileSync(path.join(home, 'config.yml'), `workPath: ${work}\nuser: tester\n`);
  return { base, work, home, write };
}

/** A long-running service unit template that records its start in the user's home. */
export const SLEEPER_UNIT = `[Unit]
Description=web {{.hostname}} v{{.version}}

[Service]
ExecStart=/bin/sh -c 'echo started {{.version}} >> %h/{{.hostname}}.log; exec sleep 600'

[X-Fleet]
MachineID={{.machine_id}}
`;
