import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createReporter, isoSeconds, JsonReporter, ListrReporter, PlainReporter } from '../../src/apply/reporters';
import { formatElapsed as formatDuration } from '../../src/durations';
import { RolloutEvent } from '../../src/apply/types';

function sink(tty = false): Writable & { text: () => string; isTTY?: boolean; columns?: number; rows?: number } {
  let buf = '';
  const w = new Writable({
    write(chunk, _enc, cb) {
      buf += chunk.toString();
      cb();
    },
  }) as Writable & { text: () => string; isTTY?: boolean; columns?: number; rows?: number };
  w.text = () => buf;
  if (tty) {
    w.isTTY = true;
    w.columns = 120;
    w.rows = 40;
  }
  return w;
}

const T0 = Date.UTC(2026, 10, 22, 1, 2, 3, 456);
const ev = (over: Partial<RolloutEvent>): RolloutEvent => ({ time: T0, unit: 'prod_web_w1.service', host: 'host1', step: 'restart', result: 'ok', ...over });

const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

/** Waits (up to 3 s) until the live render shows `re`: listr redraws on its spinner tick. */
async function rendered(out: { text: () => string }, re: RegExp): Promise<void> {
  for (let i = 0; i < 300 && !re.test(stripAnsi(out.text())); i++) await new Promise((res) => setTimeout(res, 10));
  assert.match(stripAnsi(out.text()), re);
}

describe('formatting', () => {
  it('formats durations and timestamps', () => {
    assert.deepEqual([0, 850, 1000, 1234, 59_960, 60_000, 123_000, 3_720_000].map(formatDuration), [
      '0ms',
      '850ms',
      '1.0s',
      '1.2s',
      '59.9s',
      '1m00s',
      '2m03s',
      '1h02m',
    ]);
    assert.equal(isoSeconds(T0), '2026-11-22T01:02:03Z');
  });
});

describe('PlainReporter', () => {
  it('writes one timestamped line per event and per info', async () => {
    const out = sink();
    const r = new PlainReporter(out, () => T0 + 5000);
    r.plan([{ unit: 'prod_web_w1.service', host: 'host1' }]);
    r.event(ev({ step: 'restart', result: 'started' }));
    r.event(ev({ step: 'restart', result: 'ok', durationMs: 1200 }));
    r.event(ev({ step: 'health', result: 'failed', durationMs: 30_000, message: 'HTTP 503: starting\nretry later\n' }));
    r.event(ev({ unit: 'prod_web_w2.service', host: 'host2', step: 'pending', result: 'skipped', message: 'up to date' }));
    r.info('lock prod/web taken by alice@laptop');
    await r.close();
    assert.equal(
      out.text(),
      [
        '2026-11-22T01:02:03Z prod_web_w1.service@host1 restart started',
        '2026-11-22T01:02:03Z prod_web_w1.service@host1 restart ok (1.2s)',
        '2026-11-22T01:02:03Z prod_web_w1.service@host1 health failed (30.0s): HTTP 503: starting | retry later',
        '2026-11-22T01:02:03Z prod_web_w2.service@host2 pending skipped: up to date',
        '2026-11-22T01:02:08Z lock prod/web taken by alice@laptop',
        '',
      ].join('\n'),
    );
  });
});

describe('JsonReporter', () => {
  it('writes one JSON object per line', async () => {
    const out = sink();
    const r = new JsonReporter(out, () => T0);
    r.event(ev({ result: 'started' }));
    r.event(ev({ result: 'ok', durationMs: 1200 }));
    r.event(ev({ step: 'hooks-early', result: 'failed', durationMs: 15, message: 'early hook hooks/early/x failed (exit 3)\nline' }));
    r.info('batch 1/2');
    await r.close();
    assert.equal(
      out.text(),
      [
        '{"time":"2026-11-22T01:02:03.456Z","unit":"prod_web_w1.service","host":"host1","step":"restart","result":"started"}',
        '{"time":"2026-11-22T01:02:03.456Z","unit":"prod_web_w1.service","host":"host1","step":"restart","result":"ok","durationMs":1200}',
        '{"time":"2026-11-22T01:02:03.456Z","unit":"prod_web_w1.service","host":"host1","step":"hooks-early","result":"failed","durationMs":15,"message":"early hook hooks/early/x failed (exit 3)\\nline"}',
        '{"time":"2026-11-22T01:02:03.456Z","info":"batch 1/2"}',
        '',
      ].join('\n'),
    );
    for (const l of out.text().trim().split('\n')) JSON.parse(l);
  });
});

describe('createReporter', () => {
  it('picks JSON, then TTY, then plain', () => {
    const out = sink();
    assert.ok(createReporter({ json: true, tty: true, out }) instanceof JsonReporter);
    assert.ok(createReporter({ tty: true, out }) instanceof ListrReporter);
    assert.ok(createReporter({ tty: false, out }) instanceof PlainReporter);
  });
});

describe('ListrReporter (fake TTY)', () => {
  it('renders every unit with its final state, with events in any order and units in parallel', async () => {
    const out = sink(true);
    const r = new ListrReporter(out);
    const units = ['a', 'b', 'c', 'd', 'e'].map((u, i) => ({ unit: `prod_web_${u}.service`, host: `host${i + 1}` }));
    r.plan(units);
    const e = (i: number, over: Partial<RolloutEvent>) =>
      r.event({ time: T0, unit: units[i].unit, host: units[i].host, step: 'write', result: 'started', ...over });
    // Two units in flight at once, the later one first.
    e(2, { step: 'write', result: 'started' });
    e(0, { step: 'write', result: 'started' });
    r.info('lock taken');
    // While running, pending units are shown as pending and the running ones with their step.
    await rendered(out, /prod_web_c\.service@host3 {2}write…/);
    await rendered(out, /prod_web_e\.service@host5 {2}pending/);
    e(2, { step: 'restart', result: 'ok', durationMs: 1200 });
    e(2, { time: T0 + 2500, step: 'done', result: 'ok' });
    e(0, { step: 'health', result: 'failed', durationMs: 30_000, message: 'HTTP 503: down' });
    e(0, { step: 'restore', result: 'restored', durationMs: 800 });
    e(0, { step: 'done', result: 'failed' });
    e(1, { step: 'pending', result: 'skipped', message: 'up to date' });
    e(3, { step: 'restart', result: 'started' }); // still in flight at close
    r.event({ time: T0, unit: 'unplanned.service', host: 'hostX', step: 'restart', result: 'ok' });
    await rendered(out, /prod_web_d\.service@host4 {2}restart…/);
    await r.close();
    const text = stripAnsi(out.text());
    const finalScreen = text.slice(text.lastIndexOf('prod_web_a.service@host1') - 2);
    assert.match(finalScreen, /✖ prod_web_a\.service@host1 {2}failed at health \(30\.0s\): HTTP 503: down;\s+previous unit restored \(800ms\)/); // long titles wrap
    assert.match(finalScreen, /↓ prod_web_b\.service@host2 {2}skipped: up to date/);
    assert.match(finalScreen, /✔ prod_web_c\.service@host3 {2}done in 2\.5s/);
    assert.match(finalScreen, /✖ prod_web_d\.service@host4 {2}interrupted during restart/);
    assert.match(finalScreen, /↓ prod_web_e\.service@host5 {2}not run/);
    assert.match(finalScreen, /lock taken\nunplanned\.service@hostX restart ok\n$/);
  });

  it('closes cleanly without a plan', async () => {
    const out = sink(true);
    const r = new ListrReporter(out);
    r.info('nothing to do');
    await r.close();
    assert.equal(out.text(), 'nothing to do\n');
  });
});
