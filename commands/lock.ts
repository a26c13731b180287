/** lock, unlock and history of a service. */
import { problemJson } from '../src/report/json';
import * as Flags from './flags';
import { readHistory } from '../src/apply/history';
import { realClock } from '../src/apply/types';
import { lockBackendFor } from '../src/apply/update';
import { formatDuration } from '../src/durations';
import { checkTtl } from '../src/apply/lock/common';
import { printable } from '../src/report/printable';
import { table } from '../src/report/table';
import { whoAmI } from '../src/tree/home';
import { GgnCommand } from './base';
import { reportError } from './errors';
import { jsonFlag, withDriver } from './live';

export class Lock extends GgnCommand {
  static override examples = ['ggn prod cassandra lock -t 2h investigating disk latency'];
  static override flags = {
    ttl: Flags.string({ char: 't', description: 'how long the lock lasts', default: '1h', helpValue: 'DURATION' }),
  };

  async run(): Promise<number> {
    const words: string[] = [];
    const argv = this.argv.filter((a, i, all) => {
      const isFlag = a.startsWith('-') || (i > 0 && (all[i - 1] === '-t' || all[i - 1] === '--ttl'));
      if (!isFlag) words.push(a);
      return isFlag;
    });
    this.argv.splice(0, this.argv.length, ...argv);
    const flags = await this.flags(Lock.flags);
    const message = words.join(' ').trim();
    if (!message) {
      reportError(this.ctx, new Error('say why: ggn <env> <service> lock -t 1h <message>'));
      return 2;
    }
    const { ctx } = this;
    const ttlMs = Flags.durationValue(flags.ttl, 'ttl', checkTtl);
    return withDriver(ctx, 1, async (d) => {
      const lock = lockBackendFor(ctx.ws, d, ctx.target.env, realClock);
      try {
        await lock.check();
        const info = await lock.acquireHand(ctx.target.service!, { holder: whoAmI(ctx.ws.home), message, ttlMs });
        this.print(
          `${ctx.target.service} locked by [${printable(info.holder)}] ${printable(info.message)} for ${formatDuration(info.expiresAt - Date.now())} (${lock.description}); your own commands run under it, \`unlock\` releases it`,
        );
        return 0;
      } catch (e) {
        reportError(ctx, e);
        return 1;
      } finally {
        await lock.close();
      }
    });
  }
}

export class Unlock extends GgnCommand {
  static override examples = ['ggn prod cassandra unlock', 'ggn prod cassandra unlock --force'];
  static override flags = { force: Flags.boolean({ description: 'release a lock someone else holds' }) };

  async run(): Promise<number> {
    const flags = await this.flags(Unlock.flags);
    const { ctx } = this;
    return withDriver(ctx, 1, async (d) => {
      const lock = lockBackendFor(ctx.ws, d, ctx.target.env, realClock);
      try {
        await lock.check();
        const r = await lock.unlock(ctx.target.service!, whoAmI(ctx.ws.home), !!flags.force);
        if ('done' in r) {
          this.print(r.done === 'unlocked' ? `${ctx.target.service} unlocked` : `${ctx.target.service} is not locked`);
          return 0;
        }
        reportError(ctx, new Error(`cannot unlock ${ctx.target.service}: ${r.refused}`));
        return 1;
      } catch (e) {
        reportError(ctx, e);
        return 1;
      } finally {
        await lock.close();
      }
    });
  }
}

export class History extends GgnCommand {
  static override examples = ['ggn prod cassandra history', 'ggn prod history -n 50', 'ggn prod cassandra history -n 50 --json'];
  static override flags = {
    lines: Flags.integer({ char: 'n', description: 'the last N entries', default: 20, min: 1, helpValue: 'N' }),
    json: jsonFlag,
  };

  async run(): Promise<number> {
    const flags = await this.flags(History.flags);
    const { ctx } = this;
    const env = ctx.ws.env(ctx.target.env);
    return withDriver(ctx, 20, async (d) => {
      const { entries, errors: readErrors } = await readHistory(d, env.name, ctx.target.service);
      for (const e of readErrors) reportError(ctx, e);
      const failed = readErrors.length;
      const last = entries.slice(-flags.lines);
      if (flags.json)
        this.print(JSON.stringify({ entries: last.map(({ machine, ...e }) => ({ ...e, host: machine })), errors: readErrors.map(problemJson) }, null, 2));
      else if (last.length === 0) this.print(`no history for ${ctx.target.service ?? `env ${ctx.target.env}`}`);
      else
        ctx.out.write(
          table(
            ['TIME', 'WHO', ...(ctx.target.service ? [] : ['SERVICE']), 'UNIT', 'HOST', 'ACTION', 'OLD', 'NEW', 'RESULT', 'TREE'],
            last.map((e) =>
              [e.time, e.who, ...(ctx.target.service ? [] : [e.service]), e.unit, e.machine, e.action, e.oldHash, e.newHash, e.result, e.tree || '-'].map(
                printable,
              ),
            ),
          ),
        );
      return failed ? 1 : 0;
    });
  }
}
