/**
 * The fleet driver: the port's intents over fleet's v1 HTTP API. fleet decides where units run
 * (`[X-Fleet]` is sent as it is); this driver reports where fleet put each unit and waits on
 * `/state`, the only place that tells whether systemd runs it (`currentState: launched` says
 * nothing about health: 13).
 *
 * - The plan addresses fleet's cluster as one place, `fleet`, for units fleet has not placed
 *   (yet); read() reports every other unit on the machine(s) `/state` shows it on, a machine
 *   being named by the first 8 hex digits of its ID (as fleetctl prints it).
 * - Units are compared, shown and stored as fleet does: options re-serialized (`canonical`).
 * - install() PUTs the options with the unit's current desiredState (`loaded` for a new unit),
 *   so fleet never resets a running unit to inactive; fleet replaces a running unit in place
 *   (stop, then start some seconds later): waitUp() waits for the new hash to be active.
 * - A restart of an unchanged unit is fleetctl's: `loaded`, then `launched` once stopped.
 * - Revisions and the audit log live in etcd (./store.ts).
 */
import { isTimer } from '../../render/names';
import { formatElapsed } from '../../durations';
import { Clock, realClock } from '../../clock';
import { GgnError, toGgnError } from '../../errors';
import { Driver, missingCapability, HostSnapshot, LiveUnit, Machine, StartTicket, UnitState, WaitUpOptions } from '../types';
import { DesiredState, FleetApi, FleetApiError, FleetMachine, FleetState, FleetUnit } from './api';
import { FleetConfig } from './config';
import { FleetStateStore } from './store';
import { CommandTarget } from '../systemd/commands';
import { SshSystemdDriver } from '../systemd/driver';
import type { Duplex } from 'node:stream';
import { ExecResult, HostSpec, Transport } from '../../transport/types';
import { canonicalUnit, fleetHash, isGlobal, parseUnitFile, serializeOptions, serviceType } from './unitfile';

/** The name under which the plan addresses fleet's cluster for units it has not placed. */
export const FLEET_PENDING = 'fleet';

export interface FleetDriverOptions {
  config: FleetConfig;
  envName: string;
  /** For tests: another API client or store. */
  api?: FleetApi;
  store?: FleetStateStore;
  clock?: Clock;
  /** How a machine is reached over SSH (status, journal, ssh, exec health checks), as fleetctl did. */
  ssh?: { target: CommandTarget; transport: Transport; host: (name: string, address: string) => HostSpec };
}

/** How long a restart waits for the unit to stop before launching it again. */
const STOP_WAIT_MS = 30_000;

export class FleetDriver implements Driver {
  readonly name = 'fleet';
  readonly scheduler = { pending: FLEET_PENDING };
  readonly api: FleetApi;
  private readonly store: FleetStateStore;
  /** Machine names (ID prefixes) -> fleet machines, from the last read. */
  private machineByName = new Map<string, FleetMachine>();
  /** Units this run replaced with new options: hash sent. */
  private readonly sent = new Map<string, string>();
  private readonly clock: Clock;

  constructor(private readonly opts: FleetDriverOptions) {
    this.api = opts.api ?? new FleetApi(opts.config.endpoint, opts.config.requestTimeoutMs, this.tunnel());
    this.store = opts.store ?? new FleetStateStore(opts.config.etcd, opts.envName);
    this.clock = opts.clock ?? realClock;
  }

  /** `fleet.tunnel`: each API connection is a channel through one SSH connection to that machine. */
  private tunnel(): { via: string; open: () => Promise<Duplex> } | undefined {
    const t = this.opts.config.tunnel;
    if (!t) return undefined;
    if (!this.opts.ssh) throw missingCapability(this, 'open an SSH tunnel');
    const { transport, host } = this.opts.ssh;
    const spec = { ...host(t.host, t.host), ...(t.user ? { user: t.user } : {}), ...(t.port ? { port: t.port } : {}) };
    const ep = this.opts.config.endpoint;
    const target = ep.kind === 'unix' ? { socketPath: ep.socketPath } : { host: ep.host, port: ep.port };
    return {
      via: `ssh ${spec.user}@${spec.address}:${spec.port}`,
      open: async () => {
        const c = await transport.connect(spec);
        if (!c.openStream) throw missingCapability(this, 'open an SSH tunnel');
        return c.openStream(target);
      },
    };
  }

