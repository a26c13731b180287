import * as path from 'node:path';
import * as Flags from './flags';
import { generate } from '../src/render/generate';
import { GgnCommand } from './base';
import { reportError, reportWarning } from './errors';

export default class Generate extends GgnCommand {
  static override description = `Renders the unit templates of the env, service or unit and writes
<workPath>/env/<env>/services/<svc>/units/<envName>_<svc>_<host>.service (and .timer).
A unit whose template fails is not written; other services and units still are; exit 1 if any failed.`;
  static override examples = ['ggn prod generate', 'ggn prod cassandra generate', 'ggn prod cassandra cass1 generate'];
  static override flags = {
    quiet: Flags.boolean({ char: 'q', description: 'print only errors' }),
  };

  async run(): Promise<number> {
    const flags = await this.flags(Generate.flags);
    const { ws, target } = this.ctx;
    const outcomes = await generate(ws, { env: target.env, service: target.service, unit: target.unit });
    const rel = (p: string) => path.relative(ws.home.workPath, p);
    let failed = 0;
    let written = 0;
    let unchanged = 0;
    for (const o of outcomes) {
      written += o.written.length;
      unchanged += o.unchanged.length;
      if (!flags.quiet) for (const f of o.written) this.print(`wrote ${rel(f)}`);
      for (const w of o.warnings) reportWarning(this.ctx, w);
      for (const e of o.errors) {
        failed++;
        reportError(this.ctx, e);
      }
    }
    if (!flags.quiet || failed) {
      const what = `${written} written, ${unchanged} unchanged` + (failed ? `, ${failed} failed` : '');
      (failed ? this.ctx.err : this.ctx.out).write(`generate ${target.env}${target.service ? '/' + target.service : ''}: ${what}\n`);
    }
    return failed ? 1 : 0;
  }
}
