/**
 * The work tree's git commit, when the work path is in a git repository: recorded in plan files
 * and, with its subject, in every audit line (so `history` says which tree version went out).
 */
import { execFileSync } from 'node:child_process';

export interface TreeCommit {
  commit: string;
  subject: string;
  /** Files under the work path differ from the commit. */
  dirty: boolean;
}

const cache = new Map<string, TreeCommit | null>();

export function treeCommit(workPath: string): TreeCommit | null {
  if (cache.has(workPath)) return cache.get(workPath)!;
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', workPath, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  let out: TreeCommit | null;
  try {
    const [commit, ...subject] = git('log', '-1', '--format=%H %s').split(' ');
    out = { commit, subject: subject.join(' '), dirty: git('status', '--porcelain', '--', '.') !== '' };
  } catch {
    out = null;
  }
  cache.set(workPath, out);
  return out;
}

/** `3f2a9c1e0b7d fix the heap size` (`+` marks uncommitted changes); '' outside git. */
export function describeTree(t: TreeCommit | null): string {
  return t ? `${t.commit.slice(0, 12)}${t.dirty ? '+' : ''} ${t.subject}` : '';
}