  machines(): Machine[] {
    return [{ name: FLEET_PENDING, metadata: {} }];
  }

  canonical(_unit: string, content: string): string {
    return canonicalUnit(content);
  }

  private nameOf(id: string): string {
    return id.slice(0, 8);
  }

  private async liveMachines(): Promise<FleetMachine[]> {
    const ms = await this.api.machines();
    this.machineByName = new Map(ms.map((m) => [this.nameOf(m.id), m]));
    return ms;
  }

  /** fleet's machines with their metadata and address. */
  async inventory(): Promise<{ name: string; id: string; address: string; metadata: Record<string, string> }[]> {
    return (await this.liveMachines()).map((m) => ({ name: this.nameOf(m.id), id: m.id, address: m.primaryIP ?? '', metadata: m.metadata ?? {} }));
  }

  /** The whole cluster in three reads (machines, units, states), whatever `machines` asks for. */
  async read(_machines: string[], prefixes: string[]): Promise<HostSnapshot[]> {
    let ms: FleetMachine[];
    let units: FleetUnit[];
    let states: FleetState[];
    try {
      [ms, units, states] = await Promise.all([this.liveMachines(), this.api.units(), this.api.states()]);
    } catch (e) {
      return [{ machine: FLEET_PENDING, units: [], error: toGgnError(e, { host: FLEET_PENDING }) }];
    }
    const listed = new Set(ms.map((m) => m.id));
    const byMachine = new Map<string, LiveUnit[]>([[FLEET_PENDING, []]]);
    for (const m of ms) byMachine.set(this.nameOf(m.id), []);
    for (const u of units) {
      if (!prefixes.some((p) => u.name.startsWith(p))) continue;
      const content = serializeOptions(u.options);
      const type = serviceType(u.name, u.options);
      // A dead machine's states stay (stale) for a while after it left /machines: ignored.
      const here = states.filter((s) => s.name === u.name && listed.has(s.machineID));
      if (here.length === 0) {
        byMachine.get(FLEET_PENDING)!.push({ name: u.name, machine: FLEET_PENDING, content });
        continue;
      }
      for (const s of here) {
        const machine = this.nameOf(s.machineID);
        byMachine.get(machine)!.push({ name: u.name, machine, content, state: toState(s, type) });
      }
    }
    return [...byMachine].map(([machine, list]) => ({ machine, units: list.sort((a, b) => (a.name < b.name ? -1 : 1)) }));
  }

  async unitStates(machine: string, units: string[]): Promise<Map<string, UnitState>> {
    const out = new Map<string, UnitState>();
    const listed = new Set((await this.liveMachines()).map((m) => m.id));
    for (const u of units) {
      const s = (await this.api.states(u)).find((x) => listed.has(x.machineID) && (machine === FLEET_PENDING || this.nameOf(x.machineID) === machine));
      if (s) out.set(u, toState(s, u.endsWith('.service') ? 'simple' : ''));
    }
    return out;
  }

  /** The unit as fleet has it; a unit fleet cannot read (500) is named as possibly corrupt. */
  private async current(unit: string): Promise<FleetUnit | undefined> {
    try {
      return await this.api.unit(unit);
    } catch (e) {
      if (e instanceof FleetApiError && e.status === 500)
        throw new GgnError(`${e.message}; if it persists the unit may hold an invalid desiredState in etcd (job/${unit}/target-state)`, { unit });
      throw e;
    }
  }

