/** status, journal and ssh: look at one unit where it runs. */
import { spawnSync } from 'node:child_process';
import * as Flags from './flags';
import { GgnError } from '../src/errors';
import { buildPlan, focusNamedSlot } from '../src/plan/build';
import { locateUnit, Located } from '../src/plan/locate';
import { Driver, missingCapability } from '../src/drivers/types';
import { GgnCommand } from './base';
import { reportError } from './errors';
import { parallelFlag, reportAll, withDriver } from './live';

async function locate(cmd: GgnCommand, d: Driver): Promise<Located[]> {
  const { ctx } = cmd;
  const plan = focusNamedSlot(await buildPlan(ctx.ws, d, { env: ctx.target.env, service: ctx.target.service, unit: ctx.target.unit }), ctx.target.unit);
  reportAll(
    ctx,
    plan.errors.filter((e) => !e.ctx.host),
  );
  return locateUnit(plan, ctx.target.unit);
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
          if (!d.status) throw missingCapability(d, 'show a unit status');
          const text = await d.status(machine, unit);
          this.print(`# ${unit} on ${machine}`);
          this.ctx.out.write(text.endsWith('\n') || text === '' ? text : text + '\n');
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
        if (where.length > 1)
          throw new GgnError(`the unit runs on ${where.map((w) => w.machine).join(', ')}: -f follows one machine; pick the unit name of one host`);
        const { machine, unit } = where[0];
        if (!d.followJournalCommand) throw missingCapability(d, 'follow a journal');
        const argv = d.followJournalCommand(machine, unit, flags.lines);
        return spawnSync(argv[0], argv.slice(1), { stdio: 'inherit' }).status ?? 1;
      }
      let failed = 0;
      for (const { machine, unit } of where) {
        try {
          if (!d.journal) throw missingCapability(d, 'read a journal');
          const text = await d.journal(machine, unit, flags.lines);
          this.print(`# ${unit} on ${machine}`);
          this.ctx.out.write(text.text);
          if (text.notes) this.ctx.err.write(`host ${machine}: journalctl: ${text.notes}\n`);
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
      if (!d.shellCommand) throw missingCapability(d, 'open a shell on a machine');
      const argv = d.shellCommand(machine, remote, remote.length === 0 && !!process.stdin.isTTY);
      return spawnSync(argv[0], argv.slice(1), { stdio: 'inherit' }).status ?? 1;
    });
  }
}
