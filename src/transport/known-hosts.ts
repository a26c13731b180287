/**
 * known_hosts (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"), read-only:
 *
 *   [@marker] hostpatterns keytype base64-key [comment]
 *
 * - hostpatterns: comma list of names/addresses with `*`/`?` wildcards and `!negation`;
 *   `[host]:port` for a port other than 22; or one hashed name `|1|base64(salt)|base64(hash)`
 *   where hash = HMAC-SHA1(key = salt, data = "host" or "[host]:port").
 * - `@revoked`: that key is never accepted. We refuse it for ANY host (stricter than OpenSSH,
 *   which also looks at the line's host patterns).
 * - `@cert-authority`: ignored (ssh2 does not support host certificates).
 * - Comments (`#`), blank and malformed lines are skipped.
 *
 * The key we compare is the raw public-key blob (what ssh2 gives `hostVerifier`), which is the
 * base64 decoding of the key field; its type is read from the blob itself.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { matchPatternList } from './pattern';

export interface KnownHostEntry {
  marker?: 'revoked' | 'cert-authority';
  /** Plain pattern list, or undefined for a hashed entry. */
  patterns?: string[];
  hashed?: { salt: Buffer; hash: Buffer };
  keyType: string;
  key: Buffer;
  line: number;
}

export interface KnownHosts {
  file: string;
  entries: KnownHostEntry[];
}

export type HostKeyStatus = 'ok' | 'unknown' | 'changed' | 'revoked';

export interface HostKeyCheck {
  status: HostKeyStatus;
  /** Key types known_hosts lists for this host (empty when the host is not in the file). */
  knownTypes: string[];
  /** Line numbers (1-based) of the entries for this host and the offered key type. */
  lines: number[];
  /** The name (as looked up, e.g. `[h]:2222`) that matched, when one did. */
  matchedName?: string;
}

export function parseKnownHosts(text: string, file = '<known_hosts>'): KnownHosts {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i].trim();
    if (s === '' || s.startsWith('#')) continue;
    const f = s.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (f[0].startsWith('@')) {
      const m = f.shift()!.toLowerCase();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue; // unknown marker: skip the line, as ssh does
    }
    if (f.length < 3) continue;
    const [hostField, keyType, b64] = f;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) continue;
    const key = Buffer.from(b64, 'base64');
    if (key.length < 8) continue;
    const entry: KnownHostEntry = { keyType, key, line: i + 1 };
    if (marker) entry.marker = marker;
    if (hostField.startsWith('|1|')) {
      const parts = hostField.split('|');
      // ['', '1', salt, hash]
      if (parts.length !== 4) continue;
      const salt = Buffer.from(parts[2], 'base64');
      const hash = Buffer.from(parts[3], 'base64');
      if (salt.length !== 20 || hash.length !== 20) continue;
      entry.hashed = { salt, hash };
    } else if (hostField.startsWith('|')) {
      continue; // unsupported hash format
    } else {
      entry.patterns = hostField.split(',').filter((p) => p !== '');
    }
    entries.push(entry);
  }
  return { file, entries };
}

const cache = new Map<string, { mtimeMs: number; size: number; kh: KnownHosts }>();

/** Reads and parses a known_hosts file (cached by mtime and size); missing file → no entries. */
export function loadKnownHosts(file: string): KnownHosts {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return { file, entries: [] };
  }
  const c = cache.get(file);
  if (c && c.mtimeMs === st.mtimeMs && c.size === st.size) return c.kh;
  const kh = parseKnownHosts(fs.readFileSync(file, 'utf8'), file);
  cache.set(file, { mtimeMs: st.mtimeMs, size: st.size, kh });
  return kh;
}

/** The name a host is written under: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

function entryMatches(e: KnownHostEntry, name: string): boolean {
  if (e.hashed) {
    const h = crypto.createHmac('sha1', e.hashed.salt).update(name).digest();
    return crypto.timingSafeEqual(h, e.hashed.hash);
  }
  return matchPatternList(e.patterns ?? [], name);
}

/** The key type written at the start of an SSH public-key blob (`ssh-ed25519`, `ssh-rsa`, ...). */
export function keyTypeOfBlob(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const n = blob.readUInt32BE(0);
  if (n === 0 || n > 64 || 4 + n > blob.length) return undefined;
  return blob.toString('latin1', 4, 4 + n);
}

/** Plain (non-marker) entries for the first of `hosts` that has any. */
function entriesFor(kh: KnownHosts, hosts: string[], port: number): { name?: string; entries: KnownHostEntry[] } {
  for (const h of hosts) {
    const name = knownHostsName(h, port);
    const entries = kh.entries.filter((e) => !e.marker && entryMatches(e, name));
    if (entries.length) return { name, entries };
  }
  return { entries: [] };
}

/**
 * Checks an offered host key. `hosts` are the names to look the host up by, in order (the first
 * one with any entry is used): normally the address we connect to, then aliases.
 */
export function checkHostKey(kh: KnownHosts, hosts: string[], port: number, keyType: string, keyBlob: Buffer): HostKeyCheck {
  if (kh.entries.some((e) => e.marker === 'revoked' && e.key.equals(keyBlob))) {
    return { status: 'revoked', knownTypes: [], lines: kh.entries.filter((e) => e.marker === 'revoked' && e.key.equals(keyBlob)).map((e) => e.line) };
  }
  const { name, entries } = entriesFor(kh, hosts, port);
  const knownTypes = [...new Set(entries.map((e) => e.keyType))];
  const sameType = entries.filter((e) => e.keyType === keyType);
  const lines = sameType.map((e) => e.line);
  const base = name === undefined ? { knownTypes, lines } : { knownTypes, lines, matchedName: name };
  if (sameType.some((e) => e.key.equals(keyBlob))) return { status: 'ok', ...base };
  if (sameType.length) return { status: 'changed', ...base };
  // not known at all, or known only with other key types: both are "unknown" (knownTypes tells which)
  return { status: 'unknown', ...base };
}

/**
 * 'ok' | 'unknown' | 'changed' | 'revoked' for `host`:`port` offering `keyBlob` of `keyType`.
 * A host known only with other key types is 'unknown' (use checkHostKey() for the details).
 */
export function verifyHostKey(file: string, host: string, port: number, keyType: string, keyBlob: Buffer): HostKeyStatus {
  return checkHostKey(loadKnownHosts(file), [host], port, keyType, keyBlob).status;
}

/** The name (`h` or `[h]:port`) under which the host is found, first of `hosts` with any entry. */
export function knownHostsMatch(kh: KnownHosts, hosts: string[], port: number): string | undefined {
  return entriesFor(kh, hosts, port).name;
}

/** Key types known_hosts lists for the host (first of `hosts` with any entry). */
export function knownKeyTypes(kh: KnownHosts, hosts: string[], port: number): string[] {
  return [...new Set(entriesFor(kh, hosts, port).entries.map((e) => e.keyType))];
}

/** ssh2 `serverHostKey` algorithm names that yield a key of each known_hosts key type. */
const ALGOS_FOR_TYPE: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ssh-dss': ['ssh-dss'],
};
const PREFERENCE = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa', 'ssh-dss'];

/**
 * The host key algorithms to offer so that the negotiated key is one known_hosts can vouch for;
 * undefined when none of the known types is usable (then offer ssh2's defaults).
 */
export function hostKeyAlgorithms(knownTypes: string[]): string[] | undefined {
  const algos = PREFERENCE.filter((t) => knownTypes.includes(t)).flatMap((t) => ALGOS_FOR_TYPE[t]);
  return algos.length ? algos : undefined;
}
