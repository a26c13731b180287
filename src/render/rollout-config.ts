/**
 * `rollout:` in a service manifest: the opt-in to zero-downtime updates (see src/apply/overlap.ts).
 *
 *   rollout:
 *     strategy: overlap            # the only strategy: two slots side by side, a proxy in front
 *     slots:                       # exactly two; the unit is rendered once per slot
 *       - {name: blue, port: 8081}
 *       - {name: green, port: 8082}
 *     drainTimeout: 30s            # how long the old slot may keep its sessions (default 30s)
 *     proxy:
 *       haproxy:
 *         socket: /run/haproxy/admin.sock   # the runtime API (stats socket ... level admin); may hold {hostname}
 *         backend: web
 *         server: "{slot}"                  # the server of a slot in the backend ({slot}, {hostname})
 *         address: 127.0.0.1                # optional: ggn sets the server to address:slotPort
 *         host: lb1                         # optional: the machine running HAProxy (default: the node's)
 *
 * Without `rollout:` nothing changes (unit names, bytes, steps).
 */
import { GgnError } from '../errors';
import { tryParseDuration } from '../durations';
import { isGoMap, GoMap, GoValue } from '../template/values';
import { SLOT_NAME } from './names';

export interface Slot {
  name: string;
  port: number;
}

export interface HaproxySettings {
  kind: 'haproxy';
  socket: string;
  backend: string;
  /** Server name pattern: `{slot}` and `{hostname}` are replaced. */
  server: string;
  address?: string;
  host?: string;
}

export type ProxySettings = HaproxySettings;

export interface RolloutConfig {
  strategy: 'overlap';
  slots: [Slot, Slot];
  drainTimeoutMs: number;
  proxy: ProxySettings;
}

export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/** HAProxy backend and server names: what its runtime API accepts in `<backend>/<server>` (no space, no newline). */
const PROXY_NAME = /^[A-Za-z0-9_.:-]+$/;
/** A path socat takes as is in `unix-connect:<path>` (no `,` `:` or `!`, which its address syntax reads). */
const SOCKET_PATH = /^\/([A-Za-z0-9_./-]|\{hostname\})+$/;

/** Reads `rollout:` from a rendered manifest; undefined without it. Errors name the manifest. */
export function readRolloutConfig(raw: GoMap, file: string): RolloutConfig | undefined {
  const v = raw.rollout;
  if (v === undefined || v === null) return undefined;
  const fail = (msg: string): never => {
    throw new GgnError(`rollout: ${msg}`, { file });
  };
  if (!isGoMap(v)) return fail('must be a map with `strategy`, `slots` and `proxy`');
  const r = v as GoMap;
  if (r.strategy !== 'overlap') fail(`strategy must be "overlap", not ${JSON.stringify(String(r.strategy ?? ''))}`);
  if (!Array.isArray(r.slots) || r.slots.length !== 2) fail('slots must list exactly two slots ({name, port})');
  const slots = (r.slots as GoValue[]).map((s, i) => {
    if (!isGoMap(s)) return fail(`slot #${i + 1} must be a map {name, port}`);
    const m = s as GoMap;
    if (typeof m.name !== 'string' || !SLOT_NAME.test(m.name)) fail(`slot #${i + 1}: name must be a short lowercase word (a-z, 0-9, -), e.g. blue`);
    const port = typeof m.port === 'bigint' ? Number(m.port) : typeof m.port === 'number' ? m.port : NaN;
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`slot ${String(m.name)}: port must be a TCP port (1-65535)`);
    return { name: m.name as string, port };
  }) as [Slot, Slot];
  if (slots[0].name === slots[1].name) fail('the two slots need different names');
  if (slots[0].port === slots[1].port) fail('the two slots need different ports (they run side by side)');
  let drainTimeoutMs = DEFAULT_DRAIN_TIMEOUT_MS;
  if (r.drainTimeout !== undefined && r.drainTimeout !== null) {
    const d = typeof r.drainTimeout === 'bigint' ? Number(r.drainTimeout) * 1000 : tryParseDuration(String(r.drainTimeout));
    if (d === undefined || d < 0) fail(`drainTimeout: ${JSON.stringify(String(r.drainTimeout))} is not a duration (e.g. 30s)`);
    drainTimeoutMs = d!;
  }
  return { strategy: 'overlap', slots, drainTimeoutMs, proxy: readProxy(r.proxy, fail) };
}

function readProxy(v: GoValue | undefined, fail: (msg: string) => never): ProxySettings {
  if (!isGoMap(v) || !isGoMap((v as GoMap).haproxy)) return fail('proxy must be `{haproxy: {socket, backend}}` (the only proxy so far)');
  const h = (v as GoMap).haproxy as GoMap;
  const str = (k: string, re: RegExp, what: string, optional = false): string | undefined => {
    const x = h[k];
    if ((x === undefined || x === null) && optional) return undefined;
    if (typeof x !== 'string' || !re.test(x)) fail(`proxy.haproxy.${k}: ${what}`);
    return x as string;
  };
  const server = str('server', /^[A-Za-z0-9_.:{}-]+$/, 'a server name pattern (letters, digits, _ . : -, {slot}, {hostname})', true) ?? '{slot}';
  return {
    kind: 'haproxy',
    socket: str('socket', SOCKET_PATH, 'the absolute path of the runtime API socket (letters, digits, _ . / -, {hostname})')!,
    backend: str('backend', PROXY_NAME, 'a backend name (letters, digits, _ . : -)')!,
    server,
    address: str('address', /^[0-9A-Fa-f.:]+$/, 'an IP address', true),
    host: str('host', /^[A-Za-z0-9:_.-]+$/, 'a machine name', true),
  };
}

/** The runtime API socket of a node's proxy (`{hostname}`: one proxy per node, e.g. test hosts sharing a filesystem). */
export function socketPath(proxy: ProxySettings, hostname: string): string {
  const p = proxy.socket.replaceAll('{hostname}', hostname);
  if (!/^\/[A-Za-z0-9_./-]+$/.test(p))
    throw new GgnError(`rollout: proxy socket ${JSON.stringify(p)} (from ${proxy.socket}) has characters socat would read as options`);
  return p;
}

/** The proxy's server name for a node's slot. */
export function serverName(proxy: ProxySettings, hostname: string, slot: string): string {
  const name = proxy.server.replaceAll('{slot}', slot).replaceAll('{hostname}', hostname);
  if (!PROXY_NAME.test(name))
    throw new GgnError(`rollout: proxy server name ${JSON.stringify(name)} (from ${proxy.server}) has characters HAProxy does not take`);
  return name;
}
