/**
 * The default driver: plain systemd on each machine, reached over SSH. No fleet: placement is
 * decided on the client; a unit is a file `<unitdir>/<name>` plus what systemctl says of it.
 */
import { isTimer } from '../../render/names';
import { GgnError, toGgnError } from '../../errors';
import { opensshArgv } from '../../transport/openssh';
import { mapLimit } from '../../parallel';
import { Connection, ExecResult, HostSpec, Transport } from '../../transport/types';
import {
  Driver,
  FailureDetail,
  HostSnapshot,
  InstallAndStart,
  InstallAndStartError,
  InstallAndStartResult,
  InstallOptions,
  LiveUnit,
  Machine,
  StartTicket,
  StartWatch,
  UnitState,
  WaitUpOptions,
} from '../types';
import { waitUp } from './wait';
import { journalNotes, remoteError } from './errors';
import { SshLockStore } from './lock-store';
import type { LockStore } from '../lock-store';
import {
  auditAppendCommand,
  auditCheckCommand,
  auditReadCommand,
  restartNoBlockCommand,
  failureCommand,
  parseFailureOutput,
  CommandTarget,
  dropRevisionCommand,
  installAndStartCommand,
  journalCommand,
  hostStepMs,
  parseLooks,
  parseShowFields,
  parseStepStamps,
  readRevisionsOfCommand,
  parseRevisionsByUnit,
  writeUnitWithRevisionCommand,
  parseReadOutput,
  readUnitsCommand,
  removeUnitsCommand,
  splitWarnings,
  STATE_PROPERTIES,
  startCommand,
  stopDisablingCommand,
  AUDIT_FAILED_PREFIX,
  systemctlCommand,
  SystemctlVerb,
  writeUnitCommand,
} from './commands';

export interface SshSystemdOptions {
  target: CommandTarget;
  machines: Machine[];
  hosts: HostSpec[];
  transport: Transport;
  /** Hosts contacted at once (`--parallel`). */
  parallel: number;
  /** Receives what a host's scripts warn about (e.g. junk in ggn's state directory). */
  onWarning?: (machine: string, message: string) => void;
  /** Told when a read of hosts starts (0 done) and as each host answers or fails. */
  onReadProgress?: (done: number, total: number) => void;
}

export class SshSystemdDriver implements Driver {
  readonly name = 'ssh';
  private readonly hostByName: Map<string, HostSpec>;

  constructor(private readonly opts: SshSystemdOptions) {
    this.hostByName = new Map(opts.hosts.map((h) => [h.name, h]));
  }

  machines(): Machine[] {
    return this.opts.machines;
  }

  host(machine: string): HostSpec {
    const h = this.hostByName.get(machine);
    if (!h) throw new GgnError(`no machine named "${machine}"`, { host: machine });
    return h;
  }

  private async conn(machine: string): Promise<Connection> {
    return this.opts.transport.connect(this.host(machine));
  }

  /** Runs argv on a machine and returns whatever it exits with (RemoteExec). */
  async exec(machine: string, argv: string[], opts: { stdin?: string; timeoutMs?: number; what?: string } = {}): Promise<ExecResult> {
    return (await this.conn(machine)).exec(argv, opts);
  }

  /** Runs argv on a machine; a non-zero exit becomes an error carrying stderr. */
  async run(machine: string, argv: string[], what: string, opts: { stdin?: string; timeoutMs?: number; allowCodes?: number[] } = {}): Promise<ExecResult> {
    const c = await this.conn(machine);
    const r = await c.exec(argv, { stdin: opts.stdin, timeoutMs: opts.timeoutMs, what });
    if (r.code !== 0 && !(opts.allowCodes ?? []).includes(r.code)) throw remoteError(machine, what, r);
    return r;
  }

  /** run() for ggn's own scripts: their `ggn-warning:` lines go to onWarning, not into errors. */
  private async runScript(machine: string, argv: string[], what: string, opts: { stdin?: string } = {}): Promise<ExecResult> {
    const r = await (await this.conn(machine)).exec(argv, { stdin: opts.stdin, what });
    const { warnings, rest } = splitWarnings(r.stderr);
    for (const w of warnings) this.opts.onWarning?.(machine, w);
    const out = { ...r, stderr: rest };
    if (r.code !== 0) throw remoteError(machine, what, out);
    return out;
  }

