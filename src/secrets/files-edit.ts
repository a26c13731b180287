/**
 * `ggn secrets encrypt|edit|rotate|keygen`: writing SOPS files. Every file is written atomically
 * (a temporary file renamed over it) with the mode the old one had (0600 for a new key file);
 * the plaintext of `edit` lives only in a private temporary directory, and is overwritten and
 * removed whatever happens.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { GgnError } from '../errors';
import { findIdentities } from './identities';
import { decryptToPlainYaml, encryptSops, looksLikeSops, recipientsOf, SopsError } from './sops';

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new GgnError(`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
}

/** Atomic write keeping the file's mode (0600 when it is new). */
export function writeAtomic(file: string, text: string, newMode = 0o600): void {
  let mode = newMode;
  try {
    mode = fs.statSync(file).mode & 0o777;
  } catch {
    // a new file
  }
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  try {
    fs.writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
    fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new GgnError(`cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
}

function sopsError(e: unknown, file: string): GgnError {
  if (e instanceof GgnError) return e;
  return new GgnError(e instanceof SopsError || e instanceof Error ? e.message : String(e), { file });
}

async function decryptFile(file: string, text: string) {
  const ids = findIdentities();
  try {
    return await decryptToPlainYaml(text, ids.keys);
  } catch (e) {
    const to = recipientsOf(text).join(', ') || 'none';
    throw new GgnError(`cannot decrypt (${(e as Error).message}); recipients: ${to}; identities from ${ids.looked.join(', ')}`, { file });
  }
}

/** Encrypts a plaintext attribute file in place for the recipients. */
export async function encryptFile(file: string, recipients: string[]): Promise<void> {
  const text = readText(file);
  if (looksLikeSops(text)) throw new GgnError('already encrypted (it has a `sops:` key): use `ggn secrets edit` or `ggn secrets rotate`', { file });
  let out: string;
  try {
    out = await encryptSops(text, { recipients });
  } catch (e) {
    throw sopsError(e, file);
  }
  writeAtomic(file, out);
}

/** A new data key, for the file's recipients or new ones (removing a recipient, or after a leak). */
export async function rotateFile(file: string, recipients?: string[]): Promise<string[]> {
  const text = readText(file);
  const plain = await decryptFile(file, text);
  const to = recipients?.length ? recipients : plain.metadata.recipients;
  try {
    writeAtomic(file, await encryptSops(plain.yaml, { recipients: to, unencryptedSuffix: plain.metadata.unencryptedSuffix }));
  } catch (e) {
    throw sopsError(e, file);
  }
  return to;
}

export interface EditResult {
  changed: boolean;
  recipients: string[];
}

/**
 * Decrypts to a private temporary file, runs the editor on it, and re-encrypts what it left for
 * the file's recipients (or `recipients`). A new file starts from an empty `default:` map and
 * needs recipients. The temporary file is overwritten with zeros and removed on every way out.
 */
export async function editFile(file: string, editor: string[], recipients?: string[]): Promise<EditResult> {
  const exists = fs.existsSync(file);
  let plain: string;
  let to: string[];
  let suffix: string | undefined;
  if (exists) {
    const p = await decryptFile(file, readText(file));
    plain = p.yaml;
    to = recipients?.length ? recipients : p.metadata.recipients;
    suffix = p.metadata.unencryptedSuffix;
  } else {
    if (!recipients?.length) throw new GgnError('a new file needs its recipients: --age <recipient>', { file });
    plain = 'default:\n';
    to = recipients;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-secrets-'));
  fs.chmodSync(dir, 0o700);
  const tmp = path.join(dir, path.basename(file).replace(/\.(ya?ml)?$/, '') + '.yml');
  try {
    fs.writeFileSync(tmp, plain, { mode: 0o600, flag: 'wx' });
    const r = spawnSync(editor[0], [...editor.slice(1), tmp], { stdio: 'inherit' });
    if (r.error) throw new GgnError(`cannot run the editor ${editor[0]}: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}`, { file });
    if (r.status !== 0) throw new GgnError(`the editor ${editor[0]} exited with ${r.status ?? r.signal}; ${file} left unchanged`, { file });
    const edited = fs.readFileSync(tmp, 'utf8');
    if (exists && edited === plain && !recipients?.length) return { changed: false, recipients: to };
    let out: string;
    try {
      out = await encryptSops(edited, { recipients: to, unencryptedSuffix: suffix });
    } catch (e) {
      throw new GgnError(`${(e as Error).message}; ${file} left unchanged`, { file });
    }
    writeAtomic(file, out);
    return { changed: true, recipients: to };
  } finally {
    shred(tmp);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function shred(file: string): void {
  try {
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r+');
    try {
      fs.writeSync(fd, Buffer.alloc(size));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // gone already
  }
  fs.rmSync(file, { force: true });
}

/** A new age identity, appended to a keys file (0600), age-keygen's format. Returns the recipient. */
export async function keygen(file: string, now = new Date()): Promise<string> {
  const age = await import('age-encryption');
  const identity = await age.generateX25519Identity();
  const recipient = await age.identityToRecipient(identity);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const fd = fs.openSync(file, 'a', 0o600);
  try {
    fs.writeSync(fd, `# created: ${now.toISOString().replace(/\.\d+Z$/, 'Z')}\n# public key: ${recipient}\n${identity}\n`);
  } finally {
    fs.closeSync(fd);
  }
  return recipient;
}

/** `$VISUAL`, `$EDITOR`, else vi, split on blanks (`code --wait` works). */
export function editorCommand(env: NodeJS.ProcessEnv = process.env): string[] {
  const e = (env.VISUAL || env.EDITOR || 'vi').trim();
  return e.split(/\s+/);
}
