/** update and rollback: host by host, with gates, locks, hooks, and restore on failure. */
import * as Flags from './flags';
import { DEFAULT_LOCK_TTL } from '../src/apply/lock/run';
import { checkTtl } from '../src/apply/lock/common';
import { createReporter, TerminalReporter } from '../src/apply/reporters';
import { DEFAULT_SETTLE, parseBatches, PromptAnswer, RolloutItem } from '../src/apply/rollout';
import { realClock } from '../src/apply/types';
import { Mode, ServiceResult, update } from '../src/apply/update';
import { describePrune, PruneItem } from '../src/apply/prune';
import { rollbackRefProblem } from '../src/apply/rollback-target';
import { readPlanFile } from '../src/plan/file';
import { LivePlan } from '../src/plan/build';
import { PLAIN as PLAIN_COLORS, unifiedDiff } from '../src/report/diff';
import { whoAmI } from '../src/tree/home';
import { GgnCommand } from './base';
import { reportError } from './errors';
import { printable } from '../src/report/printable';
import { withDriver } from './live';
import { colorsFor } from '../src/report/terminal';
import { DEFAULT_HOST_PARALLEL } from '../src/drivers';
import { ask, isInteractive } from './prompt';
import { stopOnSignals } from './signals';
import { UsageError } from './globals';
import { toGgnError } from '../src/errors';

const FLAGS = {
  yes: Flags.boolean({ char: 'y', description: 'do not ask: go through every unit (needed without a terminal, and for more than one unit at a time)' }),
  all: Flags.boolean({ description: 'touch every unit, even those that are up to date and running' }),
  force: Flags.boolean({ description: 'update the unit even when it is up to date (unit level)' }),
  parallel: Flags.integer({ description: "units at once (overrides the manifest's concurrentUpdater)", min: 1, helpValue: 'N' }),
  batch: Flags.string({ description: 'batches instead of a sliding window: sizes or percentages, the last repeating', helpValue: '1,25%,100%' }),
  timeout: Flags.string({ description: 'how long a unit may take to become active', default: '60s', helpValue: 'DURATION' }),
  'max-fail': Flags.integer({ description: 'failed units tolerated before the rollout stops', default: 0, min: 0, helpValue: 'N' }),
  'lock-wait': Flags.string({ description: 'wait this long for a held lock instead of failing at once', default: '0s', helpValue: 'DURATION' }),
  'lock-ttl': Flags.string({
    description: 'how long the lock outlives a dead run (a live run renews it every third of this)',
    default: DEFAULT_LOCK_TTL,
    helpValue: 'DURATION',
  }),
  settle: Flags.string({
    description: 'how long a started service must stay up (same PID, no restart) to count as started',
    default: DEFAULT_SETTLE,
    helpValue: 'DURATION',
  }),
  json: Flags.boolean({ description: 'stdout: one JSON event per line (unit, host, step, result, duration), then a summary line' }),
  prune: Flags.boolean({ description: "update: then remove the service's units that are live but no longer in the tree (as `prune`)" }),
  plan: Flags.string({
    description: 'apply exactly this plan (made by `diff --out`); refused, naming what moved, if hosts or tree changed since',
    helpValue: 'FILE',
  }),
  to: Flags.string({
    description: 'back to the revision with this content hash (list-units, history), or to what ran after the change made from this git commit (history)',
    helpValue: 'HASH|COMMIT',
  }),
  'dry-run': Flags.boolean({ description: 'print each step it would take, per unit and host, and change nothing (no lock, no hook)' }),
};

/** The flags that mean something for `mode`. */
function flagsFor(mode: Mode): Partial<typeof FLAGS> {
  const not: Record<Mode, (keyof typeof FLAGS)[]> = {
    update: ['to'],
    rollback: ['prune', 'plan', 'all', 'force'],
    prune: ['to', 'all', 'force', 'parallel', 'batch', 'max-fail', 'prune', 'timeout', 'settle'],
  };
  return Object.fromEntries(Object.entries(FLAGS).filter(([k]) => !not[mode].includes(k as keyof typeof FLAGS)));
}

