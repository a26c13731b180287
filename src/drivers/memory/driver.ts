/**
 * An in-memory driver: machines whose unit files, states, revisions and audit lines live in
 * maps, on an injected clock. It implements the whole port, so the rollout, update, rollback,
 * the unit actions, check and the plan are unit-tested without SSH; the integration suite keeps
 * testing the real driver.
 *
 * How a started unit behaves is read from its content, for tests: `FAIL` fails at once, `CRASH`
 * runs and is restarted by its manager right after, `SLOW` stays activating for `slowStartMs`.
 * Every call is recorded in `calls` (`verb machine args`).
 */
import { isTimer } from '../../render/names';
import { Clock } from '../../clock';
import { GgnError } from '../../errors';
import {
  Driver,
  FailureDetail,
  HostSnapshot,
  InstallAndStart,
  InstallAndStartError,
  InstallAndStartResult,
  InstallOptions,
  Machine,
  StartTicket,
  UnitState,
  WaitUpOptions,
} from '../types';
import { waitUp } from '../systemd/wait';

export interface MemoryMachine {
  files: Map<string, string>;
  /** Files installed as holding a secret (mode 0600 on a real host). */
  private?: Set<string>;
  states: Map<string, UnitState>;
  revisions: Map<string, { revision: string; content: string }[]>;
  audit: string[];
  /** While set, every call to this machine fails like an unreachable host. */
  down?: string;
  /** Units enabled (a start of a unit with an [Install] section enables it, as the systemd driver does). */
  enabled?: Set<string>;
}

export const stoppedState = (extra: Partial<UnitState> = {}): UnitState => ({
  loadState: 'loaded',
  activeState: 'inactive',
  subState: 'dead',
  unitFileState: '',
  result: 'success',
  mainPid: 0,
  nRestarts: 0,
  activeEnterTimestamp: '',
  type: 'simple',
  invocationId: '',
  ...extra,
});

export class MemoryDriver implements Driver {
  readonly name = 'memory';
  readonly hosts = new Map<string, MemoryMachine>();
  readonly calls: string[] = [];
  /** How long a `SLOW` unit stays activating. */
  slowStartMs = 25_000;
  /** Simultaneous starts seen (for concurrency tests). */
  maxInFlight = 0;
  private inFlight = 0;
  private seq = 0;
  private readonly slowUntil = new Map<string, number>();
  private readonly crashPending = new Set<string>();

  constructor(
    private readonly machineList: Machine[],
    private readonly clock: Clock,
  ) {
    for (const m of machineList) this.hosts.set(m.name, { files: new Map(), states: new Map(), revisions: new Map(), audit: [] });
  }

  machines(): Machine[] {
    return this.machineList;
  }

  host(machine: string): MemoryMachine {
    const h = this.hosts.get(machine);
    if (!h) throw new GgnError(`no machine named "${machine}"`, { host: machine });
    if (h.down) throw new GgnError(`host ${machine}: ${h.down}`, { host: machine });
    return h;
  }

  private record(call: string): void {
    this.calls.push(call);
  }

  async read(machines: string[], prefixes: string[]): Promise<HostSnapshot[]> {
    return machines.map((machine) => {
      try {
        const h = this.host(machine);
        const names = new Set([...h.files.keys(), ...h.states.keys()].filter((n) => prefixes.some((p) => n.startsWith(p))));
        const units = [...names].sort().map((name) => ({
          name,
          machine,
          content: h.files.get(name) ?? null,
          ...(h.private?.has(name) && h.files.has(name) ? { private: true } : {}),
          state: h.states.has(name) ? { ...h.states.get(name)! } : undefined,
        }));
        return { machine, units };
      } catch (e) {
        return { machine, units: [], error: e as GgnError };
      }
    });
  }

  async unitStates(machine: string, units: string[]): Promise<Map<string, UnitState>> {
    const h = this.host(machine);
    const out = new Map<string, UnitState>();
    for (const u of units) {
      const key = `${machine}/${u}`;
      let s = h.states.get(u) ?? (h.files.has(u) ? stoppedState() : stoppedState({ loadState: 'not-found' }));
      const slow = this.slowUntil.get(key);
      if (slow !== undefined && this.clock.now() >= slow && s.activeState === 'activating') {
        s = { ...s, activeState: 'active', subState: 'running', mainPid: ++this.seq };
        h.states.set(u, s);
        this.slowUntil.delete(key);
      } else if (this.crashPending.has(key)) {
        // The first look finds it running; the manager restarts it right after.
        this.crashPending.delete(key);
        out.set(u, { ...s });
        h.states.set(u, { ...s, mainPid: ++this.seq, nRestarts: s.nRestarts + 1 });
        continue;
      }
      out.set(u, { ...s });
    }
    return out;
  }

