/**
 * Remote commands of the systemd driver, as argv arrays built by pure functions. Shell is used
 * only through constant scripts (`sh -c SCRIPT ggn ARG...`): values travel as positional
 * arguments, never pasted into the script, and the transport quotes every argv word in one
 * place. Unit names are validated before they get here.
 */
import { isValidUnitName } from '../../render/names';
import type { FailureDetail, StartWatch } from '../types';

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
# ggn's state (revisions of units that may hold secrets, the audit log, locks) is private
# (a directory someone else owns is left as it is)
mkstate() { (umask 077 && mkdir -p "$state") || return 1; chmod 700 "$state" 2>/dev/null; return 0; }
`;

/**
 * Reads every unit file whose name starts with one of the prefixes (base64, so any bytes
 * survive), the units systemd has loaded with those prefixes, and `systemctl show` of all of
 * them, in one round trip. Output sections: `F <name>` + base64 lines + `.`, `P <name>`, `S` +
 * show output. Per host: a `base64` per file, one `find` and one `systemctl` (this runs on every
 * host of the env for every diff, check and update).
 */
export const READ_SCRIPT =
  PRELUDE +
  `set -f
names=; patterns=
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
    # temp files of a write (.<unit>.ggn-tmp.*) and names systemd would not load are not units
    case "$n" in .*|*[!A-Za-z0-9:_.@-]*) continue;; esac
    # base64's lines as they come (no alphabet letter is a dot), then a line with a dot
    printf 'F %s\\n' "$n"
    base64 < "$f"
    printf '.\\n'
    add "$n"
  done
  # the files only their owner can read (ggn wrote them holding a secret); GNU find, else none
  [ -z "$names" ] || find "$dir" -maxdepth 1 -type f \\( -name "$p*.service" -o -name "$p*.timer" \\) ! -perm -o=r -printf 'P %f\\n' 2>/dev/null
  set -f
  patterns="$patterns $p*"
done
printf 'S\\n'
# One systemctl for the files' units and, by pattern, every loaded unit of the prefixes (one
# without a file: failed, or its file removed). A unit named twice is shown twice.
[ -z "$patterns" ] || sc show --no-pager -p Id,LoadState,ActiveState,SubState,UnitFileState,Result,MainPID,NRestarts,ActiveEnterTimestamp,Type -- $names $patterns
`;

/** The properties of a unit's state (`UnitState`), as `systemctl show` names them. */
export const STATE_PROPERTIES = 'Id,LoadState,ActiveState,SubState,UnitFileState,Result,MainPID,NRestarts,ActiveEnterTimestamp,Type,InvocationID';

/** A look at a unit taken on the host by WATCH_HELPERS: a `look` line, `systemctl show`'s lines, `end`. */
export const LOOK_BEGIN = 'look';
export const LOOK_END = 'end';

/**
 * `watch UNIT BEFORE SETTLE BUDGET`, after `restart --no-block`: looks at the service from the
 * host itself (a round trip per look would cost more than the look) until systemd has run the
 * start (its InvocationID is no longer BEFORE) and it is no longer activating, 10, 20, 40, then
 * 80 ms apart, for BUDGET centiseconds of the host's clock (/proc/uptime, read without a process;
 * without it, as many looks as would fit); then, if it is running, once more SETTLE seconds later.
 * It prints the first look of the new start (what restarts are counted from), the last one, and
 * the one after SETTLE. It judges nothing: the driver runs its own rules over the looks
 * (wait.ts) and goes on looking from the client where they do not conclude. A `sleep` without
 * fractions ends the watch early. Each look is one `systemctl` (and a `sleep`) on the host.
 */
const WATCH_HELPERS = `look() {
  out=$(sc show --no-pager -p ${STATE_PROPERTIES} -- "$1") || return 1
  inv=; act=; sub=
  while IFS='=' read -r k v; do
    case "$k" in InvocationID) inv=$v;; ActiveState) act=$v;; SubState) sub=$v;; esac
  done <<EOF_LOOK
