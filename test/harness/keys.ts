// ed25519 key pairs in OpenSSH formats, generated in-process (no ssh-keygen spawn).
import { generateKeyPairSync, randomBytes } from 'node:crypto';

export interface SshKeyPair {
  /** "-----BEGIN OPENSSH PRIVATE KEY-----" PEM, unencrypted. */
  privateKey: string;
  /** "ssh-ed25519 AAAA... comment" */
  publicKey: string;
  /** base64 of the public key blob (the known_hosts / authorized_keys key field). */
  publicBlobB64: string;
}

function sshString(b: Buffer | string): Buffer {
  const data = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

const SPKI_ED25519 = '302a300506032b6570032100';
const PKCS8_ED25519 = '302e020100300506032b657004220420';

export function generateEd25519(comment: string): SshKeyPair {
  // Encoded by the key generation itself, not exported from KeyObjects afterwards: Node 20's
  // KeyObject export holds the key's mutex while it allocates, and a garbage collection then can
  // finalize the generation job, whose destructor takes the same mutex: the process hung for good
  // (seen once, at the 172nd of 200 test hosts; gdb: ExportJWKEdKey -> GC -> ~KeyGenJob -> mutex).
  const { publicKey, privateKey } = generateKeyPairSync('ed25519', {
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  // The fixed DER headers of an Ed25519 SubjectPublicKeyInfo and PKCS#8 key, then 32 bytes.
  if (publicKey.toString('hex', 0, 12) !== SPKI_ED25519 || privateKey.toString('hex', 0, 16) !== PKCS8_ED25519)
    throw new Error('unexpected ed25519 key encoding');
  const pub = publicKey.subarray(12);
  const seed = privateKey.subarray(16);
  if (pub.length !== 32 || seed.length !== 32) throw new Error('unexpected ed25519 key size');

  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4).readUInt32BE(0);
  let priv = Buffer.concat([u32(check), u32(check), sshString('ssh-ed25519'), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);

  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    u32(1),
    sshString(pubBlob),
    sshString(priv),
  ]).toString('base64');
  const lines = body.match(/.{1,70}/g) ?? [];
  const privateKeyPem = `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
  const b64 = pubBlob.toString('base64');
  return { privateKey: privateKeyPem, publicKey: `ssh-ed25519 ${b64} ${comment}`, publicBlobB64: b64 };
}