  async install(machine: string, unit: string, content: string, opts: InstallOptions): Promise<{ revision?: string }> {
    this.record(
      `install ${machine} ${unit}${opts.keepRevision ? ' keep' : ''}${opts.dropRevision ? ` drop=${opts.dropRevision}` : ''}${opts.secret ? ' secret' : ''}`,
    );
    const h = this.host(machine);
    const old = h.files.get(unit);
    let revision: string | undefined;
    const revs = h.revisions.get(unit) ?? [];
    if (opts.keepRevision && old !== undefined && old !== content) {
      revision = String(Math.max(0, ...revs.map((r) => Number(r.revision))) + 1);
      revs.push({ revision, content: old });
    }
    h.files.set(unit, content);
    h.private ??= new Set();
    if (opts.secret) h.private.add(unit);
    else h.private.delete(unit);
    const kept = revs.filter((r) => r.revision !== opts.dropRevision).slice(-5);
    h.revisions.set(unit, kept);
    return { revision };
  }

  async uninstall(machine: string, units: string[], opts: { keepRevision?: boolean } = {}): Promise<void> {
    this.record(`uninstall ${machine} ${units.join(' ')}${opts.keepRevision ? ' keep' : ''}`);
    const h = this.host(machine);
    for (const u of units) {
      const old = h.files.get(u);
      if (opts.keepRevision && old !== undefined) {
        const revs = h.revisions.get(u) ?? [];
        revs.push({ revision: String(Math.max(0, ...revs.map((r) => Number(r.revision))) + 1), content: old });
        h.revisions.set(u, revs.slice(-5));
      }
      h.files.delete(u);
      h.enabled?.delete(u);
    }
  }

  /** A reboot: every unit stops; the enabled ones start again. */
  reboot(machine: string): void {
    const h = this.host(machine);
    for (const [u, st] of h.states) h.states.set(u, { ...st, activeState: 'inactive', subState: 'dead', mainPid: 0 });
    for (const u of h.enabled ?? []) if (h.files.has(u)) this.startNow(machine, u);
  }

  async reload(machine: string): Promise<void> {
    this.record(`reload ${machine}`);
    const h = this.host(machine);
    for (const u of [...h.states.keys()]) if (!h.files.has(u) && h.states.get(u)!.activeState === 'inactive') h.states.delete(u);
  }

  private startNow(machine: string, unit: string): void {
    const h = this.host(machine);
    if (!h.files.has(unit)) throw new GgnError(`Unit ${unit} not found.`, { host: machine });
    const content = h.files.get(unit)!;
    const invocationId = `inv${++this.seq}`;
    const key = `${machine}/${unit}`;
    const type = /Type=oneshot/.test(content) ? 'oneshot' : isTimer(unit) ? '' : 'simple';
    h.enabled ??= new Set();
    if (/^\[Install\]/m.test(content)) h.enabled.add(unit);
    const unitFileState = h.enabled.has(unit) ? 'enabled' : '';
    if (content.includes('FAIL'))
      h.states.set(unit, stoppedState({ activeState: 'failed', subState: 'failed', result: 'exit-code', invocationId, type, unitFileState }));
    else if (content.includes('SLOW')) {
      this.slowUntil.set(key, this.clock.now() + this.slowStartMs);
      h.states.set(unit, stoppedState({ activeState: 'activating', subState: 'start-pre', invocationId, type, unitFileState }));
    } else {
      h.states.set(
        unit,
        stoppedState({ activeState: 'active', subState: isTimer(unit) ? 'waiting' : 'running', mainPid: ++this.seq, invocationId, type, unitFileState }),
      );
      if (content.includes('CRASH')) this.crashPending.add(key);
    }
  }

  async start(machine: string, units: string[]): Promise<void> {
    this.record(`start ${machine} ${units.join(' ')}`);
    for (const u of units) if (this.host(machine).states.get(u)?.activeState !== 'active') this.startNow(machine, u);
  }

  async stop(machine: string, units: string[], opts: { quiet?: boolean; disable?: boolean } = {}): Promise<void> {
    this.record(`stop ${machine} ${units.join(' ')}`);
    const h = this.host(machine);
    for (const u of units) {
      if (opts.disable) h.enabled?.delete(u);
      if (!h.files.has(u) && !h.states.has(u) && !opts.quiet) throw new GgnError(`Unit ${u} not loaded.`, { host: machine });
      if (h.states.has(u)) h.states.set(u, { ...h.states.get(u)!, activeState: 'inactive', subState: 'dead', mainPid: 0 });
    }
  }

  async restart(machine: string, units: string[]): Promise<void> {
    this.record(`restart ${machine} ${units.join(' ')}`);
    for (const u of units) this.startNow(machine, u);
  }

  async resetFailed(machine: string, units: string[]): Promise<void> {
    this.record(`reset-failed ${machine} ${units.join(' ')}`);
    const h = this.host(machine);
    for (const u of units) if (h.states.get(u)?.activeState === 'failed') h.states.set(u, { ...h.states.get(u)!, activeState: 'inactive', subState: 'dead' });
  }