$out
EOF_LOOK
}
show_look() { printf '${LOOK_BEGIN}\\n%s\\n${LOOK_END}\\n' "$out"; shown=1; }
uptime_cs() {
  up=; read -r up _ 2>/dev/null < /proc/uptime
  case "$up" in [0-9]*.[0-9][0-9]) cs=$(( \${up%.*} * 100 + 1\${up#*.} - 100 ));; *) cs=0;; esac
}
watch() {
  n=0; base=; uptime_cs; end=$((cs + $4)); max=$(($4 / 8 + 4))
  while look "$1"; do
    n=$((n + 1)); shown=
    if [ "$inv" != "$2" ]; then
      [ -n "$base" ] || { base=1; show_look; }
      case "$act" in
        activating|deactivating|reloading) ;;
        *)
          [ -n "$shown" ] || show_look
          { [ "$act" = active ] && [ "$sub" = running ] && [ -n "$3" ]; } || return 0
          sleep "$3" 2>/dev/null || return 0
          look "$1" && show_look
          return 0;;
      esac
    fi
    uptime_cs
    if [ $cs -ge $end ] || [ $n -ge $max ]; then [ -n "$shown" ] || show_look; return 0; fi
    case $n in 1) p=0.01;; 2) p=0.02;; 3) p=0.04;; *) p=0.08;; esac
    sleep $p 2>/dev/null || { [ -n "$shown" ] || show_look; return 0; }
  done
  return 0
}
`;

/**
 * Helpers of the write scripts. `$tmp` / `$rtmp` are removed on every way out: a failure, the
 * end of the script, or a signal (the channel closing, ggn being killed): the traps turn
 * HUP/INT/PIPE/TERM into an exit so the EXIT trap runs. Only SIGKILL escapes, and what it
 * leaves is removed by the next write of the same unit once it is 10 minutes old (a live write
 * keeps its temp file's mtime fresh). `size`, when given, is the byte count ggn sent: a channel
 * that closed mid-transfer gives `cat` a normal EOF, so a short file must not be installed.
 */
const WRITE_HELPERS = `tmp=; rtmp=; made=
cleanup() { [ -z "$tmp" ] || rm -f "$tmp"; [ -z "$rtmp" ] || rm -f "$rtmp"; [ -z "$made" ] || rm -f "$made"; }
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 141' PIPE; trap 'exit 143' TERM
fail() { printf 'ggn: %s\\n' "$1" >&2; exit 1; }
# stale DIR PATTERN: removes files matching PATTERN in DIR older than 10 minutes (find runs only
# when one matches at all: every process a write starts costs a slot time on a busy host).
stale() {
  for f in "$1"/$2; do
    [ -e "$f" ] || return 0
    find "$1" -maxdepth 1 -type f -name "$2" -mmin +10 -exec rm -f {} + 2>/dev/null
    return 0
  done
}
modemask() { case "$mode" in 600) umask 077;; 644) umask 022;; *) fail "refusing mode $mode";; esac; }
# excl PREFIX: creates PREFIX<pid>.<n>, empty, exclusively (noclobber: O_EXCL) under the current
# umask, and sets $made (removed on the way out until the caller takes it): no mktemp, no chmod.
excl() {
  i=0
  set -C
  while :; do
    made="$1$$.$i"
    # true, not the special builtin ":", whose failed redirection would end a POSIX shell
    if true 2>/dev/null > "$made"; then set +C; return 0; fi
    made=; i=$((i + 1))
    [ $i -lt 100 ] || { set +C; return 1; }
  done
}
receive() {
  stale "$dir" ".$name.ggn-tmp.*"
  # A unit file is 0644, as systemd's own tools write them, unless it holds a secret (600: its
  # owner only, root in scope system), created under that umask.
  modemask
  excl "$dir/.$name.ggn-tmp." || fail "cannot create a temporary file in $dir"
  tmp=$made; made=
  cat > "$tmp" || fail "cannot write $tmp"
  if [ -n "$size" ]; then
    got=$(wc -c < "$tmp") || fail "cannot read back $tmp"
    [ $got -eq "$size" ] || fail "received $got of $size bytes (connection lost?); $dir/$name left unchanged"
  fi
}
`;

/** Writes stdin to the unit file atomically (temporary file in the same directory, then rename). */
export const WRITE_SCRIPT =
  PRELUDE +
  WRITE_HELPERS +
  `name=$1; size=\${2:-}; mode=\${3:-644}
