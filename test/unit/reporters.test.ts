import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import {
  createReporter,
  isoSeconds,
  JsonReporter,
  LIVE_REDRAW_MS,
  LIVE_TICK_MS,
  LiveReporter,
  PlainReporter,
  TerminalReporter,
} from '../../src/apply/reporters';
import { PLAIN } from '../../src/report/diff';
import { fakeTimers } from '../support/fake-clock';
import { screenOf } from '../support/screen';
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

/** A terminal-like sink, a live reporter on it with hand-moved timers, and its screen. */
function liveOn(rows = 40, columns = 120) {
  const out = sink(true);
  out.rows = rows;
  out.columns = columns;
  const { timers, advance } = fakeTimers();
  const r = new LiveReporter(out, { timers, colors: PLAIN, sharing: [] });
  return { out, r, advance, screen: () => screenOf(out.text(), rows) };
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
    assert.ok(createReporter({ tty: true, out: sink(true) }) instanceof LiveReporter);
    assert.ok(createReporter({ tty: false, out: sink(true) }) instanceof PlainReporter);
    // A pipe, or a terminal that cannot move the cursor (TERM=dumb): plain lines.
    assert.ok(createReporter({ tty: true, out }) instanceof PlainReporter);
    const term = process.env.TERM;
    process.env.TERM = 'dumb';
    try {
      assert.ok(createReporter({ tty: true, out: sink(true) }) instanceof PlainReporter);
    } finally {
      if (term === undefined) delete process.env.TERM;
      else process.env.TERM = term;
    }
  });
});

