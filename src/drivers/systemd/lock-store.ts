/**
 * The default lock store: a directory on the first machine of the env, in ggn's state
 * directory (`/var/lib/ggn`, or `${XDG_STATE_HOME:-$HOME/.local/state}/ggn` for scope user):
 * `<state>/locks/<env>/<service>.lock/`.
 *
 * Layout and protocol (every step is one atomic mkdir or rename):
 * - `info`: a generation (a random id chosen by its writer) on the first line, then the record
 *   as JSON. It is only ever replaced by rename, so a reader sees the old or the new one.
 * - To write `info`, one must first win `mkdir claim.<generation it replaces>` (`claim.none`
 *   when the directory has no info yet). mkdir is atomic, so for each generation exactly one
 *   writer wins; after the claim the winner re-reads `info`, and when its generation changed in
 *   between (the directory was removed and made again) the claim is void. The claim of a
 *   replaced generation is removed after the write: a late claimer re-reads and sees the change.
 * - Remove claims the current generation, then renames the directory away and deletes it; a
 *   forced remove renames away whatever is at that path (a directory or a stray file).
 *
 * Times are the client's (the injected Clock); only the age of a half-written directory is
 * measured on the host. The host side is POSIX sh.
 */
import { randomUUID } from 'node:crypto';
import { GgnError } from '../../errors';
import { ExecResult } from '../../transport/types';
import { LockRecord, LockStore, parseRecord, serializeRecord, Stored } from '../lock-store';
import { remoteError } from './errors';

export const SSH_LOCK_SCRIPT = `set -u
scope=$1 action=$2 env=$3 svc=$4
shift 4
if [ "$scope" = user ]; then base=\${XDG_STATE_HOME:-$HOME/.local/state}/ggn; else base=/var/lib/ggn; fi
locks=$base/locks/$env
d=$locks/$svc.lock
curgen() {
  cur=
  IFS= read -r cur < "$d/info" 2>/dev/null || :
  [ -n "$cur" ] || cur=none
}
case "$action" in
check)
  mkdir -p "$locks" && [ -w "$locks" ] || { echo "cannot write $locks" >&2; exit 1; }
  echo OK
  ;;
read)
  if [ ! -e "$d" ] && [ ! -L "$d" ]; then echo FREE; exit 0; fi
  if [ ! -d "$d" ] || [ -L "$d" ]; then echo NOTDIR; exit 0; fi
  if [ -f "$d/info" ]; then printf 'INFO\\n'; cat "$d/info"; exit 0; fi
  age=$(( $(date +%s) - $(date -r "$d" +%s) ))
  printf 'PENDING %s\\n' "$age"
  ;;
write)
  old=$1 new=$2 rec=$3
  mkdir -p "$locks" || exit 1
  if [ "$old" = none ]; then
    mkdir "$d" 2>/dev/null || { echo CHANGED; exit 0; }
  fi
  curgen
  [ "$cur" = "$old" ] || { echo CHANGED; exit 0; }
  mkdir "$d/claim.$old" 2>/dev/null || { echo CHANGED; exit 0; }
  curgen
  if [ "$cur" != "$old" ]; then rmdir "$d/claim.$old" 2>/dev/null; echo CHANGED; exit 0; fi
  tmp=$d/.info.$new
  trap 'rm -f "$tmp"' EXIT HUP INT TERM PIPE
  if printf '%s\\n%s\\n' "$new" "$rec" > "$tmp" && mv -f "$tmp" "$d/info"; then
    [ "$old" = none ] || rmdir "$d/claim.$old" 2>/dev/null
    echo WON
    exit 0
  fi
  echo "cannot write $d/info" >&2
  exit 1
  ;;
remove)
  old=$1 tok=$2
  if [ "$old" = force ]; then
    if { [ -e "$d" ] || [ -L "$d" ]; } && mv "$d" "$locks/.gone.$tok" 2>/dev/null; then rm -rf "$locks/.gone.$tok"; echo REMOVED; else echo ABSENT; fi
    exit 0
  fi
  curgen
  [ "$cur" = "$old" ] || { echo CHANGED; exit 0; }
  mkdir "$d/claim.$old" 2>/dev/null || { echo CHANGED; exit 0; }
  curgen
  if [ "$cur" != "$old" ]; then rmdir "$d/claim.$old" 2>/dev/null; echo CHANGED; exit 0; fi
  mv "$d" "$locks/.gone.$tok" && rm -rf "$locks/.gone.$tok" || exit 1
  echo REMOVED
  ;;
reap)
  min=$1 tok=$2
  [ -d "$d" ] && [ ! -f "$d/info" ] || { echo KEPT; exit 0; }
  age=$(( $(date +%s) - $(date -r "$d" +%s) ))
  [ "$age" -ge "$min" ] || { echo KEPT; exit 0; }
  if mv "$d" "$locks/.gone.$tok" 2>/dev/null; then rm -rf "$locks/.gone.$tok"; echo REMOVED; else echo KEPT; fi
  ;;
*)
  echo "unknown lock action $action" >&2
  exit 2
  ;;
esac
`;

