/**
 * Health gates: after a unit is restarted, wait until the service answers before the rollout
 * moves on to the next host. Declared in the service manifest:
 *
 *   healthCheck:
 *     http: http://$HOST:8080/health          # a 2xx answer (redirects are followed)
 *     # or  tcp: $HOST:8080                    # a TCP connection is accepted
 *     # or  exec: [curl, -fsS, http://127.0.0.1:8080/ready]   # argv run ON THE HOST, exit 0
 *     timeout: 30s       # overall deadline (Go duration "1m30s", "500ms", or a number of seconds)
 *     interval: 1s       # pause between attempts
 *
 * WHERE THE CHECKS RUN FROM
 *   - `http` and `tcp` connect from the CLIENT, i.e. the machine that runs ggn, not from the host.
 *     A service that listens only on the host's loopback is therefore unreachable with them:
 *     use `exec` (e.g. curl on the host) for that. Likewise, when the host is reached through a
 *     jump host (ProxyJump) its address is usually not routable from the client.
 *   - The literal `$HOST` in an `http` URL or a `tcp` target is replaced by the address ggn uses
 *     to reach the machine over SSH (`ctx.machineAddress`, the resolved HostSpec.address), in
 *     brackets when it is an IPv6 literal. Without `$HOST` the target is used as written.
 *   - `exec` runs its argv on the machine through the rollout's RemoteExec (the pooled SSH
 *     connection), quoted by the transport; no shell string is built here.
 *
 * A service with `rollout:` (slots) checks the slot being started: `$SLOT_PORT` and `$SLOT` in
 * any of the check's strings are its port and name (e.g. `http://$HOST:$SLOT_PORT/health`).
 *
 * Every attempt is bounded by the time left before the deadline; between attempts we sleep
 * `interval` (clipped to the deadline) on the injected Clock. At least one attempt is always made.
 */
import { tryParseDuration } from '../durations';
import * as net from 'node:net';
import { GgnError } from '../errors';
import { GoMap, GoValue, isGoMap } from '../template/values';
import { Clock, RemoteExec } from './types';

export const DEFAULT_HEALTH_TIMEOUT_MS = 30_000;
export const DEFAULT_HEALTH_INTERVAL_MS = 1_000;

interface HealthCommon {
  /** Overall deadline for the gate. */
  timeoutMs: number;
  /** Pause between two attempts. */
  intervalMs: number;
  /** The manifest it came from (for messages). */
  file: string;
}

export type HealthCheck =
  | (HealthCommon & { kind: 'http'; url: string })
  | (HealthCommon & { kind: 'tcp'; host: string; port: number })
  | (HealthCommon & { kind: 'exec'; argv: string[] });

export type Connect = (host: string, port: number, timeoutMs: number) => Promise<void>;

export interface HealthContext {
  machine: string;
  /** Address ggn reaches the machine at; replaces `$HOST` in http/tcp targets. */
  machineAddress?: string;
  exec: RemoteExec;
  clock: Clock;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  connect?: Connect;
}

export type HealthResult = { ok: true; attempts: number; ms: number } | { ok: false; attempts: number; ms: number; last: string };

const BODY_EXCERPT = 200;

// ---------------------------------------------------------------------------------------------
// Manifest parsing

/**
 * Reads `healthCheck:` from a service manifest (undefined when absent or null). Validation
 * errors name the manifest file.
 */
export function readHealthCheck(manifestRaw: GoMap, file: string): HealthCheck | undefined {
  const raw = manifestRaw.healthCheck;
  if (raw === undefined || raw === null) return undefined;
  const fail = (msg: string): never => {
    throw new GgnError(`healthCheck: ${msg}`, { file });
  };
  if (!isGoMap(raw)) fail('must be a map with one of `http:`, `tcp:` or `exec:`');
  const hc = raw as GoMap;
  // Unknown keys were refused with the manifest (schemas/service-manifest.schema.json).
  const kinds = (['http', 'tcp', 'exec'] as const).filter((k) => hc[k] !== undefined && hc[k] !== null);
  if (kinds.length !== 1) {
    fail(kinds.length === 0 ? 'needs one of `http:`, `tcp:` or `exec:`' : `has ${kinds.map((k) => `\`${k}:\``).join(' and ')}: use exactly one`);
  }
  const timeoutMs = hc.timeout === undefined || hc.timeout === null ? DEFAULT_HEALTH_TIMEOUT_MS : durationMs(hc.timeout, 'timeout', fail);
  const intervalMs = hc.interval === undefined || hc.interval === null ? DEFAULT_HEALTH_INTERVAL_MS : durationMs(hc.interval, 'interval', fail);
  const common: HealthCommon = { timeoutMs, intervalMs, file };
  const kind = kinds[0];
  if (kind === 'http') {
    const url = hc.http;
    if (typeof url !== 'string' || url === '') fail('`http:` must be a URL string');
    let parsed: URL;
    try {
      parsed = new URL(substituteHost(url as string, '127.0.0.1'));
    } catch {
      return fail(`\`http:\` is not a valid URL: ${JSON.stringify(url)}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') fail(`\`http:\` must be an http:// or https:// URL, not ${parsed.protocol}//`);
    return { kind: 'http', url: url as string, ...common };
  }
  if (kind === 'tcp') {
    const target = hc.tcp;
    if (typeof target !== 'string') fail('`tcp:` must be a "host:port" string');
    const hp = parseHostPort(target as string);
    if (!hp) fail(`\`tcp:\` must be "host:port" (e.g. 127.0.0.1:8080, [::1]:8080, $HOST:8080), not ${JSON.stringify(target)}`);
    return { kind: 'tcp', host: hp!.host, port: hp!.port, ...common };
  }
  const argv = hc.exec;
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
    fail('`exec:` must be a non-empty list of strings (the argv run on the host), e.g. [curl, -fsS, http://127.0.0.1:8080/ready]');
  }
  if ((argv as string[])[0] === '') fail('`exec:` must not start with an empty program name');
  return { kind: 'exec', argv: [...(argv as string[])], ...common };
}

