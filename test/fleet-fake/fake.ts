/**
 * A fake of fleet 1.0's v1 HTTP API, built from the transcripts recorded on a real cluster
 * (../shared/fleet/transcripts, README "API facts observed"). It reproduces:
 *
 * - routing (`/fleet/v1` and `/v1-alpha`), 404/405/400 on unknown paths and wrong methods, the
 *   error envelope `{"error":{"code","message"}}`, 201/204 with no body, compact JSON with sorted
 *   keys, empty lists as `{}`, paging at 100 with `nextPageToken` (and its 400s);
 * - the desired-state machine (inactive/loaded/launched) and `currentState`, which follows the
 *   agent, not systemd: a unit that fails in systemd stays `launched` and only `/state` says so;
 * - PUT rules: 409 without options for a new unit or without desiredState for an existing one;
 *   new options replace the unit in place (stop, then start a few seconds later, same machine
 *   unless the constraints changed); new options without desiredState reset it to `inactive`;
 *   an invalid desiredState is a 500 on a new unit and CORRUPTS an existing one (204, then 500 on
 *   every GET/PUT/DELETE of it and left out of lists) until `repair()`;
 * - `GET /state/<name>` for a unit without state drops the connection (fleetd's panic);
 * - scheduling by `[X-Fleet]`: MachineID, MachineMetadata (same key OR, different keys AND, a
 *   value with two pairs ignored, the quoted form as AND), Conflicts, MachineOf, Global;
 *   unsatisfiable constraints are silent (the unit stays without machineID);
 * - delays of each transition (defaults: the medians measured; `timeScale` shrinks them), on an
 *   injectable clock: state is computed lazily on each request, so a test that sets the clock
 *   sees exactly what fleet would show at that time;
 * - faults: machine loss (`killMachine`: gone from /machines after ~23.5 s, its states stale for
 *   ~28 s, movable units rescheduled), a graceful fleetd stop, etcd outage (500 after 1 s each for
 *   ~18 s, then 503; 503 for ~12.5 s after the resume), units that fail after launch (an option
 *   value containing `FAKE_FAIL`, or a `FAKE_CRASHLOOP` that restarts then fails).
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';

export interface FakeMachine {
  id: string;
  metadata: Record<string, string>;
  primaryIP: string;
}

export interface UnitOption {
  section?: string;
  name: string;
  value: string;
}

export interface FakeDelays {
  /** Engine: a unit that wants to run gets a machine. */
  schedule: number;
  /** Agent: unit file written and loaded (desired loaded). */
  load: number;
  /** Agent: started (desired launched), counted from the load. */
  start: number;
  /** Agent: stopped (launched -> loaded). */
  stop: number;
  /** Agent: unloaded (-> inactive), the state entry removed. */
  unload: number;
  /** Replacement (new options): the old hash stops, then the new one is active. */
  replaceStop: number;
  replaceStart: number;
  /** DELETE of a loaded unit: its state entry goes away. */
  destroy: number;
  /** Unloads on one machine are at least this far apart. */
  unloadPass: number;
  /** Machine loss: leaves /machines; its /state entries disappear. */
  machineGone: number;
  staleState: number;
  /** etcd outage: 500s (each after `etcdTimeout`) for this long, then 503s; 503s after the resume. */
  outage500: number;
  etcdTimeout: number;
  recover503: number;
  /** FAKE_CRASHLOOP: time in auto-restart before failing. */
  crashLoop: number;
}

export const MEASURED_DELAYS: FakeDelays = {
  schedule: 200,
  load: 2600,
  start: 1700,
  stop: 1400,
  unload: 2600,
  replaceStop: 3800,
  replaceStart: 8800,
  destroy: 4800,
  unloadPass: 1500,
  machineGone: 23500,
  staleState: 28000,
  outage500: 18000,
  etcdTimeout: 1000,
  recover503: 12500,
  crashLoop: 3000,
};

export interface FakeFleetOptions {
  machines?: FakeMachine[];
  /** Milliseconds; defaults to Date.now. */
  now?: () => number;
  /** Multiplies every delay (e.g. 0.02 for tests). */
  timeScale?: number;
  delays?: Partial<FakeDelays>;
}

