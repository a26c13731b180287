/**
 * The etcd lock backend, as GGN used it: key `/ggn-lock/<service>/lock`, value
 * `[user@host] message`, attached to a lease whose TTL is the lock's TTL (no keep-alive: the
 * lock ends by release or expiry). etcd keeps the time, so expiry does not depend on any
 * client's clock; `expiresAt` is the client's now + the lease's remaining TTL.
 *
 * Take: one transaction "create revision == 0 → put, else read". When the value starts with
 * `[user@host] ` (our own lock) a second transaction replaces it if its mod revision did not
 * change. Release: delete only if the value is still the one we read (unless forced).
 */
import type * as Etcd3Module from 'etcd3';
import { GgnError } from '../../errors';
import { Clock } from '../types';
import { acquireLoop, AcquireOptions, Attempt, checkHolder, checkService, checkTtl, LockBackend, LockInfo } from './common';

export interface EtcdLockDeps {
  endpoints: string[];
  clock: Clock;
  /** Connect and per-request timeout (default 3 s). */
  timeoutMs?: number;
  /** Poll interval while waiting for a held lock (default 1 s). */
  pollMs?: number;
}

export const lockKey = (service: string) => `/ggn-lock/${service}/lock`;

const UNREACHABLE = /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|No connection established|Deadline exceeded|UNAVAILABLE|DEADLINE_EXCEEDED|Failed to connect|connection/i;

export class EtcdLockBackend implements LockBackend {
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
        global: this.d.endpoints.length > 1 ? cockatiel.retry(cockatiel.handleWhen(mod.isRecoverableError), { maxAttempts: this.d.endpoints.length - 1 }) : cockatiel.noop,
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
        (this.mod && (e instanceof this.mod.GRPCUnavailableError || e instanceof this.mod.GRPCDeadlineExceededError)) ||
        UNREACHABLE.test(msg);
      const ep = this.d.endpoints.join(',');
      const detail = grpcDetail(msg, this.d.timeoutMs ?? 3000);
      throw new GgnError(unreachable ? `etcd lock backend ${ep} unreachable: ${detail}` : `etcd lock backend ${ep}: ${what} failed: ${detail}`, { service }, { cause: e });
    }
  }

  async check(): Promise<void> {
    await this.call('status', (c) => c.maintenance.status({}));
  }

  async read(service: string): Promise<LockInfo | null> {
    checkService(service);
    const kv = await this.call('read', async (c) => (await c.kv.range({ key: Buffer.from(lockKey(service)) })).kvs[0], service);
    if (!kv) return null;
    return this.infoOf(service, kv);
  }

  async acquire(service: string, opts: AcquireOptions): Promise<LockInfo> {
    checkService(service);
    checkHolder(opts.holder);
    checkTtl(opts.ttlMs);
    const key = Buffer.from(lockKey(service));
    const value = `[${opts.holder}] ${opts.message}`;
    const ttlSec = Math.max(1, Math.ceil(opts.ttlMs / 1000));
    return acquireLoop(service, this.d.clock, opts.waitMs ?? 0, this.d.pollMs ?? 1000, async (): Promise<Attempt> => {
      for (let i = 0; ; i++) {
        const lease = await this.call('lease grant', (c) => c.leaseClient.leaseGrant({ TTL: ttlSec }), service);
        const now = this.d.clock.now();
        const put = { request_put: { key, value: Buffer.from(value), lease: lease.ID } };
        const t = await this.call(
          'take',
          (c) => c.kv.txn({ compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }], success: [put], failure: [{ request_range: { key } }] }),
          service,
        );
        const mine = (): Attempt => ({ won: true, info: { holder: opts.holder, message: opts.message, expiresAt: now + ttlSec * 1000 } });
        if (t.succeeded) return mine();
        const kv = t.responses[0]?.response_range?.kvs[0];
        if (kv && kv.value.toString().startsWith(`[${opts.holder}] `)) {
          // Our own lock: replace it, unless it changed since we read it.
          const r = await this.call(
            'retake',
            (c) => c.kv.txn({ compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: kv.mod_revision }], success: [put], failure: [] }),
            service,
          );
          if (r.succeeded) return mine();
        }
        await this.revoke(lease.ID);
        if (kv && !kv.value.toString().startsWith(`[${opts.holder}] `)) return { won: false, info: await this.infoOf(service, kv) };
        // Released or changed between our two steps: try again at once, a few times.
        if (i >= 4) return { won: false, info: kv ? await this.infoOf(service, kv) : { holder: 'unknown', message: '(the lock keeps changing)', expiresAt: this.d.clock.now() } };
      }
    });
  }

  async release(service: string, holder: string, opts: { force?: boolean } = {}): Promise<boolean> {
    checkService(service);
    if (!opts.force) checkHolder(holder);
    const key = Buffer.from(lockKey(service));
    if (opts.force) {
      const r = await this.call('delete', (c) => c.kv.deleteRange({ key }), service);
      return Number(r.deleted) > 0;
    }
    const kv = await this.call('read', async (c) => (await c.kv.range({ key })).kvs[0], service);
    if (!kv || !kv.value.toString().startsWith(`[${holder}] `)) return false;
    const r = await this.call(
      'release',
      (c) => c.kv.txn({ compare: [{ key, target: 'Value', result: 'Equal', value: kv.value }], success: [{ request_delete_range: { key } }], failure: [] }),
      service,
    );
    if (r.succeeded && kv.lease !== '0') await this.revoke(kv.lease);
    return r.succeeded;
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

  private async infoOf(service: string, kv: Etcd3Module.IKeyValue): Promise<LockInfo> {
    const { holder, message } = parseValue(kv.value.toString());
    if (kv.lease === '0' || !kv.lease) return { holder, message, expiresAt: Infinity };
    const t = await this.call('lease ttl', (c) => c.leaseClient.leaseTimeToLive({ ID: kv.lease }), service);
    const ttl = Number(t.TTL);
    return { holder, message, expiresAt: this.d.clock.now() + Math.max(0, ttl) * 1000 };
  }
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