  async beginStart(machine: string, unit: string): Promise<StartTicket> {
    this.record(`begin-start ${machine} ${unit}`);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.clock.sleep(50);
      const before = this.host(machine).states.get(unit)?.invocationId ?? '';
      this.startNow(machine, unit);
      return { unit, before };
    } finally {
      this.inFlight--;
    }
  }

  /** Set to make the next installAndStart fail at that step (the steps before it still happen). */
  failInstallAndStartAt?: 'write' | 'reload' | 'restart';

  /** install, reload, beginStart: the same calls, in order, stopping at the first that fails. */
  async installAndStart(machine: string, req: InstallAndStart): Promise<InstallAndStartResult> {
    const failAt = this.failInstallAndStartAt;
    this.failInstallAndStartAt = undefined;
    let auditError: string | undefined;
    if (req.auditFirst) {
      try {
        await this.appendAudit(machine, req.auditFirst);
      } catch (e) {
        auditError = (e as Error).message;
      }
    }
    const fail = (step: 'write' | 'reload' | 'restart', changed: boolean, revision?: string) =>
      new InstallAndStartError(`${step} failed on ${machine}`, step, changed, revision, { host: machine }, auditError);
    let revision: string | undefined;
    try {
      if (failAt === 'write') throw fail('write', false);
      ({ revision } = await this.install(machine, req.unit, req.content, {
        keepRevision: req.keepRevision,
        dropRevision: req.dropRevision,
        secret: req.secret,
      }));
    } catch (e) {
      throw e instanceof InstallAndStartError ? e : new InstallAndStartError((e as Error).message, 'write', false, undefined, { host: machine }, auditError);
    }
    try {
      if (failAt === 'reload') throw fail('reload', true, revision);
      await this.reload(machine);
    } catch (e) {
      throw e instanceof InstallAndStartError ? e : new InstallAndStartError((e as Error).message, 'reload', true, revision, { host: machine }, auditError);
    }
    try {
      if (failAt === 'restart') throw fail('restart', true, revision);
      return { revision, ticket: await this.beginStart(machine, req.start), auditError };
    } catch (e) {
      throw e instanceof InstallAndStartError ? e : new InstallAndStartError((e as Error).message, 'restart', true, revision, { host: machine }, auditError);
    }
  }

  async waitUp(machine: string, ticket: StartTicket, opts: WaitUpOptions): Promise<undefined> {
    await waitUp((units) => this.unitStates(machine, units), ticket, opts);
  }

  /** A FAIL unit exited with status 1 and said so in its journal (the content's `FAIL` line). */
  async failureDetail(machine: string, unit: string, lines: number): Promise<FailureDetail> {
    this.record(`failure-detail ${machine} ${unit}`);
    const s = this.host(machine).states.get(unit);
    const failLines = (this.host(machine).files.get(unit) ?? '').split('\n').filter((l) => l.includes('FAIL'));
    return {
      result: s?.result ?? '',
      state: `${s?.activeState ?? 'inactive'}/${s?.subState ?? 'dead'}`,
      exitStatus: s?.result === 'exit-code' ? 1 : undefined,
      journal: failLines.slice(-lines).map((l) => `app[1]: ${l}`),
    };
  }

  async readRevisions(machine: string, unit: string): Promise<{ revision: string; content: string }[]> {
    return [...(this.host(machine).revisions.get(unit) ?? [])];
  }

  async readRevisionsOf(machine: string, units: string[]): Promise<Map<string, { revision: string; content: string }[]>> {
    return new Map(units.map((u) => [u, [...(this.host(machine).revisions.get(u) ?? [])]]));
  }

  async dropRevision(machine: string, unit: string, revision: string): Promise<void> {
    this.record(`drop ${machine} ${unit} ${revision}`);
    const h = this.host(machine);
    h.revisions.set(
      unit,
      (h.revisions.get(unit) ?? []).filter((r) => r.revision !== revision),
    );
  }

  /** Set to make the audit log of these machines unwritable. */
  readonly auditReadOnly = new Set<string>();

  async checkAudit(machine: string): Promise<void> {
    this.host(machine);
    if (this.auditReadOnly.has(machine))
      throw new GgnError(`checking the audit log failed: the audit log memory:${machine}/audit.log is not writable`, { host: machine });
  }

  async appendAudit(machine: string, fields: string[]): Promise<void> {
    const h = this.host(machine);
    if (this.auditReadOnly.has(machine)) throw new GgnError('writing the audit log failed: Permission denied', { host: machine });
    this.record(`audit ${machine} ${fields[4]} ${fields[5]} ${fields[8]}`);
    h.audit.push(fields.join('\t'));
  }

  async readAudit(machine: string): Promise<string> {
    return this.host(machine)
      .audit.map((l) => l + '\n')
      .join('');
  }

  address(machine: string): string {
    return machine;
  }

  async status(machine: string, unit: string): Promise<string> {
    const s = (await this.unitStates(machine, [unit])).get(unit)!;
    return `${unit} - ${s.loadState} ${s.activeState} (${s.subState})\n`;
  }

  async close(): Promise<void> {}
}
