/**
 * `rollback --to <ref>`: which kept revision each unit goes back to. `ref` is either
 *  - a content hash (or its first digits), as `list-units` and `history` show them: the units
 *    with a kept revision of those bytes go back to it; or
 *  - the tree's git commit (or its first digits), as `history` shows it: every unit goes back
 *    to the bytes it had when the last change made from that commit ended (read from the audit
 *    logs, so a unit that commit did not touch goes back to what ran beside it).
 * Everything is resolved before the first change: a unit that cannot go back (no such
 * revision kept, did not exist then) refuses the whole rollback, naming it and what is kept.
 */
import { GgnError } from '../errors';
import { AuditEntry, contentHash, succeeded } from './audit';

export interface Revision {
  revision: string;
  content: string;
}

/** A unit in the rollback's scope, with its live bytes and the revisions kept on its host. */
export interface UnitRevisions {
  unit: string;
  machine: string;
  /** Units updated together (a service and its timer) share a group. */
  group: string;
  live: string;
  revisions: Revision[];
}

/** Per unit (`unit@machine`): the revision to put back; absent: the unit stays as it is. */
export interface RollbackTargets {
  how: 'content' | 'tree';
  targets: Map<string, Revision>;
}

export const unitKey = (unit: string, machine: string) => `${unit}@${machine}`;

/** Why `ref` cannot name a revision or a commit ('' when it can). */
export function rollbackRefProblem(ref: string): string {
  return /^[0-9a-f]{4,40}$/.test(ref)
    ? ''
    : `--to ${JSON.stringify(ref)}: expected a revision's content hash or a git commit (4 to 40 lowercase hex digits, as list-units and history show them)`;
}

export function resolveRollbackTargets(ref: string, units: UnitRevisions[], history: AuditEntry[]): RollbackTargets {
  if (rollbackRefProblem(ref)) throw new GgnError(rollbackRefProblem(ref));
  const matches = (content: string) => ref.length <= 12 && contentHash(content).startsWith(ref);
  const byContent = units.some((u) => matches(u.live) || u.revisions.some((r) => matches(r.content)));
  if (byContent) return { how: 'content', targets: byContentHash(units, matches, ref) };
  const fromTree = history.filter((e) => sameCommit(e.tree.split(' ')[0].replace(/\+$/, ''), ref));
  if (fromTree.length) return { how: 'tree', targets: byTreeCommit(units, history, fromTree, ref) };
  throw new GgnError(
    `--to ${ref}: no revision kept of these units has that content hash, and no change in the audit logs was made from a tree commit starting so (${kept(units)})`,
  );
}

/** The audit log keeps 12 digits of a commit (`+`: with uncommitted changes); `ref` may be shorter or the whole sha. */
function sameCommit(recorded: string, ref: string): boolean {
  return recorded.length >= 4 && (recorded.startsWith(ref) || ref.startsWith(recorded));
}

function byContentHash(units: UnitRevisions[], matches: (content: string) => boolean, ref: string): Map<string, Revision> {
  const targets = new Map<string, Revision>();
  const groups = new Map<string, UnitRevisions[]>();
  for (const u of units) groups.set(u.group, [...(groups.get(u.group) ?? []), u]);
  const missing: UnitRevisions[] = [];
  for (const us of groups.values()) {
    let found = false;
    for (const u of us) {
      if (matches(u.live)) {
        found = true;
        continue;
      }
      const rev = u.revisions.filter((r) => matches(r.content)).at(-1);
      if (rev) {
        targets.set(unitKey(u.unit, u.machine), rev);
        found = true;
      }
    }
    // A companion (the timer of a service) without those bytes stays; a group with none refuses.
    if (!found) missing.push(...us);
  }
  if (missing.length)
    throw new GgnError(
      `--to ${ref}: no revision with that content hash is kept of ${missing.map((u) => `${u.unit} on ${u.machine}`).join(', ')}; nothing was changed (${kept(missing)})`,
    );
  return targets;
}

function byTreeCommit(units: UnitRevisions[], history: AuditEntry[], fromTree: AuditEntry[], ref: string): Map<string, Revision> {
  const end = fromTree.reduce((t, e) => (e.time > t ? e.time : t), '');
  const targets = new Map<string, Revision>();
  const problems: string[] = [];
  for (const u of units) {
    // The bytes the unit had when the last change made from that commit ended.
    let then: AuditEntry | undefined;
    for (const e of history) if (e.unit === u.unit && e.machine === u.machine && e.time <= end && succeeded(e)) then = e;
    if (!then) {
      problems.push(`${u.unit} on ${u.machine}: no change recorded up to then`);
      continue;
    }
    if (then.newHash === '-') {
      problems.push(`${u.unit} on ${u.machine}: it did not exist then (destroy it instead)`);
      continue;
    }
    if (contentHash(u.live) === then.newHash) continue;
    const rev = u.revisions.filter((r) => contentHash(r.content) === then.newHash).at(-1);
    if (rev) targets.set(unitKey(u.unit, u.machine), rev);
    else problems.push(`${u.unit} on ${u.machine}: its bytes of then (${then.newHash}) are no longer kept`);
  }
  if (problems.length) throw new GgnError(`--to ${ref} (tree commit): nothing was changed: ${problems.join('; ')}`);
  return targets;
}

/** What is kept, for the error: `unit on host: hash (revision n), ...`. */
function kept(units: UnitRevisions[]): string {
  const parts = units.map((u) => {
    const revs = u.revisions.map((r) => `${contentHash(r.content)} (${r.revision})`).reverse();
    return `${u.unit} on ${u.machine}: live ${contentHash(u.live)}${revs.length ? `, kept ${revs.join(', ')}` : ', no revision kept'}`;
  });
  return parts.length > 4 ? `${parts.slice(0, 4).join('; ')}; ... (${parts.length - 4} more)` : parts.join('; ');
}
