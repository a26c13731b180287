/**
 * Turning a plan into what people and scripts read: unified diffs per unit and host, a summary
 * line, and one JSON document.
 */
import { printable } from './printable';
import { problemJson, unitJson } from './json';
import type * as Diff from 'diff';
import { GgnError } from '../errors';
import { summarize, UnitChange } from '../plan/diff';

export interface Colors {
  red(s: string): string;
  green(s: string): string;
  cyan(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
}

const esc = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
export const ANSI: Colors = { red: esc('31'), green: esc('32'), cyan: esc('36'), bold: esc('1'), dim: esc('2') };
export const PLAIN: Colors = { red: (s) => s, green: (s) => s, cyan: (s) => s, bold: (s) => s, dim: (s) => s };

/**
 * The unified diff of a unit on a host. When secrets reach the unit, both sides are masked
 * (`‹secret db.password›`) and a secret whose value differs is told by name, never shown:
 * `~ db.password changed`.
 */
/** `desiredLabel`: where the new side comes from (default: the tree; a rollback: the revision). */
export function unifiedDiff(c: UnitChange, colors: Colors, desiredLabel = 'from the tree'): string {
  let live = c.live ?? '';
  let desired = c.kind === 'orphan' ? '' : (c.desired ?? '');
  const notes: string[] = [];
  if (c.secrets) {
    const l = c.secrets.maskOther(live);
    const d = c.secrets.maskOther(desired);
    const changed = [...new Set([...l.changed, ...d.changed])];
    if (l.text === d.text && live !== desired && changed.length === 0 && c.kind !== 'orphan') changed.push('a secret');
    live = l.text;
    desired = d.text;
    for (const n of changed) notes.push(colors.cyan(`~ ${n} changed`));
  }
  // Required here, not at the top: a diff of unchanged units does not load the library (bin/ggn.js's LAZY).
  const { createTwoFilesPatch } = require('diff') as typeof Diff;
  const patch = createTwoFilesPatch(`${c.unit} (on ${c.machine})`, `${c.unit} (${desiredLabel})`, live, desired, undefined, undefined, { context: 3 });
  const lines = patch.split('\n');
  // Drop the "=====" banner createTwoFilesPatch starts with.
  const body = lines[0].startsWith('====') ? lines.slice(1) : lines;
  // Bytes from a host or a plan file reach the terminal: control characters are shown escaped.
  return body
    .map(printable)
    .map((l) => {
      if (l.startsWith('+++') || l.startsWith('---')) return colors.bold(l);
      if (l.startsWith('+')) return colors.green(l);
      if (l.startsWith('-')) return colors.red(l);
      if (l.startsWith('@@')) return colors.cyan(l);
      return l;
    })
    .join('\n')
    .replace(/\n+$/, '\n')
    .concat(notes.map((n) => n + '\n').join(''));
}

const TITLES: Record<UnitChange['kind'], string> = {
  new: 'new: not on the host yet',
  changed: 'changed',
  unchanged: 'unchanged',
  orphan: 'orphan: on the host but no longer in the tree (`prune` or `update --prune` removes it)',
};

/** A unit whose file is up to date but that is not running: `update` would start it. */
export interface NotRunning {
  unit: string;
  machine: string;
  state: string;
}

export function renderDiff(changes: UnitChange[], colors: Colors, notRunning: NotRunning[] = []): string {
  let out = '';
  for (const c of changes) {
    if (c.kind === 'unchanged') continue;
    out += colors.bold(`# ${c.unit} on ${c.machine}: ${TITLES[c.kind]}`) + '\n';
    out += unifiedDiff(c, colors) + '\n';
  }
  for (const n of notRunning) out += colors.bold(`# ${n.unit} on ${n.machine}: up to date but not running (${n.state}); update starts it`) + '\n\n';
  return out;
}

export function summaryLine(changes: UnitChange[], notRunning: NotRunning[] = []): string {
  const s = summarize(changes);
  return (
    `${s.changed} changed, ${s.new} new, ${s.orphan} orphaned, ${s.unchanged} unchanged` +
    (notRunning.length ? ` (${notRunning.length} of them not running)` : '')
  );
}

export function planJson(changes: UnitChange[], errors: GgnError[], notRunning: NotRunning[] = [], warnings: GgnError[] = []): object {
  return {
    summary: { ...summarize(changes), notRunning: notRunning.length },
    notRunning: notRunning.map((n) => ({ unit: n.unit, host: n.machine, state: n.state })),
    changes: changes.map((c) => ({ ...unitJson(c), diff: c.kind === 'unchanged' ? null : unifiedDiff(c, PLAIN) })),
    errors: errors.map(problemJson),
    warnings: warnings.map(problemJson),
  };
}