/** The check's strings with `$SLOT_PORT` and `$SLOT` replaced by the slot's port and name. */
export function withSlot(raw: GoValue | undefined, slot: { name: string; port: number }): GoValue | undefined {
  if (typeof raw === 'string') return raw.split('$SLOT_PORT').join(String(slot.port)).split('$SLOT').join(slot.name);
  if (Array.isArray(raw)) return raw.map((x) => withSlot(x, slot)!);
  if (isGoMap(raw)) {
    const out = Object.create(null) as GoMap;
    for (const [k, v] of Object.entries(raw)) out[k] = withSlot(v, slot)!;
    return out;
  }
  return raw;
}

/** A Go duration string ("1m30s", "500ms", "1.5s") or a number of seconds; must be > 0. */
export function durationMs(v: GoValue, key: string, fail: (msg: string) => never): number {
  let ms: number;
  if (typeof v === 'bigint') ms = Number(v) * 1000;
  else if (typeof v === 'number') ms = v * 1000;
  else if (typeof v === 'string') {
    const s = v.trim();
    const parsed = /^\d+(\.\d+)?$/.test(s) ? Number(s) * 1000 : tryParseDuration(s);
    if (parsed === undefined) return fail(`\`${key}:\` must be a duration such as 30s, 1m30s or 500ms, or a number of seconds; got ${JSON.stringify(v)}`);
    ms = parsed;
  } else {
    return fail(`\`${key}:\` must be a duration such as 30s, or a number of seconds`);
  }
  if (!Number.isFinite(ms) || ms <= 0) return fail(`\`${key}:\` must be greater than zero`);
  return Math.round(ms);
}

/** "host:port", "[v6]:port"; host may be `$HOST`. */
export function parseHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:\s\[\]]+):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1], port };
}

function substituteHost(s: string, address: string): string {
  const inUrl = address.includes(':') ? `[${address}]` : address;
  return s.split('$HOST').join(inUrl);
}

// ---------------------------------------------------------------------------------------------
// Waiting

interface Attempt {
  ok: boolean;
  /** What this attempt saw (for `last`). */
  detail: string;
}

/** Retries the check until it succeeds or the deadline passes. Never throws for a failed check. */
/** The least time one attempt gets, even past the check's timeout. */
export const MIN_ATTEMPT_MS = 500;

export async function waitHealthy(check: HealthCheck, ctx: HealthContext): Promise<HealthResult> {
  const { clock } = ctx;
  const start = clock.now();
  const deadline = start + check.timeoutMs;
  let attempts = 0;
  let last = 'no attempt made';
  const elapsed = () => clock.now() - start;
  for (;;) {
    if (ctx.signal?.aborted) return { ok: false, attempts, ms: elapsed(), last: `aborted (last: ${last})` };
    // Even the last attempt gets a fair budget: one cut to 1 ms says nothing about the service.
    const left = Math.max(MIN_ATTEMPT_MS, deadline - clock.now());
    attempts++;
    const a = await attemptOnce(check, ctx, left);
    if (a.ok) return { ok: true, attempts, ms: elapsed() };
    last = a.detail;
    const now = clock.now();
    if (now >= deadline) break;
    try {
      await clock.sleep(Math.min(check.intervalMs, deadline - now), ctx.signal);
    } catch {
      return { ok: false, attempts, ms: elapsed(), last: `aborted (last: ${last})` };
    }
    if (clock.now() >= deadline) break;
  }
  return { ok: false, attempts, ms: elapsed(), last };
}

/** One attempt, bounded by `budgetMs`; never throws. */
export async function attemptOnce(check: HealthCheck, ctx: HealthContext, budgetMs: number): Promise<Attempt> {
  try {
    switch (check.kind) {
      case 'http':
        return await attemptHttp(check.url, ctx, budgetMs);
      case 'tcp':
        return await attemptTcp(check.host, check.port, ctx, budgetMs);
      case 'exec':
        return await attemptExec(check.argv, ctx, budgetMs);
    }
  } catch (e) {
    return { ok: false, detail: describeError(e, budgetMs) };
  }
}

