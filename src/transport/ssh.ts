/**
 * The SSH transport on top of ssh2: one pooled connection per host, commands as argv (quoted
 * here by shellQuote), strict host key checking against known_hosts, key files then ssh-agent,
 * ProxyJump through the jump connection's direct-tcpip channel, keepalive so that hung or
 * partitioned hosts fail in seconds, and every failure turned into a TransportError whose
 * message names the host.
 *
 * Host keys: the verifier runs during key exchange, before authentication, so on refusal
 * nothing (no user name, no key, no command) has been sent. `strictHostKeyChecking: true`
 * refuses unknown and changed keys; `false` accepts an unknown key (never writes known_hosts)
 * but STILL refuses a changed or revoked one. When known_hosts lists keys for the host, only
 * those key types are offered as host key algorithms, so the key the server presents is one we
 * can compare; a server that has none of them fails as 'hostkey-changed'.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import { Duplex } from 'node:stream';
import type { AnyAuthMethod, Client, ClientChannel, ConnectConfig, ParsedKey } from 'ssh2';
import { checkHostKey, HostKeyCheck, hostKeyAlgorithms, keyTypeOfBlob, knownKeyTypes, loadKnownHosts } from './known-hosts';
import { shellQuote } from './quote';
import { Connection, ExecOptions, ExecResult, HostSpec, Transport, TransportError, TransportErrorKind } from './types';

export interface SshTransportOptions {
  /**
   * ssh keepalive period (default 1000 ms). A dead peer is detected after interval × (countMax + 1),
   * or after the host's connectTimeout if that is longer (the period is stretched to fit).
   */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the connection is dropped (default 3). */
  keepaliveCountMax?: number;
  /** ssh-agent socket; default $SSH_AUTH_SOCK; null disables the agent. */
  agentSocket?: string | null;
  /** TCP_NODELAY on the socket (default true; false only to measure the difference). */
  noDelay?: boolean;
  /** Concurrent exec channels per connection; more are queued (default 8, below sshd's MaxSessions 10). */
  maxChannelsPerConnection?: number;
  /** Receives ssh2's debug lines. */
  debug?: (msg: string) => void;
}

type SshError = Error & { level?: string; code?: string; reason?: number | string; description?: string };

/** ssh2, loaded by the first connection once its TCP connect has started (bin/ggn.js: from its own code-cached bundle). */
const ssh2 = (): typeof import('ssh2') => require('ssh2');

export class SshTransport implements Transport {
  private readonly pool = new Map<string, Promise<SshConnection>>();
  private readonly opts: Required<Omit<SshTransportOptions, 'debug' | 'agentSocket'>> & Pick<SshTransportOptions, 'debug'> & { agentSocket: string | null };
  private closed = false;

  constructor(opts: SshTransportOptions = {}) {
    this.opts = {
      keepaliveIntervalMs: opts.keepaliveIntervalMs ?? 1000,
      keepaliveCountMax: opts.keepaliveCountMax ?? 3,
      agentSocket: opts.agentSocket === undefined ? process.env.SSH_AUTH_SOCK || null : opts.agentSocket,
      noDelay: opts.noDelay ?? true,
      maxChannelsPerConnection: opts.maxChannelsPerConnection ?? 8,
      debug: opts.debug,
    };
  }

  /**
   * The pooled connection to `host`. Concurrent calls share one pending connection. A failed
   * attempt is not cached (the next call tries again), nor is a connection that has died.
   */
  connect(host: HostSpec): Promise<Connection> {
    return this.connectPooled(host);
  }

  private connectPooled(host: HostSpec): Promise<SshConnection> {
    if (this.closed) return Promise.reject(new TransportError('disconnected', `host ${host.name}: transport is closed`, { host: host.name }));
    const key = poolKey(host);
    const existing = this.pool.get(key);
    if (existing) return existing;
    const p = this.open(host, key);
    this.pool.set(key, p);
    p.then(
      (c) => c.onClose(() => this.pool.get(key) === p && this.pool.delete(key)),
      () => this.pool.get(key) === p && this.pool.delete(key),
    );
    return p;
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    const all = await Promise.allSettled([...this.pool.values()]);
    this.pool.clear();
    const conns = all.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    // connections that go through a jump host first, then the jump hosts
    const jumps = new Set(conns.flatMap((c) => (c.host.jump ? [poolKey(c.host.jump)] : [])));
    await Promise.all(conns.filter((c) => !jumps.has(c.key)).map((c) => c.close()));
    await Promise.all(conns.filter((c) => jumps.has(c.key)).map((c) => c.close()));
  }

