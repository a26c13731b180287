/**
 * argv for the OpenSSH client, for what needs a terminal or a live stream (`ggn ... ssh`,
 * `journal -f`), built from the same resolved HostSpec the ssh2 transport uses, so both verify
 * the same host key file and use the same identities. The remote command is quoted here, once.
 */
import { shellQuote } from './quote';
import { HostSpec } from './types';

export function opensshArgv(h: HostSpec, remote: string[] = [], opts: { tty?: boolean } = {}): string[] {
  const argv = [
    'ssh',
    '-p',
    String(h.port),
    '-l',
    h.user,
    '-o',
    `UserKnownHostsFile=${h.knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    // Not strict = accept an unknown key, never a changed one (what the ssh2 transport does).
    `StrictHostKeyChecking=${h.strictHostKeyChecking ? 'yes' : 'accept-new'}`,
    '-o',
    `ConnectTimeout=${Math.max(1, Math.ceil(h.connectTimeoutMs / 1000))}`,
    '-o',
    'ServerAliveInterval=5',
  ];
  for (const id of h.identityFiles) argv.push('-i', id);
  if (h.jump) argv.push('-J', `${h.jump.user}@${h.jump.address}:${h.jump.port}`);
  if (opts.tty) argv.push('-t');
  argv.push('--', h.address);
  if (remote.length) argv.push(shellQuote(remote));
  return argv;
}
