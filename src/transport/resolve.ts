/**
 * Turns the env config's SSH settings, its machine list and ~/.ssh/config into fully resolved
 * HostSpecs. Precedence, per field:
 *
 *   1. the machine's own setting (address, port, user, identityFile),
 *   2. the env config (`envSsh`),
 *   3. ~/.ssh/config, with BOTH the machine's address and its name as Host aliases: a block
 *      applies when either matches (`Host web1` and `Host 10.0.0.*` both work), and the usual
 *      first-value-wins order of the file decides. Exception: HostName is only taken from
 *      blocks that match the address (then it replaces the address, exactly what
 *      `ssh <address>` would do); a HostName in a block matching only the machine name is
 *      ignored, because the machine's address is explicit.
 *   4. defaults: port 22, the current OS user, ~/.ssh/known_hosts, strict host key checking,
 *      10 s connect timeout, identities ~/.ssh/id_ed25519, id_ecdsa, id_rsa (those that exist).
 *
 * Relative paths from the env config or machines resolve against `configDir`; `~` against
 * `home`. The jump host (`[user@]host[:port]`, env `jumpHost` or ssh config ProxyJump; for a
 * comma list the hops are chained, last hop = the one that reaches the target) is resolved the
 * same way (its own ssh config lookup by its host name), without the machine-level overrides.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgnError } from '../errors';
import { HostSpec } from './types';
import { expandTilde, JumpHop, lookup, parseProxyJump, ParsedSshConfig, SshHostConfig } from './ssh-config';

export interface EnvSshConfig {
  user?: string;
  port?: number;
  identityFile?: string;
  knownHostsFile?: string;
  /** true/false, or ssh's words: yes | ask → strict; no | off | accept-new → not strict. */
  strictHostKeyChecking?: boolean | string;
  /** `[user@]host[:port]`, comma list for a chain, or `none`. */
  jumpHost?: string;
  /** Seconds. */
  connectTimeout?: number;
}

export interface MachineSpec {
  name: string;
  address: string;
  port?: number;
  user?: string;
  identityFile?: string;
}

export interface ResolveOptions {
  /** Directory relative paths in the env config resolve against. */
  configDir: string;
  sshConfig?: ParsedSshConfig;
  home: string;
  /** Default user (default: the current OS user). */
  localUser?: string;
  /** For tests: whether a default identity file exists (default fs.existsSync). */
  exists?: (p: string) => boolean;
}

export const DEFAULT_PORT = 22;
export const DEFAULT_CONNECT_TIMEOUT_S = 10;
const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

export function resolveHosts(envSsh: EnvSshConfig, machines: MachineSpec[], opts: ResolveOptions): HostSpec[] {
  return machines.map((m) => resolveHost(envSsh, m, opts));
}

export function resolveHost(envSsh: EnvSshConfig, m: MachineSpec, opts: ResolveOptions): HostSpec {
  const ctx = { host: m.name };
  if (!m.address) throw new GgnError(`machine ${m.name} has no address`, ctx);
  const hostName = opts.sshConfig ? lookup(opts.sshConfig, m.address).hostName : undefined;
  const sc: Partial<SshHostConfig> = opts.sshConfig ? lookup(opts.sshConfig, m.name !== m.address ? [m.address, m.name] : [m.address]) : {};
  const spec = build(envSsh, { address: hostName ?? m.address, port: m.port, user: m.user, identityFile: m.identityFile }, sc, opts, m.name);
  const jumpValue = envSsh.jumpHost ?? sc.proxyJump;
  if (jumpValue !== undefined) {
    let hops: JumpHop[];
    try {
      hops = parseProxyJump(jumpValue);
    } catch (e) {
      throw new GgnError((e as Error).message, ctx);
    }
    const jump = resolveJumpChain(envSsh, hops, opts);
    if (jump) spec.jump = jump;
  }
  return spec;
}