  async read(machines: string[], prefixes: string[]): Promise<HostSnapshot[]> {
    const progress = this.opts.onReadProgress;
    let done = 0;
    progress?.(0, machines.length);
    const results = await mapLimit(machines, this.opts.parallel, async (machine) => {
      const r = await this.run(machine, readUnitsCommand(this.opts.target, prefixes), 'reading units').finally(() => progress?.(++done, machines.length));
      const parsed = parseReadOutput(r.stdout);
      const names = new Set([...parsed.files.keys(), ...parsed.states.keys()]);
      const units: LiveUnit[] = [...names].sort().map((name) => ({
        name,
        machine,
        content: parsed.files.get(name) ?? null,
        ...(parsed.private.has(name) && parsed.files.has(name) ? { private: true } : {}),
        state: parsed.states.has(name) ? toState(parsed.states.get(name)!) : undefined,
      }));
      return units;
    });
    return results.map((r, i) =>
      r.ok ? { machine: machines[i], units: r.value } : { machine: machines[i], units: [], error: toGgnError(r.error, { host: machines[i] }) },
    );
  }

  async writeUnit(machine: string, unit: string, content: string, opts: { secret?: boolean } = {}): Promise<void> {
    await this.runScript(machine, writeUnitCommand(this.opts.target, unit, Buffer.byteLength(content), opts), `writing ${unit}`, { stdin: content });
  }

  /** Atomic write; with save, the replaced bytes become a revision (returned). */
  async writeUnitRevision(
    machine: string,
    unit: string,
    content: string,
    opts: { save: boolean; dropRevision?: string; secret?: boolean },
  ): Promise<{ revision?: string }> {
    const size = Buffer.byteLength(content);
    const r = await this.runScript(machine, writeUnitWithRevisionCommand(this.opts.target, unit, { ...opts, size }), `writing ${unit}`, { stdin: content });
    const m = /^revision (\d+)$/m.exec(r.stdout);
    return { revision: m?.[1] };
  }

  async readRevisions(machine: string, unit: string): Promise<{ revision: string; content: string }[]> {
    return (await this.readRevisionsOf(machine, [unit])).get(unit)!;
  }

  async readRevisionsOf(machine: string, units: string[]): Promise<Map<string, { revision: string; content: string }[]>> {
    const r = await this.runScript(machine, readRevisionsOfCommand(this.opts.target, units), `reading revisions of ${units.join(', ')}`);
    const byUnit = parseRevisionsByUnit(r.stdout);
    // Every unit asked for is answered: a missing section would be a cut output, not "no revisions".
    const missing = units.filter((u) => !byUnit.has(u));
    if (missing.length) throw new GgnError(`reading revisions of ${missing.join(', ')}: no answer in the output`, { host: machine });
    return byUnit;
  }

  async dropRevision(machine: string, unit: string, revision: string): Promise<void> {
    await this.runScript(machine, dropRevisionCommand(this.opts.target, unit, revision), `dropping revision ${revision} of ${unit}`);
  }

  async appendAudit(machine: string, fields: string[]): Promise<void> {
    await this.run(machine, auditAppendCommand(this.opts.target, fields), 'writing the audit log');
  }

  /** Refuses (naming host and path) when the audit log cannot be appended to; writes nothing. */
  async checkAudit(machine: string): Promise<void> {
    await this.run(machine, auditCheckCommand(this.opts.target), 'checking the audit log');
  }

  /**
   * Queues a restart, with the invocation id the unit had before; with `watch`, the looks the
   * host then took (StartTicket.looks).
   */
  async restartNoBlock(machine: string, unit: string, watch?: StartWatch): Promise<{ invocationBefore: string; looks: UnitState[] }> {
    const r = await this.runScript(machine, restartNoBlockCommand(this.opts.target, unit, watch), `systemctl restart --no-block ${unit}`);
    return { invocationBefore: r.stdout.split('\n')[0].trim(), looks: parseLooks(r.stdout).map(toState) };
  }

  async readAudit(machine: string): Promise<string> {
    return (await this.run(machine, auditReadCommand(this.opts.target), 'reading the audit log')).stdout;
  }

  /** systemd's view of units right now (one round trip). */
  async unitStates(machine: string, units: string[]): Promise<Map<string, UnitState>> {
    const r = await this.systemctl(machine, 'show', units, { extra: ['--no-pager', `--property=${STATE_PROPERTIES}`] });
    const out = new Map<string, UnitState>();
    for (const block of r.stdout.split('\n\n')) {
      const fields = parseShowFields(block);
      if (fields.Id) out.set(fields.Id, toState(fields));
    }
    return out;
  }