[ -d "$dir" ] || mkdir -p "$dir" || fail "cannot create $dir"
receive
mv -f "$tmp" "$dir/$name" || fail "cannot rename $tmp to $dir/$name"
tmp=
exit 0
`;

/** How many previous versions of each unit ggn keeps on the host. */
export const KEEP_REVISIONS = 5;

/** INSTALL_AND_START_SCRIPT says on stderr, on such a line, that its audit line was not written. */
export const AUDIT_FAILED_PREFIX = 'ggn-audit-failed: ';

/** Warnings go to stderr as `ggn-warning: ...` lines; the driver shows them with the host. */
export const WARNING_PREFIX = 'ggn-warning: ';

/**
 * A unit with an `[Install]` section starts at boot, as after `systemctl enable --now`: the
 * start paths enable it, and a removal disables it first (its `.wants` links go with it). Only
 * such units: `systemctl enable` warns about the others. A failure is a warning, not an error.
 */
const ENABLE_HELPERS = `installable() { grep -q '^\\[Install\\]' "$dir/$1" 2>/dev/null; }
enable_unit() { sc enable --quiet -- "$1" >/dev/null 2>&1 || printf '${WARNING_PREFIX}cannot enable %s\\n' "$1" >&2; }
enable_installed() {
  for u in "$@"; do
    installable "$u" || continue
    enable_unit "$u"
  done
  return 0
}
disable_installed() {
  installable "$1" || return 0
  sc disable --quiet -- "$1" >/dev/null 2>&1 || printf '${WARNING_PREFIX}cannot disable %s\\n' "$1" >&2
  return 0
}
`;

/**
 * `revs` sets `$revlist` to the revision numbers in `$rev`. Only names made of at most 9 digits
 * without a leading zero are revisions: a name is never evaluated (no `$(( name ))`, which a
 * bash `/bin/sh` would run as code for `x[$(cmd)]`). Anything else except ggn's own `.tmp.*` is
 * ignored, with a warning when called as `revs warn` (once per script run). `newest` sets
 * `$best` to the highest (empty when none); `prune` removes all but the newest `$keep`. No pipes
 * and no subshells: each would be a process.
 */
const REVISION_HELPERS = `revs() {
  revlist=
  for f in "$rev"/* "$rev"/.[!.]* "$rev"/..?*; do
    n=\${f##*/}
    case "$n" in
      '*'|'.[!.]*'|'..?*') [ -e "$f" ] || [ -L "$f" ] || continue;;
    esac
    case "$n" in
      [1-9]|[1-9][0-9]|[1-9][0-9][0-9]|[1-9][0-9][0-9][0-9]|[1-9][0-9][0-9][0-9][0-9]|[1-9][0-9][0-9][0-9][0-9][0-9]|\\
      [1-9][0-9][0-9][0-9][0-9][0-9][0-9]|[1-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]|[1-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9])
        [ -f "$f" ] && revlist="$revlist $n" && continue;;
      .tmp.*) continue;;
    esac
    [ "\${1:-}" = warn ] || continue
    printf '${WARNING_PREFIX}ignoring %s in the ggn state directory (not a revision)\\n' "$(printf '%s' "$f" | tr -c '[:print:]' '?')" >&2
  done
}
newest() {
  revs warn
  best=
  for r in $revlist; do
    if [ -z "$best" ] || [ "$r" -gt "$best" ]; then best=$r; fi
  done
}
prune() {
  revs
  count=0
  for r in $revlist; do count=$((count + 1)); done
  gone=
  while [ $count -gt "$keep" ]; do
    min=
    for r in $revlist; do
      case " $gone " in *" $r "*) continue;; esac
      if [ -z "$min" ] || [ "$r" -lt "$min" ]; then min=$r; fi
    done
    gone="$gone $min"; count=$((count - 1))
  done
  for r in $gone; do rm -f "$rev/$r"; done
}
# lockrev: two writers of one unit take turns (flock on revisions/.<unit>.lock, when flock exists).
lockrev() {
  command -v flock >/dev/null 2>&1 || return 0
  lock="$state/revisions/.$name.lock"
  exec 9>>"$lock" || fail "cannot open $lock"
  flock -w 60 9 || fail "another write of $name on this host held $lock for 60 s"
}
# keeprev: copies $dir/$name into a private file (0600, it may hold a secret; made by excl under
# umask 077) and claims it as the next revision number with ln, which fails when the name exists;
# sets $seq.
keeprev() {
  umask 077
  excl "$rev/.tmp." || fail "cannot create a temporary file in $rev"
  rtmp=$made; made=
  modemask
  # cat, not cp: the file open is the version kept even when another writer (no flock) renames
  # a new one over the name meanwhile; GNU cp refuses that case ("replaced while being copied")
  cat "$dir/$name" > "$rtmp" || fail "cannot copy $dir/$name to $rtmp"
  newest; seq=\${best:-0}; tries=0
  while :; do
    seq=$((seq + 1)); tries=$((tries + 1))
    if ln "$rtmp" "$rev/$seq" 2>/dev/null; then break; fi
    [ -e "$rev/$seq" ] && [ $tries -lt 100 ] || fail "cannot create revision $rev/$seq"
  done
  rm -f "$rtmp"; rtmp=
}
`;

/**
 * WRITE_REVISION_SCRIPT's work, shared with INSTALL_AND_START_SCRIPT. The replaced bytes are
 * copied into a private file (mktemp: 0600, and so they stay: they may hold a secret), then
 * claimed as the next revision number with `ln`, which fails when the name exists.
 */
const WRITE_REVISION_BODY = `name=$1; keep=$2; save=$3; drop=\${4:-}; size=\${5:-}; start=\${6:-}; mode=\${7:-644}
case "$keep" in ''|*[!0-9]*) fail "refusing keep count $keep";; esac
case "$drop" in *[!0-9]*) fail "refusing revision $drop";; esac
rev="$state/revisions/$name"
[ -d "$state" ] || mkstate || fail "cannot create $state"
[ -d "$dir" ] && [ -d "$rev" ] || mkdir -p "$dir" "$rev" || fail "cannot create $dir or $rev"
receive
lockrev
stale "$rev" '.tmp.*'
seq=
if [ "$save" = 1 ] && [ -f "$dir/$name" ] && ! cmp -s "$tmp" "$dir/$name"; then
  keeprev