export const DEFAULT_MACHINES: FakeMachine[] = [
  { id: 'c21318a707da4bdda49f50931a3ae05f', metadata: { host: 'fleet1', rack: 'r1' }, primaryIP: '127.0.2.11' },
  { id: 'da694e730d9f4deba29d714907001ca8', metadata: { host: 'fleet2', rack: 'r2' }, primaryIP: '127.0.2.12' },
  { id: '4f074126f49044ebb977deba3b79ad7e', metadata: { host: 'fleet3', rack: 'r3' }, primaryIP: '127.0.2.13' },
];

export interface FakeRequest {
  method: string;
  /** Path with query string. */
  path: string;
  headers: [string, string][];
  body: string | null;
}

export interface FakeResponse {
  /** null: the connection is dropped without an answer (fleetd's panic). */
  status: number | null;
  headers: [string, string][];
  body: string | null;
  /** How long fleet took to answer (etcd timeouts). */
  delayMs: number;
}

type JobState = 'inactive' | 'loaded' | 'launched';
const JOB_STATES = ['inactive', 'loaded', 'launched'];

/** What one machine's agent has of a unit: the source of its /state entry. */
interface AgentUnit {
  hash: string;
  options: UnitOption[];
  state: 'loaded' | 'launched';
  /** When it was started (crash loops count from there). */
  since: number;
}

interface Unit {
  name: string;
  options: UnitOption[];
  hash: string;
  /** May be corrupt (not a JobState): see putUnit. */
  desired: string;
  /** The engine's choice (non-global units). */
  target?: string;
  /** New options being rolled onto a running unit: fleet keeps saying `launched`. */
  replacing?: boolean;
}

interface MachineRec {
  m: FakeMachine;
  /** Hard-killed (or fleetd stopped) at. */
  deadAt?: number;
  graceful?: boolean;
  agent: Map<string, AgentUnit>;
  /** The earliest time of this machine's next unload. */
  nextUnload: number;
}

interface FakeEvent {
  at: number;
  seq: number;
  run: (t: number) => void;
}

export class FakeFleet {
  readonly delays: FakeDelays;
  private readonly now: () => number;
  private readonly machines = new Map<string, MachineRec>();
  private readonly units = new Map<string, Unit>();
  private events: FakeEvent[] = [];
  private seq = 0;
  private outage?: { from: number; resumedAt?: number };
  /** Every request seen, for tests that check what a client sent. */
  readonly requests: FakeRequest[] = [];
  private server?: http.Server;

