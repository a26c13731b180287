import { buildPlan } from '../src/plan/build';
import { table } from '../src/report/table';
import { problemJson, unitJson } from '../src/report/json';
import { GgnCommand } from './base';
import { jsonFlag, parallelFlag, reportAll, withDriver } from './live';

export default class ListUnits extends GgnCommand {
  static override examples = ['ggn prod list-units', 'ggn prod cassandra list-units --json'];
  static override flags = { json: jsonFlag, parallel: parallelFlag };

  async run(): Promise<number> {
    const flags = await this.flags(ListUnits.flags);
    const { ctx } = this;
    const plan = await withDriver(ctx, flags.parallel, (d) => buildPlan(ctx.ws, d, ctx.target));
    const rows = plan.changes.map(unitJson);
    if (flags.json) this.print(JSON.stringify({ units: rows, errors: plan.errors.map(problemJson) }, null, 2));
    else {
      ctx.out.write(
        table(
          ['UNIT', 'MACHINE', 'TREE', 'LOAD', 'ACTIVE', 'SUB'],
          rows.map((r) => [r.unit, r.host, r.kind, r.state?.load ?? '-', r.state?.active ?? '-', r.state?.sub ?? '-']),
        ),
      );
      reportAll(ctx, plan.errors);
    }
    return plan.errors.length ? 1 : 0;
  }
}
