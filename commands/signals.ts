/**
 * What a command that changes hosts does on SIGINT (Ctrl-C), SIGTERM (a CI runner's cancel) and
 * SIGHUP (a closed terminal): the first one says "stopping" at once and aborts the returned
 * signal (start nothing new, interrupt waits, restore what is in flight, release the lock);
 * later ones only say that it is still stopping. The exit code is 128 + the first signal.
 */
import { CommandContext } from './base';

const CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

export interface StopSignals {
  signal: AbortSignal;
  /** 130, 143 or 129 once a signal came; undefined otherwise. */
  exitCode(): number | undefined;
  dispose(): void;
}

export function stopOnSignals(ctx: Pick<CommandContext, 'err'>, what: string): StopSignals {
  const ac = new AbortController();
  let first: string | undefined;
  const handlers = Object.keys(CODES).map((name) => {
    const h = () => {
      if (first) {
        ctx.err.write(`${name}: still stopping (${what})\n`);
        return;
      }
      first = name;
      ctx.err.write(`\n${name}: stopping: ${what}\n`);
      ac.abort();
    };
    process.on(name as NodeJS.Signals, h);
    return [name, h] as const;
  });
  return {
    signal: ac.signal,
    exitCode: () => (first ? CODES[first] : undefined),
    dispose: () => {
      for (const [name, h] of handlers) process.off(name as NodeJS.Signals, h);
    },
  };
}
