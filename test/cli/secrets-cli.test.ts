import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ggn, scratchTree, tmpDir } from '../support/cli';
import { encryptSops } from '../../src/secrets/sops';

const RECIPIENT = 'age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr';
const NO_KEYS = { SOPS_AGE_KEY: '', SOPS_AGE_KEY_FILE: '/nonexistent/keys.txt', XDG_CONFIG_HOME: '/nonexistent' };

describe('ggn secrets (CLI)', () => {
  it('usage errors exit 2 with one line', () => {
    const none = ggn(['secrets']);
    assert.equal(none.code, 2);
    assert.match(none.stdout, /ggn secrets encrypt <file> --age <recipient>/);
    for (const args of [
      ['secrets', 'encrypt', 'x.yml'],
      ['secrets', 'frobnicate'],
      ['secrets', 'edit'],
      ['secrets', 'encrypt', 'a', '--bogus'],
    ]) {
      const r = ggn(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n')[0].startsWith('error: '), true);
    }
    assert.equal(ggn(['secrets', '--help']).code, 0);
  });

  it('keygen appends an identity to a private keys file and prints its recipient', () => {
    const d = tmpDir('keygen');
    const file = path.join(d, 'keys.txt');
    const r = ggn(['secrets', 'keygen', '-o', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^age1[0-9a-z]+\n$/);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(file, 'utf8'), new RegExp(`# public key: ${r.stdout.trim()}\nAGE-SECRET-KEY-1`));
  });

  it('a tree with a file nobody here can decrypt: one line naming the file and its recipients, exit 1, nothing written', async () => {
    const t = scratchTree({
      'env/prod/services/db/service-manifest.yml': 'nodes:\n  - hostname: d1\n',
      'env/prod/services/db/unit.tmpl': '[Service]\nEnvironment=P={{.db.password}}\n',
      'env/prod/services/db/attributes/secret.yml': await encryptSops('default:\n  db:\n    password: x-secret-x\n', { recipients: [RECIPIENT] }),
    });
    const r = ggn(['-H', t.home, 'prod', 'db', 'generate'], { env: NO_KEYS });
    assert.equal(r.code, 1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(
      errors[0],
      /^error: env\/prod\/services\/db\/attributes\/secret\.yml: service db: cannot decrypt \(no age identity found\); recipients: age1je6k/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.ok(!fs.existsSync(path.join(t.work, 'env/prod/services/db/units')));
  });
});
