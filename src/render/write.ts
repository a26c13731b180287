/**
 * Writes rendered units where GGN did (`services/<svc>/units/<name>`), each atomically: a
 * temporary file in the same folder renamed over the target, so a reader never sees half a unit.
 * A unit whose bytes are already there is left alone (its mtime too).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GgnError } from '../errors';
import { RenderedUnit } from './service';

export interface WriteResult {
  written: string[];
  unchanged: string[];
}

export function writeUnits(units: RenderedUnit[]): WriteResult {
  const res: WriteResult = { written: [], unchanged: [] };
  // One listing per directory tells which files exist, so new files cost no failed read.
  const existing = new Map<string, Set<string>>();
  for (const u of units) {
    const dir = path.dirname(u.localPath);
    let names = existing.get(dir);
    if (!names) {
      fs.mkdirSync(dir, { recursive: true });
      names = new Set(fs.readdirSync(dir));
      existing.set(dir, names);
    }
    if (names.has(path.basename(u.localPath)) && sameContent(u.localPath, u.content)) {
      res.unchanged.push(u.localPath);
      continue;
    }
    atomicWrite(u.localPath, u.content);
    res.written.push(u.localPath);
  }
  return res;
}

function sameContent(file: string, content: string): boolean {
  try {
    return fs.readFileSync(file, 'utf8') === content;
  } catch {
    return false;
  }
}

export function atomicWrite(file: string, content: string): void {
  const slash = file.lastIndexOf(path.sep);
  const tmp = `${file.slice(0, slash + 1)}.${file.slice(slash + 1)}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, content, { mode: 0o644 });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new GgnError(`cannot write unit file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
}
