/** status, journal and ssh: look at one unit where it runs. */
import { spawnSync } from 'node:child_process';
import * as Flags from '@oclif/core/flags';
import { GgnError } from '../src/errors';
import { buildPlan, LivePlan } from '../src/plan/build';
import { opensshArgv } from '../src/transport/openssh';
import { SshSystemdDriver } from '../src/drivers/systemd/driver';
import { GgnCommand } from './base';
import { reportError } from './errors';
import { parallelFlag, reportAll, withDriver } from './live';

/** Machines that have the unit's service file, else where the tree places it. */
function machinesOf(plan: LivePlan, preferTimer = false): { machine: string; unit: string }[] {
  const pick = (cs: LivePlan['changes']) => {
    const timer = cs.find((c) => c.unit.endsWith('.timer'));
    return (preferTimer && timer) || cs.find((c) => c.unit.endsWith('.service')) || cs[0];
  };
  const live = plan.changes.filter((c) => c.kind !== 'new');
  const chosen = live.length ? live : plan.changes;
  const byMachine = new Map<string, LivePlan['changes']>();
  for (const c of chosen) byMachine.set(c.machine, [...(byMachine.get(c.machine) ?? []), c]);
  return [...byMachine].map(([machine, cs]) => ({ machine, unit: pick(cs).unit }));
}

async function locate(cmd: GgnCommand, d: SshSystemdDriver): Promise<{ machine: string; unit: string }[]> {
  const { ctx } = cmd;
  const plan = await buildPlan(ctx.ws, d, { env: ctx.target.env, service: ctx.target.service, unit: ctx.target.unit });
  const hostErrors = plan.errors.filter((e) => e.ctx.host);
  reportAll(ctx, plan.errors.filter((e) => !e.ctx.host));
  if (plan.changes.length === 0) {
    if (hostErrors.length) throw hostErrors[0];
    throw new GgnError(`unit ${ctx.target.unit} is on no machine`, { unit: ctx.target.unit });
  }
  return machinesOf(plan);
}

export class Status extends GgnCommand {
  static override examples = ['ggn prod cassandra cass1 status'];
  static override flags = { parallel: parallelFlag };

  async run(): Promise<number> {
    const flags = await this.flags(Status.flags);
    return withDriver(this.ctx, flags.parallel, async (d) => {
      let failed = 0;
      for (const { machine, unit } of await locate(this, d)) {
        try {
          const r = await d.systemctl(machine, 'status', [unit], { allowCodes: [3, 4], extra: ['--no-pager', '--full'] });
          this.print(`# ${unit} on ${machine}`);
          this.ctx.out.write(r.stdout.endsWith('\n') || r.stdout === '' ? r.stdout : r.stdout + '\n');
        } catch (e) {
          failed++;
          reportError(this.ctx, e);
        }
      }
      return failed ? 1 : 0;
    });
  }
}

export class Journal extends GgnCommand {
  static override examples = ['ggn prod cassandra cass1 journal -l 100', 'ggn prod cassandra cass1 journal -f'];
  static override flags = {
    follow: Flags.boolean({ char: 'f', description: 'keep printing new entries (through the OpenSSH client)' }),
    lines: Flags.integer({ char: 'l', description: 'how many recent lines', default: 50, min: 0, helpValue: 'N' }),
  };

  async run(): Promise<number> {
    const flags = await this.flags(Journal.flags);
    return withDriver(this.ctx, 20, async (d) => {
      const where = await locate(this, d);
      if (flags.follow) {
        if (where.length > 1) throw new GgnError(`the unit runs on ${where.map((w) => w.machine).join(', ')}: -f follows one machine; pick the unit name of one host`);
        const { machine, unit } = where[0];
        const argv = opensshArgv(d.host(machine), d.journalArgv(unit, flags.lines, true));
        return spawnSync(argv[0], argv.slice(1), { stdio: 'inherit' }).status ?? 1;
      }
      let failed = 0;
      for (const { machine, unit } of where) {
        try {
          const r = await d.run(machine, d.journalArgv(unit, flags.lines, false), `journalctl -u ${unit}`, { allowCodes: [1] });
          this.print(`# ${unit} on ${machine}`);
          this.ctx.out.write(r.stdout + (r.code ? r.stderr : ''));
          // journalctl says why it shows nothing on stderr, exit 0: a login that may not read the
          // system journal (scope system without sudo, not in systemd-journal/adm) gets
          // "-- No entries --" and, here, the hint naming those groups
          const why = r.code ? '' : journalNotes(r.stderr);
          if (why) this.ctx.err.write(`host ${machine}: journalctl: ${why}\n`);
        } catch (e) {
          failed++;
          reportError(this.ctx, e);
        }
      }
      return failed ? 1 : 0;
    });
  }
}

/** journalctl's own notes on stderr (not sudo's warnings), one line. */
export function journalNotes(stderr: string): string {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^sudo: /.test(l))
    .join(' ');
}

export class Ssh extends GgnCommand {
  static override examples = ['ggn prod cassandra cass1 ssh', 'ggn prod cassandra cass1 ssh -- systemctl status'];
  static override flags = {};

  async run(): Promise<number> {
    const dash = this.argv.indexOf('--');
    const remote = dash >= 0 ? this.argv.slice(dash + 1) : [];
    this.argv.splice(dash >= 0 ? dash : this.argv.length);
    await this.flags(Ssh.flags);
    return withDriver(this.ctx, 20, async (d) => {
      const where = await locate(this, d);
      const { machine } = where[0];
      const argv = opensshArgv(d.host(machine), remote, { tty: remote.length === 0 && !!process.stdin.isTTY });
      return spawnSync(argv[0], argv.slice(1), { stdio: 'inherit' }).status ?? 1;
    });
  }
}
