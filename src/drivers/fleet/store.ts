/**
 * Where the fleet driver keeps what fleet itself does not: the revisions `rollback` puts back
 * and the audit log `history` reads. A unit in fleet belongs to the cluster, not to a machine
 * (fleet may move it), so both live in etcd, beside GGN's lock keys:
 *
 *   /ggn/<envName>/revisions/<unit>/<n>    the unit as fleet stored it before change n (last 5 kept)
 *   /ggn/<envName>/audit/<time>-<random>   one audit line (fields tab-separated, apply/audit.ts)
 *
 * etcd (v3 API, the `etcd3` client the lock uses) is loaded on first use.
 */
import type * as Etcd3Module from 'etcd3';
import { randomBytes } from 'node:crypto';
import { GgnError } from '../../errors';

export const KEEP_REVISIONS = 5;

export class FleetStateStore {
  private client?: Etcd3Module.Etcd3;

  constructor(
    private readonly endpoints: string[],
    private readonly envName: string,
    private readonly timeoutMs = 3000,
  ) {}

  private etcd(): Etcd3Module.Etcd3 {
    if (this.endpoints.length === 0)
      throw new GgnError(
        'the fleet driver keeps revisions and its audit log in etcd: set `fleet.etcd: [http://...]` in the env config (or use `lock: {backend: etcd, endpoints: [...]}`)',
      );
    if (this.client) return this.client;
    const mod = require('etcd3') as typeof Etcd3Module;
    const cockatiel = require('cockatiel') as typeof import('cockatiel');
    const timeout = this.timeoutMs;
    this.client = new mod.Etcd3({
      hosts: this.endpoints,
      dialTimeout: timeout,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
      faultHandling: { host: () => cockatiel.noop, global: cockatiel.noop },
      grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 1000 },
    });
    return this.client;
  }

  private async call<T>(what: string, f: (c: Etcd3Module.Etcd3) => Promise<T>): Promise<T> {
    const c = this.etcd();
    try {
      return await f(c);
    } catch (e) {
      const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
      throw new GgnError(`etcd ${this.endpoints.join(',')}: ${what} failed: ${msg}`, {}, { cause: e });
    }
  }

  private revKey(unit: string, n?: number): string {
    return `/ggn/${this.envName}/revisions/${unit}/${n === undefined ? '' : String(n).padStart(10, '0')}`;
  }

  private async revisions(unit: string): Promise<{ n: number; key: string; value: string }[]> {
    const all = await this.call('reading revisions', (c) => c.getAll().prefix(this.revKey(unit)).strings());
    return Object.entries(all)
      .map(([key, value]) => ({ key, value, n: Number(key.slice(this.revKey(unit).length)) }))
      .filter((r) => Number.isInteger(r.n) && r.n > 0)
      .sort((a, b) => a.n - b.n);
  }

  /** Keeps `content` as the next revision of the unit (the last KEEP_REVISIONS are kept); returns its number. */
  async keep(unit: string, content: string): Promise<string> {
    const revs = await this.revisions(unit);
    const n = (revs.at(-1)?.n ?? 0) + 1;
    await this.call('keeping a revision', (c) => c.put(this.revKey(unit, n)).value(content).exec());
    for (const old of revs.slice(0, Math.max(0, revs.length + 1 - KEEP_REVISIONS))) await this.call('pruning revisions', (c) => c.delete().key(old.key).exec());
    return String(n);
  }

  /** Every revision kept of the unit, oldest first. */
  async all(unit: string): Promise<{ revision: string; content: string }[]> {
    return (await this.revisions(unit)).map((r) => ({ revision: String(r.n), content: r.value }));
  }

  async drop(unit: string, revision: string): Promise<void> {
    if (!/^\d+$/.test(revision)) return;
    await this.call('dropping a revision', (c) =>
      c
        .delete()
        .key(this.revKey(unit, Number(revision)))
        .exec(),
    );
  }

  /** Refuses when the audit log cannot be written (no etcd configured, or unreachable). */
  async check(): Promise<void> {
    await this.call('checking the audit log', (c) => c.get(`/ggn/${this.envName}/audit/`).string());
  }

  async append(fields: string[]): Promise<void> {
    const key = `/ggn/${this.envName}/audit/${new Date().toISOString()}-${randomBytes(4).toString('hex')}`;
    await this.call('writing the audit log', (c) => c.put(key).value(fields.join('\t')).exec());
  }

  async read(): Promise<string> {
    const all = await this.call('reading the audit log', (c) => c.getAll().prefix(`/ggn/${this.envName}/audit/`).sort('Key', 'Ascend').strings());
    return Object.keys(all)
      .sort()
      .map((k) => `${all[k]}\n`)
      .join('');
  }

  async close(): Promise<void> {
    this.client?.close();
  }
}