  private async open(host: HostSpec, key: string): Promise<SshConnection> {
    const ctx = { host: host.name };
    const where = `host ${host.name} (${host.address}:${host.port})`;

    // --- credentials first: with nothing to offer there is no point in connecting
    const files = readIdentityFiles(host.identityFiles);
    const agent = this.opts.agentSocket;
    const noKey = (notes: string[]): TransportError => {
      const why = notes.length ? notes.join('; ') : 'no identity file configured';
      return new TransportError('auth', `host ${host.name}: no usable SSH key for user ${host.user} (${why}; no ssh-agent: SSH_AUTH_SOCK is not set)`, ctx);
    };
    if (!files.some((f) => f.data) && !agent) throw noKey(files.flatMap((f) => (f.note ? [f.note] : [])));

    // --- jump host: a direct-tcpip channel on its (pooled) connection becomes our socket
    let sock: Duplex | undefined;
    let via = '';
    if (host.jump) {
      via = ` via jump host ${host.jump.name}`;
      let jc: SshConnection;
      try {
        jc = await this.connectPooled(host.jump);
      } catch (e) {
        const te = e as TransportError;
        throw new TransportError(te.kind ?? 'protocol', `host ${host.name}: jump host failed: ${te.message}`, ctx, { cause: e });
      }
      sock = await jc.forwardOut(host, where + via);
    }

    // --- a direct host's TCP connect starts before ssh2 loads and the keys and known_hosts are
    // read. Node sends the SYN on its next tick, so one turn of the event loop lets the server
    // accept, fork and send its banner meanwhile. ssh2 takes the connecting (or connected) socket;
    // an error or a close before ssh2 listens is reported as ssh2 would have.
    let early: { socket: net.Socket; error?: SshError } | undefined;
    if (!sock) {
      const socket = net.connect({ host: host.address, port: host.port }).setMaxListeners(0);
      const seen: { socket: net.Socket; error?: SshError } = { socket };
      socket.on('error', (err: SshError) => {
        seen.error ??= err;
      });
      early = seen;
      sock = socket;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    let creds: LoadedIdentities;
    let Ssh2Client: typeof Client;
    let kh: ReturnType<typeof loadKnownHosts>;
    try {
      Ssh2Client = ssh2().Client;
      creds = parseIdentities(files);
      if (creds.keys.length === 0 && !agent) throw noKey(creds.notes);
      // --- known_hosts: what we can verify decides which host key algorithms we offer
      kh = loadKnownHosts(host.knownHostsFile);
    } catch (e) {
      sock.destroy();
      throw e;
    }
    const lookupNames = host.name !== host.address ? [host.address, host.name] : [host.address];
    const knownTypes = knownKeyTypes(kh, lookupNames, host.port);
    const serverHostKey = hostKeyAlgorithms(knownTypes);

    return new Promise<SshConnection>((resolve, reject) => {
      const client = new Ssh2Client();
      let settled = false;
      let hostKey: { check: HostKeyCheck; type: string; fp: string; accepted: boolean } | undefined;
      const tried: string[] = [];
      const agentNotes: string[] = [];
      const t0 = Date.now();

      const fail = (e: TransportError): void => {
        if (settled) return;
        settled = true;
        client.removeAllListeners('ready');
        client.destroy();
        reject(e);
      };

      client.on('error', (err: SshError) => {
        if (err.level === 'agent') {
          agentNotes.push(`agent: ${err.message}`);
          return; // ssh2 goes on with the next method
        }
        if (settled) return;
        fail(
          this.classifyConnectError(err, host, where + via, {
            hostKey,
            serverHostKey,
            knownTypes,
            tried,
            notes: [...creds.notes, ...agentNotes],
            elapsed: Date.now() - t0,
          }),
        );
      });
      client.on('close', () => {
        if (!settled) fail(new TransportError('unreachable', `${where}${via}: connection closed by the server before the SSH session was ready`, ctx));
      });
      client.on('ready', () => {
        if (settled) return;
        settled = true;
        resolve(new SshConnection(host, key, client, this.opts.maxChannelsPerConnection));
      });

      // ssh2's auth state machine asks for the next method each time one fails
      const methods: Array<{ label: string; method: AnyAuthMethod }> = [
        ...creds.keys.map((k) => ({ label: tildify(k.path), method: { type: 'publickey' as const, username: host.user, key: k.key } })),
        ...(agent ? [{ label: 'agent', method: { type: 'agent' as const, username: host.user, agent } }] : []),
      ];
      let next = 0;
      const authHandler = (authsLeft: string[] | null, _partial: boolean | null, cb: (m: AnyAuthMethod | false) => void): void => {
        if (authsLeft && !authsLeft.includes('publickey')) return cb(false);
        const m = methods[next++];
        if (!m) return cb(false);
        tried.push(m.label);
        cb(m.method);
      };

      const cfg: ConnectConfig = {
        host: host.address,
        port: host.port,
        username: host.user,
        readyTimeout: host.connectTimeoutMs,
        // A host given connectTimeout to answer a handshake is given as long to answer keepalives
        // (at least the default 4 s window): 200 busy hosts on few cores missed a 4 s window.
        keepaliveInterval: Math.max(this.opts.keepaliveIntervalMs, Math.ceil(host.connectTimeoutMs / (this.opts.keepaliveCountMax + 1))),
        keepaliveCountMax: this.opts.keepaliveCountMax,
        authHandler: authHandler as unknown as ConnectConfig['authHandler'],
        hostVerifier: (blob: Buffer): boolean => {
          const type = keyTypeOfBlob(blob) ?? 'unknown';
          const check = checkHostKey(kh, lookupNames, host.port, type, blob);
          const accepted = check.status === 'ok' || (check.status === 'unknown' && !host.strictHostKeyChecking);
          hostKey = { check, type, fp: fingerprint(blob), accepted };
          return accepted;
        },
      };
      if (serverHostKey) cfg.algorithms = { serverHostKey: serverHostKey as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] };
      cfg.sock = sock;
      if (this.opts.debug) cfg.debug = this.opts.debug;
      if (early?.error) {
        client.emit('error', Object.assign(early.error, { level: 'client-socket' }));
        return;
      }
      if (early && (early.socket.destroyed || early.socket.readableEnded)) {
        early.socket.destroy();
        client.emit('close');
        return;
      }
      try {
        client.connect(cfg);
      } catch (e) {
        fail(new TransportError('protocol', `${where}: ${(e as Error).message}`, ctx, { cause: e }));
        return;
      }
      if (this.opts.noDelay) client.setNoDelay(true);
    });
  }