fi
if ! mv -f "$tmp" "$dir/$name"; then
  [ -z "$seq" ] || rm -f "$rev/$seq"
  fail "cannot rename $tmp to $dir/$name"
fi
tmp=
[ -z "$seq" ] || printf 'revision %s\\n' "$seq"
[ -z "$drop" ] || rm -f "$rev/$drop"
prune
`;

/**
 * Writes stdin as the unit atomically. With save=1 it first keeps the bytes it replaces as a
 * revision (`$state/revisions/<unit>/<seq>`, the newest KEEP_REVISIONS kept) and prints
 * `revision <seq>`. `drop`: a revision to delete in the same step (a restore after a failed
 * update drops the revision that update made; a rollback drops the revision it put back).
 * Two writers of one unit take turns (flock on `revisions/.<unit>.lock`, when flock exists; kept
 * out of `$rev` so that it holds only revisions), so each keeps
 * what the other installed; without flock the number is still claimed atomically with `ln`,
 * which fails when the name exists, so no revision is ever overwritten.
 */
export const WRITE_REVISION_SCRIPT = PRELUDE + WRITE_HELPERS + REVISION_HELPERS + WRITE_REVISION_BODY + 'exit 0\n';

/**
 * One round trip of a rollout: WRITE_REVISION_SCRIPT's write, then `daemon-reload`, then the
 * start of `$6` (a service: its InvocationID, then `restart --no-block`; a timer: `restart`).
 * Each step runs only when the one before succeeded (a failed write reloads and restarts
 * nothing), and stdout says how far it got: `installed`, `reloaded`, `invocation <id>`, `started`,
 * then `watched` after the watch; each of these four words is followed by the host's
 * /proc/uptime in centiseconds (read without a process; 0 without it), so the driver can say how
 * long systemd's reload, the restart and the watch took (parseStepStamps).
 */
export const INSTALL_AND_START_SCRIPT =
  PRELUDE +
  WRITE_HELPERS +
  REVISION_HELPERS +
  ENABLE_HELPERS +
  WATCH_HELPERS +
  `settle=\${8:-}; budget=\${9:-}; installs=\${10:-}
case "$settle" in *[!0-9.]*) fail "refusing settle $settle";; esac
case "$budget" in *[!0-9]*) fail "refusing budget $budget";; esac
if [ $# -gt 10 ]; then
  # The audit line (arguments 11...) before anything changes; one that cannot be written is said
  # on stderr and the rest goes on, as when it has its own round trip.
  line=\${11}; i=0
  for f in "$@"; do i=$((i + 1)); [ $i -gt 11 ] && line="$line	$f"; done
  { [ -d "$state" ] || mkstate; } 2>/dev/null
  { printf '%s\\n' "$line" >> "$state/audit.log"; } 2>/dev/null || printf '${AUDIT_FAILED_PREFIX}cannot append to %s\\n' "$state/audit.log" >&2
fi
` +
  WRITE_REVISION_BODY +
  `uptime_cs; printf 'installed %s\\n' "$cs"
sc daemon-reload || exit 1
uptime_cs; printf 'reloaded %s\\n' "$cs"
# the written unit's [Install] section is known to the client ($installs: no grep); another start unit's is looked up
[ "$installs" != 1 ] || enable_unit "$name"
[ "$start" = "$name" ] || enable_installed "$start"
case "$start" in
  *.timer) sc restart -- "$start" || exit 1;;
  *)
    before=$(sc show -p InvocationID --value -- "$start") || exit 1
    printf 'invocation %s\\n' "$before"
    sc restart --no-block -- "$start" || exit 1;;
esac
uptime_cs; printf 'started %s\\n' "$cs"
case "$start" in *.service) [ -z "$budget" ] || watch "$start" "$before" "$settle" "$budget";; esac
uptime_cs; printf 'watched %s\\n' "$cs"
exit 0
`;

/**
 * Prints, for each unit named, `U <unit>` and then every revision kept of it (`R <seq>` then its
 * bytes, base64, a line each): a rollback reads all of a host's units in one round trip.
 */
export const READ_REVISIONS_SCRIPT =
  PRELUDE +
  REVISION_HELPERS +
  `for name in "$@"; do
  printf 'U %s\\n' "$name"
  rev="$state/revisions/$name"
  [ -d "$rev" ] || continue
  revs warn
  for r in $revlist; do
    printf 'R %s\\n' "$r"
    base64 < "$rev/$r" | tr -d '\\n'
    printf '\\n'
  done
