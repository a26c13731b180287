import { buildPlan } from '../src/plan/build';
import { serviceOfTimer } from '../src/render/names';
import { problemsOf } from '../src/plan/problems';
import { table } from '../src/report/table';
import { problemJson, unitJson } from '../src/report/json';
import { GgnCommand } from './base';
import { jsonFlag, parallelFlag, reportAll, withDriver } from './live';

export default class Check extends GgnCommand {
  static override description = `Exit 0 when every unit in scope is present on its machine, identical to the tree and
active (running, or waiting for a timer); exit 2 with a table of what is wrong otherwise; exit 1 when
a host could not be checked. On a terminal, stderr counts the hosts read while a long read runs.`;
  static override examples = ['ggn prod check', 'ggn prod cassandra check --json'];
  static override flags = { json: jsonFlag, parallel: parallelFlag };

  async run(): Promise<number> {
    const flags = await this.flags(Check.flags);
    const { ctx } = this;
    const plan = await withDriver(ctx, flags.parallel, (d) => buildPlan(ctx.ws, d, ctx.target), { progress: true });
    const timers = new Set(plan.rendered.filter((u) => u.kind === 'timer').map((u) => serviceOfTimer(u.name)));
    const problems = problemsOf(plan.changes, timers);
    if (flags.json) {
      this.print(
        JSON.stringify(
          {
            ok: problems.length === 0 && plan.errors.length === 0,
            checked: plan.changes.length,
            problems: problems.map(({ c, problem }) => ({ ...unitJson(c), problem })),
            errors: plan.errors.map(problemJson),
          },
          null,
          2,
        ),
      );
      // The errors are in the JSON, and on stderr for the job's log.
      reportAll(ctx, plan.errors);
    } else {
      if (problems.length)
        ctx.out.write(
          table(
            ['UNIT', 'MACHINE', 'PROBLEM'],
            problems.map(({ c, problem }) => [c.unit, c.machine, problem]),
          ),
        );
      reportAll(ctx, plan.errors);
      this.print(
        `${plan.changes.length - problems.length} of ${plan.changes.length} units ok` +
          (problems.length ? `, ${problems.length} with problems` : '') +
          (plan.errors.length ? `, ${plan.errors.length} error(s)` : ''),
      );
    }
    if (plan.errors.length) return 1;
    return problems.length ? 2 : 0;
  }
}