  private classifyConnectError(
    err: SshError,
    host: HostSpec,
    where: string,
    info: {
      hostKey?: { check: HostKeyCheck; type: string; fp: string; accepted: boolean };
      serverHostKey?: string[];
      knownTypes: string[];
      tried: string[];
      notes: string[];
      elapsed: number;
    },
  ): TransportError {
    const ctx = { host: host.name };
    const kh = host.knownHostsFile;
    const mk = (kind: TransportErrorKind, msg: string): TransportError => new TransportError(kind, msg, ctx, { cause: err });
    const hk = info.hostKey;
    if (hk && !hk.accepted) {
      const offered = `${hk.type} ${hk.fp}`;
      switch (hk.check.status) {
        case 'revoked':
          return mk('hostkey-changed', `host ${host.name}: host key ${offered} is REVOKED in ${kh} (line ${hk.check.lines.join(', ')}); refusing to connect`);
        case 'changed':
          return mk(
            'hostkey-changed',
            `host ${host.name}: HOST KEY CHANGED for ${host.address}:${host.port}: it offered ${offered}, which does not match ${kh}:${hk.check.lines.join(',')} ` +
              `(possible man-in-the-middle attack, or the host was reinstalled); refusing to connect. ` +
              `If the change is expected, remove the old entry: ssh-keygen -R '${hk.check.matchedName ?? hostArg(host)}' -f ${kh}`,
          );
        default:
          if (hk.check.knownTypes.length) {
            return mk(
              'hostkey-unknown',
              `host ${host.name}: host key unknown: ${kh} has only ${hk.check.knownTypes.join(', ')} keys for ${host.address}, the host offered ${offered}; refusing to connect. ${trustHint(host, hk.type, kh)}`,
            );
          }
          return mk(
            'hostkey-unknown',
            `host ${host.name}: host key unknown (${hostArg(host)} not in ${kh}; it offered ${offered}); refusing to connect. ${trustHint(host, hk.type, kh)}`,
          );
      }
    }
    const msg = err.message || String(err);
    switch (err.level) {
      case 'client-socket': {
        switch (err.code) {
          case 'ECONNREFUSED':
            return mk('unreachable', `${where}: connection refused`);
          case 'EHOSTUNREACH':
          case 'ENETUNREACH':
            return mk('unreachable', `${where}: no route to host`);
          case 'ENOTFOUND':
          case 'EAI_AGAIN':
          case 'EAI_FAIL':
            return mk('unreachable', `${where}: cannot resolve ${host.address} (${err.code})`);
          case 'ETIMEDOUT':
            return mk('timeout', `${where}: TCP connect timed out`);
          case 'ECONNRESET':
          case 'EPIPE':
            return mk('unreachable', `${where}: connection reset before the SSH session was ready`);
          default:
            return mk('unreachable', `${where}: ${msg}`);
        }
      }
      case 'client-dns':
        return mk('unreachable', `${where}: cannot resolve ${host.address}`);
      case 'client-timeout':
        if (/keepalive/i.test(msg)) return mk('timeout', `${where}: no response to keepalives; connection dropped`);
        return mk('timeout', `${where}: timed out after ${fmtSeconds(host.connectTimeoutMs)} waiting for the SSH handshake`);
      case 'client-authentication': {
        const tried = info.tried.length ? `tried ${info.tried.join(', ')}` : 'no key was accepted for signing';
        const notes = info.notes.length ? `; ${info.notes.join('; ')}` : '';
        return mk('auth', `host ${host.name}: authentication failed for user ${host.user} (${tried}${notes})`);
      }
      case 'handshake':
        if (/host key/i.test(msg) && info.serverHostKey) {
          return mk(
            'hostkey-changed',
            `host ${host.name}: the host offers none of the host key types ${host.knownHostsFile} lists for it (${info.knownTypes.join(', ')}); its keys changed? refusing to connect`,
          );
        }
        return mk('protocol', `${where}: SSH handshake failed: ${msg}`);
      case 'protocol':
        if (/before handshake/i.test(msg)) return mk('unreachable', `${where}: connection closed by the server before the SSH handshake`);
        return mk('protocol', `${where}: ${msg}`);
      default:
        return mk('protocol', `${where}: ${msg}`);
    }
  }
}

