import { after, before, beforeEach, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decryptSops, decryptToPlainYaml, encryptSops, goFloatF } from '../../src/secrets/sops';
import { decryptSopsSync } from '../../src/secrets/decrypt-sync';
import { defaultKeysFile, findIdentities, parseKeys } from '../../src/secrets/identities';
import { base64Cores, secretRegistry } from '../../src/secrets/registry';
import { attributesForHooks } from '../../src/secrets/hooks';
import { readAttributeFile } from '../../src/tree/attributes';
import { renderUnits } from '../../src/render/service';
import { unifiedDiff, PLAIN, planJson } from '../../src/report/diff';
import { planChanges, UnitChange } from '../../src/plan/diff';
import { Workspace } from '../../src/workspace';
import { GgnError } from '../../src/errors';
import { hookAttributes } from '../../src/apply/hooks';
import { editFile, encryptFile, rotateFile } from '../../src/secrets/files-edit';

const FIX = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'sops');
const fixture = fs.readFileSync(path.join(FIX, 'sops-age-secret.enc.yaml'), 'utf8');
const KEY = parseKeys(fs.readFileSync(path.join(FIX, 'sops-age-key.txt'), 'utf8'), false);
const RECIPIENT = 'age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr';
/** A second identity, not a recipient of anything. */
const OTHER_KEY = 'AGE-SECRET-KEY-1JQ4L7CGCHC2TE7JUJ7YG4Y4DREUWFD7Y6U5XKFZ3EYTNY62Z5PES6MWJVN';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-secrets-'));
}