  async install(_machine: string, unit: string, content: string, opts: { keepRevision: boolean; dropRevision?: string }): Promise<{ revision?: string }> {
    const options = parseUnitFile(content);
    if (options.length === 0) throw new GgnError(`${unit} has no options: fleet refuses an empty unit`, { unit });
    const existing = await this.current(unit);
    const desired: DesiredState = existing && isDesiredState(existing.desiredState) ? existing.desiredState : 'loaded';
    let revision: string | undefined;
    if (existing && serializeOptions(existing.options) === serializeOptions(options)) {
      if (opts.dropRevision) await this.store.drop(unit, opts.dropRevision);
      return {};
    }
    if (existing && opts.keepRevision) revision = await this.store.keep(unit, serializeOptions(existing.options));
    await this.api.putUnit(unit, options, desired);
    this.sent.set(unit, fleetHash(options));
    if (opts.dropRevision) await this.store.drop(unit, opts.dropRevision);
    return { revision };
  }

  async uninstall(_machine: string, units: string[], opts: { keepRevision?: boolean } = {}): Promise<void> {
    for (const u of units) {
      if (opts.keepRevision) {
        const existing = await this.current(u);
        if (existing) await this.store.keep(u, serializeOptions(existing.options));
      }
      await this.api.deleteUnit(u);
    }
  }

  async reload(_machine: string): Promise<void> {}

  async start(_machine: string, units: string[]): Promise<void> {
    for (const u of units) {
      if (!(await this.current(u))) throw new GgnError(`${u} is not in fleet's registry: load it first`, { unit: u });
      await this.api.setDesiredState(u, 'launched');
    }
  }

  /** fleetctl's stop: desiredState loaded (the unit stays on its machine, stopped). */
  async stop(_machine: string, units: string[], opts: { quiet?: boolean } = {}): Promise<void> {
    for (const u of units) {
      const cur = await this.current(u);
      if (!cur) {
        if (opts.quiet) continue;
        throw new GgnError(`${u} is not in fleet's registry`, { unit: u });
      }
      if (cur.desiredState === 'launched') await this.api.setDesiredState(u, 'loaded');
    }
  }

  /** fleetctl's restart: `loaded`, then (once stopped, bounded) `launched`. */
  async restart(_machine: string, units: string[]): Promise<void> {
    for (const u of units) {
      const cur = await this.current(u);
      if (!cur) throw new GgnError(`${u} is not in fleet's registry: load or start it first`, { unit: u });
      if (cur.desiredState === 'launched') {
        await this.api.setDesiredState(u, 'loaded');
        await this.untilStopped(u, this.clock.now() + STOP_WAIT_MS, new AbortController().signal);
      }
      await this.api.setDesiredState(u, 'launched');
    }
  }

  /** Until no entry of the unit is active in /state, or the deadline. */
  private async untilStopped(unit: string, deadline: number, signal: AbortSignal): Promise<void> {
    while (this.clock.now() < deadline) {
      const s = await this.api.states(unit);
      if (!s.some((x) => x.systemdActiveState === 'active' || x.systemdActiveState === 'activating')) return;
      try {
        await this.clock.sleep(250, signal);
      } catch {
        throw new Error('interrupted');
      }
    }
  }

  async resetFailed(_machine: string, _units: string[]): Promise<void> {}

  /**
   * Launches the unit. New options sent by this run, or a unit not launched: `launched` (fleet
   * replaces a running unit itself). A running unit with the same options is restarted as
   * fleetctl does: `loaded` now, `launched` once stopped (in waitUp, bounded by its deadline).
   */
  async beginStart(machine: string, unit: string): Promise<StartTicket> {
    const u = await this.current(unit);
    if (!u) throw new GgnError(`${unit} is not in fleet's registry`, { unit });
    const hash = fleetHash(u.options);
    const replaced = this.sent.get(unit) === hash;
    this.sent.delete(unit);
    const where = machine === FLEET_PENDING ? '' : machine;
    if (!replaced && u.desiredState === 'launched') {
      await this.api.setDesiredState(unit, 'loaded');
      return { unit, before: `${hash} restart ${where}` };
    }
    await this.api.setDesiredState(unit, 'launched');
    return { unit, before: `${hash} launch ${where}` };
  }

