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

export function generateEd25519(comment: string): SshKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pubJwk = publicKey.export({ format: 'jwk' });
  const privJwk = privateKey.export({ format: 'jwk' });
  const pub = Buffer.from(pubJwk.x as string, 'base64url');
  const seed = Buffer.from(privJwk.d as string, 'base64url');
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
