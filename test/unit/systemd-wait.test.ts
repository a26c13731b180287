/** waitUp's rules over the looks a start's round trip brought back (StartTicket.looks). */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { waitUp } from '../../src/drivers/systemd/wait';
import { UnitState } from '../../src/drivers/types';

const UNIT = 'p_web_a.service';
const state = (activeState: string, subState: string, mainPid = 0, invocationId = 'new', nRestarts = 0): UnitState => ({
  loadState: 'loaded',
  activeState,
  subState,
  unitFileState: 'static',
  result: activeState === 'failed' ? 'exit-code' : 'success',
  mainPid,
  nRestarts,
  activeEnterTimestamp: '',
  type: 'simple',
  invocationId,
});

/** A fake clock whose sleeps are recorded and pass at once; `look` answers the client's own looks. */
function wait(looks: UnitState[], clientLooks: UnitState[] = []) {
  let now = 0;
  const slept: number[] = [];
  let asked = 0;
  const clock = { now: () => now, sleep: async (ms: number) => void slept.push(ms, (now += ms)) };
  const look = async () => {
    const s = clientLooks[asked++];
    if (!s) throw new Error('looked from the client once too often');
    return new Map([[UNIT, s]]);
  };
  const done = waitUp(
    look,
    { unit: UNIT, before: 'old', looks },
    { deadline: 60_000, timeoutMs: 60_000, settleMs: 1000, pollMs: 500, clock, signal: new AbortController().signal },
  );
  return { done, slept: () => slept.filter((_, i) => i % 2 === 0), asked: () => asked };
}

describe('waitUp over the looks of the start round trip', () => {
  it('running, and still the same process after the settle time: up, without a look or a sleep of its own', async () => {
    const w = wait([state('activating', 'start'), state('active', 'running', 42), state('active', 'running', 42)]);
    await w.done;
    assert.deepEqual([w.slept(), w.asked()], [[], 0]);
  });

  it('dead after the settle time: did not stay up, without a look of its own', async () => {
    const w = wait([state('active', 'running', 42), state('failed', 'failed')]);
    await assert.rejects(w.done, /p_web_a\.service did not stay up: failed\/failed/);
    assert.equal(w.asked(), 0);
  });

  it('another process after the settle time (it restarted): not up', async () => {
    const w = wait([state('active', 'running', 42), state('active', 'running', 43, 'new', 1)]);
    await assert.rejects(w.done, /did not stay up: active\/running, restarted/);
  });

  it('still activating at the last look: the client goes on looking, and settles itself', async () => {
    const w = wait([state('activating', 'start'), state('activating', 'start')], [state('active', 'running', 42), state('active', 'running', 42)]);
    await w.done;
    assert.equal(w.asked(), 2);
    assert.ok(w.slept().includes(1000), `the client waited the settle time: ${w.slept()}`);
  });

  it('the restart still queued (old invocation): the client goes on looking', async () => {
    const w = wait([state('active', 'running', 7, 'old')], [state('active', 'running', 42), state('active', 'running', 42)]);
    await w.done;
    assert.equal(w.asked(), 2);
  });

  it('a restart counted from the first look of the new start', async () => {
    const w = wait([state('activating', 'auto-restart', 0, 'new', 0), state('active', 'running', 42, 'new', 2)]);
    await assert.rejects(w.done, /restarted during the wait \(2 restart\(s\)\)/);
  });
});