done
`;

/** Deletes one revision (after a rollback has put it back in place). */
export const DROP_REVISION_SCRIPT =
  PRELUDE +
  `case "$2" in ''|*[!0-9]*) printf 'ggn: refusing revision %s\\n' "$2" >&2; exit 1;; esac
rm -f "$state/revisions/$1/$2"
`;

/** Appends one line to the audit log; the fields arrive as arguments and are joined by tabs. */
export const AUDIT_APPEND_SCRIPT =
  PRELUDE +
  `mkstate
line=$1; shift
for f in "$@"; do line="$line	$f"; done
printf '%s\\n' "$line" >> "$state/audit.log"
`;

/** Fails, naming the path, unless the audit log can be appended to (opening it writes nothing). */
export const AUDIT_CHECK_SCRIPT =
  PRELUDE +
  `log=$state/audit.log
if mkstate 2>/dev/null && true 2>/dev/null >> "$log"; then exit 0; fi
echo "the audit log $log is not writable" >&2
exit 1
`;

/** Prints the unit's invocation id, then queues its restart without waiting for the job. */
export const RESTART_NO_BLOCK_SCRIPT =
  PRELUDE +
  ENABLE_HELPERS +
  WATCH_HELPERS +
  `case "\${2:-}\${3:-}" in *[!0-9.]*) printf 'ggn: refusing watch %s %s\\n' "$2" "$3" >&2; exit 1;; esac
enable_installed "$1"
before=$(sc show -p InvocationID --value -- "$1") || exit 1
printf '%s\\n' "$before"
sc restart --no-block -- "$1" || exit 1
[ -z "\${3:-}" ] || watch "$1" "$before" "$2" "$3"
`;

/** Prints the audit log (empty when there is none). */
/**
 * Why a unit is not up: systemd's Result, the main process's exit code and status (ExecMainCode
 * 1 = exited with status, 2/3 = killed/dumped by signal), then its last journal lines; a host
 * without journalctl says so instead. One round trip.
 */
export const FAILURE_SCRIPT =
  PRELUDE +
  `sc show -p Result -p ExecMainCode -p ExecMainStatus -p ActiveState -p SubState -- "$1"
echo '--ggn-journal--'
if ! command -v journalctl >/dev/null 2>&1; then echo 'ggn-no-journal'; exit 0; fi
if [ "$scope" = user ]; then journalctl --user --no-pager -o cat -n "$2" -u "$1" 2>&1; else journalctl --no-pager -o cat -n "$2" -u "$1" 2>&1; fi
exit 0
`;

export const AUDIT_READ_SCRIPT = PRELUDE + `[ -f "$state/audit.log" ] && cat "$state/audit.log"; exit 0\n`;

/** Removes unit files (not an error when absent). */
export const REMOVE_SCRIPT =
  PRELUDE +
  ENABLE_HELPERS +
  `for name in "$@"; do
  disable_installed "$name"
  rm -f "$dir/$name" || exit 1
  find "$dir" -maxdepth 1 -type f -name ".$name.ggn-tmp.*" -mmin +10 -exec rm -f {} + 2>/dev/null
done
exit 0
`;

/**
 * Removes unit files, each first kept as the newest revision (private, as every revision), under
 * the same per-unit flock as a write: what `prune` removes can be looked at and put back by hand.
 */
export const REMOVE_KEEPING_REVISION_SCRIPT =
  PRELUDE +
  WRITE_HELPERS +
  REVISION_HELPERS +
  ENABLE_HELPERS +
  `keep=$1; shift
# the umask keeprev goes back to after making its private file (modemask); nothing is written here
mode=644
case "$keep" in ''|*[!0-9]*) fail "refusing keep count $keep";; esac
for name in "$@"; do
  [ -f "$dir/$name" ] || continue
  rev="$state/revisions/$name"
  mkstate || fail "cannot create $state"
  mkdir -p "$rev" || fail "cannot create $rev"
  lockrev
  keeprev
  disable_installed "$name"
  rm -f "$dir/$name" || fail "cannot remove $dir/$name"
  printf 'revision %s %s\\n' "$name" "$seq"
  prune
  exec 9>&-
done
exit 0
`;

/** Runs systemctl of the scope with the given arguments. */
export const SYSTEMCTL_SCRIPT = PRELUDE + `sc "$@"\n`;

/** `start` or `restart` of units, enabling first those with an [Install] section (ENABLE_HELPERS). */
export const START_SCRIPT = PRELUDE + ENABLE_HELPERS + `verb=$1; shift; enable_installed "$@"; sc "$verb" -- "$@"\n`;

/** Disables (when installable) and stops units; `quiet` (\$1 = 1): a unit that is not loaded is no error. */
export const STOP_DISABLING_SCRIPT =
  PRELUDE +
  ENABLE_HELPERS +
  `quiet=$1; shift