/** Hops in ProxyJump order: the first is reached directly, each next one through the previous. */
function resolveJumpChain(envSsh: EnvSshConfig, hops: JumpHop[], opts: ResolveOptions): HostSpec | undefined {
  let prev: HostSpec | undefined;
  for (const hop of hops) {
    const sc = opts.sshConfig ? lookup(opts.sshConfig, hop.host) : {};
    // The env's user/port/identity are meant for the machines; a jump host gets them only when
    // neither the hop string nor ssh config says otherwise.
    const spec = build(envSsh, { address: sc.hostName ?? hop.host, port: hop.port, user: hop.user }, sc, opts, `${hop.host} (jump host)`, true);
    if (prev) spec.jump = prev;
    prev = spec;
  }
  return prev;
}

function build(
  envSsh: EnvSshConfig,
  m: { address: string; port?: number; user?: string; identityFile?: string },
  sc: Partial<SshHostConfig>,
  opts: ResolveOptions,
  name: string,
  isJump = false,
): HostSpec {
  const ctx = { host: name };
  const exists = opts.exists ?? ((p: string) => fs.existsSync(p));
  const abs = (p: string): string => {
    const t = expandTilde(p, opts.home);
    return path.isAbsolute(t) ? t : path.resolve(opts.configDir, t);
  };
  const pick = <T>(...vals: Array<T | undefined>): T | undefined => vals.find((v) => v !== undefined);

  const port = isJump ? pick(m.port, sc.port, envSsh.port, DEFAULT_PORT)! : pick(m.port, envSsh.port, sc.port, DEFAULT_PORT)!;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new GgnError(`invalid SSH port ${String(port)}`, ctx);
  const user = (isJump ? pick(m.user, sc.user, envSsh.user) : pick(m.user, envSsh.user, sc.user)) ?? opts.localUser ?? currentUser();

  let identityFiles: string[];
  const explicit = pick(m.identityFile, isJump ? undefined : envSsh.identityFile);
  if (explicit !== undefined) identityFiles = [abs(explicit)];
  else if (sc.identityFiles?.length) identityFiles = sc.identityFiles.map((p) => expandTilde(p, opts.home));
  else if (isJump && envSsh.identityFile !== undefined) identityFiles = [abs(envSsh.identityFile)];
  else identityFiles = DEFAULT_IDENTITIES.map((f) => path.join(opts.home, '.ssh', f)).filter((p) => exists(p));

  const knownHostsFile =
    envSsh.knownHostsFile !== undefined
      ? abs(envSsh.knownHostsFile)
      : sc.userKnownHostsFiles?.[0] !== undefined
        ? expandTilde(sc.userKnownHostsFiles[0], opts.home)
        : path.join(opts.home, '.ssh', 'known_hosts');

  const strictHostKeyChecking = parseStrict(pick<boolean | string>(envSsh.strictHostKeyChecking, sc.strictHostKeyChecking), name);
  const timeoutS = pick(envSsh.connectTimeout, sc.connectTimeout, DEFAULT_CONNECT_TIMEOUT_S)!;
  if (typeof timeoutS !== 'number' || !(timeoutS > 0)) throw new GgnError(`invalid connectTimeout ${String(timeoutS)} (seconds)`, ctx);

  return {
    name: isJump ? m.address : name,
    address: m.address,
    port,
    user,
    identityFiles,
    knownHostsFile,
    strictHostKeyChecking,
    connectTimeoutMs: Math.round(timeoutS * 1000),
  };
}

function parseStrict(v: boolean | string | undefined, name: string): boolean {
  if (v === undefined) return true;
  if (typeof v === 'boolean') return v;
  switch (v.toLowerCase()) {
    case 'yes':
    case 'ask':
    case 'true':
      return true;
    case 'no':
    case 'off':
    case 'false':
    case 'accept-new':
      return false;
    default:
      throw new GgnError(`invalid strictHostKeyChecking ${JSON.stringify(v)} (yes, no, accept-new)`, { host: name });
  }
}

function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}
