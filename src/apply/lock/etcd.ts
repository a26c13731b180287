/**
 * The etcd lock store, compatible with GGN: key `/ggn-lock/<service>/lock`, value
 * `[user@host] message` (what GGN wrote and reads). ggn keeps the rest of its record (kind, run
 * id, renewal) as JSON beside it, in `/ggn-lock/<service>/record`; a GGN lock has no record and
 * reads as a lock taken by hand.
 *
 * Both keys are written in one transaction, attached to a fresh lease whose TTL reaches the
 * record's end, so etcd itself removes the lock of a run that died (and the previous lease is
 * revoked). The version compared on every write is the lock key's mod revision.
 */
import type * as Etcd3Module from 'etcd3';
import { GgnError } from '../../errors';
import { Clock } from '../types';
import { LockRecord, LockStore, parseRecord, serializeRecord, Stored } from './common';

export interface EtcdLockDeps {
  endpoints: string[];
  clock: Clock;
  /** Connect and per-request timeout (default 3 s). */
  timeoutMs?: number;
}

export const lockKey = (service: string) => `/ggn-lock/${service}/lock`;
export const recordKey = (service: string) => `/ggn-lock/${service}/record`;

const UNREACHABLE =
  /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|No connection established|Deadline exceeded|UNAVAILABLE|DEADLINE_EXCEEDED|Failed to connect|connection/i;

export class EtcdLockStore implements LockStore {
  readonly description: string;
  private client?: Etcd3Module.Etcd3;
  private mod?: typeof Etcd3Module;

  constructor(private readonly d: EtcdLockDeps) {
    if (d.endpoints.length === 0) throw new GgnError('the etcd lock backend needs at least one endpoint');
    this.description = `etcd lock at ${d.endpoints.join(',')}`;
  }

