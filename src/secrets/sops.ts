/**
 * The SOPS file format (YAML flavour, age recipients), as sops itself reads and writes it
 * (getsops/sops: sops.go Tree.Encrypt/Decrypt, aes/cipher.go, stores/stores.go):
 *
 *   - every leaf value is `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<str|int|float|bool>]`,
 *     AES-256-GCM under the file's 32-byte data key, a 32-byte IV, and as additional data the
 *     leaf's path: its map keys joined with ':' plus a trailing ':' (list indices are not part
 *     of the path). An empty string stays empty.
 *   - the `sops:` map holds the data key encrypted to each age recipient (`age: [{recipient,
 *     enc}]`, enc an ASCII-armored age file), `lastmodified` (RFC 3339), `mac`, `version`, and
 *     the rules that leave some keys in clear (`unencrypted_suffix`, ...).
 *   - the MAC is the upper-case hex SHA-512 of every leaf's plaintext bytes in document order
 *     (ints as decimal, floats as Go's 'f' format, bools as True/False; comments and nulls
 *     excluded; only encrypted leaves, after a fixed prefix, when `mac_only_encrypted`),
 *     itself stored encrypted with `lastmodified` as additional data.
 *
 * The cryptography is the libraries': AES-GCM from @noble/ciphers, SHA-512 from @noble/hashes,
 * age from age-encryption (all ESM, hence the dynamic imports; the render path reaches this
 * through a worker, see decrypt-sync.ts). This module is the format only.
 */
import * as crypto from 'node:crypto';
import type { Document, Scalar } from 'yaml';

// The full YAML package is loaded only when a SOPS file is read or written: most runs have none (it costs ~40 ms at start-up).
const Y = () => require('yaml') as typeof import('yaml');

export class SopsError extends Error {}

export type SopsType = 'str' | 'int' | 'float' | 'bool';
export type PlainValue = string | bigint | number | boolean;

export interface SopsLeaf {
  /** Map keys and list indices from the document root. */
  location: (string | number)[];
  /** What sops authenticates the value with: the map keys only. */
  sopsPath: string[];
  value: PlainValue;
  type: SopsType;
  /** false: left in clear by the file's rules (e.g. a key ending in `_unencrypted`). */
  encrypted: boolean;
}

export interface SopsMetadata {
  recipients: string[];
  stanzas: { recipient: string; enc: string }[];
  lastmodified: string;
  mac: string;
  version: string;
  unencryptedSuffix?: string;
  encryptedSuffix?: string;
  unencryptedRegex?: string;
  encryptedRegex?: string;
  macOnlyEncrypted: boolean;
}

export interface DecryptedFile {
  leaves: SopsLeaf[];
  metadata: SopsMetadata;
}

/** sops.MACOnlyEncryptedInitialization */
const MAC_ONLY_ENCRYPTED_INIT = Uint8Array.from([
  0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b, 0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad,
  0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
]);

const ENC_RE = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/;
export const SOPS_VERSION = '3.9.4';
export const DEFAULT_UNENCRYPTED_SUFFIX = '_unencrypted';

