/**
 * The default driver: plain systemd on each machine, reached over SSH. No fleet: placement is
 * decided on the client; a unit is a file `<unitdir>/<name>` plus what systemctl says of it.
 */
import { GgnError, toGgnError } from '../../errors';
import { Machine } from '../../plan/placement';
import { mapLimit } from '../../transport/parallel';
import { Connection, ExecResult, HostSpec, Transport } from '../../transport/types';
import { Driver, HostSnapshot, LiveUnit, UnitState } from '../types';
import {
  auditAppendCommand,
  auditReadCommand,
  CommandTarget,
  dropRevisionCommand,
  journalCommand,
  parseRevisionOutput,
  readRevisionCommand,
  writeUnitWithRevisionCommand,
  parseReadOutput,
  readUnitsCommand,
  removeUnitsCommand,
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
  async exec(machine: string, argv: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    return (await this.conn(machine)).exec(argv, opts);
  }

  /** Runs argv on a machine; a non-zero exit becomes an error carrying stderr. */
  async run(machine: string, argv: string[], what: string, opts: { stdin?: string; timeoutMs?: number; allowCodes?: number[] } = {}): Promise<ExecResult> {
    const c = await this.conn(machine);
    const r = await c.exec(argv, { stdin: opts.stdin, timeoutMs: opts.timeoutMs });
    if (r.code !== 0 && !(opts.allowCodes ?? []).includes(r.code)) throw remoteError(machine, what, r);
    return r;
  }

  async read(machines: string[], prefixes: string[]): Promise<HostSnapshot[]> {
    const results = await mapLimit(machines, this.opts.parallel, async (machine) => {
      const r = await this.run(machine, readUnitsCommand(this.opts.target, prefixes), 'reading units');
      const parsed = parseReadOutput(r.stdout);
      const names = new Set([...parsed.files.keys(), ...parsed.states.keys()]);
      const units: LiveUnit[] = [...names].sort().map((name) => ({
        name,
        machine,
        content: parsed.files.get(name) ?? null,
        state: parsed.states.has(name) ? toState(parsed.states.get(name)!) : undefined,
      }));
      return units;
    });
    return results.map((r, i) =>
      r.ok ? { machine: machines[i], units: r.value } : { machine: machines[i], units: [], error: toGgnError(r.error, { host: machines[i] }) },
    );
  }

  async writeUnit(machine: string, unit: string, content: string): Promise<void> {
    await this.run(machine, writeUnitCommand(this.opts.target, unit), `writing ${unit}`, { stdin: content });
  }

  /** Atomic write; with save, the replaced bytes become a revision (returned). */
  async writeUnitRevision(machine: string, unit: string, content: string, opts: { save: boolean; dropRevision?: string }): Promise<{ revision?: string }> {
    const r = await this.run(machine, writeUnitWithRevisionCommand(this.opts.target, unit, opts), `writing ${unit}`, { stdin: content });
    const m = /^revision (\d+)$/m.exec(r.stdout);
    return { revision: m?.[1] };
  }

  async readRevision(machine: string, unit: string): Promise<{ revision: string; content: string } | undefined> {
    const r = await this.run(machine, readRevisionCommand(this.opts.target, unit), `reading revisions of ${unit}`);
    return parseRevisionOutput(r.stdout);
  }

  async dropRevision(machine: string, unit: string, revision: string): Promise<void> {
    await this.run(machine, dropRevisionCommand(this.opts.target, unit, revision), `dropping revision ${revision} of ${unit}`);
  }

  async appendAudit(machine: string, fields: string[]): Promise<void> {
    await this.run(machine, auditAppendCommand(this.opts.target, fields), 'writing the audit log');
  }

  async readAudit(machine: string): Promise<string> {
    return (await this.run(machine, auditReadCommand(this.opts.target), 'reading the audit log')).stdout;
  }

  /** systemd's view of units right now (one round trip). */
  async unitStates(machine: string, units: string[]): Promise<Map<string, UnitState>> {
    const r = await this.systemctl(machine, 'show', units, {
      extra: ['--no-pager', '--property=Id,LoadState,ActiveState,SubState,UnitFileState,Result,MainPID,NRestarts,ActiveEnterTimestamp,Type'],
    });
    const out = new Map<string, UnitState>();
    for (const block of r.stdout.split('\n\n')) {
      const fields: Record<string, string> = {};
      for (const line of block.split('\n')) {
        const eq = line.indexOf('=');
        if (eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1);
      }
      if (fields.Id) out.set(fields.Id, toState(fields));
    }
    return out;
  }

  async removeUnits(machine: string, units: string[]): Promise<void> {
    await this.run(machine, removeUnitsCommand(this.opts.target, units), `removing ${units.join(' ')}`);
  }

  async systemctl(machine: string, verb: SystemctlVerb, units: string[] = [], opts: { allowCodes?: number[]; extra?: string[] } = {}): Promise<ExecResult> {
    return this.run(machine, systemctlCommand(this.opts.target, verb, units, opts.extra), `systemctl ${verb}${units.length ? ' ' + units.join(' ') : ''}`, {
      allowCodes: opts.allowCodes,
    });
  }

  journalArgv(unit: string, lines: number, follow: boolean): string[] {
    return journalCommand(this.opts.target, unit, lines, follow);
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
  };
}

/** An error that names the host and says what failed, with systemctl's or sudo's own words. */
export function remoteError(machine: string, what: string, r: ExecResult): GgnError {
  const stderr = r.stderr.trim();
  if (/sudo: (a password is required|a terminal is required)/.test(stderr)) {
    return new GgnError(`${what}: sudo needs a password (configure NOPASSWD for this user, or use ssh.scope: user)`, { host: machine });
  }
  // sudo's warning on a host whose own name does not resolve (no /etc/hosts line) is noise here:
  // it would take one of the three lines that say what failed
  const lines = stderr.split('\n').filter((l) => l && !/^sudo: unable to resolve host /.test(l));
  const detail = lines.slice(-3).join(' | ') || `exit code ${r.code}`;
  return new GgnError(`${what} failed: ${detail}`, { host: machine });
}
