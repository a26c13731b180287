import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { utils } from 'ssh2';
import { checkHostKey, hostKeyAlgorithms, keyTypeOfBlob, knownKeyTypes, parseKnownHosts, verifyHostKey } from '../../src/transport/known-hosts';

function pub(type: 'ed25519' | 'ecdsa' | 'rsa'): { line: string; type: string; blob: Buffer } {
  const k =
    type === 'rsa'
      ? utils.generateKeyPairSync('rsa', { bits: 1024 })
      : type === 'ecdsa'
        ? utils.generateKeyPairSync('ecdsa', { bits: 256 })
        : utils.generateKeyPairSync('ed25519');
  const [t, b64] = k.public.split(' ');
  return { line: `${t} ${b64}`, type: t, blob: Buffer.from(b64, 'base64') };
}

function hashed(name: string): string {
  const salt = crypto.randomBytes(20);
  const h = crypto.createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${h.toString('base64')}`;
}

describe('known_hosts', () => {
  const ed = pub('ed25519');
  const ed2 = pub('ed25519');
  const ec = pub('ecdsa');
  const rsa = pub('rsa');
  const revoked = pub('ed25519');
  const ca = pub('ed25519');
  const text = [
    '# comment',
    '',
    `web1,10.0.0.1 ${ed.line} comment here`,
    `web1 ${rsa.line}`,
    `[web2]:2222,[10.0.0.2]:2222 ${ed.line}`,
    `${hashed('hashed.example.com')} ${ec.line}`,
    `${hashed('[hashed.example.com]:2200')} ${ed2.line}`,
    `*.wild.example.com,!evil.wild.example.com ${ed2.line}`,
    `rsaonly ${rsa.line}`,
    `@revoked * ${revoked.line}`,
    `@cert-authority *.example.com ${ca.line}`,
    'garbage line',
    `badkey ssh-ed25519 !!!notbase64`,
  ].join('\n');
  const kh = parseKnownHosts(text, 'kh');

  it('parses entries and skips comments, blanks and garbage', () => {
    assert.equal(kh.entries.length, 9);
    assert.equal(kh.entries[0].line, 3);
    assert.equal(keyTypeOfBlob(ed.blob), 'ssh-ed25519');
    assert.equal(keyTypeOfBlob(rsa.blob), 'ssh-rsa');
  });

  it('ok for the right key by name or address, port 22', () => {
    assert.equal(checkHostKey(kh, ['web1'], 22, ed.type, ed.blob).status, 'ok');
    assert.equal(checkHostKey(kh, ['10.0.0.1'], 22, ed.type, ed.blob).status, 'ok');
    assert.equal(checkHostKey(kh, ['WEB1'], 22, rsa.type, rsa.blob).status, 'ok', 'names are case-insensitive');
  });

  it('uses [host]:port for other ports, and only that', () => {
    assert.equal(checkHostKey(kh, ['web2'], 2222, ed.type, ed.blob).status, 'ok');
    assert.equal(checkHostKey(kh, ['10.0.0.2'], 2222, ed.type, ed.blob).status, 'ok');
    assert.equal(checkHostKey(kh, ['web2'], 22, ed.type, ed.blob).status, 'unknown');
    assert.equal(checkHostKey(kh, ['web1'], 2222, ed.type, ed.blob).status, 'unknown');
  });

  it('matches hashed entries (HMAC-SHA1), with and without port', () => {
    assert.equal(checkHostKey(kh, ['hashed.example.com'], 22, ec.type, ec.blob).status, 'ok');
    assert.equal(checkHostKey(kh, ['hashed.example.com'], 2200, ed2.type, ed2.blob).status, 'ok');
    assert.equal(checkHostKey(kh, ['hashed.example.com'], 2200, ed.type, ed.blob).status, 'changed');
    assert.equal(checkHostKey(kh, ['other.example.com'], 22, ec.type, ec.blob).status, 'unknown');
  });

  it('wildcards and negation', () => {
    assert.equal(checkHostKey(kh, ['a.wild.example.com'], 22, ed2.type, ed2.blob).status, 'ok');
    assert.equal(checkHostKey(kh, ['evil.wild.example.com'], 22, ed2.type, ed2.blob).status, 'unknown');
  });

  it('changed = same key type, different key; reports the lines', () => {
    const r = checkHostKey(kh, ['web1'], 22, ed2.type, ed2.blob);
    assert.equal(r.status, 'changed');
    assert.deepEqual(r.lines, [3]);
    assert.deepEqual(r.knownTypes.sort(), ['ssh-ed25519', 'ssh-rsa']);
  });

  it('known only with other key types = unknown, and says which types are known', () => {
    const r = checkHostKey(kh, ['rsaonly'], 22, ed.type, ed.blob);
    assert.equal(r.status, 'unknown');
    assert.deepEqual(r.knownTypes, ['ssh-rsa']);
    assert.deepEqual(knownKeyTypes(kh, ['rsaonly'], 22), ['ssh-rsa']);
    assert.deepEqual(knownKeyTypes(kh, ['nobody'], 22), []);
  });

  it('@revoked keys are refused for any host; @cert-authority lines are ignored', () => {
    assert.equal(checkHostKey(kh, ['anything'], 22, revoked.type, revoked.blob).status, 'revoked');
    assert.equal(checkHostKey(kh, ['x.example.com'], 22, ca.type, ca.blob).status, 'unknown');
  });

  it('looks names up in order; the first with entries decides', () => {
    // address unknown, machine name known
    assert.equal(checkHostKey(kh, ['10.9.9.9', 'web1'], 22, ed.type, ed.blob).status, 'ok');
    assert.equal(checkHostKey(kh, ['10.9.9.9', 'web1'], 22, ed2.type, ed2.blob).status, 'changed');
  });

  it('offers only host key algorithms for the known key types', () => {
    assert.deepEqual(hostKeyAlgorithms(['ssh-ed25519']), ['ssh-ed25519']);
    assert.deepEqual(hostKeyAlgorithms(['ssh-rsa', 'ssh-ed25519']), ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    assert.equal(hostKeyAlgorithms([]), undefined);
    assert.equal(hostKeyAlgorithms(['sk-ssh-ed25519@openssh.com']), undefined);
  });

  describe('verifyHostKey (file)', () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-kh-'));
      fs.writeFileSync(path.join(dir, 'known_hosts'), text);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    it('reads the file', () => {
      const f = path.join(dir, 'known_hosts');
      assert.equal(verifyHostKey(f, 'web1', 22, ed.type, ed.blob), 'ok');
      assert.equal(verifyHostKey(f, 'web1', 22, ed.type, ed2.blob), 'changed');
      assert.equal(verifyHostKey(f, 'nobody', 22, ed.type, ed.blob), 'unknown');
      assert.equal(verifyHostKey(f, 'x', 22, revoked.type, revoked.blob), 'revoked');
      assert.equal(verifyHostKey(path.join(dir, 'missing'), 'web1', 22, ed.type, ed.blob), 'unknown');
    });
    it('sees changes to the file', () => {
      const f = path.join(dir, 'known_hosts');
      fs.writeFileSync(f, `nobody ${ed.line}\n`);
      assert.equal(verifyHostKey(f, 'nobody', 22, ed.type, ed.blob), 'ok');
    });
  });
});