/** One live connection; execs run on their own channels, at most `maxChannels` at a time. */
class SshConnection implements Connection {
  private dead: TransportError | undefined;
  private lastError: SshError | undefined;
  private readonly closeListeners: Array<() => void> = [];
  private readonly closedPromise: Promise<void>;
  private active = 0;
  private closing = false;
  private readonly waiting: Array<() => void> = [];
  private readonly where: string;

  constructor(
    readonly host: HostSpec,
    readonly key: string,
    private readonly client: Client,
    private readonly maxChannels: number,
  ) {
    this.where = `host ${host.name} (${host.address}:${host.port})`;
    client.on('error', (err: SshError) => {
      this.lastError = err;
    });
    let markClosed!: () => void;
    this.closedPromise = new Promise((r) => (markClosed = r));
    client.on('close', () => {
      if (!this.dead) this.dead = this.deathError();
      for (const w of this.waiting.splice(0)) w();
      for (const l of this.closeListeners.splice(0)) l();
      markClosed();
    });
  }

  private deathError(): TransportError {
    const ctx = { host: this.host.name };
    const e = this.lastError;
    if (e && /keepalive/i.test(e.message)) {
      return new TransportError('timeout', `${this.where}: host stopped responding (no answer to keepalives); connection dropped`, ctx, { cause: e });
    }
    const why = e ? `: ${e.message}` : this.closing ? ' (closed by ggn)' : ' (closed by the remote end)';
    return new TransportError('disconnected', `${this.where}: connection lost${why}`, ctx, e ? { cause: e } : undefined);
  }

