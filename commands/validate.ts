import { validate } from '../src/render/validate';
import { GgnCommand } from './base';
import { reportError, reportWarning } from './errors';
import { jsonFlag } from './live';

export default class Validate extends GgnCommand {
  static override description = `Checks everything without contacting a host, and lists every problem (not only the first):
the home config and the env config (unknown keys with a "did you mean", types, lock, sizes, updateOrder,
machines), attribute files, partials, each service manifest (keys, nodes, healthCheck, ggnMinimalVersion)
and every unit template rendered for every node. A missing attribute (rendered as <no value>, as GGN did)
is a warning; with --strict or \`strict: true\` in the env config, an error.
Exit 0 when valid (warnings allowed), 1 when there are errors.`;
  static override examples = ['ggn prod validate', 'ggn prod cassandra validate --strict', 'ggn prod validate --json'];
  static override flags = { json: jsonFlag };

  async run(): Promise<number> {
    const flags = await this.flags(Validate.flags);
    const { ctx } = this;
    const r = validate(ctx.ws, ctx.target);
    const where = ctx.target.env + (ctx.target.service ? `/${ctx.target.service}` : '');
    if (flags.json) {
      const item = (e: { message: string; ctx: object }) => ({ message: e.message, ...e.ctx });
      this.print(
        JSON.stringify(
          { ok: r.errors.length === 0, services: r.services, units: r.units, errors: r.errors.map(item), warnings: r.warnings.map(item) },
          null,
          2,
        ),
      );
    } else {
      for (const w of r.warnings) reportWarning(ctx, w);
      for (const e of r.errors) reportError(ctx, e);
      const counts = `${r.services} service(s), ${r.units} unit(s)`;
      const problems = [r.errors.length ? `${r.errors.length} error(s)` : '', r.warnings.length ? `${r.warnings.length} warning(s)` : ''].filter(Boolean);
      (r.errors.length ? ctx.err : ctx.out).write(`validate ${where}: ${counts}: ${problems.length ? problems.join(', ') : 'ok'}\n`);
    }
    return r.errors.length ? 1 : 0;
  }
}
