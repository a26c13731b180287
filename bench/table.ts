/**
 * The bench's one table: every figure with the yardstick measured in the same run, the ratio and
 * the target. Benches add rows as they go; run.ts prints the table at the end.
 */
export interface Row {
  what: string;
  measured: string;
  yardstick: string;
  ratio?: number;
  target: string;
  ok?: boolean;
}

export const rows: Row[] = [];

export function addRow(r: Row): void {
  rows.push(r);
  const ratio = r.ratio === undefined ? '' : ` = ${r.ratio.toFixed(2)}x`;
  console.log(
    `  ${r.what}: ${r.measured}${ratio} (yardstick ${r.yardstick || '-'}; target ${r.target || '-'})${r.ok === undefined ? '' : r.ok ? ' OK' : ' OVER'}`,
  );
}

export function printTable(): void {
  const head = ['what', 'measured', 'yardstick (same run)', 'ratio', 'target', ''];
  const body = rows.map((r) => [
    r.what,
    r.measured,
    r.yardstick,
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`,
    r.target,
    r.ok === undefined ? '' : r.ok ? 'OK' : 'OVER',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log('');
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const b of body) console.log(line(b));
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