  constructor(opts: FakeFleetOptions = {}) {
    this.now = opts.now ?? (() => Date.now());
    const scale = opts.timeScale ?? 1;
    const d = { ...MEASURED_DELAYS, ...opts.delays };
    this.delays = Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v * scale])) as unknown as FakeDelays;
    for (const m of opts.machines ?? DEFAULT_MACHINES)
      this.machines.set(m.id, { m: { ...m, metadata: { ...m.metadata } }, agent: new Map(), nextUnload: -Infinity });
  }

  // ---- faults and controls

  /** Hard kill: no more heartbeats; it leaves /machines after `machineGone`, its /state entries stay (stale) until `staleState`. */
  killMachine(id: string): void {
    const t = this.now();
    this.tick(t);
    const r = this.machine(id);
    r.deadAt = t;
    r.graceful = false;
    this.at(t + this.delays.machineGone, (tt) => this.engine(tt));
    this.at(t + this.delays.staleState, () => r.agent.clear());
  }

  /** `systemctl stop fleet`: its units are stopped and removed, it leaves /machines at once. */
  stopFleetd(id: string): void {
    const t = this.now();
    this.tick(t);
    const r = this.machine(id);
    r.deadAt = t - this.delays.machineGone;
    r.graceful = true;
    r.agent.clear();
    this.engine(t);
  }

  /** The machine (or its fleetd) is back: its units run there again. */
  bootMachine(id: string): void {
    const t = this.now();
    this.tick(t);
    const r = this.machine(id);
    r.deadAt = undefined;
    r.graceful = undefined;
    r.agent.clear();
    this.engine(t);
  }

  etcdDown(): void {
    this.outage = { from: this.now() };
  }

  /** fleetd's monitor gives up on etcd now (instead of after `outage500`): 503s from here on. */
  etcdMonitorTimedOut(): void {
    if (this.outage) this.outage.from = Math.min(this.outage.from, this.now() - this.delays.outage500);
  }

  etcdUp(): void {
    if (this.outage) this.outage.resumedAt = this.now();
  }

  /** Writes a valid desiredState into a corrupt unit, as one would in etcd. */
  repair(name: string, desired: JobState): void {
    const u = this.units.get(name);
    if (!u) return;
    u.desired = desired;
    this.engine(this.now());
  }

  private machine(id: string): MachineRec {
    const r = this.machines.get(id);
    if (!r) throw new Error(`fake fleet: no machine ${id}`);
    return r;
  }

  // ---- the simulation: timed events, run lazily up to the time of each request

  private at(when: number, run: (t: number) => void): void {
    this.events.push({ at: when, seq: this.seq++, run });
  }

  private tick(t: number): void {
    for (;;) {
      let first = -1;
      for (let i = 0; i < this.events.length; i++) {
        const e = this.events[i];
        if (e.at <= t && (first < 0 || e.at < this.events[first].at || (e.at === this.events[first].at && e.seq < this.events[first].seq))) first = i;
      }
      if (first < 0) return;
      const [e] = this.events.splice(first, 1);
      e.run(e.at);
    }
  }

  private alive(r: MachineRec, t: number): boolean {
    return r.deadAt === undefined || t < r.deadAt;
  }

  /** In /machines: alive, or dead for less than machineGone. */
  private listed(r: MachineRec, t: number): boolean {
    return r.deadAt === undefined || t < r.deadAt + this.delays.machineGone;
  }

  private listedMachines(t: number): FakeMachine[] {
    return [...this.machines.values()]
      .filter((r) => this.listed(r, t))
      .map((r) => r.m)
      .sort((a, b) => cmp(a.id, b.id));
  }

  private wants(u: Unit): boolean {
    return u.desired === 'loaded' || u.desired === 'launched';
  }

  /** Machines the unit may run on: listed, matching its constraints, no conflict with what is placed there. */
  private candidates(u: Unit, t: number): FakeMachine[] {
    const x = xfleet(u.options);
    let ms = this.listedMachines(t);
    if (x.machineId !== undefined) ms = ms.filter((m) => m.id === x.machineId);
    for (const [key, values] of x.metadata) ms = ms.filter((m) => m.metadata[key] !== undefined && values.includes(m.metadata[key]));
    for (const peer of x.machineOf) {
      const where = this.units.get(peer)?.target;
      ms = ms.filter((m) => m.id === where);
    }
    return ms.filter((m) => {
      for (const other of this.units.values()) {
        if (other === u || other.target !== m.id || !this.wants(other)) continue;
        const ox = xfleet(other.options);
        if (x.conflicts.some((g) => glob(g).test(other.name)) || ox.conflicts.some((g) => glob(g).test(u.name))) return false;
      }
      return true;
    });
  }

  /** The engine: (re)places units, then asks each machine's agent to converge after its delay. */
  private engine(t: number): void {
    for (const u of [...this.units.values()].sort((a, b) => cmp(a.name, b.name))) {
      if (xfleet(u.options).global) continue;
      if (!this.wants(u)) {
        u.target = undefined;
        continue;
      }
      const cands = this.candidates(u, t);
      if (u.target && cands.some((m) => m.id === u.target)) continue;
      const alive = cands.filter((m) => this.alive(this.machine(m.id), t));
      const load = (id: string) => [...this.units.values()].filter((o) => o.target === id).length;
      u.target = [...alive].sort((a, b) => load(a.id) - load(b.id) || cmp(a.id, b.id))[0]?.id;
    }
    for (const r of this.machines.values()) this.converge(r, t);
  }

  /** What the engine wants on a machine: unit -> desired state and options. */
  private wantedOn(r: MachineRec, t: number): Map<string, Unit> {
    const out = new Map<string, Unit>();
    for (const u of this.units.values()) {
      if (!this.wants(u)) continue;
      const global = xfleet(u.options).global;
      if (global ? this.candidates(u, t).some((m) => m.id === r.m.id) : u.target === r.m.id) out.set(u.name, u);
    }
    return out;
  }

  /** Schedules the agent's steps that bring the machine to what the engine wants. */
  private converge(r: MachineRec, t: number): void {
    if (!this.alive(r, t)) return;
    const d = this.delays;
    const wanted = this.wantedOn(r, t);
    for (const [name, a] of r.agent) {
      const u = wanted.get(name);
      if (!u) {
        // Stopped and unloaded (deleted, inactive, moved away).
        // Deleted or moved away while running: stopped and unloaded; inactive: unloaded. Unloads
        // on a machine take turns, one per agent pass (systemd 252's reset-failed errors).
        const u = this.units.get(name);
        const delay = !u ? d.destroy : u.desired === 'inactive' ? d.unload : d.replaceStop;
        const when = Math.max(t + delay, r.nextUnload);
        r.nextUnload = when + d.unloadPass;
        this.at(when, (tt) => {
          if (r.agent.get(name) === a && !this.wantedOn(r, tt).has(name)) r.agent.delete(name);
        });
      }
    }
    for (const [name, u] of wanted) {
      const a = r.agent.get(name);
      const hash = u.hash;
      const desired = u.desired as JobState;
      if (a && a.hash !== hash) {
        // Replaced: stopped and removed, then loaded and started again later.
        this.at(t + d.replaceStop, () => {
          if (r.agent.get(name) === a) r.agent.delete(name);
        });
        this.at(t + d.replaceStart, (tt) => this.apply(r, name, hash, tt));
        continue;
      }
      if (!a) this.at(t + d.load, (tt) => this.apply(r, name, hash, tt));
      else if (a.state === 'loaded' && desired === 'launched') this.at(t + d.start, (tt) => this.apply(r, name, hash, tt));
      else if (a.state === 'launched' && desired === 'loaded') this.at(t + d.stop, (tt) => this.apply(r, name, hash, tt));
    }
  }

  /** An agent step: the unit (if still wanted with this hash) gets loaded, then started when launched is wanted. */
  private apply(r: MachineRec, name: string, hash: string, t: number): void {
    if (!this.alive(r, t)) return;
    const u = this.wantedOn(r, t).get(name);
    if (!u || u.hash !== hash) return;
    const a = r.agent.get(name);
    if (u.desired === 'loaded') {
      r.agent.set(name, { hash, options: u.options, state: 'loaded', since: t });
      u.replacing = false;
      return;
    }
    // A unit the agent does not have yet is loaded and started in the same pass.
    if (u.desired === 'launched' && (!a || (a.hash === hash && a.state === 'loaded'))) {
      r.agent.set(name, { hash, options: u.options, state: 'launched', since: t });
      u.replacing = false;
    }
  }

  private systemd(a: AgentUnit, t: number): { active: string; sub: string } {
    if (a.state === 'loaded') return { active: 'inactive', sub: 'dead' };
    const text = a.options.map((o) => o.value).join('\n');
    const exec = a.options.filter((o) => o.name === 'ExecStart').map((o) => o.value);
    // What fails in systemd: an ExecStart that exits non-zero or does not exist (13), or a marker.
    const fails = text.includes('FAKE_FAIL') || text.includes('FAKE_CRASHLOOP') || exec.some((e) => /\bexit [1-9]|^\/nonexistent/.test(e));
    const restarts = text.includes('FAKE_CRASHLOOP') || a.options.some((o) => o.name === 'Restart' && o.value === 'always');
    if (fails && restarts && t - a.since < this.delays.crashLoop) return { active: 'activating', sub: 'auto-restart' };
    if (fails) return { active: 'failed', sub: 'failed' };
    if (a.options.some((o) => o.section === 'Service' && o.name === 'Type' && o.value === 'oneshot')) return { active: 'inactive', sub: 'dead' };
    return { active: 'active', sub: 'running' };
  }

  /** /state at time t: every agent's units (a dead machine's stay, stale, until dropped), by name then machine. */
  private states(t: number): Record<string, string>[] {
    const out: Record<string, string>[] = [];
    for (const r of this.machines.values()) {
      // A dead machine's entries are frozen at its death.
      const when = r.deadAt !== undefined && t >= r.deadAt ? r.deadAt : t;
      for (const [name, a] of r.agent) {
        const s = this.systemd(a, when);
        out.push({ hash: a.hash, machineID: r.m.id, name, systemdActiveState: s.active, systemdLoadState: 'loaded', systemdSubState: s.sub });
      }
    }
    return out.sort((a, b) => cmp(a.name, b.name) || cmp(a.machineID, b.machineID));
  }

  private unitJson(u: Unit, t: number, alone = false): Record<string, unknown> {
    const global = xfleet(u.options).global;
    let current = 'inactive';
    let machineID: string | undefined;
    if (!global) {
      for (const r of this.machines.values()) {
        const a = r.agent.get(u.name);
        if (!a || !this.alive(r, t)) continue;
        current = a.state;
        machineID = r.m.id;
      }
      if (u.replacing && this.wants(u)) current = 'launched';
      // The engine's choice shows as soon as it is made (before the agent loads the unit).
      machineID = this.wants(u) ? u.target : undefined;
    }
    // A Global unit: `inactive` in lists, no currentState at all when read alone (03).
    const out: Record<string, unknown> = global && alone ? {} : { currentState: current };
    out.desiredState = u.desired;
    if (machineID) out.machineID = machineID;
    out.name = u.name;
    out.options = u.options.map((o) => (o.section === undefined ? { name: o.name, value: o.value } : { name: o.name, section: o.section, value: o.value }));
    return out;
  }

  // ---- HTTP

  handle(req: FakeRequest): FakeResponse {
    this.requests.push(req);
    const t = this.now();
    this.tick(t);
    const url = new URL(req.path, 'http://fleet');
    if (url.pathname === '/metrics' && req.method === 'GET')
      return { status: 200, headers: [['Content-Type', 'text/plain; version=0.0.4']], body: '# fake fleet\n', delayMs: 0 };
    const m = /^\/(?:fleet\/v1|v1-alpha)(\/.*)?$/.exec(url.pathname);
    if (url.pathname === '/' || (m && (m[1] === undefined || m[1] === '/'))) return err(405, '');
    if (!m) return err(404, '');
    const rest = m[1];
    const outage = this.outageAnswer(t);
    const parts = rest.split('/').slice(1);
    const resource = parts[0];
    const item = parts.length > 1 ? decodeURIComponent(parts.slice(1).join('/')) : undefined;
    if (parts.length > 2 || (parts.length === 2 && item === '')) return err(404, '');
    switch (resource) {
      case 'discovery':
        if (item !== undefined) return err(404, '');
        if (req.method !== 'GET') return err(400, 'only HTTP GET supported against this resource');
        return ok(200, JSON.stringify({ kind: 'discovery#restDescription', discoveryVersion: 'v1', id: 'fleet:v1', name: 'schema', version: 'v1' }, null, 2));
      case 'machines':
        if (item !== undefined) return err(404, '');
        if (req.method === 'GET') return outage ?? this.page(url, 'machines', this.listedMachines(t));
        if (req.method === 'PATCH') return outage ?? this.patchMachines(req);
        return err(405, 'only GET and PATCH supported against this resource');
      case 'units':
        if (item === undefined) {
          if (req.method !== 'GET') return err(405, 'only GET supported against this resource');
          if (outage) return outage;
          const list = [...this.units.values()]
            .filter((u) => JOB_STATES.includes(u.desired))
            .sort((a, b) => cmp(a.name, b.name))
            .map((u) => this.unitJson(u, t));
          return this.page(url, 'units', list);
        }
        if (req.method === 'GET') return outage ?? this.getUnit(item, t);
        if (req.method === 'PUT') return this.putUnit(item, req, t, outage);
        if (req.method === 'DELETE') return outage ?? this.deleteUnit(item, t);
        return err(405, 'only GET, PUT and DELETE supported against this resource');
      case 'state': {
        if (req.method !== 'GET') return err(405, 'only GET supported against this resource');
        if (outage) return outage;
        const all = this.states(t);
        if (item !== undefined) {
          const s = all.find((x) => x.name === item);
          if (!s) return { status: null, headers: [], body: null, delayMs: 0 };
          return ok(200, JSON.stringify(s));
        }
        const mf = url.searchParams.get('machineID');
        const uf = url.searchParams.get('unitName');
        return this.page(
          url,
          'states',
          all.filter((s) => (!mf || s.machineID === mf) && (!uf || s.name === uf)),
        );
      }
      default:
        return err(404, '');
    }
  }

  private outageAnswer(t: number): FakeResponse | undefined {
    const o = this.outage;
    if (!o) return undefined;
    if (o.resumedAt !== undefined) {
      if (t >= o.resumedAt + this.delays.recover503) {
        this.outage = undefined;
        return undefined;
      }
      // 500s that were still timing out when etcd came back answer normally.
      if (o.resumedAt - o.from < this.delays.outage500) {
        this.outage = undefined;
        return undefined;
      }
      return err(503, 'fleet server unable to communicate with etcd');
    }
    if (t - o.from < this.delays.outage500) return { ...err(500, ''), delayMs: this.delays.etcdTimeout };
    return err(503, 'fleet server unable to communicate with etcd');
  }

  private page(url: URL, key: string, items: unknown[]): FakeResponse {
    const tokens = url.searchParams.getAll('nextPageToken');
    let page = 1;
    if (tokens.length > 1) return err(400, 'too many values for page token');
    if (tokens.length === 1) {
      const tok = tokens[0];
      const bad = /[^A-Za-z0-9_=-]/.exec(tok);
      if (bad || tok.length % 4 !== 0) return err(400, `illegal base64 data at input byte ${bad ? bad.index : tok.length - (tok.length % 4)}`);
      const buf = Buffer.from(tok.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
      if (buf.length !== 4) return err(400, 'illegal base64 data at input byte 0');
      if (buf.readUInt16LE(0) !== 100) return err(400, 'token limit must be 100');
      page = buf.readUInt16LE(2);
      if (page < 1) return err(400, 'token page must be greater than zero');
    }
    const slice = items.slice((page - 1) * 100, page * 100);
    const out: Record<string, unknown> = {};
    if (items.length > page * 100) {
      const b = Buffer.alloc(4);
      b.writeUInt16LE(100, 0);
      b.writeUInt16LE(page + 1, 2);
      out.nextPageToken = b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    }
    if (slice.length) out[key] = slice;
    return ok(200, JSON.stringify(out));
  }

  private getUnit(name: string, t: number): FakeResponse {
    const u = this.units.get(name);
    if (!u) return err(404, 'unit does not exist');
    if (!JOB_STATES.includes(u.desired)) return err(500, '');
    return ok(200, JSON.stringify(this.unitJson(u, t, true)));
  }

  /** The registry changed: the engine acts after its reconcile delay. */
  private changed(t: number): void {
    this.at(t + this.delays.schedule, (tt) => this.engine(tt));
  }

  private deleteUnit(name: string, t: number): FakeResponse {
    const u = this.units.get(name);
    if (!u) return err(404, 'unit does not exist');
    if (!JOB_STATES.includes(u.desired)) return err(500, '');
    this.units.delete(name);
    this.changed(t);
    return noContent();
  }

  private putUnit(name: string, req: FakeRequest, t: number, outage: FakeResponse | undefined): FakeResponse {
    const cts = req.headers.filter(([k]) => k.toLowerCase() === 'content-type').map(([, v]) => v);
    if (cts.length !== 1) return err(415, `expected 1 Content-Type, got ${cts.length}`);
    if (cts[0].split(';')[0].trim() !== 'application/json') return err(415, 'only acceptable Content-Type is application/json');
    const decoded = decodeUnitBody(req.body ?? '');
    if ('error' in decoded) return err(400, decoded.error);
    const body = decoded.value;
    const nameErr = validateName(name);
    if (nameErr) return err(400, nameErr);
    if (body.name !== undefined && body.name !== '' && body.name !== name)
      return err(400, `name in URL ${JSON.stringify(name)} differs from unit name in request body ${JSON.stringify(body.name)}`);
    if (outage) return outage;
    const ds = body.desiredState ?? '';
    const opts = body.options ?? [];
    const existing = this.units.get(name);
    if (existing && !JOB_STATES.includes(existing.desired)) return err(500, '');
    if (opts.length) {
      const v = validateOptions(opts);
      if (v) return err(400, v);
    }
    if (/@\.[^.]+$/.test(name) && (ds === 'loaded' || ds === 'launched')) return err(400, `cannot activate template ${JSON.stringify(name)}`);
    if (!existing) {
      if (opts.length === 0) return err(409, 'unit does not exist and options field empty');
      if (ds !== '' && !JOB_STATES.includes(ds)) return err(500, '');
      this.units.set(name, { name, options: opts, hash: unitHash(opts), desired: ds || 'inactive' });
      this.changed(t);
      return created();
    }
    if (opts.length && unitHash(opts) !== existing.hash) {
      // Replaced in place: stopped, then started again seconds later (same machine unless the
      // constraints changed). Without desiredState the target becomes inactive.
      if (ds !== '' && !JOB_STATES.includes(ds)) return err(500, '');
      const running = [...this.machines.values()].some((r) => r.agent.get(name)?.state === 'launched');
      existing.options = opts;
      existing.hash = unitHash(opts);
      existing.desired = ds || 'inactive';
      existing.replacing = running && existing.desired === 'launched';
      this.changed(t);
      return created();
    }
    if (ds === '') return err(409, 'must provide DesiredState to update existing unit');
    // fleet writes an invalid value to etcd as it is: the unit is corrupt from then on.
    existing.desired = ds;
    if (JOB_STATES.includes(ds)) this.changed(t);
    return noContent();
  }

  private patchMachines(req: FakeRequest): FakeResponse {
    let ops: unknown;
    try {
      ops = JSON.parse(req.body ?? '');
    } catch {
      return err(400, 'unexpected EOF');
    }
    if (!Array.isArray(ops)) return err(400, 'json: cannot unmarshal object into Go value of type []api.machineMetadataOp');
    for (const op of ops as Record<string, unknown>[]) {
      if (op.value !== undefined && (typeof op.value !== 'object' || op.value === null))
        return err(400, 'json: cannot unmarshal string into Go struct field machineMetadataOp.Value of type struct { Value string "json:\\"value\\"" }');
      if (!['add', 'remove', 'replace'].includes(String(op.op))) return err(400, 'invalid op: expect add, remove, or replace');
      const p = /^\/([^/]+)\/metadata\/([^/]+)$/.exec(String(op.path));
      if (!p) return err(400, 'machine metadata path invalid');
      if (op.op !== 'remove' && op.value === undefined) return err(400, 'invalid value: add and replace require a value');
    }
    for (const op of ops as { op: string; path: string; value?: { value: string } }[]) {
      const [, id, key] = /^\/([^/]+)\/metadata\/([^/]+)$/.exec(op.path)!;
      const r = this.machines.get(id);
      if (!r) continue;
      if (op.op === 'remove') delete r.m.metadata[key];
      else r.m.metadata[key] = op.value!.value;
    }
    this.changed(this.now());
    return noContent();
  }

  // ---- a real HTTP server (for the CLI and the driver)

  /** Listens on 127.0.0.1 (a free port) or on a unix socket; returns the endpoint URL. */
  async listen(socketPath?: string): Promise<string> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const headers: [string, string][] = [];
        for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
        const r = this.handle({ method: req.method ?? 'GET', path: req.url ?? '/', headers, body: body === '' ? null : body });
        const send = () => {
          if (r.status === null) {
            req.socket.destroy();
            return;
          }
          const h: Record<string, string> = { Server: 'fleetd/v1.0.0-snapshot' };
          for (const [k, v] of r.headers) h[k] = v;
          h['Content-Length'] = String(Buffer.byteLength(r.body ?? ''));
          res.writeHead(r.status, h);
          res.end(r.body ?? '');
        };
        if (r.delayMs > 0) setTimeout(send, r.delayMs);
        else send();
      });
    });
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (socketPath) server.listen(socketPath, resolve);
      else server.listen(0, '127.0.0.1', resolve);
    });
    if (socketPath) return `unix://${socketPath}`;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

