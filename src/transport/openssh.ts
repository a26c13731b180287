/**
 * argv for the OpenSSH client, for what needs a terminal or a live stream (`ggn ... ssh`,
 * `journal -f`), built from the same resolved HostSpec the ssh2 transport uses, and checking
 * host keys the same way on every hop:
 *
 * - `-F /dev/null`: ggn has already resolved ~/.ssh/config into the HostSpec; nothing else (a
 *   `Host *` with `StrictHostKeyChecking no`, another ProxyJump) may change what is verified.
 * - strict: `StrictHostKeyChecking=yes` against the env's known_hosts file only.
 * - not strict: like the ssh2 transport, an unknown key is accepted for this run and a changed
 *   or revoked one refused: `accept-new`, with `/dev/null` as the FIRST known_hosts file, which
 *   is where OpenSSH appends a new key. Nothing is ever written to the env's file
 *   (`UpdateHostKeys=no` too), so a later strict run still refuses that key.
 * - `HostKeyAlias` is the name the ssh2 transport finds the host under (address, then machine
 *   name), and when the file lists keys for the host only those types are negotiated: a host
 *   that offers another type is refused, as with ssh2.
 * - a jump host is reached through a `ProxyCommand` running this same ssh with that hop's own
 *   options (`-W` to the next hop), recursively; OpenSSH's `-J` would verify it with defaults.
 *
 * The remote command is quoted here, once.
 */
import { GgnError } from '../errors';
import { hostKeyAlgorithms, knownHostsMatch, knownHostsName, knownKeyTypes, loadKnownHosts } from './known-hosts';
import { shellQuote } from './quote';
import { HostSpec } from './types';

export function opensshArgv(h: HostSpec, remote: string[] = [], opts: { tty?: boolean } = {}): string[] {
  const argv = ['ssh', ...hopOptions(h)];
  if (opts.tty) argv.push('-t');
  argv.push('--', h.address);
  if (remote.length) argv.push(shellQuote(remote));
  return argv;
}

/** Everything but the destination, for one hop (and, through ProxyCommand, the hops before it). */
function hopOptions(h: HostSpec): string[] {
  const kh = loadKnownHosts(h.knownHostsFile);
  const names = h.name !== h.address ? [h.address, h.name] : [h.address];
  const alias = knownHostsMatch(kh, names, h.port) ?? knownHostsName(h.address, h.port);
  const algos = hostKeyAlgorithms(knownKeyTypes(kh, names, h.port));
  const khFile = configWord(h.knownHostsFile, h);
  const o = (v: string) => ['-o', v];
  const argv = [
    '-F',
    '/dev/null',
    '-p',
    String(h.port),
    '-l',
    h.user,
    ...o(`UserKnownHostsFile=${h.strictHostKeyChecking ? khFile : `/dev/null ${khFile}`}`),
    ...o('GlobalKnownHostsFile=/dev/null'),
    ...o(`StrictHostKeyChecking=${h.strictHostKeyChecking ? 'yes' : 'accept-new'}`),
    ...o('UpdateHostKeys=no'),
    ...o('CheckHostIP=no'),
    ...o(`HostKeyAlias=${alias}`),
    ...(algos ? o(`HostKeyAlgorithms=${algos.join(',')}`) : []),
    ...o(`ConnectTimeout=${Math.max(1, Math.ceil(h.connectTimeoutMs / 1000))}`),
    ...o('ServerAliveInterval=5'),
  ];
  for (const id of h.identityFiles) argv.push(...o(`IdentityFile=${configWord(id, h)}`));
  if (h.jump) {
    // ssh runs ProxyCommand with `/bin/sh -c`, after expanding %-tokens: quote, then escape %
    const cmd = shellQuote(['ssh', ...hopOptions(h.jump), '-W', `[${h.address}]:${h.port}`, '--', h.jump.address]);
    argv.push(...o(`ProxyCommand=${cmd.replace(/%/g, '%%')}`));
  }
  return argv;
}

/** A file name as one ssh_config word: double-quoted, `%` escaped (ssh expands %-tokens in paths). */
function configWord(file: string, h: HostSpec): string {
  if (/["\n\r\\]/.test(file))
    throw new GgnError(`cannot pass ${JSON.stringify(file)} to the OpenSSH client (it contains a quote, backslash or newline)`, { host: h.name });
  return `"${file.replace(/%/g, '%%')}"`;
}
