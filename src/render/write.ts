/**
 * Writes rendered units where GGN did (`services/<svc>/units/<name>`), each atomically: a
 * temporary file in the same folder renamed over the target, so a reader never sees half a unit.
 * A unit whose bytes are already there is left alone (its mtime too).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GgnError } from '../errors';
import { RenderedUnit } from './service';

export interface WriteResult {
  written: string[];
  unchanged: string[];
  /** Units that could not be written (the others still are). */
  errors: GgnError[];
  /** Units left as they were because the write was stopped (a signal, a full disk) before them. */
  skipped: string[];
  /** The file system refused a write in a way every later one would fail too (FULL): the writes stopped there. */
  full?: boolean;
}

/**
 * Errors after which every other write on that file system fails the same way: the first is
 * reported (with what it means) and nothing more is written, instead of one error per unit.
 */
const FULL: Record<string, string> = { ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded', EROFS: 'read-only file system' };

/** A temporary file of atomicWrite (`.<unit>.<pid>.tmp`) this old is a killed run's leftover. */
export const STALE_TEMP_MS = 10 * 60_000;
const TEMP_NAME = /^\..+\.\d+\.tmp$/;

export type UnitToWrite = Pick<RenderedUnit, 'localPath' | 'content'> & {
  /** The content holds a secret: the file is written (or left) with mode 0600. */
  secret?: boolean;
};

/** A unit that holds a secret is readable by its owner only; others as systemd's own tools write them. */
export const unitFileMode = (secret: boolean | undefined) => (secret ? 0o600 : 0o644);

/** What the writer needs of a rendered unit. */
export function toWrite(u: RenderedUnit): UnitToWrite {
  return { localPath: u.localPath, content: u.content, secret: u.secrets !== undefined };
}

/** A unit for the writer: its content as a string, or as the UTF-8 bytes the writer thread gets. */
export type UnitBytesToWrite = Omit<UnitToWrite, 'content'> & { content: string | Uint8Array };

/**
 * Writes the units in order. `stopped` is asked before each one: once it says yes, the rest are
 * left as they were (`skipped`), and no unit is ever half written (each write is atomic).
 */
export function writeUnits(units: UnitBytesToWrite[], stopped: () => boolean = () => false): WriteResult {
  const res: WriteResult = { written: [], unchanged: [], errors: [], skipped: [] };
  // One listing per directory tells which files exist, so new files cost no failed read.
  const existing = new Map<string, Set<string>>();
  for (let i = 0; i < units.length; i++) {
    const u = units[i];
    if (stopped()) {
      res.skipped = units.slice(i).map((v) => v.localPath);
      break;
    }
    const dir = path.dirname(u.localPath);
    let names = existing.get(dir);
    if (!names) {
      fs.mkdirSync(dir, { recursive: true });
      names = new Set(fs.readdirSync(dir));
      existing.set(dir, names);
      removeStaleTemps(dir, names);
    }
    if (names.has(path.basename(u.localPath)) && sameContent(u.localPath, u.content)) {
      try {
        if (u.secret && (fs.statSync(u.localPath).mode & 0o077) !== 0) fs.chmodSync(u.localPath, 0o600);
      } catch (e) {
        res.errors.push(new GgnError(`cannot make the unit file private: ${(e as NodeJS.ErrnoException).code}`, { file: u.localPath }));
        continue;
      }
      res.unchanged.push(u.localPath);
      continue;
    }
    try {
      atomicWrite(u.localPath, u.content, unitFileMode(u.secret));
      res.written.push(u.localPath);
    } catch (e) {
      const code = ((e as GgnError).cause as NodeJS.ErrnoException | undefined)?.code;
      if (code !== undefined && FULL[code] !== undefined) {
        res.errors.push(new GgnError(`cannot write unit file: ${code} (${FULL[code]}); nothing more is written`, { file: u.localPath }));
        res.skipped = units.slice(i + 1).map((v) => v.localPath);
        res.full = true;
        break;
      }
      res.errors.push(e as GgnError);
    }
  }
  return res;
}

/**
 * Removes what a run killed mid-write (SIGKILL, a crash, a power cut) left: its temporary files,
 * once older than STALE_TEMP_MS (a live writer's is milliseconds old), as the hosts' write scripts
 * do with theirs.
 */
function removeStaleTemps(dir: string, names: Set<string>): void {
  for (const n of names) {
    if (n.charCodeAt(0) !== 46 || !TEMP_NAME.test(n)) continue;
    const f = path.join(dir, n);
    try {
      const st = fs.lstatSync(f);
      if (Date.now() - st.mtimeMs > STALE_TEMP_MS) fs.rmSync(f, { force: true });
    } catch {
      // gone meanwhile, or not ours to remove: the write goes on
    }
  }
}

function sameContent(file: string, content: string | Uint8Array): boolean {
  try {
    if (typeof content !== 'string') return fs.readFileSync(file).equals(content);
    return fs.readFileSync(file, 'utf8') === content;
  } catch {
    return false;
  }
}

export function atomicWrite(file: string, content: string | Uint8Array, mode = 0o644): void {
  const slash = file.lastIndexOf(path.sep);
  const tmp = `${file.slice(0, slash + 1)}.${file.slice(slash + 1)}.${process.pid}.tmp`;
  try {
    // Created, never opened if it exists ('wx': a leftover of a crashed run with this pid, or a
    // symlink, is removed first). Checking for one before every write cost a stat per unit.
    try {
      fs.writeFileSync(tmp, content, { mode, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      fs.rmSync(tmp, { force: true });
      fs.writeFileSync(tmp, content, { mode, flag: 'wx' });
    }
    if (mode === 0o600) fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new GgnError(`cannot write unit file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file }, { cause: e });
  }
}

/**
 * Where generate sends rendered units. Small jobs are written right away; large ones go to a
 * writer thread, so writing (a third of generate's time, mostly system calls) overlaps rendering.
 */
export class UnitSink {
  private worker?: import('node:worker_threads').Worker;
  /** Set by stop(); the writer thread reads it before each unit (shared memory: it is busy writing, not reading messages). */
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));
  private pending = new Map<number, { resolve: (r: WriteResult) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  /** Buffers the writer thread has sent back, for the next batches. */
  private spare: ArrayBuffer[] = [];

  constructor(private readonly threadFrom = 200) {}

  write(units: UnitToWrite[]): Promise<WriteResult> {
    if (units.length < this.threadFrom && !this.worker)
      return Promise.resolve().then(() => {
        const res = writeUnits(units, () => this.stopped);
        if (res.full) this.stop();
        return res;
      });
    const w = this.ensureWorker();
    const id = this.nextId++;
    // The contents go as one buffer of UTF-8 bytes, moved, not copied: cloning 250 strings per
    // service cost more than encoding them, and the bytes are what the thread writes anyway.
    // Encoded straight into one buffer of the largest size they can take (3 bytes per UTF-16
    // unit), not into a buffer per unit.
    // The thread sends each buffer back once written and the next batch reuses it: a fresh one
    // per service cost more in page faults (first writes into new memory) than the encoding.
    const need = units.reduce((n, u) => n + u.content.length, 0) * 3;
    const spare = this.spare.pop();
    const all = spare !== undefined && spare.byteLength >= need ? Buffer.from(spare) : Buffer.allocUnsafeSlow(need);
    const ends: number[] = [];
    let off = 0;
    for (const u of units) ends.push((off += all.write(u.content, off, 'utf8')));
    const meta = units.map((u) => ({ localPath: u.localPath, secret: u.secret }));
    return new Promise<WriteResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, units: meta, ends, bytes: all }, [all.buffer]);
    });
  }

  /** No unit is started after this: the one being written is finished, the rest are `skipped`. */
  stop(): void {
    Atomics.store(this.stopFlag, 0, 1);
  }

  /** stop() was called, or a write found the file system full (the writer thread sets the same flag). */
  get stopped(): boolean {
    return Atomics.load(this.stopFlag, 0) !== 0;
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private ensureWorker(): import('node:worker_threads').Worker {
    if (this.worker) return this.worker;
    const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
    const w = new Worker(path.join(__dirname, 'write-worker.js'), { workerData: { stop: this.stopFlag.buffer } });
    type Reply = {
      id: number;
      written?: string[];
      unchanged?: string[];
      errors?: { message: string; ctx: object }[];
      skipped?: string[];
      error?: { message: string; ctx: object };
      bytes?: ArrayBuffer;
    };
    w.on('message', (m: Reply) => {
      if (m.bytes) this.spare.push(m.bytes);
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(new GgnError(m.error.message, m.error.ctx));
      else
        p.resolve({
          written: m.written!,
          unchanged: m.unchanged!,
          errors: (m.errors ?? []).map((e) => new GgnError(e.message, e.ctx)),
          skipped: m.skipped ?? [],
        });
    });
    w.on('error', (e) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
    this.worker = w;
    return w;
  }
}