  async removeUnits(machine: string, units: string[], keepRevision = false): Promise<void> {
    await this.runScript(machine, removeUnitsCommand(this.opts.target, units, keepRevision), `removing ${units.join(' ')}`);
  }

  async systemctl(machine: string, verb: SystemctlVerb, units: string[] = [], opts: { allowCodes?: number[]; extra?: string[] } = {}): Promise<ExecResult> {
    return this.run(machine, systemctlCommand(this.opts.target, verb, units, opts.extra), `systemctl ${verb}${units.length ? ' ' + units.join(' ') : ''}`, {
      allowCodes: opts.allowCodes,
    });
  }

  journalArgv(unit: string, lines: number, follow: boolean): string[] {
    return journalCommand(this.opts.target, unit, lines, follow);
  }

  // ---- the port's intents, in systemd's words

  async install(machine: string, unit: string, content: string, opts: InstallOptions): Promise<{ revision?: string }> {
    if (!opts.keepRevision && opts.dropRevision === undefined) {
      await this.writeUnit(machine, unit, content, { secret: opts.secret });
      return {};
    }
    return this.writeUnitRevision(machine, unit, content, { save: opts.keepRevision, dropRevision: opts.dropRevision, secret: opts.secret });
  }

  async uninstall(machine: string, units: string[], opts: { keepRevision?: boolean } = {}): Promise<void> {
    await this.removeUnits(machine, units, opts.keepRevision === true);
  }

  async reload(machine: string): Promise<void> {
    await this.systemctl(machine, 'daemon-reload');
  }

  /** Starts units, enabling those with an [Install] section (as `systemctl enable --now`). */
  async start(machine: string, units: string[]): Promise<void> {
    await this.runScript(machine, startCommand(this.opts.target, 'start', units), `systemctl start ${units.join(' ')}`);
  }

  async stop(machine: string, units: string[], opts: { quiet?: boolean; disable?: boolean } = {}): Promise<void> {
    if (opts.disable) {
      await this.runScript(machine, stopDisablingCommand(this.opts.target, units, !!opts.quiet), `systemctl disable + stop ${units.join(' ')}`);
      return;
    }
    // 5: not loaded; 1: some systemd versions for the same.
    await this.systemctl(machine, 'stop', units, { allowCodes: opts.quiet ? [1, 5] : [] });
  }

  async restart(machine: string, units: string[]): Promise<void> {
    await this.runScript(machine, startCommand(this.opts.target, 'restart', units), `systemctl restart ${units.join(' ')}`);
  }

  async resetFailed(machine: string, units: string[]): Promise<void> {
    await this.systemctl(machine, 'reset-failed', units, { allowCodes: [1, 5] });
  }

  /** A service is restarted without blocking (`--no-block`: its start is bounded by waitUp); a timer at once. */
  async beginStart(machine: string, unit: string, opts: { watch?: StartWatch } = {}): Promise<StartTicket> {
    if (isTimer(unit)) {
      await this.restart(machine, [unit]);
      return { unit };
    }
    const { invocationBefore, looks } = await this.restartNoBlock(machine, unit, opts.watch);
    return { unit, before: invocationBefore, ...(looks.length ? { looks } : {}) };
  }

