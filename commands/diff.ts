import * as Flags from './flags';
import { rolloutItems } from '../src/apply/rollout';
import { buildPlan } from '../src/plan/build';
import { planFile, writePlanFile } from '../src/plan/file';
import { planJson, renderDiff, summaryLine } from '../src/report/diff';
import { GgnCommand } from './base';
import { reportWarning } from './errors';
import { jsonFlag, parallelFlag, reportAll, withDriver } from './live';
import { colorsFor } from '../src/report/terminal';

export default class Diff extends GgnCommand {
  static override description = `Renders the units, reads what is live on every machine (one round trip per host),
places the units ([X-Fleet] rules) and prints a unified diff per unit and host: new units, changed
units, and orphans (units of this env on a host that the tree no longer puts there); then the units that
are up to date but not running (stopped or failed: update would start them).
Exit codes with --exit-code: 0 nothing to do, 2 changes or units not running, 1 error (Terraform's convention).
On a terminal, stderr counts the hosts read while a long read runs.`;
  static override examples = ['ggn prod cassandra diff', 'ggn prod diff --exit-code', 'ggn prod cassandra cass1 diff --json'];
  static override flags = {
    'exit-code': Flags.boolean({ description: 'exit 2 when there are changes or units not running, 0 when none, 1 on error' }),
    json: jsonFlag,
    parallel: parallelFlag,
    out: Flags.string({ description: 'also write the plan to this file, for review and for `update --plan` (applies exactly it)', helpValue: 'FILE' }),
  };

  async run(): Promise<number> {
    const flags = await this.flags(Diff.flags);
    const { ctx } = this;
    const plan = await withDriver(ctx, flags.parallel, (d) => buildPlan(ctx.ws, d, ctx.target), { progress: true });
    // Drift is also a unit that is up to date but stopped or failed, as check and update see it.
    const notRunning = rolloutItems(plan.changes, { all: false, force: false })
      .filter((i) => i.reason === 'not running')
      .map((i) => {
        const c = plan.changes.find((x) => x.machine === i.machine && x.unit === (i.timer ?? i.main));
        return { unit: i.timer ?? i.main, machine: i.machine, state: c?.state ? `${c.state.activeState}/${c.state.subState}` : 'not loaded' };
      });
    const changed = plan.changes.some((c) => c.kind !== 'unchanged') || notRunning.length > 0;
    // With --json the errors are in the JSON, and on stderr for the job's log.
    if (flags.json) {
      this.print(JSON.stringify(planJson(plan.changes, plan.errors, notRunning, plan.warnings), null, 2));
      reportAll(ctx, plan.errors);
    } else {
      ctx.out.write(renderDiff(plan.changes, colorsFor(ctx.out), notRunning));
      for (const w of plan.warnings) reportWarning(ctx, w);
      reportAll(ctx, plan.errors);
      this.print(summaryLine(plan.changes, notRunning) + (plan.errors.length ? `, ${plan.errors.length} error(s)` : ''));
    }
    if (plan.errors.length) return 1;
    if (flags.out) {
      writePlanFile(flags.out, planFile(plan, ctx.target, ctx.ws.home.workPath, new Date()));
      ctx.err.write(
        `plan written to ${flags.out}: review it with \`ggn show ${flags.out}\`, apply exactly it with \`ggn ${ctx.target.env} update --plan ${flags.out}\`\n`,
      );
    }
    return flags['exit-code'] && changed ? 2 : 0;
  }
}
