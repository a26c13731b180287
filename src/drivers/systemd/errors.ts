/** How the systemd driver words a remote command that failed (systemctl's, sudo's and journalctl's own words). */
import { GgnError } from '../../errors';
import { ExecResult } from '../../transport/types';

/**
 * An error that names the host and says what failed, with systemctl's or sudo's own words. A
 * command killed by a signal without a word (the host shutting down, the session closed) says
 * so rather than `exit code 143`. Transport failures (connection lost, host stopped
 * responding) never get here: the transport names the cause and `what` itself.
 */
export function remoteError(machine: string, what: string, r: ExecResult): GgnError {
  const stderr = r.stderr.trim();
  if (/sudo: (a password is required|a terminal is required)/.test(stderr)) {
    return new GgnError(
      `${what}: sudo needs a password, or this login may not use sudo (allow it with NOPASSWD in sudoers, or log in as root with ssh.sudo: false)`,
      { host: machine },
    );
  }
  // sudo's warning on a host whose own name does not resolve (no /etc/hosts line) is noise here:
  // it would take one of the three lines that say what failed
  const lines = stderr
    .split('\n')
    .filter((l) => l && !/^sudo: unable to resolve host /.test(l))
    .slice(-3)
    .join(' | ');
  const detail = lines || (signalName(r.code) ? `killed by ${signalName(r.code)} (the host shutting down, or the session closed?)` : `exit code ${r.code}`);
  return new GgnError(`${what} failed: ${detail}`, { host: machine });
}

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 9: 'SIGKILL', 13: 'SIGPIPE', 15: 'SIGTERM' };

function signalName(code: number): string | undefined {
  return code > 128 ? SIGNALS[code - 128] : undefined;
}

/** journalctl's own notes on stderr (sudo's noise left out), as one line. */
export function journalNotes(stderr: string): string {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^sudo: /.test(l))
    .join(' ');
}
