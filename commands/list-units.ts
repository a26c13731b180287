import { UnitChange } from '../src/plan/diff';
import { buildPlan } from '../src/plan/build';
import { contentHash } from '../src/apply/audit';
import { deployedBy, readHistory } from '../src/apply/history';
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
    const { plan, history } = await withDriver(
      ctx,
      flags.parallel,
      async (d) => {
        const plan = await buildPlan(ctx.ws, d, ctx.target);
        return { plan, history: await readHistory(d, plan.envName, ctx.target.service) };
      },
      { progress: true },
    );
    // What runs where: the live content's hash, and the change that put it there (from the audit logs).
    // A node of a service with `rollout:`: its live slot, then its idle one when that has a file (compared with what the tree renders for it).
    const slotOf = new Map<UnitChange, { name: string; live: boolean }>();
    const listed = plan.changes.flatMap((c) => {
      const o = c.slot?.other;
      if (!c.slot) return [c];
      slotOf.set(c, { name: c.slot.name, live: true });
      if (!o || o.live === null) return [c];
      const idle: UnitChange = {
        kind: o.live === o.desired ? 'unchanged' : 'changed',
        unit: o.unit,
        service: c.service,
        machine: c.machine,
        live: o.live,
        state: o.state,
      };
      slotOf.set(idle, { name: o.name, live: false });
      return [c, idle];
    });
    const rows = listed.map((c) => {
      const revision = c.live === undefined ? null : contentHash(c.live);
      const by = revision ? deployedBy(history.entries, c.unit, c.machine, revision) : undefined;
      const slot = slotOf.get(c);
      return { ...unitJson(c), revision, deployed: by ? { by: by.who, at: by.time, action: by.action } : null, ...(slot ? { slot } : {}) };
    });
    const errors = [...plan.errors, ...history.errors];
    // With --json the errors are in the JSON, and on stderr for the job's log.
    if (flags.json) {
      this.print(JSON.stringify({ units: rows, errors: errors.map(problemJson) }, null, 2));
      reportAll(ctx, errors);
    } else {
      ctx.out.write(
        table(
          ['UNIT', 'MACHINE', 'TREE', 'LOAD', 'ACTIVE', 'SUB', 'REVISION', 'DEPLOYED'],
          rows.map((r) => [
            r.unit,
            r.host,
            r.slot && !r.slot.live ? `${r.kind} (idle slot)` : r.kind,
            r.state?.load ?? '-',
            r.state?.active ?? '-',
            r.state?.sub ?? '-',
            r.revision ?? '-',
            r.deployed ? `${r.deployed.at} by ${r.deployed.by} (${r.deployed.action})` : '-',
          ]),
        ),
      );
      reportAll(ctx, errors);
    }
    return errors.length ? 1 : 0;
  }
}
