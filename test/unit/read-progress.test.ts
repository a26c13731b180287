/**
 * The count of hosts read, on a terminal's stderr (commands/progress.ts): nothing on a
 * non-terminal or for a quick read, throttled redraws, erased at the end and before other lines;
 * and the SSH driver's read reports each host as it answers or fails.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { readProgress, REDRAW_MS, SHOW_AFTER_MS } from '../../commands/progress';
import { SshSystemdDriver } from '../../src/drivers/systemd/driver';
import { Connection, Transport } from '../../src/transport/types';
import { fakeTimers } from '../support/fake-clock';
import { offlineHostSpec } from '../support/host-spec';

function terminal(isTTY = true) {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean };
  s.isTTY = isTTY;
  let text = '';
  s.on('data', (d) => (text += d));
  return { stream: s, text: () => text };
}

const line = (done: number, total: number) => `\r\x1b[Kreading hosts: ${done}/${total}`;
const ERASE = '\r\x1b[K';

describe('the read progress line', () => {
  it('writes nothing when stderr is not a terminal', () => {
    const t = terminal(false);
    const { timers, advance } = fakeTimers();
    const p = readProgress(t.stream, timers);
    p.update(0, 200);
    advance(SHOW_AFTER_MS * 4);
    p.update(100, 200);
    p.close();
    assert.equal(t.text(), '');
  });

  it('writes nothing on a terminal that cannot erase a line (TERM=dumb)', (t) => {
    const term = process.env.TERM;
    process.env.TERM = 'dumb';
    t.after(() => (term === undefined ? delete process.env.TERM : (process.env.TERM = term)));
    const out = terminal();
    const { timers, advance } = fakeTimers();
    const p = readProgress(out.stream, timers);
    p.update(0, 200);
    advance(SHOW_AFTER_MS * 4);
    p.close();
    assert.equal(out.text(), '');
  });

  it('a read that ends within SHOW_AFTER_MS never shows', () => {
    const t = terminal();
    const f = fakeTimers();
    const p = readProgress(t.stream, f.timers);
    p.update(0, 3);
    f.advance(SHOW_AFTER_MS - 1);
    p.update(1, 3);
    p.update(3, 3);
    f.advance(SHOW_AFTER_MS);
    assert.equal(t.text(), '');
    assert.equal(f.pending(), 0, 'no timer left behind');
  });

  it('shows after SHOW_AFTER_MS even before any host answers, redraws at most every REDRAW_MS with the latest count, and erases itself at the end', () => {
    const t = terminal();
    const f = fakeTimers();
    const p = readProgress(t.stream, f.timers);
    p.update(0, 200);
    f.advance(SHOW_AFTER_MS);
    assert.equal(t.text(), line(0, 200));
    p.update(1, 200); // within REDRAW_MS of the last draw: held back...
    p.update(2, 200);
    assert.equal(t.text(), line(0, 200));
    f.advance(REDRAW_MS); // ...and drawn once it is due, with the latest count
    assert.equal(t.text(), line(0, 200) + line(2, 200));
    f.advance(REDRAW_MS);
    p.update(3, 200); // due: drawn at once
    assert.equal(t.text(), line(0, 200) + line(2, 200) + line(3, 200));
    p.update(200, 200);
    assert.equal(t.text(), line(0, 200) + line(2, 200) + line(3, 200) + ERASE);
    assert.equal(f.pending(), 0);
  });

  it('clear() erases the line for another one (a warning) and the next update draws it again; after close() nothing is drawn', () => {
    const t = terminal();
    const f = fakeTimers();
    const p = readProgress(t.stream, f.timers);
    p.update(0, 10);
    f.advance(SHOW_AFTER_MS);
    p.clear();
    t.stream.write('warning: host m1: something\n');
    f.advance(REDRAW_MS);
    p.update(4, 10);
    assert.equal(t.text(), line(0, 10) + ERASE + 'warning: host m1: something\n' + line(4, 10));
    p.close();
    p.update(0, 10);
    f.advance(SHOW_AFTER_MS * 2);
    assert.equal(t.text(), line(0, 10) + ERASE + 'warning: host m1: something\n' + line(4, 10) + ERASE);
  });
});

describe('the SSH driver reports the read of each host', () => {
  it('0 of N when it starts, then one more as each host answers or fails', async () => {
    const hosts = ['m1', 'm2', 'm3'].map(offlineHostSpec);
    const transport: Transport = {
      connect: async (h) => {
        if (h.name === 'm2') throw new Error('connection refused');
        const conn: Connection = { host: h, exec: async () => ({ code: 0, stdout: 'S\n', stderr: '' }), close: async () => {} };
        return conn;
      },
      closeAll: async () => {},
    };
    const seen: [number, number][] = [];
    const d = new SshSystemdDriver({
      target: { scope: 'user', sudo: false },
      machines: hosts.map((h) => ({ name: h.name, address: h.address, metadata: {} })),
      hosts,
      transport,
      parallel: 2,
      onReadProgress: (done, total) => seen.push([done, total]),
    });
    const snaps = await d.read(['m1', 'm2', 'm3'], ['p_web_']);
    assert.deepEqual(
      snaps.map((s) => !!s.error),
      [false, true, false],
    );
    assert.deepEqual(seen, [
      [0, 3],
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  });
});
