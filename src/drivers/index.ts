/**
 * Builds the driver an env's config asks for: ssh (plain systemd over SSH) or fleet (fleet's HTTP API). Everything
 * outside src/drivers/ sees only the port (`Driver`, ./types.ts).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { Env } from '../tree/env';
import { resolveHost, resolveHosts } from '../transport/resolve';
import { loadSshConfig } from '../transport/ssh-config';
import { SshTransport } from '../transport/ssh';
import { Transport } from '../transport/types';
import { readDriverConfig } from './config';
import { SshSystemdDriver } from './systemd/driver';
import { FleetDriver } from './fleet/driver';
import { Driver } from './types';
import { GgnError } from '../errors';

/**
 * Hosts contacted at once unless `--parallel` says otherwise (diff, check, update's reads).
 * Measured (bench/hosts.ts, 1,000 units on 200 test hosts, 2026-12-07): from 10 to 200 at once
 * the wall time moved only within the noise (the test hosts share the client's 2 cores), while
 * ggn's CPU fell from 3.8 s to 2.7 s (fewer idle connections sending keepalives meanwhile); a
 * 5-round run of 50, 100 and 200 gave 1.02x, 1.06x and 1.10x the OpenSSH floor (README);
 * memory (~80-86 MiB) and descriptors (hosts + ~20: a host's connection stays open for the run)
 * do not depend on it. On real hosts, which do not share ggn's cores, the wall time is about
 * hosts / width × one host's read, so wider is faster; 50 keeps a burst of handshakes moderate
 * (a shared ssh-agent, a firewall's connection-rate limit) at ~15 ms of ggn's CPU per host.
 */
export const DEFAULT_HOST_PARALLEL = 50;

export interface DriverOptions {
  /** Hosts contacted at once (default DEFAULT_HOST_PARALLEL). */
  parallel?: number;
  /** For tests: another transport. */
  transport?: Transport;
  /** Where a host's warnings go (see SshSystemdOptions.onWarning). */
  onWarning?: (machine: string, message: string) => void;
  /** How far a read of many hosts is (see SshSystemdOptions.onReadProgress). */
  onReadProgress?: (done: number, total: number) => void;
}

export function createDriver(env: Env, opts: DriverOptions = {}): Driver {
  const cfg = readDriverConfig(env);
  const home = os.homedir();
  const sshConfigFile = path.join(home, '.ssh', 'config');
  const resolveOpts = { configDir: cfg.configDir, home, sshConfig: fs.existsSync(sshConfigFile) ? loadSshConfig(sshConfigFile) : undefined };
  if (cfg.fleet) {
    // status, journal and ssh reach the unit's machine (fleet's primaryIP) with the env's `ssh:` settings.
    const ssh = { target: { scope: cfg.ssh.scope, sudo: cfg.ssh.sudo }, transport: opts.transport ?? new SshTransport() };
    return new FleetDriver({
      config: cfg.fleet,
      envName: env.name,
      ssh: { ...ssh, host: (name, address) => resolveHost(cfg.ssh, { name, address }, resolveOpts) },
    });
  }
  if (cfg.machines.length === 0) {
    throw new GgnError('the env has no `machines:` to connect to (add them to its config.yml)', { file: env.configFile, env: env.dir });
  }
  const hosts = resolveHosts(cfg.ssh, cfg.machines, resolveOpts);
  return new SshSystemdDriver({
    target: { scope: cfg.ssh.scope, sudo: cfg.ssh.sudo },
    machines: cfg.machines,
    hosts,
    transport: opts.transport ?? new SshTransport(),
    parallel: opts.parallel ?? DEFAULT_HOST_PARALLEL,
    onWarning: opts.onWarning,
    onReadProgress: opts.onReadProgress,
  });
}
