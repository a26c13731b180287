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

/**
 * Common prelude: `$dir` is the unit directory, `sc` the systemctl of the scope, and `$state`
 * ggn's state directory (revisions, audit log, locks), never the unit directory.
 */
const PRELUDE = `set -u
scope=$1; shift
if [ "$scope" = user ]; then
  dir=\${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user
  state=\${XDG_STATE_HOME:-$HOME/.local/state}/ggn
  sc() { systemctl --user "$@"; }
else
  dir=/etc/systemd/system
  state=/var/lib/ggn
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
  sc show --no-pager -p Id,LoadState,ActiveState,SubState,UnitFileState,Result,MainPID,NRestarts,ActiveEnterTimestamp,Type -- $names
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

/** How many previous versions of each unit ggn keeps on the host. */
export const KEEP_REVISIONS = 5;

/**
 * Writes stdin as the unit atomically. With save=1 it first keeps the bytes it replaces as a
 * revision (`$state/revisions/<unit>/<seq>`, the newest KEEP_REVISIONS kept) and prints
 * `revision <seq>`. `drop`: a revision to delete in the same step (a restore after a failed
 * update drops the revision that update made; a rollback drops the revision it put back).
 */
export const WRITE_REVISION_SCRIPT =
  PRELUDE +
  `name=$1; keep=$2; save=$3; drop=\${4:-}
rev="$state/revisions/$name"
mkdir -p "$dir" "$rev"
tmp="$dir/.$name.ggn-tmp.$$"
cat > "$tmp" || { rm -f "$tmp"; exit 1; }
if [ "$save" = 1 ] && [ -f "$dir/$name" ] && ! cmp -s "$tmp" "$dir/$name"; then
  last=$(ls -1 "$rev" | sort -n | tail -n 1)
  seq=$(( \${last:-0} + 1 ))
  cp "$dir/$name" "$rev/.$seq.tmp" && mv -f "$rev/.$seq.tmp" "$rev/$seq" || { rm -f "$tmp"; exit 1; }
  printf 'revision %s\\n' "$seq"
fi
mv -f "$tmp" "$dir/$name" || { rm -f "$tmp"; exit 1; }
if [ -n "$drop" ]; then rm -f "$rev/$drop"; fi
ls -1 "$rev" | sort -n | head -n -"$keep" | while read -r old; do rm -f "$rev/$old"; done
exit 0
`;

/** Prints the newest revision of a unit (`R <seq>` then its bytes, base64), or nothing. */
export const READ_REVISION_SCRIPT =
  PRELUDE +
  `name=$1
rev="$state/revisions/$name"
[ -d "$rev" ] || exit 0
last=$(ls -1 "$rev" | sort -n | tail -n 1)
[ -n "$last" ] || exit 0
printf 'R %s\\n' "$last"
base64 < "$rev/$last" | tr -d '\\n'
`;

/** Deletes one revision (after a rollback has put it back in place). */
export const DROP_REVISION_SCRIPT = PRELUDE + `rm -f "$state/revisions/$1/$2"\n`;

/** Appends one line to the audit log; the fields arrive as arguments and are joined by tabs. */
export const AUDIT_APPEND_SCRIPT =
  PRELUDE +
  `mkdir -p "$state"
line=$1; shift
for f in "$@"; do line="$line	$f"; done
printf '%s\\n' "$line" >> "$state/audit.log"
`;

/** Fails, naming the path, unless the audit log can be appended to (opening it writes nothing). */
export const AUDIT_CHECK_SCRIPT =
  PRELUDE +
  `log=$state/audit.log
if mkdir -p "$state" 2>/dev/null && true 2>/dev/null >> "$log"; then exit 0; fi
echo "the audit log $log is not writable" >&2
exit 1
`;

/** Prints the unit's invocation id, then queues its restart without waiting for the job. */
export const RESTART_NO_BLOCK_SCRIPT = PRELUDE + `sc show -p InvocationID --value -- "$1" && sc restart --no-block -- "$1"\n`;

/** Prints the audit log (empty when there is none). */
export const AUDIT_READ_SCRIPT = PRELUDE + `[ -f "$state/audit.log" ] && cat "$state/audit.log"; exit 0\n`;

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

export function writeUnitWithRevisionCommand(t: CommandTarget, unit: string, opts: { save: boolean; dropRevision?: string }): string[] {
  checkUnits([unit]);
  const drop = opts.dropRevision;
  if (drop !== undefined && !/^\d+$/.test(drop)) throw new Error(`refusing revision ${JSON.stringify(drop)}`);
  return wrap(t, WRITE_REVISION_SCRIPT, [unit, String(KEEP_REVISIONS), opts.save ? '1' : '0', ...(drop ? [drop] : [])]);
}

export function readRevisionCommand(t: CommandTarget, unit: string): string[] {
  checkUnits([unit]);
  return wrap(t, READ_REVISION_SCRIPT, [unit]);
}

export function dropRevisionCommand(t: CommandTarget, unit: string, revision: string): string[] {
  checkUnits([unit]);
  if (!/^\d+$/.test(revision)) throw new Error(`refusing revision ${JSON.stringify(revision)}`);
  return wrap(t, DROP_REVISION_SCRIPT, [unit, revision]);
}

/** Audit fields are free text: tabs and newlines become spaces so a line stays a line. */
export function auditAppendCommand(t: CommandTarget, fields: string[]): string[] {
  return wrap(t, AUDIT_APPEND_SCRIPT, fields.map((f) => f.replace(/[\t\r\n]+/g, ' ')));
}

export function auditCheckCommand(t: CommandTarget): string[] {
  return wrap(t, AUDIT_CHECK_SCRIPT, []);
}

export function restartNoBlockCommand(t: CommandTarget, unit: string): string[] {
  checkUnits([unit]);
  return wrap(t, RESTART_NO_BLOCK_SCRIPT, [unit]);
}

export function auditReadCommand(t: CommandTarget): string[] {
  return wrap(t, AUDIT_READ_SCRIPT, []);
}

export function parseRevisionOutput(stdout: string): { revision: string; content: string } | undefined {
  const m = /^R (\d+)\n([A-Za-z0-9+/=]*)$/.exec(stdout.trim() === '' ? '' : stdout.replace(/\n$/, ''));
  return m ? { revision: m[1], content: Buffer.from(m[2], 'base64').toString('utf8') } : undefined;
}

export function removeUnitsCommand(t: CommandTarget, units: string[]): string[] {
  checkUnits(units);
  return wrap(t, REMOVE_SCRIPT, units);
}

export type SystemctlVerb = 'start' | 'stop' | 'restart' | 'daemon-reload' | 'reset-failed' | 'status' | 'is-active' | 'show' | 'enable' | 'disable' | 'reload-or-restart';

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