  onClose(fn: () => void): void {
    if (this.dead) fn();
    else this.closeListeners.push(fn);
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** A direct-tcpip channel to `target`, used as the socket of a connection through this host. */
  forwardOut(target: HostSpec, where: string): Promise<Duplex> {
    const ctx = { host: target.name };
    if (this.dead) return Promise.reject(new TransportError(this.dead.kind, `${where}: jump host connection is gone: ${this.dead.message}`, ctx));
    return new Promise((resolve, reject) => {
      try {
        this.client.forwardOut('127.0.0.1', 0, target.address, target.port, (err: SshError | undefined, stream: ClientChannel) => {
          if (err) {
            const refused = err.reason === 2 || err.reason === 'CONNECT_FAILED' || /refused|connect failed/i.test(err.message);
            reject(
              new TransportError(refused ? 'unreachable' : 'protocol', `${where}: the jump host could not open a connection: ${err.message}`, ctx, {
                cause: err,
              }),
            );
            return;
          }
          resolve(stream);
        });
      } catch (e) {
        reject(new TransportError('disconnected', `${where}: jump host connection is gone: ${(e as Error).message}`, ctx, { cause: e }));
      }
    });
  }

  /** A channel through this host to a unix socket on it (OpenSSH's streamlocal) or to host:port. */
  openStream(target: { socketPath: string } | { host: string; port: number }): Promise<Duplex> {
    const what = 'socketPath' in target ? target.socketPath : `${target.host}:${target.port}`;
    const ctx = { host: this.host.name };
    if (this.dead) return Promise.reject(new TransportError(this.dead.kind, `${this.where}: connection is gone: ${this.dead.message}`, ctx));
    return new Promise((resolve, reject) => {
      const done = (err: SshError | undefined, stream: ClientChannel) => {
        if (err) reject(new TransportError('unreachable', `${this.where}: could not open a channel to ${what}: ${err.message}`, ctx, { cause: err }));
        else resolve(stream);
      };
      try {
        if ('socketPath' in target) this.client.openssh_forwardOutStreamLocal(target.socketPath, done);
        else this.client.forwardOut('127.0.0.1', 0, target.host, target.port, done);
      } catch (e) {
        reject(new TransportError('disconnected', `${this.where}: connection is gone: ${(e as Error).message}`, ctx, { cause: e }));
      }
    });
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const cmd = shellQuote(argv);
    await this.acquire();
    try {
      return await this.run(cmd, opts, argv);
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.dead || this.active < this.maxChannels) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((r) =>
      this.waiting.push(() => {
        this.active++;
        r();
      }),
    );
  }

  private release(): void {
    this.active--;
    const w = this.waiting.shift();
    if (w) w();
  }

  private run(cmd: string, opts: ExecOptions, argv: string[]): Promise<ExecResult> {
    const ctx = { host: this.host.name };
    const shown = opts.what ?? describeCommand(argv, cmd);
    if (this.dead) return Promise.reject(this.execDeadError(shown));
    return new Promise<ExecResult>((resolve, reject) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      let stream: ClientChannel | undefined;
      const finish = (err: TransportError | undefined, res?: ExecResult): void => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        if (err) reject(err);
        else resolve(res!);
      };
      if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
        timer = setTimeout(() => {
          finish(new TransportError('timeout', `${this.where}: timed out after ${fmtSeconds(opts.timeoutMs!)} while ${shown}`, ctx));
          if (stream) {
            try {
              stream.signal('KILL');
            } catch {
              /* best effort */
            }
            try {
              stream.close();
            } catch {
              /* best effort */
            }
          }
        }, opts.timeoutMs);
      }
      const onChannel = (err: SshError | undefined, s: ClientChannel): void => {
        if (err) {
          if (this.dead || /No response from server|Not connected/i.test(err.message)) finish(this.execDeadError(shown, err));
          else finish(new TransportError('protocol', `${this.where}: cannot start ${shown} (${err.message})`, ctx, { cause: err }));
          return;
        }
        stream = s;
        if (done) {
          s.close();
          return;
        }
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let code: number | undefined;
        s.on('data', (d: Buffer) => out.push(d));
        s.stderr.on('data', (d: Buffer) => errOut.push(d));
        s.on('exit', (c: number | null, signal?: string) => {
          if (typeof c === 'number') code = c;
          else if (signal) {
            // ssh2 reports 'SIGTERM'; like a shell, a signal death becomes 128 + signal number
            const name = (signal.startsWith('SIG') ? signal : `SIG${signal}`) as NodeJS.Signals;
            code = 128 + (os.constants.signals[name] ?? 127);
          } else code = 255;
        });
        s.on('close', () => {
          if (code === undefined) {
            // channel closed without an exit status: the connection went away under us
            finish(this.execDeadError(shown));
            return;
          }
          finish(undefined, { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8') });
        });
        s.on('error', () => {
          /* surfaced through close */
        });
        if (opts.stdin !== undefined) s.end(opts.stdin);
        else s.end();
      };
      try {
        this.client.exec(cmd, onChannel);
      } catch (e) {
        finish(this.execDeadError(shown, e as SshError));
      }
    });
  }

