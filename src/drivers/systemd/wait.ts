/**
 * systemd's rules for "up", after a start that was queued without blocking:
 * - the new invocation, never the old one (its InvocationID differs from the one before);
 * - a timer: active; a oneshot service: finished successfully (or active/exited);
 * - any other service: active/running, and still so `settleMs` later with the same main PID and
 *   no restart. Failed, exited, restarted during the wait, or the deadline passed: not up.
 */
import { isTimer } from '../../render/names';
import { formatElapsed } from '../../durations';
import { StartTicket, UnitState, WaitUpOptions } from '../types';

export async function waitUp(look: (units: string[]) => Promise<Map<string, UnitState>>, ticket: StartTicket, opts: WaitUpOptions): Promise<void> {
  const { clock, deadline, signal } = opts;
  const target = ticket.unit;
  const timer = isTimer(target);
  const interrupted = () => new Error('interrupted');
  // The looks the host took in the start's round trip come first, without the waits between
  // them (the host waited): the last of a running service's was taken `settleMs` after the one before.
  const taken = [...(ticket.looks ?? [])];
  const states = async (units: string[]) => (taken.length ? new Map([[target, taken.shift()!]]) : look(units));
  const sleep = async (ms: number) => {
    if (taken.length) return;
    try {
      await clock.sleep(ms, signal);
    } catch {
      throw interrupted();
    }
  };
  let baseline: UnitState | undefined;
  // The first looks come soon (a unit that starts in milliseconds is seen at once), then every
  // pollMs: 10, 20, 40, 80 ms, then pollMs.
  let polls = 0;
  const nextPoll = () => Math.min(opts.pollMs, 10 * 2 ** polls++);
  for (;;) {
    if (signal.aborted) throw interrupted();
    const s = (await states([target])).get(target);
    if (!s || s.loadState !== 'loaded') throw new Error(`systemd has not loaded ${target} (${s?.loadState ?? 'unknown'})`);
    if (ticket.before !== undefined && s.invocationId === ticket.before) {
      // The restart job has not run yet.
      if (clock.now() >= deadline)
        throw new Error(`${target} not started after ${formatElapsed(opts.timeoutMs)} (${s.activeState}/${s.subState}, restart still queued)`);
      await sleep(nextPoll());
      continue;
    }
    baseline ??= s;
    if (s.activeState === 'failed') throw new Error(`${target} failed (${s.result || s.subState})`);
    if (timer) {
      if (s.activeState === 'active') return;
    } else if (s.type === 'oneshot') {
      if ((s.activeState === 'inactive' && s.result === 'success') || (s.activeState === 'active' && s.subState === 'exited')) return;
    } else {
      if (s.nRestarts > baseline.nRestarts) throw new Error(`${target} restarted during the wait (${s.nRestarts - baseline.nRestarts} restart(s))`);
      if (s.activeState === 'inactive') throw new Error(`${target} exited (${s.result || 'inactive/dead'})`);
      if (s.activeState === 'active' && s.subState === 'running') {
        if (opts.settleMs <= 0) return;
        await sleep(opts.settleMs);
        const again = (await states([target])).get(target);
        if (again && again.activeState === 'active' && again.subState === 'running' && again.mainPid === s.mainPid && again.nRestarts === s.nRestarts) return;
        throw new Error(
          `${target} did not stay up: ${again ? `${again.activeState}/${again.subState}` : 'gone'}${again && again.nRestarts > s.nRestarts ? ', restarted' : ''}`,
        );
      }
    }
    if (clock.now() >= deadline) throw new Error(`${target} not active after ${formatElapsed(opts.timeoutMs)} (${s.activeState}/${s.subState})`);
    await sleep(nextPoll());
  }
}