function resolveTarget(s: string, ctx: HealthContext): string {
  if (!s.includes('$HOST')) return s;
  if (!ctx.machineAddress) throw new Error(`$HOST used but no address is known for machine ${ctx.machine}`);
  return substituteHost(s, ctx.machineAddress);
}

async function attemptHttp(rawUrl: string, ctx: HealthContext, budgetMs: number): Promise<Attempt> {
  const url = resolveTarget(rawUrl, ctx);
  const doFetch = ctx.fetch ?? fetch;
  const { signal, dispose, timedOut } = boundedSignal(budgetMs, ctx.signal);
  try {
    const res = await doFetch(url, { signal, redirect: 'follow', headers: { 'user-agent': 'ggn-health-check' } });
    let body = '';
    try {
      body = await readExcerpt(res, BODY_EXCERPT);
    } catch {
      // The status is what counts; a body cut by the deadline does not change it.
    }
    if (res.status >= 200 && res.status < 300) return { ok: true, detail: `HTTP ${res.status}` };
    const text = body.replace(/\s+/g, ' ').trim();
    return { ok: false, detail: `HTTP ${res.status}${text ? `: ${text}` : ''}` };
  } catch (e) {
    if (timedOut()) return { ok: false, detail: `no answer from ${url} within ${budgetMs}ms` };
    return { ok: false, detail: `${url}: ${describeError(e, budgetMs)}` };
  } finally {
    dispose();
  }
}

/** The first `max` characters of the body, without downloading the rest. */
async function readExcerpt(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let out = '';
  try {
    while (out.length < max) {
      const { done, value } = await reader.read();
      if (done) break;
      out += dec.decode(value, { stream: true });
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return out.slice(0, max);
}

async function attemptTcp(rawHost: string, port: number, ctx: HealthContext, budgetMs: number): Promise<Attempt> {
  const host = rawHost === '$HOST' ? resolveHostOnly(ctx) : rawHost;
  const connect = ctx.connect ?? tcpConnect;
  try {
    await connect(host, port, budgetMs);
    return { ok: true, detail: 'connected' };
  } catch (e) {
    return { ok: false, detail: `tcp ${host.includes(':') ? `[${host}]` : host}:${port}: ${describeError(e, budgetMs)}` };
  }
}

function resolveHostOnly(ctx: HealthContext): string {
  if (!ctx.machineAddress) throw new Error(`$HOST used but no address is known for machine ${ctx.machine}`);
  return ctx.machineAddress;
}

async function attemptExec(argv: string[], ctx: HealthContext, budgetMs: number): Promise<Attempt> {
  const r = await ctx.exec(ctx.machine, argv, { timeoutMs: budgetMs });
  if (r.code === 0) return { ok: true, detail: 'exit 0' };
  const err = (r.stderr.trim() || r.stdout.trim()).replace(/\s+/g, ' ');
  return { ok: false, detail: `exit ${r.code}${err ? `: ${err.slice(0, BODY_EXCERPT)}` : ''}` };
}

/** net.connect with a deadline; resolves once the connection is accepted, then closes it. */
export function tcpConnect(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(Object.assign(new Error(`timed out after ${timeoutMs}ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.end();
      sock.destroy();
      resolve();
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    });
  });
}

/** An AbortSignal that fires after `ms` or when `outer` aborts. */
function boundedSignal(ms: number, outer?: AbortSignal): { signal: AbortSignal; dispose: () => void; timedOut: () => boolean } {
  const ac = new AbortController();
  let fired = false;
  const t = setTimeout(() => {
    fired = true;
    ac.abort(new Error(`timed out after ${ms}ms`));
  }, ms);
  const onOuter = () => ac.abort(outer?.reason);
  if (outer) {
    if (outer.aborted) ac.abort(outer.reason);
    else outer.addEventListener('abort', onOuter, { once: true });
  }
  return {
    signal: ac.signal,
    dispose: () => {
      clearTimeout(t);
      outer?.removeEventListener('abort', onOuter);
    },
    timedOut: () => fired,
  };
}

const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'name not resolved',
  EAI_AGAIN: 'name resolution failed (temporary)',
  ETIMEDOUT: 'timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_SOCKET: 'socket error',
};

function describeError(e: unknown, budgetMs: number): string {
  const err = e as { code?: string; message?: string; cause?: unknown; name?: string };
  // fetch wraps the socket error: TypeError('fetch failed', { cause })
  const cause = (err?.cause ?? undefined) as { code?: string; message?: string } | undefined;
  const code = err?.code ?? cause?.code;
  if (code && ERRNO_TEXT[code]) return `${ERRNO_TEXT[code]} (${code})`;
  if (err?.name === 'AbortError' || err?.name === 'TimeoutError') return `timed out after ${budgetMs}ms`;
  const msg = cause?.message ?? err?.message ?? String(e);
  return code ? `${msg} (${code})` : msg;
}

/** One line for reports: "http http://x/health (30s)". */
export function describeHealthCheck(c: HealthCheck): string {
  const what = c.kind === 'http' ? c.url : c.kind === 'tcp' ? `${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port}` : c.argv.join(' ');
  return `${c.kind} ${what}`;
}
