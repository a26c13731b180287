/** start, stop, restart, load, unload, destroy: one unit (and its timer) on its machine(s). */
import * as Flags from '@oclif/core/flags';
import { parseDuration } from '../src/apply/lock';
import { realClock } from '../src/apply/types';
import { lockBackendFor } from '../src/apply/update';
import { unitAction, UnitAction } from '../src/apply/unit-actions';
import { whoAmI } from '../src/tree/home';
import { GgnCommand } from './base';
import { reportError } from './errors';
import { parallelFlag, reportAll, withDriver } from './live';
import { confirm, isInteractive } from './prompt';


const FLAGS = {
  yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation' }),
  parallel: parallelFlag,
  'lock-wait': Flags.string({ description: 'wait this long for a held service lock instead of failing at once', default: '0s', helpValue: 'DURATION' }),
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
      const { plan, outcomes } = await withDriver(ctx, flags.parallel, async (d) => {
        if (!LOCKED.includes(action)) return unitAction(ctx.ws, d, scope, action);
        const lock = lockBackendFor(ctx.ws, d, scope.env, realClock);
        const who = whoAmI(ctx.ws.home);
        try {
          await lock.check();
          await lock.acquire(scope.service, { holder: who, message: `${action} ${scope.unit}`, ttlMs: 15 * 60_000, waitMs: parseDuration(flags['lock-wait']) });
          try {
            return await unitAction(ctx.ws, d, scope, action);
          } finally {
            await lock.release(scope.service, who);
          }
        } finally {
          await lock.close();
        }
      });
      reportAll(ctx, plan.errors);
      let failed = plan.errors.length;
      for (const o of outcomes) {
        if (o.done.length) this.print(`${o.machine}: ${o.done.join(', ')}`);
        if (o.error) {
          failed++;
          reportError(ctx, o.error);
        }
      }
      return failed ? 1 : 0;
    }
  };
}

export const Load = actionCommand('load');
export const Start = actionCommand('start');
export const Stop = actionCommand('stop');
export const Restart = actionCommand('restart');
export const Unload = actionCommand('unload');
export const Destroy = actionCommand('destroy');
