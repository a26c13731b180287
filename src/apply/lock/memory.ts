/**
 * An in-memory lock store, for unit tests of the lock dance and of the commands that take
 * locks; `fail` makes the next calls throw as an unreachable backend would.
 */
import { GgnError } from '../../errors';
import { LockRecord, LockStore, Stored } from './common';

export class MemoryLockStore implements LockStore {
  readonly description = 'memory lock';
  readonly locks = new Map<string, { version: string; record: LockRecord } | { pending: true; ageMs: number }>();
  private seq = 0;
  /** While set, every call throws this (an unreachable backend). */
  fail?: string;
  calls = 0;

  private guard(): void {
    this.calls++;
    if (this.fail) throw new GgnError(`${this.description} unreachable: ${this.fail}`);
  }

  async check(): Promise<void> {
    this.guard();
  }

  async read(service: string): Promise<Stored | null> {
    this.guard();
    const v = this.locks.get(service);
    return v ? structuredClone(v) : null;
  }

  async write(service: string, version: string | null, record: LockRecord): Promise<boolean> {
    this.guard();
    const cur = this.locks.get(service);
    const curVersion = cur && 'version' in cur ? cur.version : null;
    if (cur && 'pending' in cur) return false;
    if (curVersion !== version) return false;
    this.locks.set(service, { version: String(++this.seq), record: structuredClone(record) });
    return true;
  }

  async remove(service: string, version: string | null): Promise<boolean> {
    this.guard();
    const cur = this.locks.get(service);
    if (!cur) return false;
    if (version !== null && (!('version' in cur) || cur.version !== version)) return false;
    this.locks.delete(service);
    return true;
  }

  async reap(service: string, minAgeMs: number): Promise<boolean> {
    this.guard();
    const cur = this.locks.get(service);
    if (!cur || !('pending' in cur) || cur.ageMs < minAgeMs) return false;
    this.locks.delete(service);
    return true;
  }

  async close(): Promise<void> {}
}