  /**
   * Up: `/state` shows the unit's current hash active/running (a oneshot: exited or dead; a
   * timer: active), still so after `settleMs`. Failed or restarting: not up. No state with that
   * hash by the deadline: not up, and when fleet gave the unit no machine, the error says so.
   * A Global unit is waited for on the item's machine; any other on whichever machine fleet chose.
   */
  async waitUp(machine: string, ticket: StartTicket, opts: WaitUpOptions): Promise<{ note: string }> {
    const { clock, signal } = opts;
    const unit = ticket.unit;
    const [hash, mode] = (ticket.before ?? '').split(' ');
    if (mode === 'restart') {
      await this.untilStopped(unit, opts.deadline, signal);
      await this.api.setDesiredState(unit, 'launched');
    }
    const sleep = async (ms: number) => {
      try {
        await clock.sleep(ms, signal);
      } catch {
        throw new Error('interrupted');
      }
    };
    let global = false;
    let type = unit.endsWith('.service') ? 'simple' : '';
    let lastError: string | undefined;
    const look = async (): Promise<FleetState | undefined> => {
      // The API directly: its 500s and 503s (fleet's etcd away) are retried below.
      const u = await this.api.unit(unit);
      if (!u) throw new Error(`${unit} is no longer in fleet's registry`);
      global = isGlobal(u.options);
      type = serviceType(unit, u.options);
      const listed = new Set((await this.liveMachines()).map((m) => m.id));
      const mine = (await this.api.states(unit)).filter((s) => s.hash === hash && listed.has(s.machineID));
      return global && machine !== FLEET_PENDING ? mine.find((s) => this.nameOf(s.machineID) === machine) : mine[0];
    };
    for (;;) {
      if (signal.aborted) throw new Error('interrupted');
      let s: FleetState | undefined;
      try {
        s = await look();
        lastError = undefined;
      } catch (e) {
        // fleet unreachable or its etcd away (500/503): retried until the deadline.
        if (!(e instanceof FleetApiError)) throw e;
        lastError = e.message;
      }
      if (s) {
        const where = `${this.nameOf(s.machineID)}${this.machineByName.get(this.nameOf(s.machineID))?.primaryIP ? ` (${this.machineByName.get(this.nameOf(s.machineID))!.primaryIP})` : ''}`;
        if (s.systemdActiveState === 'failed')
          throw new Error(`${unit} failed on ${where} (systemd: failed/${s.systemdSubState}; fleet still calls it launched)`);
        if (s.systemdSubState === 'auto-restart') throw new Error(`${unit} is restarting on ${where} (systemd: ${s.systemdActiveState}/auto-restart)`);
        if (isUp(unit, type, s)) {
          const placed = { note: `fleet runs it on ${where}` };
          if (opts.settleMs <= 0 || type === 'oneshot' || isTimer(unit)) return placed;
          await sleep(opts.settleMs);
          const again = await look().catch(() => undefined);
          if (again && again.machineID === s.machineID && isUp(unit, type, again)) return placed;
          throw new Error(`${unit} did not stay up on ${where}: ${again ? `${again.systemdActiveState}/${again.systemdSubState}` : 'gone'}`);
        }
      }
      if (clock.now() >= opts.deadline) {
        if (lastError) throw new Error(`${unit} not confirmed up after ${formatElapsed(opts.timeoutMs)}: ${lastError}`);
        if (s)
          throw new Error(
            `${unit} not active after ${formatElapsed(opts.timeoutMs)} (${s.systemdActiveState}/${s.systemdSubState} on ${this.nameOf(s.machineID)})`,
          );
        const u = await this.current(unit).catch(() => undefined);
        if (u && !global && !u.machineID)
          throw new Error(
            `fleet has not scheduled ${unit} after ${formatElapsed(opts.timeoutMs)}: no machine satisfies its [X-Fleet] constraints (MachineMetadata, MachineID, Conflicts, MachineOf), or none is up`,
          );
        throw new Error(
          `${unit} not active after ${formatElapsed(opts.timeoutMs)} (fleet shows no state of its new version yet${u?.machineID ? ` on ${this.nameOf(u.machineID)}` : ''})`,
        );
      }
      await sleep(opts.pollMs);
    }
  }

