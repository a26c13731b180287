/**
 * The default lock backend: a directory on the first machine of the env, in ggn's state
 * directory (`/var/lib/ggn`, or `${XDG_STATE_HOME:-$HOME/.local/state}/ggn` for scope user):
 * `<state>/locks/<env>/<service>.lock/`.
 *
 * Layout and protocol (every step is one atomic mkdir or rename):
 * - `info`: four fields, one per line: a generation (a random id chosen by the writer), the
 *   holder, the expiry (epoch ms) and the message (the rest of the file). It is only ever
 *   replaced by rename, so a reader sees the old or the new one, never half a file.
 * - To write `info`, one must first win `mkdir claim.<generation it replaces>` (`claim.none`
 *   when the directory has no info yet, i.e. it is new). mkdir is atomic, so for each
 *   generation exactly one acquirer (or releaser) wins; the others re-read and see the winner.
 *   After the claim the winner re-reads `info`: if its generation changed (the directory was
 *   released and made again in between), the claim is void and it tries again.
 * - Release also claims the current generation, then renames the directory away and removes it.
 *   A forced release only renames it away.
 *
 * Expiry is on the client's clock (the injected Clock): the client sends "now" and the expiry
 * as arguments, the host only compares numbers. This keeps the host side to POSIX sh (no
 * `date +%s%3N`, which busybox lacks) and makes expiry and waiting testable with a fake clock.
 * The cost: clients whose clocks disagree see a lock expire up to that skew early or late.
 */
import { randomUUID } from 'node:crypto';
import { GgnError } from '../../errors';
import { remoteError } from '../../drivers/systemd/driver';
import { ExecResult } from '../../transport/types';
import { Clock, RemoteExec } from '../types';
import { acquireLoop, AcquireOptions, Attempt, checkHolder, checkService, checkTtl, LockBackend, LockInfo } from './common';

export const SSH_LOCK_SCRIPT = `set -u
scope=$1 action=$2 env=$3 svc=$4
shift 4
if [ "$scope" = user ]; then base=\${XDG_STATE_HOME:-$HOME/.local/state}/ggn; else base=/var/lib/ggn; fi
locks=$base/locks/$env
d=$locks/$svc.lock
# load: info (whole file), gen (none: no info yet), holder, exp
load() {
  info=$(cat "$d/info" 2>/dev/null) || info=
  gen= holder= exp=
  { IFS= read -r gen; IFS= read -r holder; IFS= read -r exp; } <<EOF
$info
EOF
  [ -n "$gen" ] || gen=none
  case "$exp" in ''|*[!0-9]*) exp=0;; esac
}
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
  if [ ! -d "$d" ]; then echo FREE; exit 0; fi
  load
  if [ "$gen" = none ]; then echo PENDING; else printf 'INFO\\n%s\\n' "$info"; fi
  ;;
acquire)
  me=$1 now=$2 newexp=$3 newgen=$4 msg=$5
  mkdir -p "$locks" || exit 1
  i=0
  while [ $i -lt 8 ]; do
    i=$((i + 1))
    mkdir "$d" 2>/dev/null || [ -d "$d" ] || { echo "cannot create $d" >&2; exit 1; }
    load
    if [ "$gen" != none ] && [ "$holder" != "$me" ] && [ "$exp" -gt "$now" ]; then
      printf 'HELD\\n%s\\n' "$info"
      exit 0
    fi
    if mkdir "$d/claim.$gen" 2>/dev/null; then
      curgen
      if [ "$cur" = "$gen" ]; then
        tmp=$d/.info.$newgen
        if printf '%s\\n%s\\n%s\\n%s' "$newgen" "$me" "$newexp" "$msg" > "$tmp" && mv -f "$tmp" "$d/info"; then
          echo WON
          exit 0
        fi
        rm -f "$tmp"
        echo "cannot write $d/info" >&2
        exit 1
      fi
      rmdir "$d/claim.$gen" 2>/dev/null
    fi
  done
  echo BUSY
  ;;
release)
  me=$1 force=$2 tok=$3
  if [ "$force" = 1 ]; then
    if mv "$d" "$locks/.gone.$tok" 2>/dev/null; then rm -rf "$locks/.gone.$tok"; echo RELEASED; else echo NOTHELD; fi
    exit 0
  fi
  i=0
  while [ $i -lt 8 ]; do
    i=$((i + 1))
    [ -d "$d" ] || { echo NOTHELD; exit 0; }
    load
    if [ "$gen" = none ] || [ "$holder" != "$me" ]; then echo NOTHELD; exit 0; fi
    if mkdir "$d/claim.$gen" 2>/dev/null; then
      curgen
      if [ "$cur" = "$gen" ]; then
        mv "$d" "$locks/.gone.$tok" && rm -rf "$locks/.gone.$tok" || exit 1
        echo RELEASED
        exit 0
      fi
      rmdir "$d/claim.$gen" 2>/dev/null
    fi
  done
  echo BUSY
  ;;
*)
  echo "unknown lock action $action" >&2
  exit 2
  ;;
esac
`;