function rolloutCommand(mode: Mode) {
  return class extends GgnCommand {
    static override description =
      mode === 'update'
        ? `Only units that differ from the tree or are not running are touched (--all: every unit). Per unit:
early hooks, atomic write (the replaced bytes are kept as a revision), daemon-reload, restart (a unit
with a timer: the timer), wait until active (--timeout), health gate (hooks/command/* and the
manifest's healthCheck), late hooks. A failing unit gets its previous bytes back and is restarted,
and the rollout stops (--max-fail N to go on). --timeout bounds the whole start (ExecStartPre too).
The service lock is held by this run alone and renewed while it works; a run that dies leaves it
stale after --lock-ttl. On a terminal without -y you are asked per unit: yes / skip / diff / quit.
Progress on a terminal: a line per unit once it ends, and below them the units in flight and a
count of all, rewritten in place; in a log or a pipe a timestamped line per step; --json: events.
Ctrl-C, SIGTERM and SIGHUP start no new unit, interrupt the waits of the units in flight and
restore them, release the lock and exit 130, 143 and 129.`
        : mode === 'rollback'
          ? `For every unit of the service, the newest revision kept on its host (ggn keeps the last 5) is
written back and the unit restarted, with the same gates, hooks, lock and restore as update.
--to HASH: back to the kept revision with that content hash (as list-units and history show it).
--to COMMIT: every unit back to what it ran after the change made from that tree commit (history
shows the commits). A unit that cannot go back refuses the whole rollback before any change.`
          : `Removes the units that are live on a host but no longer in the tree (orphans, as diff shows them),
per service under its lock: stop (the timer first), remove the files (each kept as a revision on the
host), daemon-reload, reset-failed, with an audit line. Asks per unit on a terminal (yes / skip / quit),
needs -y otherwise; --dry-run lists them. A failure stops the prune of that service.`;
    static override examples =
      mode === 'update'
        ? [
            'ggn prod cassandra update',
            'ggn prod cassandra update -y --batch 1,25%,100%',
            'ggn prod update -y --json',
            'ggn prod cassandra cass1 update --force',
          ]
        : mode === 'rollback'
          ? [
              'ggn prod cassandra rollback',
              'ggn prod cassandra cass1 rollback -y',
              'ggn prod cassandra cass1 rollback --to 3f2a9c1e0b7d',
              'ggn prod rollback --to 9e1c0a7 -y',
            ]
          : ['ggn prod prune --dry-run', 'ggn prod cassandra prune -y', 'ggn prod update -y --prune'];
    // Help shows the flags that go with this verb; the others are refused with a reason when given.
    static override flags = flagsFor(mode);

    async run(): Promise<number> {
      const flags = await this.flags(FLAGS);
      const { ctx } = this;
      const interactive = isInteractive();
      const dryRun = flags['dry-run'];
      if (!flags.yes && !interactive && !dryRun) {
        reportError(ctx, new Error(`${mode} changes hosts: pass -y to run it without a terminal`));
        return 1;
      }
      if (mode === 'prune') {
        const bad = (['all', 'force', 'parallel', 'batch', 'max-fail', 'prune'] as const).filter((f) => (f === 'max-fail' ? flags[f] !== 0 : !!flags[f]));
        if (bad.length) throw new UsageError(`prune does not take --${bad[0]}: it removes orphans one at a time`);
      }
      if (mode === 'rollback' && flags.prune) throw new UsageError('--prune goes with update (or run prune)');
      if (mode === 'rollback' && (flags.all || flags.force))
        throw new UsageError(`rollback does not take --${flags.all ? 'all' : 'force'}: it puts back every unit that has a revision to go back to`);
      if (mode !== 'rollback' && flags.to !== undefined) throw new UsageError(`--to goes with rollback: ${mode} applies the tree`);
      if (flags.to !== undefined && rollbackRefProblem(flags.to)) throw new UsageError(rollbackRefProblem(flags.to));
      if (mode === 'rollback' && flags.plan)
        throw new UsageError('--plan applies a plan made by diff, with update or prune; rollback takes the revisions kept on the hosts');
      const saved = flags.plan ? { plan: readPlanFile(flags.plan), file: flags.plan } : undefined;
      if (saved && saved.plan.env !== ctx.target.env) throw new UsageError(`${flags.plan} is a plan for env ${saved.plan.env}, not ${ctx.target.env}`);
      if (saved && (ctx.target.service ?? null) !== null && ctx.target.service !== saved.plan.service)
        throw new UsageError(`${flags.plan} is a plan for ${saved.plan.service ?? 'the whole env'}: run ggn ${saved.plan.env} ${mode} --plan ${flags.plan}`);
      if (flags.parallel !== undefined && flags.batch) throw new UsageError('--parallel and --batch do not go together: batches set how many units go at once');
      if (flags.parallel !== undefined && flags.parallel > 1 && !flags.yes)
        throw new UsageError('--parallel needs -y: without it, units are asked for one at a time');
      // Every flag's value checked before any host is contacted (a usage error, exit 2).
      const timeoutMs = Flags.durationValue(flags.timeout, 'timeout', Flags.positive);
      const settleMs = Flags.durationValue(flags.settle, 'settle');
      const lockTtlMs = Flags.durationValue(flags['lock-ttl'], 'lock-ttl', checkTtl);
      const lockWaitMs = Flags.durationValue(flags['lock-wait'], 'lock-wait');
      let batches: ReturnType<typeof parseBatches> | undefined;
      try {
        batches = flags.batch ? parseBatches(flags.batch) : undefined;
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const stop = stopOnSignals(ctx, 'no new units; units in flight are restored, then the lock is released');
      const tty = !!(ctx.out as NodeJS.WriteStream).isTTY && !dryRun && !flags.json;
      // Asked at a terminal: plain lines while asking, the live task list once the user said "all".
      const terminal = tty && !flags.yes ? new TerminalReporter(ctx.out) : undefined;
      const reporter = terminal ?? createReporter({ json: flags.json, tty: tty && flags.yes, out: ctx.out });
      const asking =
        <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
        async (...a: A): Promise<R> => {
          await terminal?.pause();
          return fn(...a);
        };
      let results: ServiceResult[] = [];
      try {
        results = await withDriver(
          ctx,
          DEFAULT_HOST_PARALLEL,
          (driver) =>
            update(
              ctx.ws,
              driver,
              {
                clock: realClock,
                reporter,
                prompt: flags.yes || dryRun ? undefined : (item, plan) => askUnit(this, item, plan),
                confirmPlan:
                  flags.yes || dryRun || mode === 'prune'
                    ? undefined
                    : asking(async (service: string, items: RolloutItem[], plan: LivePlan) => {
                        const answer = await askPlan(this, mode, service, items, plan);
                        if (answer === 'all') terminal?.live();
                        return answer;
                      }),
                who: whoAmI(ctx.ws.home),
                logLevel: ctx.globals.logLevel,
              },
              {
                mode,
                scope: saved
                  ? { env: saved.plan.env, service: saved.plan.service ?? undefined, unit: saved.plan.unit ?? undefined }
                  : { env: ctx.target.env, service: ctx.target.service, unit: ctx.target.unit },
                planFile: saved,
                rollbackTo: flags.to,
                all: flags.all,
                force: flags.force || (mode === 'update' && !!ctx.target.unit && flags.all),
                parallel: flags.parallel ?? (flags.yes ? undefined : 1),
                batches,
                timeoutMs,
                settleMs,
                pollMs: 100,
                maxFail: flags['max-fail'],
                lockTtlMs,
                lockWaitMs,
                signal: stop.signal,
                dryRun,
                prune: flags.prune,
                prunePrompt: flags.yes || dryRun ? undefined : asking(askPrune),
              },
            ),
          // The hosts read are counted (silent for tens of seconds at 200 hosts otherwise): on
          // their own line while questions are asked, else among the live task list's lines.
          { progress: terminal ? () => !terminal.isLive() : false, onReadProgress: (done, total) => reporter.reading?.(done, total) },
        );
      } catch (e) {
        // With --json a failure before any service ran (the lock backend, the driver) is JSON too.
        if (!flags.json || e instanceof UsageError) throw e;
        results = [{ service: ctx.target.service ?? '', error: toGgnError(e, { env: ctx.target.env }) }];
      } finally {
        await reporter.close();
        stop.dispose();
      }
      const failed = this.report(results, flags.json);
      const code = stop.exitCode() ?? (failed ? 1 : 0);
      if (flags.json) ctx.out.write(JSON.stringify(jsonSummary(results, code)) + '\n');
      return code;
    }

    /** Prints what happened per service; true when anything failed. */
    private report(results: ServiceResult[], json: boolean): boolean {
      const { ctx } = this;
      // With --json, stdout carries JSON only: the human summary goes to stderr.
      const human = json ? ctx.err : ctx.out;
      let failed = false;
      for (const r of results) {
        if (r.lockLost) {
          failed = true;
          reportError(ctx, r.lockLost);
        }
        if (r.releaseError) {
          failed = true;
          reportError(ctx, r.releaseError);
        }
        if (r.error) {
          failed = true;
          reportError(ctx, r.error);
          continue;
        }
        if (r.prune) {
          const p = r.prune;
          for (const f of p.failed) {
            failed = true;
            ctx.err.write(`error: ${f.id}: prune failed at ${f.step}: ${f.message}\n`);
          }
          if (p.stopped === 'quit') failed = true;
          const parts = [`${p.pruned.length} pruned`];
          if (p.failed.length) parts.push(`${p.failed.length} failed`);
          if (p.skipped.length) parts.push(`${p.skipped.length} skipped`);
          if (p.notStarted.length) parts.push(`${p.notStarted.length} not started`);
          if (mode === 'prune' || p.pruned.length + p.failed.length + p.skipped.length > 0)
            human.write(
              `${ctx.target.env}/${r.service}: ${parts.join(', ')}${p.stopped ? ` (${p.stopped === 'failure' ? 'stopped after a failure' : p.stopped})` : ''}\n`,
            );
          if (mode === 'prune') continue;
        }
        if (r.planned) {
          human.write(
            `${ctx.target.env}/${r.service}: dry run: ${r.planned.length} unit(s) would be ${mode === 'update' ? 'updated' : mode === 'prune' ? 'pruned' : 'rolled back'}, nothing changed\n`,
          );
          continue;
        }
        const s = r.summary;
        if (!s) continue;
        if (s.auditFailures.length) {
          failed = true;
          ctx.err.write(`error: ${s.auditFailures.length} audit line(s) could not be written (first: ${s.auditFailures[0]})\n`);
        }
        const interrupted = s.failed.filter((f) => f.message === 'interrupted');
        for (const f of s.failed) {
          const restored = f.restored ? 'restored to its previous version' : 'RESTORE FAILED: check it by hand';
          if (f.message === 'interrupted') {
            if (!f.restored) failed = true;
            ctx.err.write(`${f.restored ? 'stopped' : 'error'}: unit ${f.unit}, host ${f.machine}: ${mode} interrupted at ${f.step} (${restored})\n`);
            continue;
          }
          failed = true;
          ctx.err.write(
            `error: unit ${f.unit}, host ${f.machine}: ${mode} failed at ${f.step}: ${f.message.split('\n').slice(-3).join(' | ')} (${restored})\n`,
          );
          if (f.detail) {
            if (f.detail.journal === undefined) ctx.err.write('  (no journal on this host)\n');
            else if (f.detail.journal.length === 0) ctx.err.write('  (the journal has no lines for this unit)\n');
            else ctx.err.write(`  last journal lines of ${f.unit} on ${f.machine}:\n${f.detail.journal.map((l) => `    ${printable(l)}\n`).join('')}`);
          }
        }
        const parts = [`${s.ok.length} ${mode === 'update' ? 'updated' : 'rolled back'}`];
        if (s.failed.length > interrupted.length) parts.push(`${s.failed.length - interrupted.length} failed`);
        if (interrupted.length) parts.push(`${interrupted.length} interrupted and ${interrupted.every((f) => f.restored) ? 'restored' : 'NOT all restored'}`);
        if (s.skipped.length) parts.push(`${s.skipped.length} skipped`);
        if (s.notStarted.length) parts.push(`${s.notStarted.length} not started`);
        // Quitting at the prompt is not success: what was not done is listed above.
        if (s.stopped === 'quit') failed = true;
        const why =
          s.stopped === 'failure' ? ' (stopped after a failure)' : s.stopped === 'quit' ? ' (quit)' : s.stopped === 'interrupted' ? ' (interrupted)' : '';
        human.write(`${ctx.target.env}/${r.service}: ${parts.join(', ')}${why}\n`);
        // What was not done, by name: the next run (or a person) takes it from here.
        if (s.notStarted.length && s.stopped) human.write(`  not started: ${s.notStarted.join(', ')}\n`);
      }
      return failed;
    }
  };
}

/** The last line of `--json`: what happened per service, and the exit code. */
function jsonSummary(results: ServiceResult[], exitCode: number): object {
  return {
    summary: {
      exitCode,
      services: results.map((r) => ({
        service: r.service,
        nothingToDo: !!r.nothingToDo,
        ok: r.summary?.ok ?? [],
        failed: (r.summary?.failed ?? []).map((f) => ({
          unit: f.unit,
          host: f.machine,
          step: f.step,
          message: f.message,
          restored: f.restored,
          ...(f.detail
            ? {
                systemd: { result: f.detail.result, state: f.detail.state, exitStatus: f.detail.exitStatus ?? null, signal: f.detail.signal ?? null },
                journal: f.detail.journal ?? null,
              }
            : {}),
        })),
        skipped: r.summary?.skipped ?? [],
        notStarted: r.summary?.notStarted ?? [],
        stopped: r.summary?.stopped ?? null,
        auditFailures: r.summary?.auditFailures ?? [],
        errors: [r.error, r.lockLost, r.releaseError].filter((e) => e).map((e) => ({ message: e!.message, ...e!.ctx })),
        ...(r.planned ? { dryRun: r.planned } : {}),
        ...(r.prune ? { prune: r.prune } : {}),
      })),
    },
  };
}

/** The whole plan of a service, by host, with a diffstat; then one question. */
async function askPlan(cmd: GgnCommand, mode: Mode, service: string, items: RolloutItem[], plan: LivePlan): Promise<'all' | 'each' | 'quit'> {
  const out = cmd.ctx.out;
  const colors = colorsFor(out);
  const byHost = new Map<string, RolloutItem[]>();
  for (const i of items) byHost.set(i.machine, [...(byHost.get(i.machine) ?? []), i]);
  let plus = 0;
  let minus = 0;
  out.write(colors.bold(`${cmd.ctx.target.env}/${service}: ${items.length} unit(s) to ${mode === 'rollback' ? 'roll back' : 'update'}`) + '\n');
  for (const [host, list] of [...byHost].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.write(`  ${host}\n`);
    for (const i of list) {
      let p = 0;
      let m = 0;
      for (const f of i.files.filter((x) => x.changed)) {
        const c = plan.changes.find((x) => x.unit === f.unit && x.machine === i.machine);
        const diff = unifiedDiff(
          { kind: 'changed', unit: f.unit, service: i.service, machine: i.machine, live: f.previous ?? undefined, desired: f.desired, secrets: c?.secrets },
          PLAIN_COLORS,
        );
        for (const l of diff.split('\n')) {
          if (l.startsWith('+') && !l.startsWith('+++')) p++;
          else if (l.startsWith('-') && !l.startsWith('---')) m++;
        }
      }
      plus += p;
      minus += m;
      out.write(`    ${i.timer ? `${i.main} + ${i.timer}` : i.main} (${i.reason})${p || m ? ` ${colors.green(`+${p}`)} ${colors.red(`-${m}`)}` : ''}\n`);
    }
  }
  out.write(`  ${items.length} unit(s) on ${byHost.size} host(s), ${plus} line(s) added, ${minus} removed\n`);
  for (;;) {
    const a = (await ask(`Apply: [a]ll ${items.length} / [u]nit by unit / [q]uit? `)).trim().toLowerCase();
    if (a === 'a' || a === 'all') return 'all';
    if (a === 'u' || a === 'unit' || a === 'unit by unit') return 'each';
    if (a === 'q' || a === 'quit') return 'quit';
  }
}

/** GGN's per-unit question: yes / skip / diff / quit. */
async function askUnit(cmd: GgnCommand, item: RolloutItem, plan: LivePlan): Promise<PromptAnswer> {
  for (;;) {
    const a = (
      await ask(`${item.reason === 'rollback' ? 'Roll back' : 'Update'} ${item.main} on ${item.machine} (${item.reason})? [y]es [s]kip [d]iff [q]uit: `)
    )
      .trim()
      .toLowerCase();
    if (a === 'y' || a === 'yes') return 'yes';
    if (a === 's' || a === 'skip') return 'skip';
    if (a === 'q' || a === 'quit') return 'quit';
    if (a === 'd' || a === 'diff') {
      for (const f of item.files) {
        const c = plan.changes.find((x) => x.unit === f.unit && x.machine === item.machine);
        const change = c ?? {
          kind: 'changed' as const,
          unit: f.unit,
          service: item.service,
          machine: item.machine,
          live: f.previous ?? undefined,
          desired: f.desired,
        };
        const label = f.fromRevision ? `revision ${f.fromRevision} kept on ${item.machine}` : undefined;
        cmd.ctx.out.write(unifiedDiff({ ...change, desired: f.desired, live: f.previous ?? undefined }, colorsFor(cmd.ctx.out), label));
      }
    }
  }
}

/** The per-orphan question: yes / skip / quit. */
async function askPrune(item: PruneItem): Promise<'yes' | 'skip' | 'quit'> {
  for (;;) {
    const a = (await ask(`Prune ${describePrune(item)} (no longer in the tree)? [y]es [s]kip [q]uit: `)).trim().toLowerCase();
    if (a === 'y' || a === 'yes') return 'yes';
    if (a === 's' || a === 'skip') return 'skip';
    if (a === 'q' || a === 'quit') return 'quit';
  }
}

export const Update = rolloutCommand('update');
export const Prune = rolloutCommand('prune');
export const Rollback = rolloutCommand('rollback');