// ---- pure helpers

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function ok(status: number, body: string): FakeResponse {
  return { status, headers: [['Content-Type', 'application/json']], body, delayMs: 0 };
}

function err(code: number, message: string): FakeResponse {
  return ok(code, JSON.stringify({ error: { code, message } }));
}

function created(): FakeResponse {
  return { status: 201, headers: [], body: null, delayMs: 0 };
}

function noContent(): FakeResponse {
  return { status: 204, headers: [], body: null, delayMs: 0 };
}

/** go-systemd's unit.Serialize: sections in order of first appearance, options in order. */
export function serializeOptions(opts: UnitOption[]): string {
  const sections: string[] = [];
  const idx = new Map<string, UnitOption[]>();
  for (const o of opts) {
    const s = o.section ?? '';
    if (!idx.has(s)) {
      sections.push(s);
      idx.set(s, []);
    }
    idx.get(s)!.push(o);
  }
  return sections
    .map(
      (s) =>
        `[${s}]\n${idx
          .get(s)!
          .map((o) => `${o.name}=${o.value}\n`)
          .join('')}`,
    )
    .join('\n');
}

export function unitHash(opts: UnitOption[]): string {
  return createHash('sha1').update(serializeOptions(opts)).digest('hex');
}

interface XF {
  machineId?: string;
  metadata: Map<string, string[]>;
  conflicts: string[];
  machineOf: string[];
  global: boolean;
}

