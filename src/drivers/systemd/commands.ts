/**
 * Remote commands of the systemd driver, as argv arrays built by pure functions. Shell is used
 * only through constant scripts (`sh -c SCRIPT ggn ARG...`): values travel as positional
 * arguments, never pasted into the script, and the transport quotes every argv word in one
 * place. Unit names are validated before they get here.
 */
import { isValidUnitName } from '../../render/names';

export type Scope = 'system' | 'user';

export interface CommandTarget {
  scope: Scope;
  /** scope system only: prefix with `sudo -n` (fails instead of asking for a password). */
  sudo: boolean;
}

/** Common prelude: `$dir` is the unit directory and `sc` the systemctl of the scope. */
const PRELUDE = `set -u
scope=$1; shift
if [ "$scope" = user ]; then
  dir=\${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user
  sc() { systemctl --user "$@"; }
else
  dir=/etc/systemd/system
  sc() { systemctl "$@"; }
fi
`;

/**
 * Reads every unit file whose name starts with one of the prefixes (base64, so any bytes
 * survive), the units systemd has loaded with those prefixes, and `systemctl show` of all of
 * them, in one round trip. Output sections: `F <name>` + base64 line, `S` + show output.
 */
export const READ_SCRIPT =
  PRELUDE +
  `set -f
names=
add() {
  case "$1" in *[!A-Za-z0-9:_.@-]*|'') return;; esac
  case " $names " in *" $1 "*) return;; esac
  names="$names $1"
}
for p in "$@"; do
  set +f
  for f in "$dir/$p"*.service "$dir/$p"*.timer; do
    [ -f "$f" ] || continue
    n=\${f##*/}
    printf 'F %s\\n' "$n"
    base64 < "$f" | tr -d '\\n'
    printf '\\n'
    add "$n"
  done
  set -f
  for n in $(sc list-units --all --plain --no-legend --full --no-pager "$p*" 2>/dev/null | cut -d' ' -f1); do add "$n"; done
done
printf 'S\\n'
if [ -n "$names" ]; then
  sc show --no-pager -p Id,LoadState,ActiveState,SubState,UnitFileState,Result,MainPID,NRestarts,ActiveEnterTimestamp -- $names
fi
`;

/** Writes stdin to the unit file atomically (temporary file in the same directory, then rename). */
export const WRITE_SCRIPT =
  PRELUDE +
  `name=$1
mkdir -p "$dir"
tmp="$dir/.$name.ggn-tmp.$$"
if cat > "$tmp" && mv -f "$tmp" "$dir/$name"; then exit 0; fi
rm -f "$tmp"
exit 1
`;

/** Removes unit files (not an error when absent). */
export const REMOVE_SCRIPT =
  PRELUDE +
  `for name in "$@"; do rm -f "$dir/$name"; done
`;

/** Runs systemctl of the scope with the given arguments. */
export const SYSTEMCTL_SCRIPT = PRELUDE + `sc "$@"\n`;

function checkUnits(units: string[]): void {
  for (const u of units) if (!isValidUnitName(u)) throw new Error(`refusing invalid unit name ${JSON.stringify(u)}`);
}

function checkPrefix(p: string): void {
  if (!/^[A-Za-z0-9:_.-]+$/.test(p)) throw new Error(`refusing invalid unit prefix ${JSON.stringify(p)}`);
}

function wrap(t: CommandTarget, script: string, args: string[]): string[] {
  const argv = ['sh', '-c', script, 'ggn', t.scope, ...args];
  return t.scope === 'system' && t.sudo ? ['sudo', '-n', '--', ...argv] : argv;
}

export function readUnitsCommand(t: CommandTarget, prefixes: string[]): string[] {
  prefixes.forEach(checkPrefix);
  return wrap(t, READ_SCRIPT, prefixes);
}

export function writeUnitCommand(t: CommandTarget, unit: string): string[] {
  checkUnits([unit]);
  return wrap(t, WRITE_SCRIPT, [unit]);
}

export function removeUnitsCommand(t: CommandTarget, units: string[]): string[] {
  checkUnits(units);
  return wrap(t, REMOVE_SCRIPT, units);
}

export type SystemctlVerb = 'start' | 'stop' | 'restart' | 'daemon-reload' | 'reset-failed' | 'status' | 'is-active' | 'show' | 'enable' | 'disable';

export function systemctlCommand(t: CommandTarget, verb: SystemctlVerb, units: string[] = [], extra: string[] = []): string[] {
  checkUnits(units);
  for (const e of extra) if (!/^--?[a-z-]+(=[A-Za-z0-9,_-]*)?$/.test(e)) throw new Error(`refusing systemctl option ${JSON.stringify(e)}`);
  return wrap(t, SYSTEMCTL_SCRIPT, [verb, ...extra, ...(units.length ? ['--', ...units] : [])]);
}

export function journalCommand(t: CommandTarget, unit: string, lines: number, follow: boolean): string[] {
  checkUnits([unit]);
  const argv = ['journalctl', ...(t.scope === 'user' ? ['--user'] : []), '--no-pager', '-n', String(Math.max(0, Math.floor(lines))), ...(follow ? ['-f'] : []), '-u', unit];
  return t.scope === 'system' && t.sudo ? ['sudo', '-n', '--', ...argv] : argv;
}

export interface ParsedRead {
  files: Map<string, string>;
  states: Map<string, Record<string, string>>;
}

/** Parses READ_SCRIPT's output. */
export function parseReadOutput(stdout: string): ParsedRead {
  const files = new Map<string, string>();
  const states = new Map<string, Record<string, string>>();
  const lines = stdout.split('\n');
  let i = 0;
  for (; i < lines.length && lines[i] !== 'S'; i++) {
    const m = /^F (.+)$/.exec(lines[i]);
    if (!m) continue;
    files.set(m[1], Buffer.from(lines[++i] ?? '', 'base64').toString('utf8'));
  }
  let cur: Record<string, string> = {};
  const flush = () => {
    if (cur.Id) states.set(cur.Id, cur);
    cur = {};
  };
  for (i++; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') {
      flush();
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) cur[line.slice(0, eq)] = line.slice(eq + 1);
  }
  flush();
  return { files, states };
}
