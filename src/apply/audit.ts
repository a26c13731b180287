/**
 * The audit log, one owner for its format: one line per event on each host, tab-separated:
 *   time who env service unit action old-hash new-hash result run-id tree
 * (`tree`: the work tree's git commit and subject at the time, '' outside git).
 * A change writes a `started` line before it touches the host and a line with its result
 * after, so a change that was cut short (ggn killed, host lost) shows as such in `history`.
 * Lines of ggn 0.1 have no run id.
 */
import * as crypto from 'node:crypto';

export interface AuditEntry {
  time: string;
  who: string;
  env: string;
  service: string;
  unit: string;
  action: string;
  oldHash: string;
  newHash: string;
  result: string;
  runId: string;
  /** The tree's commit and subject (`3f2a9c1e0b7d fix the heap size`); '' when unknown. */
  tree: string;
  machine: string;
}

export const STARTED = 'started';

/** A change that ended well: its new bytes were live afterwards. */
export const succeeded = (e: AuditEntry) => e.result !== STARTED && (e.result === 'ok' || e.result.startsWith('ok'));

/** The first 12 hex digits of the content's sha256 ('-': no content). */
export const contentHash = (s: string | null) => (s === null ? '-' : crypto.createHash('sha256').update(s).digest('hex').slice(0, 12));

/** The fields of a line, in order; tabs and newlines become spaces so a line stays a line. */
export function auditFields(e: Omit<AuditEntry, 'machine' | 'tree'> & { tree?: string }): string[] {
  return [e.time, e.who, e.env, e.service, e.unit, e.action, e.oldHash, e.newHash, e.result, e.runId, e.tree ?? ''].map((f) => f.replace(/[\t\r\n]+/g, ' '));
}

/**
 * Reads a host's log, keeping only the entries `keep` accepts. Goes line by line: a log of
 * millions of lines costs the entries kept, not the lines read.
 */
export function parseAudit(text: string, machine: string, keep: (e: AuditEntry) => boolean = () => true): AuditEntry[] {
  const out: AuditEntry[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const f = text.slice(start, end).split('\t');
    start = end + 1;
    if (f.length < 9) continue;
    const e: AuditEntry = {
      time: f[0],
      who: f[1],
      env: f[2],
      service: f[3],
      unit: f[4],
      action: f[5],
      oldHash: f[6],
      newHash: f[7],
      result: f[8],
      runId: f[9] ?? '',
      tree: f[10] ?? '',
      machine,
    };
    if (keep(e)) out.push(e);
  }
  return out;
}

/**
 * Pairs each `started` line with the result of the same run, unit and host: a started change
 * with no result was cut short and is kept, marked; the others are dropped (the result says it).
 */
export function foldStarted(entries: AuditEntry[]): AuditEntry[] {
  const ended = new Set<string>();
  const key = (e: AuditEntry) => `${e.runId}\0${e.unit}\0${e.machine}`;
  for (const e of entries) if (e.result !== STARTED && e.runId) ended.add(key(e));
  const out: AuditEntry[] = [];
  for (const e of entries) {
    if (e.result !== STARTED) out.push(e);
    else if (!ended.has(key(e))) out.push({ ...e, result: 'INTERRUPTED: started, no result recorded (ggn stopped or the host was lost mid-change)' });
  }
  return out;
}