export interface SshLockDeps {
  exec: RemoteExec;
  machine: string;
  scope: 'system' | 'user';
  sudo: boolean;
  envName: string;
  clock: Clock;
  /** Poll interval while waiting for a held lock (default 2 s). */
  pollMs?: number;
  /** Per-command timeout (default 20 s). */
  timeoutMs?: number;
}

export class SshLockBackend implements LockBackend {
  readonly description: string;

  constructor(private readonly d: SshLockDeps) {
    if (!/^[A-Za-z0-9_@:+-][A-Za-z0-9_.@:+-]*$/.test(d.envName)) throw new GgnError(`refusing invalid env name ${JSON.stringify(d.envName)} for a lock`);
    this.description = `ssh lock on ${d.machine}`;
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

  async read(service: string): Promise<LockInfo | null> {
    checkService(service);
    const out = await this.run('read', service, [], `reading the lock of ${service}`);
    if (out.startsWith('FREE')) return null;
    if (out.startsWith('PENDING')) return this.pending(service);
    return parseInfo(out);
  }

  async acquire(service: string, opts: AcquireOptions): Promise<LockInfo> {
    checkService(service);
    checkHolder(opts.holder);
    checkTtl(opts.ttlMs);
    return acquireLoop(service, this.d.clock, opts.waitMs ?? 0, this.d.pollMs ?? 2000, async (): Promise<Attempt> => {
      const now = this.d.clock.now();
      const expiresAt = now + Math.ceil(opts.ttlMs);
      const out = await this.run('acquire', service, [opts.holder, String(now), String(expiresAt), randomUUID(), opts.message], `taking the lock of ${service}`);
      if (out.startsWith('WON')) return { won: true, info: { holder: opts.holder, message: opts.message, expiresAt } };
      if (out.startsWith('HELD')) return { won: false, info: parseInfo(out) };
      return { won: false, info: this.pending(service) };
    });
  }

  async release(service: string, holder: string, opts: { force?: boolean } = {}): Promise<boolean> {
    checkService(service);
    if (!opts.force) checkHolder(holder);
    const out = await this.run('release', service, [holder, opts.force ? '1' : '0', randomUUID()], `releasing the lock of ${service}`);
    if (out.startsWith('RELEASED')) return true;
    if (out.startsWith('NOTHELD')) return false;
    throw new GgnError(`${this.description}: the lock of ${service} is being changed by someone else; try again`, { host: this.d.machine, service });
  }

  async close(): Promise<void> {
    // The connection belongs to the driver's transport.
  }

  /** A lock directory that has no info yet: being written right now, or left half-written by a killed ggn. */
  private pending(service: string): LockInfo {
    return {
      holder: 'unknown',
      message: `(the lock directory is being written, or was left half-written; \`ggn ${this.d.envName} ${service} unlock\` removes it)`,
      expiresAt: this.d.clock.now(),
    };
  }
}

/** `HELD`/`INFO` line, then generation, holder, expiry, message (rest). */
function parseInfo(out: string): LockInfo {
  const lines = out.split('\n');
  const holder = lines[2] ?? '';
  const expiresAt = Number(lines[3] ?? 0) || 0;
  const message = lines.slice(4).join('\n').replace(/\n+$/, '');
  return { holder, message, expiresAt };
}