for u in "$@"; do disable_installed "$u"; done
sc stop -- "$@" && exit 0
rc=$?
# 5: not loaded; 1: some systemd versions for the same.
[ "$quiet" = 1 ] && { [ $rc = 5 ] || [ $rc = 1 ]; } && exit 0
exit $rc
`;

function checkUnits(units: string[]): void {
  for (const u of units) if (!isValidUnitName(u)) throw new Error(`refusing invalid unit name ${JSON.stringify(u)}`);
}

function checkPrefix(p: string): void {
  if (!/^[A-Za-z0-9:_-][A-Za-z0-9:_.-]*$/.test(p)) throw new Error(`refusing invalid unit prefix ${JSON.stringify(p)}`);
}

function wrap(t: CommandTarget, script: string, args: string[]): string[] {
  const argv = ['sh', '-c', script, 'ggn', t.scope, ...args];
  return t.scope === 'system' && t.sudo ? ['sudo', '-n', '--', ...argv] : argv;
}

export function readUnitsCommand(t: CommandTarget, prefixes: string[]): string[] {
  prefixes.forEach(checkPrefix);
  return wrap(t, READ_SCRIPT, prefixes);
}

/** `size`: the byte count of what will be sent on stdin; a write that receives less fails. */
export function writeUnitCommand(t: CommandTarget, unit: string, size?: number, opts: { secret?: boolean } = {}): string[] {
  checkUnits([unit]);
  return wrap(t, WRITE_SCRIPT, [unit, ...sizeArg(size), ...modeArg(opts.secret, size === undefined ? 1 : 0)]);
}

/** `600` for a unit that holds a secret (after `gap` empty arguments for the optional ones before it). */
function modeArg(secret: boolean | undefined, gap: number): string[] {
  return secret ? [...Array<string>(gap).fill(''), '600'] : [];
}

export function writeUnitWithRevisionCommand(
  t: CommandTarget,
  unit: string,
  opts: { save: boolean; dropRevision?: string; size?: number; secret?: boolean },
): string[] {
  checkUnits([unit]);
  const drop = opts.dropRevision;
  if (drop !== undefined && !/^\d+$/.test(drop)) throw new Error(`refusing revision ${JSON.stringify(drop)}`);
  const args = [unit, String(KEEP_REVISIONS), opts.save ? '1' : '0', drop ?? ''];
  // Positional: size, then start (INSTALL_AND_START_SCRIPT's; empty here), then the mode.
  if (opts.size !== undefined || opts.secret) args.push(opts.size === undefined ? '' : sizeArg(opts.size)[0]);
  if (opts.secret) args.push('', '600');
  return wrap(t, WRITE_REVISION_SCRIPT, args);
}

/** WATCH_HELPERS' SETTLE and BUDGET arguments: seconds for `sleep`, and centiseconds. */
function watchArgs(w: StartWatch | undefined): [string, string] {
  if (!w) return ['', ''];
  if (!(w.settleMs >= 0) || !(w.budgetMs >= 0)) throw new Error(`refusing watch ${JSON.stringify(w)}`);
  return [w.settleMs > 0 ? (w.settleMs / 1000).toFixed(3) : '', String(Math.ceil(w.budgetMs / 10))];
}

/** INSTALL_AND_START_SCRIPT's progress words, each with the host's uptime in centiseconds (0: unknown). */
export type StepStamp = 'installed' | 'reloaded' | 'started' | 'watched';

/** The progress words INSTALL_AND_START_SCRIPT printed, with their stamps. */
export function parseStepStamps(stdout: string): Map<StepStamp, number> {
  const stamps = new Map<StepStamp, number>();
  for (const m of stdout.matchAll(/^(installed|reloaded|started|watched) (\d+)$/gm)) stamps.set(m[1] as StepStamp, Number(m[2]));
  return stamps;
}

/**
 * How long the host spent reloading, restarting and watching, in ms, from the stamps; undefined
 * when one is missing or unknown (no /proc/uptime).
 */
export function hostStepMs(stamps: Map<StepStamp, number>): { reload: number; restart: number; watch: number } | undefined {
  const [i, r, s, w] = (['installed', 'reloaded', 'started', 'watched'] as const).map((k) => stamps.get(k) ?? 0);
  if (!(i > 0 && r >= i && s >= r && w >= s)) return undefined;
  return { reload: (r - i) * 10, restart: (s - r) * 10, watch: (w - s) * 10 };
}

/** The looks WATCH_HELPERS printed, in order: each as `systemctl show`'s fields. */
export function parseLooks(stdout: string): Record<string, string>[] {
  const looks: Record<string, string>[] = [];
  let cur: string[] | undefined;
  for (const line of stdout.split('\n')) {
    if (line === LOOK_BEGIN && !cur) cur = [];
    else if (line === LOOK_END && cur) {
      looks.push(parseShowFields(cur.join('\n')));
      cur = undefined;
    } else cur?.push(line);
  }
  return looks;
}

/** One unit's block of `systemctl show` (`Key=value` lines) as its fields. */
export function parseShowFields(block: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of block.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return fields;
}

/** INSTALL_AND_START_SCRIPT: (audit line,) write `unit` (stdin, `size` bytes; 0600 when it holds a secret), daemon-reload, start `start`. */
export function installAndStartCommand(
  t: CommandTarget,
  unit: string,
  opts: {
    save: boolean;
    dropRevision?: string;
    size: number;
    start: string;
    audit?: string[];
    secret?: boolean;
    watch?: StartWatch;
    /** The unit's bytes (sent on stdin): whether it has an [Install] section is decided here. */
    content: string;
  },
): string[] {
  checkUnits([unit, opts.start]);
  const drop = opts.dropRevision;
  if (drop !== undefined && !/^\d+$/.test(drop)) throw new Error(`refusing revision ${JSON.stringify(drop)}`);
  const audit = (opts.audit ?? []).map((f) => f.replace(/[\t\r\n]+/g, ' '));
  return wrap(t, INSTALL_AND_START_SCRIPT, [
    unit,
    String(KEEP_REVISIONS),
    opts.save ? '1' : '0',
    drop ?? '',
    ...sizeArg(opts.size),
    opts.start,
    opts.secret ? '600' : '644',
    ...watchArgs(opts.watch),
    hasInstallSection(opts.content) ? '1' : '0',
    ...audit,
  ]);
}

/** A line that starts with `[Install]`, as ENABLE_HELPERS' `installable` greps for it on the host. */
function hasInstallSection(content: string): boolean {
  return /^\[Install\]/m.test(content);
}

function sizeArg(size: number | undefined): string[] {
  if (size === undefined) return [];
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`refusing size ${size}`);
  return [String(size)];
}

/** Splits a script's stderr into ggn's warning lines and the rest. */
export function splitWarnings(stderr: string): { warnings: string[]; rest: string } {
  const warnings: string[] = [];
  const rest: string[] = [];
  for (const line of stderr.split('\n')) {
    if (line.startsWith(WARNING_PREFIX)) warnings.push(line.slice(WARNING_PREFIX.length));
    else rest.push(line);
  }
  return { warnings, rest: rest.join('\n') };
}

/** READ_REVISIONS_SCRIPT for several units of one host (parseRevisionsByUnit reads its output). */
export function readRevisionsOfCommand(t: CommandTarget, units: string[]): string[] {
  checkUnits(units);
  return wrap(t, READ_REVISIONS_SCRIPT, units);
}

export function dropRevisionCommand(t: CommandTarget, unit: string, revision: string): string[] {
  checkUnits([unit]);
  if (!/^\d+$/.test(revision)) throw new Error(`refusing revision ${JSON.stringify(revision)}`);
  return wrap(t, DROP_REVISION_SCRIPT, [unit, revision]);
}

/** Audit fields are free text: tabs and newlines become spaces so a line stays a line. */
export function auditAppendCommand(t: CommandTarget, fields: string[]): string[] {
  return wrap(
    t,
    AUDIT_APPEND_SCRIPT,
    fields.map((f) => f.replace(/[\t\r\n]+/g, ' ')),
  );
}

export function auditCheckCommand(t: CommandTarget): string[] {
  return wrap(t, AUDIT_CHECK_SCRIPT, []);
}

export function restartNoBlockCommand(t: CommandTarget, unit: string, watch?: StartWatch): string[] {
  checkUnits([unit]);
  return wrap(t, RESTART_NO_BLOCK_SCRIPT, [unit, ...(watch ? watchArgs(watch) : [])]);
}

export function failureCommand(t: CommandTarget, unit: string, lines: number): string[] {
  checkUnits([unit]);
  return wrap(t, FAILURE_SCRIPT, [unit, String(Math.max(1, Math.floor(lines)))]);
}

export function parseFailureOutput(out: string): FailureDetail {
  const [show, journal = ''] = out.split('--ggn-journal--\n');
  const f = parseShowFields(show);
  const code = Number(f.ExecMainCode);
  const status = Number(f.ExecMainStatus);
  const lines = journal.split('\n').filter((l) => l !== '');
  return {
    result: f.Result ?? '',
    state: `${f.ActiveState ?? '?'}/${f.SubState ?? '?'}`,
    exitStatus: code === 1 ? status : undefined,
    signal: code === 2 || code === 3 ? status : undefined,
    journal: lines[0] === 'ggn-no-journal' ? undefined : lines.filter((l) => l !== '-- No entries --'),
  };
}

export function auditReadCommand(t: CommandTarget): string[] {
  return wrap(t, AUDIT_READ_SCRIPT, []);
}

/** READ_REVISIONS_SCRIPT's output for several units: each unit named (`U <unit>`) with its revisions, oldest first. */
export function parseRevisionsByUnit(stdout: string): Map<string, { revision: string; content: string }[]> {
  const byUnit = new Map<string, { revision: string; content: string }[]>();
  const heads = [...stdout.matchAll(/^U (.+)$/gm)];
  heads.forEach((h, i) => {
    byUnit.set(h[1], parseRevisionsOutput(stdout.slice(h.index! + h[0].length, heads[i + 1]?.index ?? stdout.length)));
  });
  return byUnit;
}

/** The revisions printed by READ_REVISIONS_SCRIPT (for one unit), oldest first. */
export function parseRevisionsOutput(stdout: string): { revision: string; content: string }[] {
  const out: { revision: string; content: string }[] = [];
  const re = /^R (\d+)\n([A-Za-z0-9+/=]*)$/gm;
  for (let m = re.exec(stdout); m; m = re.exec(stdout)) out.push({ revision: m[1], content: Buffer.from(m[2], 'base64').toString('utf8') });
  return out.sort((a, b) => Number(a.revision) - Number(b.revision));
}

export function removeUnitsCommand(t: CommandTarget, units: string[], keepRevision = false): string[] {
  checkUnits(units);
  return keepRevision ? wrap(t, REMOVE_KEEPING_REVISION_SCRIPT, [String(KEEP_REVISIONS), ...units]) : wrap(t, REMOVE_SCRIPT, units);
}

export type SystemctlVerb =
  | 'start'
  | 'stop'
  | 'restart'
  | 'daemon-reload'
  | 'reset-failed'
  | 'status'
  | 'is-active'
  | 'show'
  | 'enable'
  | 'disable'
  | 'reload-or-restart';

export function systemctlCommand(t: CommandTarget, verb: SystemctlVerb, units: string[] = [], extra: string[] = []): string[] {
  checkUnits(units);
  for (const e of extra) if (!/^--?[a-z-]+(=[A-Za-z0-9,_-]*)?$/.test(e)) throw new Error(`refusing systemctl option ${JSON.stringify(e)}`);
  return wrap(t, SYSTEMCTL_SCRIPT, [verb, ...extra, ...(units.length ? ['--', ...units] : [])]);
}

export function startCommand(t: CommandTarget, verb: 'start' | 'restart', units: string[]): string[] {
  checkUnits(units);
  return wrap(t, START_SCRIPT, [verb, ...units]);
}

export function stopDisablingCommand(t: CommandTarget, units: string[], quiet: boolean): string[] {
  checkUnits(units);
  return wrap(t, STOP_DISABLING_SCRIPT, [quiet ? '1' : '0', ...units]);
}

export function journalCommand(t: CommandTarget, unit: string, lines: number, follow: boolean): string[] {
  checkUnits([unit]);
  const argv = [
    'journalctl',
    ...(t.scope === 'user' ? ['--user'] : []),
    '--no-pager',
    '-n',
    String(Math.max(0, Math.floor(lines))),
    ...(follow ? ['-f'] : []),
    '-u',
    unit,
  ];
  return t.scope === 'system' && t.sudo ? ['sudo', '-n', '--', ...argv] : argv;
}

export interface ParsedRead {
  files: Map<string, string>;
  /** Unit files that others cannot read. */
  private: Set<string>;
  states: Map<string, Record<string, string>>;
}

/** Parses READ_SCRIPT's output. */
export function parseReadOutput(stdout: string): ParsedRead {
  const files = new Map<string, string>();
  const priv = new Set<string>();
  const states = new Map<string, Record<string, string>>();
  const lines = stdout.split('\n');
  let i = 0;
  for (; i < lines.length && lines[i] !== 'S'; i++) {
    const p = /^P (.+)$/.exec(lines[i]);
    if (p) priv.add(p[1]);
    const m = /^F (.+)$/.exec(lines[i]);
    if (!m) continue;
    // base64's lines up to the line with a dot
    let b64 = '';
    for (i++; i < lines.length && lines[i] !== '.'; i++) b64 += lines[i];
    files.set(m[1], Buffer.from(b64, 'base64').toString('utf8'));
  }
  // `systemctl show`'s blocks, one per unit, separated by empty lines
  for (const block of lines
    .slice(i + 1)
    .join('\n')
    .split('\n\n')) {
    const fields = parseShowFields(block);
    if (fields.Id) states.set(fields.Id, fields);
  }
  return { files, private: priv, states };
}