describe('SOPS files written by sops', () => {
  it('decrypts the fixture with its MAC checked: strings, int, float, bool, nested maps, lists', async () => {
    const r = await decryptSops(fixture, KEY);
    const plain = JSON.parse(fs.readFileSync(path.join(FIX, 'sops-age-secret.json'), 'utf8'));
    const byPath = new Map(r.leaves.map((l) => [l.location.join('.'), l.value]));
    assert.equal(byPath.get('secret'), plain.secret);
    assert.equal(byPath.get('string'), 'string');
    assert.equal(byPath.get('int'), 7n);
    assert.equal(byPath.get('float'), 3.14);
    assert.equal(byPath.get('boolean'), true);
    assert.equal(byPath.get('complex.value'), plain.complex.value);
    assert.deepEqual(
      [0, 1, 2].map((i) => byPath.get(`complex.array.${i}`)),
      plain.complex.array,
    );
    assert.deepEqual(r.metadata.recipients.length, 3);
  });
  it('decrypts synchronously through the worker, as the tree reader does', () => {
    assert.equal(decryptSopsSync(fixture, KEY).leaves.find((l) => l.location[0] === 'secret')?.value, 'this is a secret');
  });
  it('refuses a file whose values were removed or reordered after encryption (MAC)', async () => {
    const dropped = fixture.replace(/^string: .*\n/m, '');
    await assert.rejects(decryptSops(dropped, KEY), /MAC mismatch/);
  });
  it('refuses a value that was tampered with, or moved to another key', async () => {
    const data = /^string: ENC\[AES256_GCM,data:([^,]+),/m.exec(fixture)![1];
    const flipped = fixture.replace(`data:${data},`, `data:${data.startsWith('A') ? 'B' : 'A'}${data.slice(1)},`);
    await assert.rejects(decryptSops(flipped, KEY), /does not decrypt/);
    const enc = /^string: (ENC\[.*\])$/m.exec(fixture)![1];
    const moved = fixture.replace(/^secret: ENC\[.*\]$/m, `secret: ${enc}`);
    await assert.rejects(decryptSops(moved, KEY), /value at secret: does not decrypt/);
  });
  it('says none of the identities opens it, or that there is none', async () => {
    await assert.rejects(decryptSops(fixture, [OTHER_KEY]), /none of the age identities found opens it/);
    await assert.rejects(decryptSops(fixture, []), /no age identity found/);
  });
});

describe('SOPS files written by ggn', () => {
  const plain =
    'default:\n  db:\n    password: hunter2-hunter2 # a comment\n    port: 5432\n    tls: true\n    ratio: 0.25\n    hosts: [a, b]\n    empty: ""\n    none: null\n    note_unencrypted: visible\n';
  it('encrypt then decrypt gives back every value and type; comments are dropped; the _unencrypted suffix stays clear', async () => {
    const enc = await encryptSops(plain, { recipients: [RECIPIENT] });
    assert.ok(!enc.includes('hunter2') && !enc.includes('a comment'));
    assert.match(enc, /note_unencrypted: visible/);
    assert.match(enc, /^sops:\n {2}age:\n {4}- recipient: age1je6k/m);
    assert.match(enc, /lastmodified: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/);
    const r = await decryptSops(enc, KEY);
    const v = Object.fromEntries(r.leaves.map((l) => [l.location.join('.'), l.value]));
    assert.deepEqual(v, {
      'default.db.password': 'hunter2-hunter2',
      'default.db.port': 5432n,
      'default.db.tls': true,
      'default.db.ratio': 0.25,
      'default.db.hosts.0': 'a',
      'default.db.hosts.1': 'b',
      'default.db.empty': '',
      'default.db.note_unencrypted': 'visible',
    });
    const back = await decryptToPlainYaml(enc, KEY);
    assert.match(back.yaml, /password: hunter2-hunter2\n/);
    assert.deepEqual(back.metadata.recipients, [RECIPIENT]);
  });
  it('is read by sops-age, an independent implementation of the sops format (and its MAC)', async () => {
    const enc = await encryptSops(plain, { recipients: [RECIPIENT] });
    const { decryptSops: other } = require('sops-age') as { decryptSops: (s: string, o: object) => Promise<Record<string, unknown>> };
    const out = (await other(enc, { fileType: 'yaml', secretKey: KEY[0] })) as { default: { db: Record<string, unknown> } };
    assert.equal(out.default.db.password, 'hunter2-hunter2');
    assert.equal(out.default.db.tls, true);
    assert.equal(Number(out.default.db.port), 5432);
  });
  it('refuses a file that is already encrypted, and a recipient that is not one', async () => {
    await assert.rejects(encryptSops(fixture, { recipients: [RECIPIENT] }), /already encrypted/);
    await assert.rejects(encryptSops(plain, { recipients: ['age1nope'] }), /not an age recipient: age1nope/);
  });
  it("formats floats like Go's 'f' format", () => {
    assert.equal(goFloatF(1e21), '1000000000000000000000');
    assert.equal(goFloatF(1.5e-7), '0.00000015');
    assert.equal(goFloatF(3.14), '3.14');
  });
});

describe('a private unit file on the host (it held secrets the tree no longer has)', () => {
  it('shows what the tree has and hides the rest, for a changed unit and an orphan', () => {
    const live = '[Service]\nEnvironment=DB_PASSWORD=an-old-secret-value\nExecStart=/bin/true\n';
    const desired = '[Service]\nEnvironment=DB_HOST=db.example\nExecStart=/bin/true\n';
    const snap = [
      {
        machine: 'm1',
        units: [
          { name: 'p_db_d1.service', machine: 'm1', content: live, private: true },
          { name: 'p_db_d2.service', machine: 'm1', content: live, private: true },
        ],
      },
    ];
    const plan = planChanges([{ name: 'p_db_d1.service', service: 'db', machine: 'm1', content: desired }], snap, () => 'db');
    const changed = plan.changes.find((c) => c.unit === 'p_db_d1.service')!;
    assert.equal(changed.kind, 'changed');
    const d = unifiedDiff(changed, PLAIN);
    assert.ok(!d.includes('an-old-secret-value'), d);
    assert.match(d, /^-Environment=DB_PASSWORD=‹hidden›$/m);
    assert.match(d, /^\+Environment=DB_HOST=db\.example$/m);
    assert.match(d, /^ ExecStart=\/bin\/true$/m);
    const orphan = plan.changes.find((c) => c.unit === 'p_db_d2.service')!;
    assert.equal(orphan.kind, 'orphan');
    assert.ok(!unifiedDiff(orphan, PLAIN).includes('an-old-secret-value'));
  });
});

describe('ggn secrets edit, encrypt, rotate', () => {
  let saved: string | undefined;
  before(() => {
    saved = process.env.SOPS_AGE_KEY;
    process.env.SOPS_AGE_KEY = KEY[0];
  });
  after(() => {
    if (saved === undefined) delete process.env.SOPS_AGE_KEY;
    else process.env.SOPS_AGE_KEY = saved;
  });
  it('edit: decrypts to a private temporary file, runs the editor, re-encrypts for the same recipients, removes the temporary file', async () => {
    const d = tmp();
    const file = path.join(d, 'secret.yml');
    fs.writeFileSync(file, 'default:\n  db:\n    password: first-value\n');
    await encryptFile(file, [RECIPIENT]);
    assert.ok(!fs.readFileSync(file, 'utf8').includes('first-value'));
    const seen = path.join(d, 'seen');
    const editor = path.join(d, 'editor.sh');
    fs.writeFileSync(editor, `#!/bin/sh\nstat -c '%a %n' "$1" "$(dirname "$1")" > ${seen}\nsed -i s/first-value/second-value/ "$1"\n`, { mode: 0o755 });
    const r = await editFile(file, [editor]);
    assert.deepEqual(r, { changed: true, recipients: [RECIPIENT] });
    const [fileLine, dirLine] = fs.readFileSync(seen, 'utf8').trim().split('\n');
    assert.match(fileLine, /^600 /);
    assert.match(dirLine, /^700 /);
    assert.ok(!fs.existsSync(fileLine.slice(4)) && !fs.existsSync(dirLine.slice(4)), 'the plaintext is gone');
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(!text.includes('second-value'));
    const back = await decryptToPlainYaml(text, KEY);
    assert.match(back.yaml, /password: second-value/);
    assert.deepEqual(await editFile(file, ['true']), { changed: false, recipients: [RECIPIENT] });
    await assert.rejects(editFile(file, ['false']), /exited with 1; .* left unchanged/);
    assert.equal(fs.readFileSync(file, 'utf8'), text);
    await assert.rejects(encryptFile(file, [RECIPIENT]), /already encrypted/);
    await rotateFile(file);
    assert.notEqual(fs.readFileSync(file, 'utf8'), text);
    assert.match((await decryptToPlainYaml(fs.readFileSync(file, 'utf8'), KEY)).yaml, /second-value/);
  });
});

describe('age identities, found where sops finds them', () => {
  it('reads SOPS_AGE_KEY, SOPS_AGE_KEY_FILE and the default keys file', () => {
    const d = tmp();
    const file = path.join(d, 'keys.txt');
    fs.writeFileSync(file, `# created: x\n${OTHER_KEY}\n`);
    fs.mkdirSync(path.join(d, 'xdg', 'sops', 'age'), { recursive: true });
    fs.writeFileSync(path.join(d, 'xdg', 'sops', 'age', 'keys.txt'), `${KEY[0]}\n`);
    const ids = findIdentities({ SOPS_AGE_KEY: `${KEY[0]}, ${OTHER_KEY}`, SOPS_AGE_KEY_FILE: file, XDG_CONFIG_HOME: path.join(d, 'xdg') });
    assert.deepEqual(ids.keys, [KEY[0], OTHER_KEY]);
    assert.equal(ids.looked.length, 3);
    assert.equal(defaultKeysFile({ HOME: '/home/x' }), '/home/x/.config/sops/age/keys.txt');
    const missing = findIdentities({ SOPS_AGE_KEY_FILE: path.join(d, 'nope'), HOME: d });
    assert.match(missing.problems.join(), /cannot read SOPS_AGE_KEY_FILE .*ENOENT/);
  });
});

/** A work tree whose service `db` reads an encrypted attribute file. */
function secretTree(template: string, secretYaml: string, extraConfig = ''): { home: string; work: string } {
  const d = tmp();
  const work = path.join(d, 'work');
  const svc = path.join(work, 'env', 'prod', 'services', 'db');
  fs.mkdirSync(path.join(svc, 'attributes'), { recursive: true });
  fs.mkdirSync(path.join(d, 'home'));
  fs.writeFileSync(path.join(d, 'home', 'config.yml'), `workPath: ${work}\n`);
  fs.writeFileSync(path.join(work, 'env', 'prod', 'config.yml'), extraConfig);
  fs.writeFileSync(path.join(svc, 'service-manifest.yml'), 'nodes:\n  - hostname: db1\n');
  fs.writeFileSync(path.join(svc, 'unit.tmpl'), template);
  fs.writeFileSync(path.join(svc, 'attributes', 'public.yml'), 'default:\n  db:\n    host: db.example\n    user: app\n');
  fs.writeFileSync(path.join(svc, 'attributes', 'secret.yml'), secretYaml);
  return { home: path.join(d, 'home'), work };
}

const PASSWORD = 'Pa55"w0rd\'<&>-s3cr3t';
const TOKEN = 'tok-1234567890abcdef';

describe('masking secrets in units, whatever the template does with them', () => {
  let encrypted = '';
  let saved: string | undefined;
  before(async () => {
    saved = process.env.SOPS_AGE_KEY;
    process.env.SOPS_AGE_KEY = KEY[0];
    const filler = 'f'.repeat(1940);
    encrypted = await encryptSops(`default:\n  db:\n    password: ${JSON.stringify(PASSWORD)}\n  api:\n    token: ${TOKEN}\n    filler: ${filler}\n`, {
      recipients: [RECIPIENT],
    });
  });
  after(() => {
    if (saved === undefined) delete process.env.SOPS_AGE_KEY;
    else process.env.SOPS_AGE_KEY = saved;
  });
  beforeEach(() => secretRegistry.clear());

  const PATHS: [string, string][] = [
    ['plain', 'Environment=DB_PASSWORD={{.db.password}}'],
    ['in a URL', 'Environment=DB_URL=postgres://{{.db.user}}:{{.db.password}}@{{.db.host}}/app'],
    ['printf %q', 'Environment=Q={{printf "%q" .db.password}}'],
    ['printf %s %v %x', 'Environment=P={{printf "%s|%v|%x" .db.password .api.token .db.password}}'],
    ['toJson', 'Environment=J={{toJson .db}}'],
    ['toYaml', 'Environment=Y={{toYaml .db}}'],
    ['toUpper', 'Environment=U={{toUpper .api.token}}'],
    ['replace', 'Environment=R={{.api.token | replace "-"}}'],
    ['attributes (JSON, escaped for a unit)', "Environment='ATTRIBUTES={{.attributes}}'"],
    ['attributesBase64', 'Environment=B64={{.attributesBase64}}'],
    ['environmentAttributes (1950-byte chunks)', '{{.environmentAttributes}}'],
    ['environmentAttributesBase64 (chunks of base64)', '{{.environmentAttributesBase64}}'],
    ['a secret as a map key in range', '{{range $k, $v := .api}}Environment=K_{{$k}}={{$v}}\n{{end}}'],
  ];
  const forms = (s: string) => [s, JSON.stringify(s).slice(1, -1), s.toUpperCase(), Buffer.from(s).toString('hex'), ...base64Cores(s)];

  for (const [what, line] of PATHS) {
    it(`masks ${what}`, () => {
      const t = secretTree(`[Service]\n${line}\nExecStart=/bin/true\n`, encrypted);
      const ws = new Workspace({ homePath: t.home });
      const r = renderUnits(ws.service(ws.env('prod'), 'db'));
      assert.deepEqual(r.errors, []);
      const u = r.units[0];
      assert.ok(u.secrets, 'the unit is known to hold secrets');
      assert.ok(u.content.includes(PASSWORD) || u.content.includes(TOKEN) || u.content !== u.secrets.masked, 'the real unit has the secret');
      for (const f of [...forms(PASSWORD), ...forms(TOKEN)]) assert.ok(!u.secrets.masked.includes(f), `${what}: ${f} leaked in ${u.secrets.masked}`);
      assert.match(u.secrets.masked, /‹secret/);
      assert.match(u.secrets.masked, /^ExecStart=\/bin\/true$/m, 'public lines are shown');
    });
  }

  it('masks a secret that the manifest template put into a node', () => {
    const t = secretTree('[Service]\nEnvironment=PW={{.pw}}\nExecStart=/bin/true\n', encrypted);
    fs.writeFileSync(path.join(t.work, 'env/prod/services/db/service-manifest.yml'), 'nodes:\n  - hostname: db1\n    pw: "{{.api.token}}"\n');
    const ws = new Workspace({ homePath: t.home });
    const u = renderUnits(ws.service(ws.env('prod'), 'db')).units[0];
    assert.match(u.content, new RegExp(`PW=${TOKEN}`));
    assert.equal(u.secrets?.masked, '[Service]\nEnvironment=PW=‹secret api.token›\nExecStart=/bin/true');
  });

  it('names the secret and keeps the rest of the line', () => {
    const t = secretTree('[Service]\nEnvironment=DB_URL=postgres://{{.db.user}}:{{.db.password}}@{{.db.host}}/app\n', encrypted);
    const ws = new Workspace({ homePath: t.home });
    const u = renderUnits(ws.service(ws.env('prod'), 'db')).units[0];
    assert.equal(u.secrets!.masked, '[Service]\nEnvironment=DB_URL=postgres://app:‹secret db.password›@db.example/app');
  });

  it('diff and diff --json say that a secret changed, never what it was or is', () => {
    const t = secretTree('[Service]\nEnvironment=DB_PASSWORD={{.db.password}}\nEnvironment=TOKEN={{.api.token}}\nExecStart=/bin/true\n', encrypted);
    const ws = new Workspace({ homePath: t.home });
    const u = renderUnits(ws.service(ws.env('prod'), 'db')).units[0];
    const live = u.content.replace(PASSWORD, 'old-password-value').replace('/bin/true', '/bin/false');
    const c: UnitChange = { kind: 'changed', unit: u.name, service: 'db', machine: 'm1', desired: u.content, live, secrets: u.secrets };
    const d = unifiedDiff(c, PLAIN);
    assert.match(d, /^~ db\.password changed$/m);
    assert.doesNotMatch(d, /api\.token changed/);
    assert.match(d, /^-ExecStart=‹hidden›$/m, 'a line of the host that the tree does not have may hold an old secret');
    assert.match(d, /^\+ExecStart=\/bin\/true$/m);
    for (const s of [PASSWORD, 'old-password-value', TOKEN]) assert.ok(!d.includes(s), `${s} in ${d}`);
    const json = JSON.stringify(planJson([c], []));
    for (const s of [PASSWORD, 'old-password-value', TOKEN, JSON.stringify(PASSWORD).slice(1, -1)]) assert.ok(!json.includes(s));
    assert.match(json, /~ db\.password changed/);
  });

  it('an old secret of another length, in base64 and chunks of the host version, is not shown either', async () => {
    const tpl = '[Service]\nEnvironment=B64={{.attributesBase64}}\n{{.environmentAttributes}}\n{{.environmentAttributesBase64}}\nExecStart=/bin/true\n';
    const OLD = 'old-secret-of-another-length-x';
    const oldTree = secretTree(
      tpl,
      await encryptSops(`default:\n  db:\n    password: ${OLD}\n  api:\n    filler: ${'f'.repeat(1930)}\n`, { recipients: [RECIPIENT] }),
    );
    const oldWs = new Workspace({ homePath: oldTree.home });
    const live = renderUnits(oldWs.service(oldWs.env('prod'), 'db')).units[0].content;
    secretRegistry.clear();
    const t = secretTree(tpl, encrypted);
    const ws = new Workspace({ homePath: t.home });
    const u = renderUnits(ws.service(ws.env('prod'), 'db')).units[0];
    const d = unifiedDiff({ kind: 'changed', unit: u.name, service: 'db', machine: 'm1', desired: u.content, live, secrets: u.secrets }, PLAIN);
    for (const f of [...forms(OLD), ...forms(PASSWORD), ...forms(TOKEN)]) assert.ok(!d.includes(f), `${f} in ${d}`);
    assert.match(d, /^~ db\.password changed$/m);
  });

  it('hooks get ATTRIBUTES masked unless the env config says plain', () => {
    const t = secretTree('x\n', encrypted);
    const ws = new Workspace({ homePath: t.home });
    const svc = ws.service(ws.env('prod'), 'db');
    const masked = hookAttributes(attributesForHooks(svc.source.attributes, svc.source.env));
    assert.ok(!masked.includes(TOKEN) && !masked.includes('Pa55'));
    assert.match(masked, /"password":"‹secret db.password›"/);
    assert.match(masked, /"host":"db.example"/);
    const t2 = secretTree('x\n', encrypted, 'secrets:\n  hookAttributes: plain\n');
    const ws2 = new Workspace({ homePath: t2.home });
    const svc2 = ws2.service(ws2.env('prod'), 'db');
    assert.match(hookAttributes(attributesForHooks(svc2.source.attributes, svc2.source.env)), new RegExp(TOKEN));
    const t3 = secretTree('x\n', encrypted, 'secrets:\n  hookAtributes: plain\n');
    const ws3 = new Workspace({ homePath: t3.home });
    // a typo is refused when the env is loaded, with the likely key
    assert.throws(() => ws3.env('prod'), /unknown key `secrets.hookAtributes` \(did you mean "hookAttributes"\?\)/);
  });

  it('redacts every literal form in free text (errors, logs), with the name', () => {
    const t = secretTree('x\n', encrypted);
    const ws = new Workspace({ homePath: t.home });
    ws.service(ws.env('prod'), 'db');
    const json = JSON.stringify(PASSWORD).slice(1, -1);
    const b64 = Buffer.from(`xx${PASSWORD}yy`).toString('base64');
    const out = secretRegistry.redact(`error: bad value ${PASSWORD} / "${json}" / ${b64}`);
    assert.ok(!out.includes(PASSWORD) && !out.includes(json));
    for (const core of base64Cores(PASSWORD)) assert.ok(!out.includes(core));
    assert.match(out, /bad value ‹secret db.password›/);
  });

  it('a file that cannot be decrypted is one line naming it and its recipients', () => {
    process.env.SOPS_AGE_KEY = OTHER_KEY;
    const old = process.env.SOPS_AGE_KEY_FILE;
    delete process.env.SOPS_AGE_KEY_FILE;
    try {
      const d = tmp();
      const file = path.join(d, 'secret.yml');
      fs.writeFileSync(file, encrypted);
      assert.throws(
        () => readAttributeFile(file),
        (e: GgnError) => {
          assert.equal(e.ctx.file, file);
          assert.match(
            e.message,
            new RegExp(`^cannot decrypt \\(none of the age identities found opens it\\); recipients: ${RECIPIENT}; 1 age identity from SOPS_AGE_KEY`),
          );
          assert.ok(!e.message.includes('\n'));
          return true;
        },
      );
      fs.writeFileSync(file, encrypted.replace(/^( {4}password: )ENC\[[^\]]*\]$/m, '$1ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]'));
      process.env.SOPS_AGE_KEY = KEY[0];
      assert.throws(() => readAttributeFile(file), /cannot decrypt \(value at default:db:password: does not decrypt/);
    } finally {
      process.env.SOPS_AGE_KEY = KEY[0];
      if (old !== undefined) process.env.SOPS_AGE_KEY_FILE = old;
    }
  });
});