/** fleet's reading of [X-Fleet]: each value split into words (double quotes group). */
function xfleet(opts: UnitOption[]): XF {
  const x: XF = { metadata: new Map(), conflicts: [], machineOf: [], global: false };
  const words = (v: string) => [...v.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
  for (const o of opts) {
    if (o.section !== 'X-Fleet') continue;
    if (o.name === 'MachineID') x.machineId = o.value;
    else if (o.name === 'MachineMetadata') {
      const ws = words(o.value);
      // Two pairs in one unquoted value were ignored silently by fleet; the quoted form is AND.
      if (ws.length > 1 && !o.value.includes('"')) continue;
      for (const w of ws) {
        const eq = w.indexOf('=');
        if (eq <= 0) continue;
        const k = w.slice(0, eq);
        x.metadata.set(k, [...(x.metadata.get(k) ?? []), w.slice(eq + 1)]);
      }
    } else if (o.name === 'Conflicts') x.conflicts.push(...words(o.value));
    else if (o.name === 'MachineOf') x.machineOf.push(...words(o.value));
    else if (o.name === 'Global') x.global = o.value === 'true';
  }
  return x;
}

function glob(g: string): RegExp {
  return new RegExp(
    `^${g
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
}

function validateName(name: string): string | undefined {
  if (name.length > 256) return 'unit name exceeds maximum length (256)';
  if (name.startsWith('@')) return 'unit name cannot start in "@"';
  const bad = /[^A-Za-z0-9:_.@\\-]/.exec(name);
  if (bad) return `invalid character '${bad[0]}' in unit name`;
  if (!name.includes('.')) return 'unit name must contain "."';
  if (name.endsWith('.')) return 'unit name cannot end in "."';
  const type = name.slice(name.lastIndexOf('.') + 1);
  const types = ['service', 'socket', 'device', 'mount', 'automount', 'swap', 'target', 'path', 'timer', 'snapshot', 'slice', 'scope'];
  if (!types.includes(type)) return `invalid unit type: ${JSON.stringify(type)}`;
  if (/@\.[^.]+$/.test(name) || /@[^.]*\.[^.]+$/.test(name)) {
    if (!['service', 'socket', 'target', 'path', 'timer'].includes(type)) return `invalid unit type for template: ${JSON.stringify(type)}`;
  }
  return undefined;
}

function validateOptions(opts: UnitOption[]): string | undefined {
  for (const o of opts) if (Buffer.byteLength(`${o.name}=${o.value}`) > 2048) return 'line too long (max 2048 bytes)';
  const x = xfleet(opts);
  const has = (n: string) => opts.some((o) => o.section === 'X-Fleet' && o.name === n);
  if (x.machineId !== undefined && has('Conflicts')) return 'MachineID cannot be used with Conflicts';
  if (x.machineId !== undefined && x.global) return 'MachineID cannot be used with Global';
  if (x.global && x.machineOf.length) return 'Global cannot be used with Peers';
  if (has('Conflicts') && has('Replaces')) return 'Conflicts cannot be used with Replaces';
  for (const peer of x.machineOf) {
    const c = x.conflicts.find((g) => glob(g).test(peer));
    if (c) return `unresolvable requirements: peer ${JSON.stringify(peer)} matches conflict ${JSON.stringify(c)}`;
  }
  return undefined;
}

/** Go's encoding/json into schema.Unit, with its error words for the cases fleet was seen to hit. */
function decodeUnitBody(text: string): { value: { name?: string; desiredState?: string; options?: UnitOption[] } } | { error: string } {
  if (text.trim() === '') return { error: 'unable to decode body: EOF' };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { error: 'unable to decode body: unexpected EOF' };
  }
  const kind = (x: unknown) => (Array.isArray(x) ? 'array' : x === null ? 'null' : typeof x === 'object' ? 'object' : typeof x);
  if (kind(v) !== 'object') return { error: `unable to decode body: json: cannot unmarshal ${kind(v)} into Go value of type schema.Unit` };
  const o = v as Record<string, unknown>;
  for (const f of ['name', 'desiredState', 'currentState', 'machineID']) {
    if (o[f] !== undefined && o[f] !== null && typeof o[f] !== 'string')
      return { error: `unable to decode body: json: cannot unmarshal ${kind(o[f])} into Go struct field Unit.${f} of type string` };
  }
  const options = o.options === null || o.options === undefined ? [] : o.options;
  if (!Array.isArray(options))
    return { error: `unable to decode body: json: cannot unmarshal ${kind(options)} into Go struct field Unit.options of type []*schema.UnitOption` };
  return {
    value: {
      name: o.name as string | undefined,
      desiredState: o.desiredState as string | undefined,
      options: (options as Record<string, unknown>[]).map((x) =>
        x.section === undefined
          ? { name: String(x.name ?? ''), value: String(x.value ?? '') }
          : { section: String(x.section), name: String(x.name ?? ''), value: String(x.value ?? '') },
      ),
    },
  };
}
