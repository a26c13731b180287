import * as path from 'node:path';
import * as Flags from './flags';
import { generate } from '../src/render/generate';
import { GgnCommand } from './base';
import { reportError, reportWarning } from './errors';
import { stopOnSignals } from './signals';

export default class Generate extends GgnCommand {
  static override description = `Renders the unit templates of the env, service or unit and writes
<workPath>/env/<env>/services/<svc>/units/<envName>_<svc>_<host>.service (and .timer).
A unit whose template fails is not written; other services and units still are; exit 1 if any failed.
Ctrl-C, SIGTERM or SIGHUP: nothing more is rendered, the unit being written is finished (no file
is ever half written, no temporary file is left), and the exit code is 128 + the signal.`;
  static override examples = ['ggn prod generate', 'ggn prod cassandra generate', 'ggn prod cassandra cass1 generate'];
  static override flags = {
    quiet: Flags.boolean({ char: 'q', description: 'print only errors' }),
  };

  async run(): Promise<number> {
    const flags = await this.flags(Generate.flags);
    const { ws, target } = this.ctx;
    const stop = stopOnSignals(this.ctx, 'the unit being written is finished, nothing more is rendered');
    const outcomes = await generate(ws, { env: target.env, service: target.service, unit: target.unit }, { signal: stop.signal }).finally(() => stop.dispose());
    const rel = (p: string) => path.relative(ws.home.workPath, p);
    let failed = 0;
    let written = 0;
    let unchanged = 0;
    let notWritten = 0;
    let notRendered = 0;
    for (const o of outcomes) {
      written += o.written.length;
      unchanged += o.unchanged.length;
      notWritten += o.notWritten;
      if (!o.rendered) notRendered++;
      if (!flags.quiet) for (const f of o.written) this.print(`wrote ${rel(f)}`);
      for (const w of o.warnings) reportWarning(this.ctx, w);
      for (const e of o.errors) {
        failed++;
        reportError(this.ctx, e);
      }
    }
    const where = `${target.env}${target.service ? '/' + target.service : ''}`;
    const what = `${written} written, ${unchanged} unchanged` + (failed ? `, ${failed} failed` : '');
    // What a stop (a signal, a full disk) left undone.
    const left = [notWritten ? `${notWritten} rendered but not written` : '', notRendered ? `${notRendered} of ${outcomes.length} services not rendered` : '']
      .filter(Boolean)
      .join(', ');
    const summary = `${what}${left ? `; ${left}` : ''}`;
    const signalled = stop.exitCode();
    if (signalled !== undefined) {
      this.ctx.err.write(`generate ${where}: stopped: ${summary}\n`);
      return signalled;
    }
    if (!flags.quiet || failed) (failed ? this.ctx.err : this.ctx.out).write(`generate ${where}: ${summary}\n`);
    return failed ? 1 : 0;
  }
}
