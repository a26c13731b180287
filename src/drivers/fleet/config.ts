/**
 * The `fleet:` map of an env config, parsed in one pure function (raw map in, typed config out,
 * unknown keys refused):
 *
 *   driver: fleet
 *   fleet:
 *     endpoint: unix:///var/run/fleet.sock    # or http://host:port (fleetd's TCP listener)
 *     tunnel: core@10.0.0.1:22                # optional: reach the endpoint through SSH to that machine
 *     requestTimeout: 10s                     # each API call (default 10s)
 *     etcd: [http://10.0.0.1:2379]            # where ggn keeps revisions and its audit log
 *
 * `etcd` defaults to the endpoints of `lock: {backend: etcd, ...}` (the caller passes them).
 */
import { tryParseDuration } from '../../durations';

export type FleetEndpoint = { kind: 'unix'; socketPath: string; url: string } | { kind: 'http'; host: string; port: number; url: string };

export interface FleetConfig {
  endpoint: FleetEndpoint;
  requestTimeoutMs: number;
  /** etcd endpoints for revisions and the audit log; empty: those are unavailable (update and rollback refuse). */
  etcd: string[];
  /** Reach the endpoint through SSH to this machine (the endpoint's socket or host:port as seen from there). */
  tunnel?: { user?: string; host: string; port?: number };
}

export const FLEET_KEYS = ['endpoint', 'tunnel', 'requestTimeout', 'etcd'];
/** GGN's own `fleet:` keys: accepted (a GGN tree works unchanged) and ignored. */
export const GGN_FLEET_KEYS = ['username', 'password', 'strict_host_key_checking', 'sudo', 'driver'];
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** Parses `fleet:`; `fail` turns a message into the caller's error (which names the file). */
export function parseFleetConfig(raw: unknown, fail: (msg: string) => Error, defaults: { etcd?: string[] } = {}): FleetConfig {
  if (raw === undefined || raw === null) throw fail('`driver: fleet` needs `fleet: {endpoint: unix:///var/run/fleet.sock}` (or http://host:port)');
  if (typeof raw !== 'object' || Array.isArray(raw)) throw fail('`fleet:` must be a map, e.g. `fleet: {endpoint: unix:///var/run/fleet.sock}`');
  const m = raw as Record<string, unknown>;
  for (const k of Object.keys(m))
    if (!FLEET_KEYS.includes(k) && !GGN_FLEET_KEYS.includes(k)) throw fail(`unknown key \`fleet.${k}\` (known: ${FLEET_KEYS.join(', ')})`);
  let tunnel: FleetConfig['tunnel'];
  if (m.tunnel !== undefined && m.tunnel !== null) {
    const t = /^(?:([^@\s]+)@)?([^@:\s]+|\[[0-9a-fA-F:]+\])(?::(\d+))?$/.exec(typeof m.tunnel === 'string' ? m.tunnel : '');
    if (!t || (t[3] !== undefined && (Number(t[3]) < 1 || Number(t[3]) > 65535)))
      throw fail('`fleet.tunnel` must be [user@]host[:port], the machine to reach the endpoint through (as fleetctl --tunnel)');
    tunnel = { user: t[1], host: t[2].replace(/^\[|\]$/g, ''), port: t[3] === undefined ? undefined : Number(t[3]) };
  }
  const endpoint = parseEndpoint(m.endpoint, fail);
  let requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS;
  if (m.requestTimeout !== undefined && m.requestTimeout !== null) {
    const v = m.requestTimeout;
    const ms = typeof v === 'string' ? tryParseDuration(v) : typeof v === 'bigint' || typeof v === 'number' ? Number(v) * 1000 : undefined;
    if (ms === undefined || !(ms > 0)) throw fail('`fleet.requestTimeout` must be a duration such as 10s or 1m (or a number of seconds)');
    requestTimeoutMs = ms;
  }
  let etcd = defaults.etcd ?? [];
  if (m.etcd !== undefined && m.etcd !== null) {
    const list = Array.isArray(m.etcd) ? m.etcd : [m.etcd];
    etcd = list.map((e, i) => {
      if (typeof e !== 'string' || !/^https?:\/\/[^/]+\/?$/.test(e)) throw fail(`\`fleet.etcd[${i}]\` must be a URL such as http://127.0.0.1:2379`);
      return e.replace(/\/+$/, '');
    });
  }
  return { endpoint, requestTimeoutMs, etcd, ...(tunnel ? { tunnel } : {}) };
}

function parseEndpoint(v: unknown, fail: (msg: string) => Error): FleetEndpoint {
  if (typeof v !== 'string' || v === '') throw fail('`fleet.endpoint` must be unix:///path/to/fleet.sock or http://host:port');
  if (v.startsWith('unix://')) {
    const socketPath = v.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw fail(`\`fleet.endpoint\` ${JSON.stringify(v)}: the socket path must be absolute (unix:///var/run/fleet.sock)`);
    return { kind: 'unix', socketPath, url: v };
  }
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw fail(`\`fleet.endpoint\` ${JSON.stringify(v)} is not a URL (unix:///var/run/fleet.sock or http://host:port)`);
  }
  if (u.protocol !== 'http:') throw fail(`\`fleet.endpoint\` ${JSON.stringify(v)}: only unix:// and http:// are supported (fleetd serves plain HTTP)`);
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.username) throw fail(`\`fleet.endpoint\` ${JSON.stringify(v)} must be http://host:port only`);
  return { kind: 'http', host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80), url: `http://${u.host}` };
}
