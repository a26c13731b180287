/**
 * The SSH transport's contract. Drivers build remote commands as argv arrays (pure functions);
 * the transport quotes them in one place (`shellQuote`) and runs them over one pooled
 * connection per host.
 */
import type { Duplex } from 'node:stream';
import { GgnError, ErrorContext } from '../errors';

/** Everything needed to reach one machine, already resolved (env config, ~/.ssh/config, overrides). */
export interface HostSpec {
  /** Machine name (what placement and errors use). */
  name: string;
  /** Address or DNS name to connect to. */
  address: string;
  port: number;
  user: string;
  /** Private key files to try, in order (agent keys are tried too when SSH_AUTH_SOCK is set). */
  identityFiles: string[];
  knownHostsFile: string;
  /** true: an unknown or changed host key is refused before anything is sent. */
  strictHostKeyChecking: boolean;
  connectTimeoutMs: number;
  /** Optional jump host (ProxyJump), itself fully resolved. */
  jump?: HostSpec;
}

export interface ExecOptions {
  /** Bytes written to the command's stdin, then EOF. */
  stdin?: string | Buffer;
  /** Fails with kind 'timeout' when the command has not finished by then. */
  timeoutMs?: number;
  /** What the command does, for errors (`systemctl restart x.service`); default: the command. */
  what?: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Connection {
  readonly host: HostSpec;
  /** Runs argv (quoted by the transport) and collects its output; a non-zero exit is not an error. */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** A channel through this host to a unix socket or a TCP port it can reach (`fleet.tunnel`, as `fleetctl --tunnel`). */
  openStream?(target: { socketPath: string } | { host: string; port: number }): Promise<Duplex>;
  close(): Promise<void>;
}

export interface Transport {
  /** The pooled connection to a host (one per host per run), opened on first use. */
  connect(host: HostSpec): Promise<Connection>;
  closeAll(): Promise<void>;
}

export type TransportErrorKind =
  | 'unreachable' // refused, no route, DNS failure
  | 'timeout' // connect/handshake/keepalive/exec timeout (hung or partitioned host)
  | 'auth' // authentication failed
  | 'hostkey-unknown' // host not in known_hosts (strict)
  | 'hostkey-changed' // key differs from known_hosts
  | 'disconnected' // connection lost during an operation
  | 'protocol'; // anything else from ssh

export class TransportError extends GgnError {
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
    ctx: ErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(message, ctx, options);
    this.name = 'TransportError';
  }
}
