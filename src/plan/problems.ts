/** What `check` calls a problem: a unit missing, outdated, orphaned, or not running as it should. */
import { isTimer } from '../render/names';
import { UnitChange } from './diff';

/** What is wrong with a unit on its host, or undefined when it is present, current and running. */
export function problemOf(c: UnitChange, hasTimer: boolean): string | undefined {
  switch (c.kind) {
    case 'new':
      return 'missing on the host';
    case 'changed':
      return 'outdated (differs from the tree)';
    case 'orphan':
      return 'orphan (no longer in the tree)';
  }
  const s = c.state;
  if (!s || s.loadState !== 'loaded') return `not loaded (${s?.loadState || 'unknown'})`;
  if (isTimer(c.unit)) return s.activeState === 'active' ? undefined : `timer ${s.activeState}/${s.subState}`;
  if (hasTimer) return s.activeState === 'failed' ? `failed (${s.result})` : undefined;
  if (s.activeState === 'active' && ['running', 'exited', 'listening', 'waiting'].includes(s.subState)) return undefined;
  return `${s.activeState}/${s.subState}` + (s.result && s.result !== 'success' ? ` (${s.result})` : '');
}

/** The problems of a plan's units; `timers`: services that have a timer (they need not run). */
export function problemsOf(changes: UnitChange[], timers: Set<string>): { c: UnitChange; problem: string }[] {
  return changes.map((c) => ({ c, problem: problemOf(c, timers.has(c.unit)) })).filter((p): p is { c: UnitChange; problem: string } => p.problem !== undefined);
}
