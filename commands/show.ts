/** `ggn show <plan.json>`: a saved plan (from `diff --out`), for review before `update --plan`. */
import { readPlanFile } from '../src/plan/file';
import { printable } from '../src/report/printable';
import { summaryLine, unifiedDiff } from '../src/report/diff';
import { UnitChange } from '../src/plan/diff';
import { colorsFor } from '../src/report/terminal';
import { formatError } from './errors';

export async function runShow(args: string[], io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream }): Promise<number> {
  if (args.length !== 1 || args[0].startsWith('-')) {
    io.err.write('error: usage: ggn show <plan.json> (a plan written by `ggn <env> diff --out <file>`)\nSee: ggn --help\n');
    return 2;
  }
  let plan: ReturnType<typeof readPlanFile>;
  try {
    plan = readPlanFile(args[0]);
  } catch (e) {
    io.err.write(`error: ${printable(formatError(e))}\n`);
    return 1;
  }
  const colors = colorsFor(io.out);
  const scope = [plan.env, plan.service, plan.unit].filter(Boolean).join(' ');
  const tree = plan.tree.commit ? `tree at ${plan.tree.commit.slice(0, 12)}${plan.tree.dirty ? ' with uncommitted changes' : ''}` : 'tree not in git';
  io.out.write(printable(`plan for ${scope}, made ${plan.createdAt} by ggn ${plan.ggnVersion}, ${tree}`) + '\n');
  const changes: UnitChange[] = [];
  for (const u of plan.units) {
    const c: UnitChange = { kind: u.kind, unit: u.unit, service: u.service, machine: u.machine, live: u.live.content, desired: u.desired?.content };
    changes.push(c);
    if (u.kind === 'unchanged') continue;
    io.out.write(colors.bold(printable(`# ${u.unit} on ${u.machine}: ${u.kind}${u.live.state ? ` (now ${u.live.state})` : ''}`)) + '\n');
    const hidden = (u.live.hash !== '-' && u.live.content === undefined) || (u.desired !== null && u.desired.content === undefined);
    if (hidden)
      io.out.write(
        printable(`  holds a secret: only hashes are kept (${u.live.hash} -> ${u.desired?.hash ?? 'removed'}); it is rendered again when applied`) + '\n',
      );
    else io.out.write(unifiedDiff(c, colors));
  }
  io.out.write(`${summaryLine(changes)}\n`);
  return 0;
}
