/** A terminal's lines, for tests of what ggn draws on one (the live task list, the read count). */
import * as assert from 'node:assert/strict';

/**
 * What a terminal of `rows` lines shows after `text`: the lines (scrollback, then the screen) as
 * far as the cursor control ggn uses goes (\r, \n, ESC[nA, ESC[J, ESC[K; colours are dropped).
 * Moving up past the screen's top edge, which a real terminal refuses, fails the test.
 */
export function screenOf(text: string, rows: number): { lines: string[]; screen: string[] } {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  const re = /\x1b\[(\d*)([A-Za-z])|\r|\n|[^\x1b\r\n]+/g;
  for (const m of text.matchAll(re)) {
    const t = m[0];
    if (t === '\n') {
      row++;
      col = 0;
      if (row === lines.length) lines.push('');
    } else if (t === '\r') col = 0;
    else if (m[2] === 'A') {
      const n = Number(m[1] || 1);
      assert.ok(row - n >= Math.max(0, lines.length - rows), `cursor moved ${n} lines up, above the top of the screen`);
      row -= n;
    } else if (m[2] === 'J') {
      lines.length = row + 1;
      lines[row] = lines[row].slice(0, col);
    } else if (m[2] === 'K') {
      lines[row] = lines[row].slice(0, col);
    } else if (m[2] === undefined) {
      lines[row] = lines[row].slice(0, col).padEnd(col) + t + lines[row].slice(col + t.length);
      col += t.length;
    }
  }
  if (lines[lines.length - 1] === '') lines.pop();
  return { lines, screen: lines.slice(-rows) };
}