export interface SshLockDeps {
  /** Runs argv on a machine and returns whatever it exits with (the driver's pooled connection). */
  exec: (machine: string, argv: string[], opts?: { stdin?: string; timeoutMs?: number }) => Promise<ExecResult>;
  machine: string;
  scope: 'system' | 'user';
  sudo: boolean;
  envName: string;
  /** Per-command timeout (default 20 s). */
  timeoutMs?: number;
  /** A random token (generations, temporary names); injectable for tests. */
  token?: () => string;
}

export class SshLockStore implements LockStore {
  readonly description: string;

  constructor(private readonly d: SshLockDeps) {
    if (!/^[A-Za-z0-9_@:+-][A-Za-z0-9_.@:+-]*$/.test(d.envName)) throw new GgnError(`refusing invalid env name ${JSON.stringify(d.envName)} for a lock`);
    this.description = `ssh lock on ${d.machine}`;
  }

  private token(): string {
    return (this.d.token ?? randomUUID)();
  }

  private argv(action: string, service: string, args: string[]): string[] {
    const argv = ['sh', '-c', SSH_LOCK_SCRIPT, 'ggn-lock', this.d.scope, action, this.d.envName, service, ...args];
    return this.d.scope === 'system' && this.d.sudo ? ['sudo', '-n', '--', ...argv] : argv;
  }

  private async run(action: string, service: string, args: string[], what: string): Promise<string> {
    let r: ExecResult;
    try {
      r = await this.d.exec(this.d.machine, this.argv(action, service, args), { timeoutMs: this.d.timeoutMs ?? 20_000 });
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new GgnError(`${this.description} unreachable: ${msg}`, { host: this.d.machine, service: service || undefined }, { cause: e });
    }
    if (r.code !== 0) {
      const err = remoteError(this.d.machine, `${this.description}: ${what}`, r);
      throw new GgnError(err.message, { host: this.d.machine, service: service || undefined });
    }
    return r.stdout;
  }

  async check(): Promise<void> {
    await this.run('check', '', [], 'preparing the lock directory');
  }

  async read(service: string): Promise<Stored | null> {
    const out = await this.run('read', service, [], `reading the lock of ${service}`);
    if (out.startsWith('FREE')) return null;
    if (out.startsWith('NOTDIR')) {
      throw new GgnError(
        `${this.description}: the lock path of ${service} is not a directory (left by something else); \`ggn ${this.d.envName} ${service} unlock --force\` removes it`,
        {
          host: this.d.machine,
          service,
        },
      );
    }
    const pending = /^PENDING (-?\d+)/.exec(out);
    if (pending) return { pending: true, ageMs: Math.max(0, Number(pending[1])) * 1000 };
    const [, gen = '', ...rest] = out.split('\n');
    const body = rest.join('\n').replace(/\n+$/, '');
    const record = parseRecord(body) ?? legacyRecord(rest);
    if (!record)
      throw new GgnError(`${this.description}: the lock of ${service} is unreadable; \`ggn ${this.d.envName} ${service} unlock --force\` removes it`, {
        host: this.d.machine,
        service,
      });
    return { version: gen, record };
  }

  async write(service: string, version: string | null, record: LockRecord): Promise<boolean> {
    const out = await this.run('write', service, [version ?? 'none', this.token(), serializeRecord(record)], `writing the lock of ${service}`);
    return out.startsWith('WON');
  }

  async remove(service: string, version: string | null): Promise<boolean> {
    const out = await this.run('remove', service, [version ?? 'force', this.token()], `removing the lock of ${service}`);
    return out.startsWith('REMOVED');
  }

  async reap(service: string, minAgeMs: number): Promise<boolean> {
    const out = await this.run('reap', service, [String(Math.ceil(minAgeMs / 1000)), this.token()], `clearing the half-written lock of ${service}`);
    return out.startsWith('REMOVED');
  }

  async close(): Promise<void> {
    // The connection belongs to the driver's transport.
  }
}

/** A lock written by ggn 0.1 (holder, expiry, message on lines): a lock taken by hand. */
function legacyRecord(lines: string[]): LockRecord | null {
  const [holder, exp, ...msg] = lines;
  if (!holder || !/^\d+$/.test(exp ?? '')) return null;
  const expiresAt = Number(exp);
  return { holder, message: msg.join('\n').replace(/\n+$/, ''), kind: 'hand', id: 'legacy', takenAt: 0, renewedAt: 0, expiresAt };
}
