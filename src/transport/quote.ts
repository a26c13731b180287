/**
 * The ONE place where an argv array becomes a remote shell command line.
 *
 * sshd runs the command string through the remote user's login shell (`$SHELL -c STRING`), so
 * every argument is wrapped in POSIX single quotes: inside '...' nothing is special except the
 * closing quote itself, which is written as '\'' (close, escaped quote, reopen). That is safe
 * for any byte string (spaces, $, backticks, globs, newlines, backslashes, non-ASCII, leading
 * dashes — the latter are a concern of the called program, not of the shell). The empty string
 * becomes ''. Arguments made only of characters that no POSIX shell treats specially are left
 * bare, which keeps command lines readable in logs; the result is the same either way.
 */

/**
 * Characters that need no quoting in any POSIX shell, anywhere in a word. `=` is not in the set:
 * a bare `A=b` as the first word would be an assignment, not a command. `~` is not either
 * (tilde expansion).
 */
const SAFE = /^[A-Za-z0-9_@%+:,./-]+$/;

export function quoteArg(arg: string): string {
  if (typeof arg !== 'string') throw new TypeError(`shellQuote: argument is not a string: ${String(arg)}`);
  if (arg.includes('\0')) throw new TypeError('shellQuote: argument contains a NUL byte, which no shell command can carry');
  if (arg !== '' && SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellQuote(argv: string[]): string {
  if (!Array.isArray(argv) || argv.length === 0) throw new TypeError('shellQuote: argv must be a non-empty array');
  return argv.map(quoteArg).join(' ');
}
