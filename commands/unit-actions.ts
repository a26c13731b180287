/** start, stop, restart, load, unload, destroy: one unit (and its timer) on its machine(s). */
import * as Flags from './flags';
import { DEFAULT_LOCK_TTL, withServiceLock } from '../src/apply/lock';
import { checkTtl } from '../src/apply/lock/common';
import { realClock } from '../src/apply/types';
import { GgnError, toGgnError } from '../src/errors';
import { problemJson } from '../src/report/json';
import { lockBackendFor } from '../src/apply/update';
import { unitAction, UnitAction } from '../src/apply/unit-actions';
import { whoAmI } from '../src/tree/home';
import { GgnCommand } from './base';
import { reportError } from './errors';
import { parallelFlag, reportAll, withDriver } from './live';
import { confirm, isInteractive } from './prompt';
import { stopOnSignals } from './signals';

const FLAGS = {
  yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation' }),
  parallel: parallelFlag,
  'lock-wait': Flags.string({ description: 'wait this long for a held service lock instead of failing at once', default: '0s', helpValue: 'DURATION' }),
  'lock-ttl': Flags.string({ description: 'how long the lock outlives a dead run (a live run renews it)', default: DEFAULT_LOCK_TTL, helpValue: 'DURATION' }),
  json: Flags.boolean({ description: 'one JSON object on stdout: what was done on each host, errors, the exit code' }),
};

/** Actions that change what runs take the service lock for their duration (as update does). */
const LOCKED: UnitAction[] = ['start', 'stop', 'restart', 'destroy'];

function actionCommand(action: UnitAction) {
  return class extends GgnCommand {
    static override examples = [`ggn prod cassandra cass1 ${action}`];
    static override flags = FLAGS;

    async run(): Promise<number> {
      const flags = await this.flags(FLAGS);
      const { ctx } = this;
      const scope = { env: ctx.target.env, service: ctx.target.service!, unit: ctx.target.unit! };
      const ttlMs = Flags.durationValue(flags['lock-ttl'], 'lock-ttl', checkTtl);
      const waitMs = Flags.durationValue(flags['lock-wait'], 'lock-wait');
      if (action === 'destroy' && !flags.yes) {
        if (!isInteractive()) {
          reportError(ctx, new Error('destroy removes units from hosts: pass -y to confirm when not on a terminal'));
          return 1;
        }
        if (!(await confirm(`Destroy ${scope.unit} of ${scope.service} in ${scope.env} (stop it and remove its files)?`))) {
          this.print('nothing done');
          return 1;
        }
      }
      const stop = stopOnSignals(ctx, 'the action in progress finishes, then the lock is released');
      let lockErrors: GgnError[] = [];
      let result: Awaited<ReturnType<typeof unitAction>> | undefined;
      let failure: GgnError | undefined;
      try {
        result = await withDriver(ctx, flags.parallel, async (d) => {
          if (!LOCKED.includes(action)) return unitAction(ctx.ws, d, scope, action);
          const lock = lockBackendFor(ctx.ws, d, scope.env, realClock);
          try {
            await lock.check();
            const outcome = await withServiceLock(
              lock,
              scope.service,
              {
                holder: whoAmI(ctx.ws.home),
                message: `${action} ${scope.unit}`,
                ttlMs,
                waitMs,
                signal: stop.signal,
                clock: realClock,
                unlockCommand: `ggn ${scope.env} ${scope.service} unlock --force`,
              },
              () => unitAction(ctx.ws, d, scope, action),
            );
            lockErrors = [outcome.lost, outcome.releaseError].filter((e): e is GgnError => !!e);
            if (outcome.error) throw outcome.error;
            return outcome.value!;
          } finally {
            await lock.close();
          }
        });
      } catch (e) {
        // With --json a failure is JSON too: it is reported below with the rest.
        if (!flags.json) throw e;
        failure = toGgnError(e, scope);
      } finally {
        stop.dispose();
      }
      const plan = result?.plan;
      const outcomes = result?.outcomes ?? [];
      const errors = [...(failure ? [failure] : []), ...lockErrors, ...(plan?.errors ?? [])];
      reportAll(ctx, errors);
      let failed = errors.length;
      for (const o of outcomes) {
        // With --json, stdout carries JSON only.
        if (o.done.length) (flags.json ? ctx.err : ctx.out).write(`${o.machine}: ${o.done.join(', ')}\n`);
        if (o.error) {
          failed++;
          reportError(ctx, o.error);
        }
      }
      const code = stop.exitCode() ?? (failed ? 1 : 0);
      if (flags.json)
        ctx.out.write(
          `${JSON.stringify({
            action,
            ...scope,
            hosts: outcomes.map((o) => ({ host: o.machine, done: o.done, error: o.error ? problemJson(o.error) : null })),
            errors: errors.map(problemJson),
            exitCode: code,
          })}\n`,
        );
      return code;
    }
  };
}

export const Load = actionCommand('load');
export const Start = actionCommand('start');
export const Stop = actionCommand('stop');
export const Restart = actionCommand('restart');
export const Unload = actionCommand('unload');
export const Destroy = actionCommand('destroy');