/** Cheap test on the text: does it have a top-level `sops:` key? */
export function looksLikeSops(text: string): boolean {
  return /^sops:[ \t]*(#.*)?$/m.test(text);
}

function parse(text: string): Document.Parsed {
  const doc = Y().parseDocument(text, { version: '1.2', schema: 'core', intAsBigInt: true, uniqueKeys: false });
  if (doc.errors.length) throw new SopsError(`invalid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  if (!Y().isMap(doc.contents)) throw new SopsError('not a SOPS file: the document is not a map');
  return doc;
}

/** The `sops:` metadata of a parsed file; a file without it, or with what ggn cannot use, is an error. */
export function readMetadata(doc: Document.Parsed): SopsMetadata {
  const raw = doc.get('sops');
  if (!Y().isMap(raw)) throw new SopsError('not a SOPS file: no `sops:` map');
  const m = raw.toJSON() as Record<string, unknown>;
  const str = (k: string) => (typeof m[k] === 'string' ? (m[k] as string) : undefined);
  if (m.shamir_threshold !== undefined && m.shamir_threshold !== null && Number(m.shamir_threshold) > 1) {
    throw new SopsError('Shamir key groups (shamir_threshold) are not supported');
  }
  if (str('encrypted_comment_regex') || str('unencrypted_comment_regex')) {
    throw new SopsError('encrypted_comment_regex / unencrypted_comment_regex are not supported');
  }
  let ages = Array.isArray(m.age) ? (m.age as unknown[]) : [];
  if (Array.isArray(m.key_groups)) {
    if (m.key_groups.length > 1) throw new SopsError('several key groups are not supported');
    const g = m.key_groups[0] as Record<string, unknown> | undefined;
    if (g && Array.isArray(g.age)) ages = [...ages, ...g.age];
  }
  const stanzas: SopsMetadata['stanzas'] = [];
  for (const a of ages) {
    const r = a as Record<string, unknown>;
    if (typeof r?.recipient === 'string' && typeof r.enc === 'string') stanzas.push({ recipient: r.recipient, enc: r.enc });
  }
  const lastmodified = str('lastmodified');
  const mac = str('mac');
  if (lastmodified === undefined) throw new SopsError('the `sops:` map has no lastmodified');
  if (mac === undefined) throw new SopsError('the `sops:` map has no mac');
  return {
    recipients: stanzas.map((s) => s.recipient),
    stanzas,
    lastmodified,
    mac,
    version: str('version') ?? '',
    unencryptedSuffix: str('unencrypted_suffix'),
    encryptedSuffix: str('encrypted_suffix'),
    unencryptedRegex: str('unencrypted_regex'),
    encryptedRegex: str('encrypted_regex'),
    macOnlyEncrypted: m.mac_only_encrypted === true,
  };
}

/** Only the recipients, for messages about a file that cannot be read. */
export function recipientsOf(text: string): string[] {
  try {
    return readMetadata(parse(text)).recipients;
  } catch {
    return [];
  }
}

/** sops' Tree.shouldBeEncrypted for a path (comment rules are refused in readMetadata). */
function shouldBeEncrypted(path: string[], m: Pick<SopsMetadata, 'unencryptedSuffix' | 'encryptedSuffix' | 'unencryptedRegex' | 'encryptedRegex'>): boolean {
  let encrypted = true;
  if (m.unencryptedSuffix) if (path.some((p) => p.endsWith(m.unencryptedSuffix!))) encrypted = false;
  if (m.encryptedSuffix) encrypted = path.some((p) => p.endsWith(m.encryptedSuffix!));
  if (m.unencryptedRegex) {
    const re = new RegExp(m.unencryptedRegex);
    if (path.some((p) => re.test(p))) encrypted = false;
  }
  if (m.encryptedRegex) {
    const re = new RegExp(m.encryptedRegex);
    encrypted = path.some((p) => re.test(p));
  }
  return encrypted;
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64): the shortest digits that read back, never an exponent. */
export function goFloatF(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const s = String(n);
  if (!/e/i.test(s)) return s;
  const [mant, expS] = s.toLowerCase().split('e');
  const exp = Number(expS);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const pointAt = (mant.replace('-', '').indexOf('.') === -1 ? mant.replace('-', '').length : mant.replace('-', '').indexOf('.')) + exp;
  let out: string;
  if (pointAt <= 0) out = '0.' + '0'.repeat(-pointAt) + digits;
  else if (pointAt >= digits.length) out = digits + '0'.repeat(pointAt - digits.length);
  else out = digits.slice(0, pointAt) + '.' + digits.slice(pointAt);
  return (neg ? '-' : '') + out;
}

/** sops.ToBytes: what the MAC hashes, and what AES-GCM encrypts. */
export function plainBytes(v: PlainValue): { text: string; type: SopsType } {
  if (typeof v === 'string') return { text: v, type: 'str' };
  if (typeof v === 'bigint') return { text: v.toString(), type: 'int' };
  if (typeof v === 'number') return { text: goFloatF(v), type: 'float' };
  return { text: v ? 'True' : 'False', type: 'bool' };
}

/** Go's strconv.ParseBool. */
function parseGoBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new SopsError(`invalid bool value ${JSON.stringify(s)}`);
}

function typed(text: string, type: string): { value: PlainValue; type: SopsType } {
  switch (type) {
    case 'str':
    case 'bytes':
    case 'time':
      return { value: text, type: 'str' };
    case 'int':
      if (!/^[+-]?\d+$/.test(text)) throw new SopsError(`invalid int value`);
      return { value: BigInt(text), type: 'int' };
    case 'float': {
      const f = Number(text);
      if (text.trim() === '' || Number.isNaN(f)) throw new SopsError(`invalid float value`);
      return { value: f, type: 'float' };
    }
    case 'bool':
      return { value: parseGoBool(text), type: 'bool' };
    default:
      throw new SopsError(`unknown data type ${JSON.stringify(type)}`);
  }
}

type Noble = {
  gcm: (key: Uint8Array, nonce: Uint8Array, aad?: Uint8Array) => { encrypt(p: Uint8Array): Uint8Array; decrypt(c: Uint8Array): Uint8Array };
  sha512: { create(): { update(b: Uint8Array): unknown; digest(): Uint8Array } };
};
let nobleP: Promise<Noble> | undefined;
function noble(): Promise<Noble> {
  return (nobleP ??= Promise.all([import('@noble/ciphers/aes.js'), import('@noble/hashes/sha2.js')]).then(([a, h]) => ({
    gcm: a.gcm as unknown as Noble['gcm'],
    sha512: h.sha512 as unknown as Noble['sha512'],
  })));
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

function aesDecrypt(n: Noble, value: string, key: Uint8Array, ad: string): { text: string; type: string } {
  const m = ENC_RE.exec(value);
  if (!m) throw new SopsError('a value is not in sops format (ENC[AES256_GCM,...])');
  const data = Buffer.from(m[1], 'base64');
  const iv = Buffer.from(m[2], 'base64');
  const tag = Buffer.from(m[3], 'base64');
  let plain: Uint8Array;
  try {
    plain = n.gcm(key, iv, enc.encode(ad)).decrypt(Buffer.concat([data, tag]));
  } catch {
    throw new SopsError(`value at ${ad} does not decrypt (AES-GCM authentication failed)`);
  }
  return { text: dec.decode(plain), type: m[4] };
}

function aesEncrypt(n: Noble, text: string, type: SopsType, key: Uint8Array, ad: string): string {
  if (text === '' && type === 'str') return '';
  const iv = crypto.randomBytes(32);
  const out = n.gcm(key, iv, enc.encode(ad)).encrypt(enc.encode(text));
  const data = Buffer.from(out.subarray(0, out.length - 16)).toString('base64');
  const tag = Buffer.from(out.subarray(out.length - 16)).toString('base64');
  return `ENC[AES256_GCM,data:${data},iv:${iv.toString('base64')},tag:${tag},type:${type}]`;
}

/** Go's time.Format(time.RFC3339) of a parsed RFC 3339 time: fractional seconds dropped. */
export function rfc3339(lastmodified: string): string {
  return lastmodified.replace(/^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d+/, '$1');
}

interface Visit {
  node: Scalar;
  location: (string | number)[];
  sopsPath: string[];
}

/** Every non-null scalar leaf outside `sops:`, in document order (sops' walk). */
function leaves(doc: Document.Parsed): Visit[] {
  const out: Visit[] = [];
  const walk = (node: unknown, location: (string | number)[], path: string[]) => {
    if (Y().isMap(node)) {
      for (const item of node.items) {
        if (!Y().isPair(item)) continue;
        const k = Y().isScalar(item.key) ? item.key.value : item.key;
        const key = typeof k === 'bigint' || typeof k === 'number' || typeof k === 'boolean' ? String(k) : k;
        if (typeof key !== 'string') throw new SopsError('a map key is not a string');
        if (location.length === 0 && key === 'sops') continue;
        walk(item.value, [...location, key], [...path, key]);
      }
    } else if (Y().isSeq(node)) {
      for (let i = 0; i < node.items.length; i++) walk(node.items[i], [...location, i], path);
    } else if (Y().isScalar(node)) {
      if (node.value !== null && node.value !== undefined) out.push({ node, location, sopsPath: path });
    } else if (node !== null && node !== undefined) {
      throw new SopsError('unsupported YAML node (alias?)');
    }
  };
  walk(doc.contents, [], []);
  return out;
}

/** The data key, from the first age stanza that one of the identities opens. */
async function dataKey(m: SopsMetadata, identities: string[]): Promise<Uint8Array> {
  const age = await import('age-encryption');
  if (identities.length === 0) throw new SopsError('no age identity found');
  const d = new age.Decrypter();
  for (const id of identities) d.addIdentity(id);
  for (const s of m.stanzas) {
    try {
      const key = await d.decrypt(age.armor.decode(s.enc));
      if (key.length === 32) return key;
    } catch {
      // not for us: try the next recipient
    }
  }
  throw new SopsError('none of the age identities found opens it');
}

/** Decrypts a SOPS YAML file and verifies its MAC. */
export async function decryptSops(text: string, identities: string[]): Promise<DecryptedFile> {
  const doc = parse(text);
  const metadata = readMetadata(doc);
  if (metadata.stanzas.length === 0) throw new SopsError('it has no age recipient (other key types are not supported)');
  const key = await dataKey(metadata, identities);
  const n = await noble();
  const hash = n.sha512.create();
  if (metadata.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_INIT);
  const out: SopsLeaf[] = [];
  for (const v of leaves(doc)) {
    const encrypted = shouldBeEncrypted(v.sopsPath, metadata);
    let value: PlainValue;
    let type: SopsType;
    if (encrypted) {
      if (typeof v.node.value !== 'string') throw new SopsError(`value at ${v.sopsPath.join(':')}: is not encrypted`);
      if (v.node.value === '') {
        value = '';
        type = 'str';
      } else {
        const ad = v.sopsPath.join(':') + ':';
        const p = aesDecrypt(n, v.node.value, key, ad);
        ({ value, type } = typed(p.text, p.type));
      }
    } else {
      const raw = v.node.value;
      if (typeof raw !== 'string' && typeof raw !== 'bigint' && typeof raw !== 'number' && typeof raw !== 'boolean') {
        throw new SopsError(`value at ${v.sopsPath.join(':')}: unsupported type`);
      }
      value = raw;
      type = plainBytes(raw).type;
    }
    if (!metadata.macOnlyEncrypted || encrypted) hash.update(enc.encode(plainBytes(value).text));
    out.push({ location: v.location, sopsPath: v.sopsPath, value, type, encrypted });
  }
  const computed = Buffer.from(hash.digest()).toString('hex').toUpperCase();
  let stored: string;
  try {
    stored = aesDecrypt(n, metadata.mac, key, rfc3339(metadata.lastmodified)).text;
  } catch {
    throw new SopsError('MAC mismatch: the file was changed without its key (the mac does not decrypt)');
  }
  if (stored !== computed) throw new SopsError('MAC mismatch: the values were changed after the file was encrypted');
  return { leaves: out, metadata };
}

/** The plaintext YAML of a SOPS file (for `ggn secrets edit`), and its metadata. */
export async function decryptToPlainYaml(text: string, identities: string[]): Promise<{ yaml: string; metadata: SopsMetadata }> {
  const { leaves: ls, metadata } = await decryptSops(text, identities);
  const doc = parse(text);
  doc.delete('sops');
  for (const l of ls) doc.setIn(l.location, l.value);
  return { yaml: doc.toString({ lineWidth: 0 }), metadata };
}

export interface EncryptOptions {
  recipients: string[];
  unencryptedSuffix?: string;
  /** For tests: the time written as lastmodified. */
  now?: Date;
}

/**
 * Encrypts a plaintext YAML document the way `sops --encrypt --age ...` does: every leaf outside
 * the unencrypted suffix, a fresh data key wrapped for each age recipient, the MAC. Comments
 * are dropped (sops encrypts them; a comment in clear could hold a secret).
 */
export async function encryptSops(plainYaml: string, opts: EncryptOptions): Promise<string> {
  if (opts.recipients.length === 0) throw new SopsError('at least one age recipient is needed');
  const doc = Y().parseDocument(plainYaml, { version: '1.2', schema: 'core', intAsBigInt: true, uniqueKeys: true });
  if (doc.errors.length) throw new SopsError(`invalid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  if (!Y().isMap(doc.contents)) throw new SopsError('the file must be a map');
  if (doc.has('sops')) throw new SopsError('the file is already encrypted (it has a `sops:` key)');
  stripComments(doc);
  const suffix = opts.unencryptedSuffix ?? DEFAULT_UNENCRYPTED_SUFFIX;
  const age = await import('age-encryption');
  const n = await noble();
  const key = new Uint8Array(crypto.randomBytes(32));
  const stanzas: { recipient: string; enc: string }[] = [];
  for (const r of opts.recipients) {
    const e = new age.Encrypter();
    try {
      e.addRecipient(r);
    } catch (err) {
      throw new SopsError(`not an age recipient: ${r} (${(err as Error).message})`);
    }
    stanzas.push({ recipient: r, enc: age.armor.encode(await e.encrypt(key)) });
  }
  const hash = n.sha512.create();
  for (const v of leaves(doc as Document.Parsed)) {
    const raw = v.node.value;
    if (typeof raw !== 'string' && typeof raw !== 'bigint' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      throw new SopsError(`value at ${v.sopsPath.join(':')}: unsupported type`);
    }
    const { text, type } = plainBytes(raw);
    hash.update(enc.encode(text));
    if (!shouldBeEncrypted(v.sopsPath, { unencryptedSuffix: suffix })) continue;
    const s = new (Y().Scalar)(aesEncrypt(n, text, type, key, v.sopsPath.join(':') + ':'));
    doc.setIn(v.location, s);
  }
  const mac = Buffer.from(hash.digest()).toString('hex').toUpperCase();
  const lastmodified = (opts.now ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z');
  const ageList = stanzas.map((s) => {
    const m = new (Y().YAMLMap)();
    m.set('recipient', s.recipient);
    const e = new (Y().Scalar)(s.enc);
    e.type = Y().Scalar.BLOCK_LITERAL;
    m.set('enc', e);
    return m;
  });
  const sops = new (Y().YAMLMap)();
  sops.set('age', doc.createNode(ageList));
  sops.set('lastmodified', Object.assign(new (Y().Scalar)(lastmodified), { type: Y().Scalar.QUOTE_DOUBLE }));
  sops.set('mac', aesEncrypt(n, mac, 'str', key, lastmodified));
  sops.set('unencrypted_suffix', suffix);
  sops.set('version', SOPS_VERSION);
  doc.set('sops', sops);
  return doc.toString({ lineWidth: 0 });
}

/** No comments (sops would encrypt them), block style as sops writes it. */
function stripComments(doc: Document): void {
  doc.commentBefore = null;
  doc.comment = null;
  const visit = (node: unknown) => {
    if (node && typeof node === 'object') {
      const n = node as { commentBefore?: unknown; comment?: unknown; items?: unknown[]; key?: unknown; value?: unknown };
      if ('commentBefore' in n) n.commentBefore = null;
      if ('comment' in n) n.comment = null;
      if (Y().isMap(node) || Y().isSeq(node)) node.flow = false;
      if (Array.isArray(n.items)) n.items.forEach(visit);
      if (Y().isPair(node)) {
        visit(n.key);
        visit(n.value);
      }
    }
  };
  visit(doc.contents);
}