  /** Loaded on first use: the gRPC stack costs ~100 ms to load and ssh-only users never need it. */
  private etcd(): Etcd3Module.Etcd3 {
    if (this.client) return this.client;
    const mod = require('etcd3') as typeof Etcd3Module;
    const cockatiel = require('cockatiel') as typeof import('cockatiel');
    const timeout = this.d.timeoutMs ?? 3000;
    this.mod = mod;
    this.client = new mod.Etcd3({
      hosts: this.d.endpoints,
      dialTimeout: timeout,
      // A deadline on every call: gRPC needs wall-clock time here (not the injected clock).
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
      faultHandling: {
        // One try per endpoint, no circuit breaker (a CLI run is short-lived).
        host: () => cockatiel.noop,
        global:
          this.d.endpoints.length > 1
            ? cockatiel.retry(cockatiel.handleWhen(mod.isRecoverableError), { maxAttempts: this.d.endpoints.length - 1 })
            : cockatiel.noop,
      },
      grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 1000 },
    });
    return this.client;
  }

  /** Runs one etcd call, mapping connection failures to a clear error naming the endpoints. */
  private async call<T>(what: string, f: (c: Etcd3Module.Etcd3) => Promise<T>, service?: string): Promise<T> {
    const c = this.etcd();
    try {
      return await f(c);
    } catch (e) {
      if (e instanceof GgnError) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      const unreachable =
        (this.mod && (e instanceof this.mod.GRPCUnavailableError || e instanceof this.mod.GRPCDeadlineExceededError)) || UNREACHABLE.test(msg);
      const ep = this.d.endpoints.join(',');
      const detail = grpcDetail(msg, this.d.timeoutMs ?? 3000);
      throw new GgnError(
        unreachable ? `etcd lock backend ${ep} unreachable: ${detail}` : `etcd lock backend ${ep}: ${what} failed: ${detail}`,
        { service },
        { cause: e },
      );
    }
  }

  async check(): Promise<void> {
    await this.call('status', (c) => c.maintenance.status({}));
  }

  async read(service: string): Promise<Stored | null> {
    const prefix = Buffer.from(`/ggn-lock/${service}/`);
    const kvs = await this.call('read', async (c) => (await c.kv.range({ key: prefix, range_end: prefixEnd(prefix) })).kvs, service);
    const lock = kvs.find((kv) => kv.key.toString() === lockKey(service));
    if (!lock) return null;
    const rec = kvs.find((kv) => kv.key.toString() === recordKey(service));
    const { holder, message } = parseValue(lock.value.toString());
    const parsed = rec ? parseRecord(rec.value.toString()) : null;
    // A record that does not match the value is stale (GGN replaced the value): trust the value.
    const record = parsed && parsed.holder === holder && parsed.message === message ? parsed : await this.ggnRecord(service, holder, message, lock.lease);
    return { version: `${lock.mod_revision}/${lock.lease || '0'}`, record };
  }

  async write(service: string, version: string | null, record: LockRecord): Promise<boolean> {
    const now = this.d.clock.now();
    const end = record.inner ? Math.max(record.expiresAt, record.inner.expiresAt) : record.expiresAt;
    const ttlSec = Number.isFinite(end) ? Math.max(1, Math.ceil((end - now) / 1000)) : 0;
    const lease = ttlSec ? (await this.call('lease grant', (c) => c.leaseClient.leaseGrant({ TTL: ttlSec }), service)).ID : '0';
    const key = Buffer.from(lockKey(service));
    const puts = [
      { request_put: { key, value: Buffer.from(`[${record.holder}] ${record.message}`), lease } },
      { request_put: { key: Buffer.from(recordKey(service)), value: Buffer.from(serializeRecord(record)), lease } },
    ];
    const compare =
      version === null
        ? { key, target: 'Create' as const, result: 'Equal' as const, create_revision: 0 }
        : { key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: version.split('/')[0] };
    const t = await this.call('write', (c) => c.kv.txn({ compare: [compare], success: puts, failure: [] }), service);
    if (!t.succeeded) {
      if (lease !== '0') await this.revoke(lease);
      return false;
    }
    const old = version?.split('/')[1];
    if (old && old !== '0') await this.revoke(old);
    return true;
  }

  async remove(service: string, version: string | null): Promise<boolean> {
    const prefix = Buffer.from(`/ggn-lock/${service}/`);
    const del = { request_delete_range: { key: prefix, range_end: prefixEnd(prefix) } };
    if (version === null) {
      const r = await this.call('delete', (c) => c.kv.deleteRange({ key: prefix, range_end: prefixEnd(prefix) }), service);
      return Number(r.deleted) > 0;
    }
    const key = Buffer.from(lockKey(service));
    const [mod, lease] = version.split('/');
    const t = await this.call(
      'release',
      (c) => c.kv.txn({ compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: mod }], success: [del], failure: [] }),
      service,
    );
    if (t.succeeded && lease && lease !== '0') await this.revoke(lease);
    return t.succeeded;
  }

  async reap(): Promise<boolean> {
    return false; // etcd writes are transactions: there is no half-written lock
  }

  async close(): Promise<void> {
    this.client?.close();
    this.client = undefined;
  }

  private async revoke(id: string): Promise<void> {
    try {
      await this.etcd().leaseClient.leaseRevoke({ ID: id });
    } catch {
      // Best effort: an unused lease expires by itself.
    }
  }

  /** A lock GGN (or someone with etcdctl) put: taken by hand, until its lease ends. */
  private async ggnRecord(service: string, holder: string, message: string, lease: string): Promise<LockRecord> {
    const now = this.d.clock.now();
    let expiresAt = Infinity;
    if (lease && lease !== '0') {
      const t = await this.call('lease ttl', (c) => c.leaseClient.leaseTimeToLive({ ID: lease }), service);
      expiresAt = now + Math.max(0, Number(t.TTL)) * 1000;
    }
    return { holder, message, kind: 'hand', id: `etcd-${lease || '0'}`, takenAt: now, renewedAt: now, expiresAt };
  }
}

/** The end of etcd's range for a key prefix: the prefix with its last byte incremented. */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1]++;
  return end;
}

/** `[user@host] message` → holder, message (anything else: holder unknown, the whole value). */
export function parseValue(v: string): { holder: string; message: string } {
  const m = /^\[([^\]]*)\] ?([\s\S]*)$/.exec(v);
  return m ? { holder: m[1], message: m[2] } : { holder: 'unknown', message: v };
}

/** gRPC's words without the noise: "connect ECONNREFUSED 127.0.0.1:1", "no answer within 3 s". */
export function grpcDetail(msg: string, timeoutMs: number): string {
  if (/DEADLINE_EXCEEDED|Deadline exceeded/.test(msg)) return `no answer within ${timeoutMs / 1000} s`;
  const last = /Last error: (?:Error: )?(.*?)(?:\.? Resolution note:.*)?$/s.exec(msg);
  if (last && last[1]) return last[1].trim();
  return msg.replace(/^\d+ [A-Z_]+: /, '').trim();
}