  private execDeadError(shown: string, cause?: SshError): TransportError {
    const d = this.dead ?? (this.lastError ? this.deathError() : undefined);
    const ctx = { host: this.host.name };
    if (d) return new TransportError(d.kind, `${d.message} while ${shown}`, ctx, { cause: d.cause ?? cause });
    return new TransportError('disconnected', `${this.where}: connection lost while ${shown}`, ctx, cause ? { cause } : undefined);
  }

  async close(): Promise<void> {
    if (!this.dead) {
      this.closing = true;
      this.client.end();
      const t = setTimeout(() => this.client.destroy(), 1000);
      await this.closedPromise;
      clearTimeout(t);
    }
    await this.closedPromise;
  }
}

// ------------------------------------------------------------------ helpers

/**
 * A command for an error message: `running <argv>`, one line, at most 120 characters; a ggn
 * script (`sh -c SCRIPT ggn ARGS`) is shown by its arguments, never by its text.
 */
export function describeCommand(argv: string[], cmd: string): string {
  const i = argv[0] === 'sudo' ? argv.indexOf('sh') : 0;
  const script = i >= 0 && argv[i] === 'sh' && argv[i + 1] === '-c' && argv[i + 3] === 'ggn';
  const text = script ? `a ggn script (${argv.slice(i + 4).join(' ')})` : cmd;
  const line = text.replace(/\s+/g, ' ');
  return `running ${line.length > 120 ? line.slice(0, 117) + '...' : line}`;
}

interface LoadedIdentities {
  keys: Array<{ path: string; key: ParsedKey }>;
  /** Why some files were skipped (missing, encrypted, unparsable). */
  notes: string[];
}

/** The identity files' bytes (no ssh2 needed yet), or why one could not be read, in their order. */
function readIdentityFiles(files: string[]): IdentityFile[] {
  return files.map((f) => {
    try {
      return { path: f, data: fs.readFileSync(f) };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return { path: f, note: `${tildify(f)} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (e as Error).message})`}` };
    }
  });
}

type IdentityFile = { path: string; data: Buffer; note?: undefined } | { path: string; data?: undefined; note: string };

function parseIdentities(files: IdentityFile[]): LoadedIdentities {
  const out: LoadedIdentities = { keys: [], notes: [] };
  for (const { path: f, data, note } of files) {
    if (data === undefined) {
      out.notes.push(note);
      continue;
    }
    const parsed = ssh2().utils.parseKey(data);
    if (parsed instanceof Error) {
      if (/encrypted/i.test(parsed.message)) {
        out.notes.push(`${tildify(f)} is encrypted and passphrases are not supported (load it into ssh-agent)`);
      } else {
        out.notes.push(`${tildify(f)} is not a usable private key (${parsed.message})`);
      }
      continue;
    }
    const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
    if (!key.isPrivateKey()) {
      out.notes.push(`${tildify(f)} is not a private key`);
      continue;
    }
    out.keys.push({ path: f, key });
  }
  return out;
}

function poolKey(h: HostSpec): string {
  return `${h.name}\0${h.user}@${h.address}:${h.port}${h.jump ? `\0via\0${poolKey(h.jump)}` : ''}`;
}

function fingerprint(blob: Buffer): string {
  return 'SHA256:' + crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** How to trust a new host: compare the fingerprint out of band, then add the key yourself (ggn never writes known_hosts). */
function trustHint(h: HostSpec, type: string, kh: string): string {
  const short = type.replace(/^ssh-/, '').replace(/^ecdsa-sha2-.*/, 'ecdsa');
  return (
    `To trust it, compare the fingerprint with the host's own (on its console: ssh-keygen -lf /etc/ssh/ssh_host_${short}_key.pub), ` +
    `then add it: ssh-keyscan -t ${short} -p ${h.port} ${h.address} >> ${kh}`
  );
}

function hostArg(h: HostSpec): string {
  return h.port === 22 ? h.address : `[${h.address}]:${h.port}`;
}

function fmtSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

function tildify(p: string): string {
  const home = os.homedir();
  return home && home !== '/' && p.startsWith(home + '/') ? '~' + p.slice(home.length) : p;
}