describe('LiveReporter (a terminal)', () => {
  it('prints each unit once when it ends, with events in any order and units in parallel, and leaves no live line', async () => {
    const { r, advance, screen } = liveOn();
    const units = ['a', 'b', 'c', 'd', 'e'].map((u, i) => ({ unit: `prod_web_${u}.service`, host: `host${i + 1}` }));
    r.plan(units);
    const e = (i: number, over: Partial<RolloutEvent>) =>
      r.event({ time: T0, unit: units[i].unit, host: units[i].host, step: 'write', result: 'started', ...over });
    // Two units in flight at once, the later one first.
    e(2, { step: 'write', result: 'started' });
    e(0, { step: 'write', result: 'started' });
    r.info('lock taken');
    advance(LIVE_REDRAW_MS);
    // While running: the units in flight with their step and clock, and the count.
    assert.deepEqual(screen().lines, [
      'lock taken',
      // In the plan's order, so lines do not jump about.
      '▸ prod_web_a.service@host1  write… 0s',
      '▸ prod_web_c.service@host3  write… 0s',
      '0 of 5 done · 2 in flight · 3 pending · 0s',
    ]);
    e(2, { step: 'restart', result: 'ok', durationMs: 1200 });
    advance(LIVE_TICK_MS);
    assert.match(screen().lines[2], /^▸ prod_web_c\.service@host3 {2}restart ok \(1\.2s\) 1s$/);
    e(2, { time: T0 + 2500, step: 'done', result: 'ok' });
    e(0, { step: 'health', result: 'failed', durationMs: 30_000, message: 'HTTP 503:\x1b[2J down' });
    e(0, { step: 'restore', result: 'restored', durationMs: 800 });
    e(0, { step: 'done', result: 'failed' });
    e(1, { step: 'pending', result: 'skipped', message: 'up to date' });
    e(3, { step: 'restart', result: 'started' }); // still in flight at close
    // Stopped by a signal between two steps: restored with no failed step before.
    e(4, { step: 'write', result: 'ok' });
    e(4, { step: 'restore', result: 'restored', durationMs: 900 });
    e(4, { step: 'done', result: 'restored' });
    r.event({ time: T0, unit: 'unplanned.service', host: 'hostX', step: 'restart', result: 'ok' });
    advance(LIVE_REDRAW_MS);
    assert.deepEqual(screen().lines.slice(-2), [
      '▸ prod_web_d.service@host4  restart… 0s',
      '1 of 5 done · 2 failed · 1 skipped · 1 in flight · 0 pending · 1s',
    ]);
    await r.close();
    // The final screen: the record only, each unit once, a remote message's control characters escaped.
    assert.deepEqual(screen().lines, [
      'lock taken',
      '✔ prod_web_c.service@host3  done in 2.5s',
      '✖ prod_web_a.service@host1  failed at health (30.0s): HTTP 503:\\x1b[2J down; previous unit restored (800ms)',
      '↓ prod_web_b.service@host2  skipped: up to date',
      '✖ prod_web_e.service@host5  stopped; previous unit restored (900ms)',
      'unplanned.service@hostX restart ok',
      '✖ prod_web_d.service@host4  interrupted during restart',
    ]);
  });

  it('keeps the live lines within a small terminal at 200 units, and names each unit once', async () => {
    const rows = 10;
    const { r, advance, screen } = liveOn(rows, 60);
    const units = Array.from({ length: 200 }, (_, i) => ({ unit: `prod_web_n${i + 1}.service`, host: `host${i + 1}` }));
    r.plan(units);
    const e = (i: number, step: RolloutEvent['step'], result: RolloutEvent['result']) =>
      r.event({ time: T0, unit: units[i].unit, host: units[i].host, step, result });
    // 50 at a time, as --parallel 50 would.
    for (let i = 0; i < 150; i++) {
      e(i, 'write', 'started');
      if (i >= 50) e(i - 50, 'done', i % 7 ? 'ok' : 'failed');
      advance(LIVE_REDRAW_MS / 2);
    }
    advance(LIVE_REDRAW_MS);
    const mid = screen();
    const live = mid.screen.slice(-(rows - 1));
    // The units in flight that fit, a line for the rest, and the count: rows - 1 lines, none wider than the terminal.
    assert.deepEqual(
      live.slice(0, 7),
      units.slice(100, 107).map((u) => `▸ ${u.unit}@${u.host}  write… 2s`),
    );
    assert.equal(live[7], '  … and 43 more in flight');
    assert.equal(live[8], '86 of 200 done · 14 failed · 50 in flight · 50 pending · 7s');
    for (const l of mid.lines) assert.ok(l.length < 60, l);
    await r.close();
    const { lines } = screen();
    for (const [i, u] of units.entries()) {
      const named = lines.filter((l) => l.includes(` ${u.unit}@${u.host}  `));
      assert.equal(named.length, i < 150 ? 1 : i < 160 ? 1 : 0, `${u.unit}: ${named.join(' | ')}`);
    }
    assert.equal(lines.filter((l) => l.startsWith('✔ ')).length, 86);
    assert.equal(lines.filter((l) => l.includes('interrupted during write')).length, 50);
    assert.equal(lines[lines.length - 1], '↓ and 40 more units not run');
    assert.ok(!lines.some((l) => l.includes('in flight')), 'no live line is left');
  });

  it('fits a terminal of three rows (the count line and the rest counted)', async () => {
    const { r, advance, screen } = liveOn(3, 80);
    const units = Array.from({ length: 5 }, (_, i) => ({ unit: `u${i}.service`, host: 'h' }));
    r.plan(units);
    r.reading(1, 2);
    for (const u of units) r.event(ev({ ...u, step: 'write', result: 'started' }));
    advance(LIVE_REDRAW_MS);
    assert.deepEqual(screen().lines, ['reading hosts: 1/2', '0 of 5 done · 5 in flight · 0 pending · 0s']);
    r.event(ev({ ...units[0], step: 'done', result: 'ok' }));
    advance(LIVE_REDRAW_MS);
    assert.deepEqual(screen().lines.slice(0, 1), ['✔ u0.service@h  done in 0ms']);
    await r.close();
  });

  it('writes another line to the same screen above the live lines', async () => {
    const out = sink(true);
    const other = sink(true);
    let both = '';
    // One screen: what either stream writes lands on it in order.
    for (const s of [out, other]) {
      const w = s.write.bind(s);
      s.write = ((chunk: unknown, ...rest: unknown[]) => {
        both += String(chunk);
        return (w as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof s.write;
    }
    const { timers, advance } = fakeTimers();
    const r = new LiveReporter(out, { timers, colors: PLAIN, sharing: [other] });
    r.plan([
      { unit: 'u.service', host: 'h1' },
      { unit: 'v.service', host: 'h2' },
    ]);
    r.event(ev({ unit: 'u.service', host: 'h1', step: 'write', result: 'started' }));
    r.event(ev({ unit: 'v.service', host: 'h2', step: 'write', result: 'started' }));
    advance(LIVE_REDRAW_MS);
    // v ends, and a warning comes before the next draw: v's line stays first.
    r.event(ev({ unit: 'v.service', host: 'h2', step: 'done', result: 'ok' }));
    other.write('warning: host h1: slow\n');
    advance(LIVE_REDRAW_MS);
    assert.deepEqual(screenOf(both, 40).lines, [
      '✔ v.service@h2  done in 0ms',
      'warning: host h1: slow',
      '▸ u.service@h1  write… 0s',
      '1 of 2 done · 1 in flight · 0 pending · 0s',
    ]);
    // A partial line (no newline) holds the live part back until a line is ended.
    other.write('half a line');
    advance(LIVE_REDRAW_MS);
    assert.equal(screenOf(both, 40).lines.at(-1), 'half a line');
    other.write(', ended\n');
    advance(LIVE_REDRAW_MS);
    assert.deepEqual(screenOf(both, 40).lines.slice(2), ['half a line, ended', '▸ u.service@h1  write… 0s', '1 of 2 done · 1 in flight · 0 pending · 0s']);
    await r.close();
    other.write('after\n');
    assert.deepEqual(screenOf(both, 40).lines, [
      '✔ v.service@h2  done in 0ms',
      'warning: host h1: slow',
      'half a line, ended',
      '✖ u.service@h1  interrupted during write',
      'after',
    ]);
  });

  it('counts the hosts read while a read is under way, and leaves nothing of it behind', async () => {
    const { r, advance, screen } = liveOn();
    r.info('web: locked');
    r.reading(0, 200);
    r.reading(57, 200);
    advance(LIVE_REDRAW_MS);
    assert.deepEqual(screen().lines, ['web: locked', 'reading hosts: 57/200']);
    r.reading(200, 200);
    r.plan([{ unit: 'u.service', host: 'h1' }]);
    advance(LIVE_REDRAW_MS);
    assert.deepEqual(screen().lines, ['web: locked', '0 of 1 done · 0 in flight · 1 pending · 0s']);
    // A second service's read, under the first one's units.
    r.reading(3, 10);
    advance(LIVE_REDRAW_MS);
    assert.deepEqual(screen().lines.slice(1), ['reading hosts: 3/10', '0 of 1 done · 0 in flight · 1 pending · 0s']);
    await r.close();
    assert.deepEqual(screen().lines, ['web: locked', '↓ u.service@h1  not run']);
  });

  it('closes cleanly without a plan', async () => {
    const { out, r } = liveOn();
    r.info('nothing to do');
    await r.close();
    assert.equal(out.text(), 'nothing to do\n');
  });
});

describe('TerminalReporter (a terminal where questions are asked)', () => {
  it('writes plain lines while asking (the read count is drawn by the command then), the live list from live() to pause()', async () => {
    const out = sink(true);
    const t = new TerminalReporter(out, () => T0);
    t.reading(1, 5);
    t.info('asking');
    assert.equal(t.isLive(), false);
    assert.equal(out.text(), `${isoSeconds(T0)} asking\n`);
    t.live();
    assert.equal(t.isLive(), true);
    t.reading(2, 5);
    // The live list draws on its own (real) timer: within LIVE_REDRAW_MS, waited for up to 5 s.
    for (let i = 0; i < 500 && !screenOf(out.text(), 40).lines.includes('reading hosts: 2/5'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(screenOf(out.text(), 40).lines, [`${isoSeconds(T0)} asking`, 'reading hosts: 2/5']);
    await t.pause();
    assert.equal(t.isLive(), false);
    assert.deepEqual(screenOf(out.text(), 40).lines, [`${isoSeconds(T0)} asking`]);
  });
});
