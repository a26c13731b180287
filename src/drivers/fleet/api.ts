/**
 * A client of fleet's v1 HTTP API (over fleetd's unix socket or its TCP listener), limited to
 * the requests the transcripts show to be safe:
 * - desiredState is typed to fleet's three valid values (any other value corrupts an existing
 *   unit for good: 05);
 * - a PUT of options always carries desiredState (without it fleet resets the unit to inactive
 *   and stops it: 04);
 * - `GET /state/<name>` is never sent (it drops the connection when the unit has no state: 05);
 *   `GET /state?unitName=` is used instead;
 * - lists follow `nextPageToken` and read `{}` as empty (06).
 */
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { GgnError } from '../../errors';
import { FleetEndpoint } from './config';
import { UnitOption } from './unitfile';

export type DesiredState = 'inactive' | 'loaded' | 'launched';

export interface FleetMachine {
  id: string;
  metadata?: Record<string, string>;
  primaryIP?: string;
}

export interface FleetUnit {
  name: string;
  options: UnitOption[];
  desiredState: string;
  currentState?: string;
  machineID?: string;
}

export interface FleetState {
  name: string;
  hash: string;
  machineID: string;
  systemdLoadState: string;
  systemdActiveState: string;
  systemdSubState: string;
}

/** An answer of fleet that is not a success: status and fleet's message. */
export class FleetApiError extends GgnError {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message, { host: 'fleet' });
  }
}

export class FleetApi {
  constructor(
    private readonly endpoint: FleetEndpoint,
    private readonly timeoutMs: number,
    /** Opens the connection to the endpoint another way (an SSH channel: `fleet.tunnel`). */
    private readonly dial?: { via: string; open: () => Promise<Duplex> },
  ) {}

  get label(): string {
    return this.dial ? `${this.endpoint.url} via ${this.dial.via}` : this.endpoint.url;
  }

  private request(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const ep = this.endpoint;
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          method,
          path,
          ...(ep.kind === 'unix' ? { socketPath: ep.socketPath } : { host: ep.host, port: ep.port }),
          ...(this.dial ? { createConnection: this.connectVia(this.dial.open) } : {}),
          headers: {
            Accept: 'application/json',
            'User-Agent': 'ggn',
            ...(payload !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}),
          },
          timeout: this.timeoutMs,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', (e) => reject(this.transportError(method, path, e)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs / 1000}s`)));
      req.on('error', (e) => reject(this.transportError(method, path, e)));
      req.end(payload);
    });
  }

  /** http's createConnection over an SSH channel (asynchronous: the callback form). */
  private connectVia(open: () => Promise<Duplex>) {
    return (_opts: http.ClientRequestArgs, cb: (err: Error | null, socket: Duplex) => void): undefined => {
      open().then(
        (s) => cb(null, s),
        (e: Error) => cb(e, undefined as unknown as Duplex),
      );
      return undefined;
    };
  }

  private transportError(method: string, path: string, e: Error & { code?: string }): FleetApiError {
    const why =
      e.code === 'ECONNREFUSED' || e.code === 'ENOENT'
        ? `unreachable (${e.code}): is fleetd running and the endpoint right?`
        : e.code === 'ECONNRESET' || /socket hang up/.test(e.message)
          ? 'fleetd closed the connection without answering'
          : e.message;
    return new FleetApiError(`fleet API ${this.label}: ${method} ${path.split('?')[0]}: ${why}`, null);
  }

  private fail(method: string, path: string, status: number, text: string): FleetApiError {
    let message = '';
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? '';
    } catch {
      message = text.slice(0, 200);
    }
    const hint =
      status === 503
        ? ' (fleet cannot reach its etcd)'
        : status === 500 && message === ''
          ? ' (fleet could not complete the request: its etcd is unreachable or slow, or the unit is corrupt)'
          : '';
    return new FleetApiError(`fleet API ${this.label}: ${method} ${path.split('?')[0]}: ${status}${message ? ` ${message}` : ''}${hint}`, status);
  }

  private async json<T>(path: string): Promise<T> {
    const r = await this.request('GET', path);
    if (r.status !== 200) throw this.fail('GET', path, r.status, r.text);
    try {
      return JSON.parse(r.text) as T;
    } catch {
      throw new FleetApiError(`fleet API ${this.label}: GET ${path}: not JSON`, r.status);
    }
  }

  /** Every page of a list (`{}` is an empty page). */
  private async list<T>(path: string, key: string): Promise<T[]> {
    const out: T[] = [];
    let token: string | undefined;
    for (let pages = 0; pages < 10_000; pages++) {
      const sep = path.includes('?') ? '&' : '?';
      const page = await this.json<Record<string, unknown>>(token ? `${path}${sep}nextPageToken=${encodeURIComponent(token)}` : path);
      out.push(...((page[key] as T[] | undefined) ?? []));
      token = page.nextPageToken as string | undefined;
      if (!token) return out;
    }
    return out;
  }

  machines(): Promise<FleetMachine[]> {
    return this.list<FleetMachine>('/fleet/v1/machines', 'machines');
  }

  units(): Promise<FleetUnit[]> {
    return this.list<FleetUnit>('/fleet/v1/units', 'units');
  }

  /** States, all or of one unit (never `GET /state/<name>`). */
  states(unitName?: string): Promise<FleetState[]> {
    return this.list<FleetState>(unitName ? `/fleet/v1/state?unitName=${encodeURIComponent(unitName)}` : '/fleet/v1/state', 'states');
  }

  /** The unit, or undefined when fleet does not know it. */
  async unit(name: string): Promise<FleetUnit | undefined> {
    const path = `/fleet/v1/units/${encodeURIComponent(name)}`;
    const r = await this.request('GET', path);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw this.fail('GET', path, r.status, r.text);
    return JSON.parse(r.text) as FleetUnit;
  }

  /** Creates or replaces a unit: always with a desiredState (fleet would otherwise reset it to inactive). */
  async putUnit(name: string, options: UnitOption[], desiredState: DesiredState): Promise<void> {
    const path = `/fleet/v1/units/${encodeURIComponent(name)}`;
    const r = await this.request('PUT', path, { name, desiredState, options });
    if (r.status !== 201 && r.status !== 204) throw this.fail('PUT', path, r.status, r.text);
  }

  /** Sets the desired state of a unit fleet has. */
  async setDesiredState(name: string, desiredState: DesiredState): Promise<void> {
    const path = `/fleet/v1/units/${encodeURIComponent(name)}`;
    const r = await this.request('PUT', path, { name, desiredState });
    if (r.status !== 204 && r.status !== 201) throw this.fail('PUT', path, r.status, r.text);
  }

  /** Deletes a unit; false when fleet did not have it. */
  async deleteUnit(name: string): Promise<boolean> {
    const path = `/fleet/v1/units/${encodeURIComponent(name)}`;
    const r = await this.request('DELETE', path);
    if (r.status === 404) return false;
    if (r.status !== 204) throw this.fail('DELETE', path, r.status, r.text);
    return true;
  }
}
