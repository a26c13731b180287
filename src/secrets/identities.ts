/**
 * The user's age identities, found where sops finds them (getsops/sops age/keysource.go):
 * `SOPS_AGE_KEY` (the keys themselves), `SOPS_AGE_KEY_FILE` (a keys file), and the default keys
 * file `$XDG_CONFIG_HOME/sops/age/keys.txt` (else `~/.config/sops/age/keys.txt`). All of them
 * are used, not just the first found. A keys file is age-keygen's: one `AGE-SECRET-KEY-1...` a
 * line, `#` comments.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Identities {
  /** `AGE-SECRET-KEY-...` strings. */
  keys: string[];
  /** Where ggn looked, for the message when none opens a file. */
  looked: string[];
  /** Problems met (a keys file that cannot be read). */
  problems: string[];
}

const KEY_RE = /^AGE-SECRET-KEY-[0-9A-Z-]*1[0-9A-Z]+$/;

export function defaultKeysFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME ? env.XDG_CONFIG_HOME : path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'sops', 'age', 'keys.txt');
}

export function parseKeys(text: string, multiplePerLine: boolean): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    for (const k of multiplePerLine ? line.split(/[\s,]+/) : [line]) if (KEY_RE.test(k)) out.push(k);
  }
  return out;
}

export function findIdentities(env: NodeJS.ProcessEnv = process.env): Identities {
  const keys: string[] = [];
  const looked: string[] = [];
  const problems: string[] = [];
  if (env.SOPS_AGE_KEY !== undefined) {
    looked.push('SOPS_AGE_KEY');
    keys.push(...parseKeys(env.SOPS_AGE_KEY, true));
  }
  const readFile = (file: string, label: string, optional: boolean) => {
    looked.push(label);
    try {
      keys.push(...parseKeys(fs.readFileSync(file, 'utf8'), false));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!(optional && code === 'ENOENT')) problems.push(`cannot read ${label}: ${code ?? (e as Error).message}`);
    }
  };
  if (env.SOPS_AGE_KEY_FILE !== undefined) readFile(env.SOPS_AGE_KEY_FILE, `SOPS_AGE_KEY_FILE (${env.SOPS_AGE_KEY_FILE})`, false);
  const def = defaultKeysFile(env);
  readFile(def, def, true);
  return { keys: [...new Set(keys)], looked, problems };
}
