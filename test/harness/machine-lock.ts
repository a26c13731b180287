// The machine-wide lock of a kind of test host (the user-scope cluster, the system hosts): users,
// addresses, cgroups and nft tables are machine-wide, so one process at a time owns them and
// others queue. The lock is an owner file made with link(2) (atomic, fails when it exists); an
// owner whose process is gone (pid + start time) is stale and is taken over.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { procStartTime, sleep } from './sys';

export interface LockOwner {
  pid: number;
  /** The owner process's start time, so that a reused pid is not taken for the owner. */
  start: string;
  /** The state dir of the hosts it owns. */
  dir: string;
  /** A cluster left running by the CLI (scripts/cluster.ts): it outlives its process. */
  persistent?: boolean;
  at: string;
}

export interface AcquireOptions {
  timeoutMs: number;
  persistent?: boolean;
  /** Treat a persistent owner as stale (`cluster.js up --force`). */
  takeOver?: boolean;
  /** Whether a persistent owner still runs (its processes are there). */
  persistentLive?: (o: LockOwner) => boolean;
}

export class MachineLock {
  private readonly ownerFile: string;

  /** `what`: the hosts' name in messages ("test cluster", "system test hosts"); `tag`: the log prefix. */
  constructor(
    private readonly lockDir: string,
    private readonly what: string,
    private readonly tag: string,
    private readonly pollMs: number,
  ) {
    this.ownerFile = path.join(lockDir, 'owner.json');
  }

  read(): LockOwner | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.ownerFile, 'utf8')) as LockOwner;
    } catch {
      return undefined;
    }
  }

  /** Waits for the lock (up to timeoutMs); returns the state dir of a stale owner it removed, if any. */
  async acquire(dir: string, opts: AcquireOptions): Promise<{ staleDir?: string }> {
    fs.mkdirSync(this.lockDir, { recursive: true, mode: 0o755 });
    const me: LockOwner = {
      pid: process.pid,
      start: procStartTime(process.pid) ?? '',
      dir,
      ...(opts.persistent !== undefined ? { persistent: opts.persistent } : {}),
      at: new Date().toISOString(),
    };
    const tmp = `${this.ownerFile}.${process.pid}`;
    const deadline = Date.now() + opts.timeoutMs;
    let told = false;
    let staleDir: string | undefined;
    for (;;) {
      fs.writeFileSync(tmp, JSON.stringify(me));
      try {
        fs.linkSync(tmp, this.ownerFile);
        fs.unlinkSync(tmp);
        return { staleDir };
      } catch (e) {
        fs.unlinkSync(tmp);
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let raw = '';
      try {
        raw = fs.readFileSync(this.ownerFile, 'utf8');
      } catch {
        continue; // released in between
      }
      const o = this.read();
      let stale = !o;
      if (o) {
        if (!o.persistent && o.pid === process.pid && o.start === me.start) throw new Error(`${this.what} already up in this process: call down() first`);
        const live = o.persistent ? (opts.persistentLive?.(o) ?? false) : procStartTime(o.pid) === o.start;
        if (!live) stale = true;
        else if (o.persistent) {
          if (!opts.takeOver)
            throw new Error(
              `a persistent ${this.what} (state dir ${o.dir}) is running; tear it down with \`node dist/scripts/cluster.js down --dir ${o.dir}\``,
            );
          stale = true;
        }
      }
      if (stale) {
        staleDir = o?.dir;
        try {
          if (fs.readFileSync(this.ownerFile, 'utf8') === raw) fs.unlinkSync(this.ownerFile);
        } catch {
          /* someone else got there */
        }
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the ${this.what} of pid ${o!.pid} (${o!.dir}) to go down`);
      if (!told) {
        process.stderr.write(`[${this.tag}] waiting for the ${this.what} of pid ${o!.pid} (${o!.dir}) to go down\n`);
        told = true;
      }
      await sleep(this.pollMs);
    }
  }

  /** Releases the lock if this process owns it, or (a persistent cluster torn down by the CLI) if it owns `dir`. */
  release(dir?: string): void {
    const o = this.read();
    if (!o) return;
    if ((o.pid === process.pid && !o.persistent) || (dir !== undefined && o.dir === dir)) {
      try {
        fs.unlinkSync(this.ownerFile);
      } catch {
        /* gone */
      }
    }
  }
}