  async readRevisions(_machine: string, unit: string): Promise<{ revision: string; content: string }[]> {
    return this.store.all(unit);
  }

  async dropRevision(_machine: string, unit: string, revision: string): Promise<void> {
    await this.store.drop(unit, revision);
  }

  async checkAudit(_machine: string): Promise<void> {
    await this.store.check();
  }

  async appendAudit(_machine: string, fields: string[]): Promise<void> {
    await this.store.append(fields);
  }

  /** The cluster's audit log, read once (as the machine `fleet`). */
  async readAudit(machine: string): Promise<string> {
    return machine === FLEET_PENDING ? this.store.read() : '';
  }

  address(machine: string): string {
    return this.machineByName.get(machine)?.primaryIP ?? machine;
  }

  // ---- on the machine, over SSH (fleetctl's status, journal and ssh did the same)

  /** The SSH/systemd driver for one fleet machine, at the address fleet reports for it. */
  private onMachine(machine: string): SshSystemdDriver {
    if (!this.opts.ssh) throw missingCapability(this, 'reach machines over SSH');
    const m = this.machineByName.get(machine);
    if (!m?.primaryIP)
      throw new GgnError(`fleet reports no address for machine ${machine}${machine === FLEET_PENDING ? ' (the unit is not placed)' : ''}`, { host: machine });
    const { target, transport, host } = this.opts.ssh;
    return new SshSystemdDriver({
      target,
      machines: [{ name: machine, metadata: m.metadata ?? {} }],
      hosts: [host(machine, m.primaryIP)],
      transport,
      parallel: 1,
    });
  }

  async exec(machine: string, argv: string[], opts?: { stdin?: string; timeoutMs?: number }): Promise<ExecResult> {
    if (!this.machineByName.has(machine)) await this.liveMachines();
    return this.onMachine(machine).exec(machine, argv, opts);
  }

  async status(machine: string, unit: string): Promise<string> {
    return this.onMachine(machine).status(machine, unit);
  }

  async journal(machine: string, unit: string, lines: number): Promise<{ text: string; notes?: string }> {
    return this.onMachine(machine).journal(machine, unit, lines);
  }

  followJournalCommand(machine: string, unit: string, lines: number): string[] {
    return this.onMachine(machine).followJournalCommand(machine, unit, lines);
  }

  shellCommand(machine: string, remote: string[], tty: boolean): string[] {
    return this.onMachine(machine).shellCommand(machine, remote, tty);
  }

  async close(): Promise<void> {
    await this.store.close();
    await this.opts.ssh?.transport.closeAll();
  }
}

export function isDesiredState(s: string): s is DesiredState {
  return s === 'inactive' || s === 'loaded' || s === 'launched';
}

function isUp(unit: string, type: string, s: FleetState): boolean {
  if (isTimer(unit)) return s.systemdActiveState === 'active';
  if (type === 'oneshot') return (s.systemdActiveState === 'active' && s.systemdSubState === 'exited') || s.systemdActiveState === 'inactive';
  return s.systemdActiveState === 'active' && s.systemdSubState === 'running';
}

/** fleet's /state in the port's words: systemd's three states; the rest fleet does not report. */
function toState(s: FleetState, type: string): UnitState {
  return {
    loadState: s.systemdLoadState,
    activeState: s.systemdActiveState,
    subState: s.systemdSubState,
    unitFileState: '',
    result: s.systemdActiveState === 'failed' ? 'failed' : '',
    mainPid: 0,
    nRestarts: 0,
    activeEnterTimestamp: '',
    type,
    invocationId: s.hash,
  };
}