  /** install + reload + beginStart in one round trip (INSTALL_AND_START_SCRIPT). */
  async installAndStart(machine: string, req: InstallAndStart): Promise<InstallAndStartResult> {
    const { unit, content, start } = req;
    const argv = installAndStartCommand(this.opts.target, unit, {
      save: req.keepRevision,
      dropRevision: req.dropRevision,
      size: Buffer.byteLength(content),
      content,
      start,
      audit: req.auditFirst,
      secret: req.secret,
      watch: req.watch,
    });
    let r: ExecResult;
    try {
      r = await (await this.conn(machine)).exec(argv, { stdin: content, what: `writing ${unit}` });
    } catch (e) {
      // Lost on the way: the file may be installed; the caller restores it.
      throw new InstallAndStartError((e as Error).message, 'write', true, undefined, { host: machine });
    }
    const { warnings, rest: afterWarnings } = splitWarnings(r.stderr);
    for (const w of warnings) this.opts.onWarning?.(machine, w);
    const auditLines = afterWarnings.split('\n').filter((l) => l.startsWith(AUDIT_FAILED_PREFIX));
    const auditError = auditLines.length ? `writing the audit log failed: ${auditLines[0].slice(AUDIT_FAILED_PREFIX.length)}` : undefined;
    const rest = afterWarnings
      .split('\n')
      .filter((l) => !l.startsWith(AUDIT_FAILED_PREFIX))
      .join('\n');
    const done = parseStepStamps(r.stdout);
    const revision = /^revision (\d+)$/m.exec(r.stdout)?.[1];
    const invocation = /^invocation (.*)$/m.exec(r.stdout)?.[1]?.trim();
    if (r.code !== 0 || !done.has('started')) {
      const out = { ...r, stderr: rest };
      const host = { host: machine };
      if (!done.has('installed'))
        throw new InstallAndStartError(remoteError(machine, `writing ${unit}`, out).message, 'write', false, undefined, host, auditError);
      if (!done.has('reloaded'))
        throw new InstallAndStartError(remoteError(machine, 'systemctl daemon-reload', out).message, 'reload', true, revision, host, auditError);
      const what = isTimer(start) ? `systemctl restart ${start}` : `systemctl restart --no-block ${start}`;
      throw new InstallAndStartError(remoteError(machine, what, out).message, 'restart', true, revision, host, auditError);
    }
    const hostMs = hostStepMs(done);
    const timed = hostMs ? { hostMs } : {};
    if (isTimer(start)) return { revision, ticket: { unit: start }, auditError, ...timed };
    const looks = parseLooks(r.stdout).map(toState);
    return { revision, ticket: { unit: start, before: invocation ?? '', ...(looks.length ? { looks } : {}) }, auditError, ...timed };
  }

  async waitUp(machine: string, ticket: StartTicket, opts: WaitUpOptions): Promise<undefined> {
    await waitUp((units) => this.unitStates(machine, units), ticket, opts);
  }

  address(machine: string): string {
    return this.host(machine).address;
  }

  async status(machine: string, unit: string): Promise<string> {
    return (await this.systemctl(machine, 'status', [unit], { allowCodes: [3, 4], extra: ['--no-pager', '--full'] })).stdout;
  }

  async journal(machine: string, unit: string, lines: number): Promise<{ text: string; notes?: string }> {
    const r = await this.run(machine, this.journalArgv(unit, lines, false), `journalctl -u ${unit}`, { allowCodes: [1] });
    // journalctl says why it shows nothing on stderr, exit 0: a login that may not read the
    // system journal (scope system without sudo, not in systemd-journal/adm) gets
    // "-- No entries --" and, here, the hint naming those groups
    return { text: r.stdout + (r.code ? r.stderr : ''), notes: r.code ? undefined : journalNotes(r.stderr) || undefined };
  }

  async failureDetail(machine: string, unit: string, lines: number): Promise<FailureDetail> {
    return parseFailureOutput((await this.run(machine, failureCommand(this.opts.target, unit, lines), `why ${unit} failed`)).stdout);
  }

  followJournalCommand(machine: string, unit: string, lines: number): string[] {
    return opensshArgv(this.host(machine), this.journalArgv(unit, lines, true));
  }

  shellCommand(machine: string, remote: string[], tty: boolean): string[] {
    return opensshArgv(this.host(machine), remote, { tty });
  }

  /** The ssh lock: a directory in ggn's state on the env's first machine. */
  lockStore(envName: string): LockStore {
    const { scope, sudo } = this.opts.target;
    return new SshLockStore({ exec: (m, argv, o) => this.exec(m, argv, o), machine: this.machines()[0].name, scope, sudo, envName });
  }

  async close(): Promise<void> {
    await this.opts.transport.closeAll();
  }
}

function toState(s: Record<string, string>): UnitState {
  return {
    loadState: s.LoadState ?? '',
    activeState: s.ActiveState ?? '',
    subState: s.SubState ?? '',
    unitFileState: s.UnitFileState ?? '',
    result: s.Result ?? '',
    mainPid: Number(s.MainPID ?? 0) || 0,
    nRestarts: Number(s.NRestarts ?? 0) || 0,
    activeEnterTimestamp: s.ActiveEnterTimestamp ?? '',
    type: s.Type ?? '',
    invocationId: s.InvocationID ?? '',
  };
}
