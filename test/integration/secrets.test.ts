/**
 * Secrets on a live cluster (sshd + systemd --user per host): a service whose attributes come from
 * a SOPS file is generated, diffed, rolled out, changed and rolled out again; nothing ggn printed
 * (every command, --json, -L debug), the audit log or the hooks' environment holds a secret, and
 * the unit file, its revisions and ggn's state directory on the host are private.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { up, Cluster, TestHost } from '../harness';
import { ggn, Run } from '../support/cli';
import { clusterTree, ClusterTree } from '../support/cluster-tree';
import { encryptSops } from '../../src/secrets/sops';
import { base64Cores } from '../../src/secrets/registry';
import { parseKeys } from '../../src/secrets/identities';

const skip = process.getuid?.() === 0 ? false : 'the test cluster needs root';

const FIX = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'sops');
const KEY = parseKeys(fs.readFileSync(path.join(FIX, 'sops-age-key.txt'), 'utf8'), false)[0];
const RECIPIENT = 'age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr';
const FIRST = 'S3cr3t-pw-0123456789';
const SECOND = 'N3w-s3cr3t-9876543210';
const TOKEN = 'api-token-abcdefghijkl';

const UNIT = `[Unit]
Description=db {{.hostname}}

[Service]
Environment=DB_PASSWORD={{.db.password}}
Environment=DB_URL=postgres://app:{{.db.password}}@db.example/app
Environment=TOKEN={{printf "%q" .api.token}}
Environment=ATTRIBUTES_B64={{.attributesBase64}}
{{.environmentAttributes}}
ExecStart=/bin/sh -c 'echo "$DB_PASSWORD" > %h/{{.hostname}}.pw; exec sleep 600'

[X-Fleet]
MachineID={{.machine_id}}
`;

let cluster: Cluster;
let tree: ClusterTree;
let h: TestHost[];
const printed: string[] = [];

const env = { SOPS_AGE_KEY: KEY, SOPS_AGE_KEY_FILE: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent' };
function run(...args: string[]): Run {
  const r = ggn(['-H', tree.home, ...args], { env });
  printed.push(`$ ggn ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  return r;
}
const mode = (f: string) => fs.statSync(f).mode & 0o777;
const unitFile = (i: number) => path.join(h[i].home, '.config/systemd/user', `prod_db_d${i + 1}.service`);
const stateDir = (i: number) => path.join(h[i].home, '.local/state/ggn');

async function setSecret(password: string): Promise<void> {
  tree.write(
    'env/prod/services/db/attributes/secret.yml',
    await encryptSops(`default:\n  db:\n    password: ${password}\n  api:\n    token: ${TOKEN}\n`, { recipients: [RECIPIENT] }),
  );
}

/** The value and the forms a template or a printer could give it. */
function forms(s: string): string[] {
  return [s, JSON.stringify(s), Buffer.from(s).toString('hex'), ...base64Cores(s)];
}

describe('secrets on a live cluster', { skip, timeout: 240_000 }, () => {
  before(async () => {
    cluster = await up(2, { dir: '/tmp/ggn-test-secrets' });
    h = cluster.hosts;
    tree = clusterTree(cluster, {
      'env/prod/services/db/service-manifest.yml': 'nodes:\n' + h.map((x, i) => `  - hostname: d${i + 1}\n    machine_id: ${x.name}\n`).join(''),
      'env/prod/services/db/unit.tmpl': UNIT,
      'env/prod/services/db/attributes/public.yml': 'default:\n  db:\n    host: db.example\n',
      'env/prod/hooks/early/10-record': '#!/bin/sh\n{ echo "== $ACTION ${UNIT:-}"; env; cat "$ATTRIBUTES_FILE"; echo; } >> "$GGN_HOME_PATH/hooks.log"\n',
    });
    fs.chmodSync(path.join(tree.work, 'env/prod/hooks/early/10-record'), 0o755);
    await setSecret(FIRST);
  });
  after(async () => {
    await cluster?.down();
  });

  it('generate writes the units that hold secrets 0600', () => {
    const r = run('prod', 'db', 'generate');
    assert.equal(r.code, 0, r.stderr);
    const local = path.join(tree.work, 'env/prod/services/db/units/prod_db_d1.service');
    assert.equal(mode(local), 0o600);
    assert.ok(fs.readFileSync(local, 'utf8').includes(`DB_PASSWORD=${FIRST}`));
  });

  it('diff shows the units masked, in text, --json and -L debug', () => {
    const d = run('prod', 'db', 'diff');
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /^\+Environment=DB_PASSWORD=‹secret db\.password›$/m);
    assert.match(d.stdout, /^\+Environment=DB_URL=postgres:\/\/app:‹secret db\.password›@db\.example\/app$/m);
    assert.match(d.stdout, /^\+ExecStart=/m);
    const j = run('prod', 'db', 'diff', '--json');
    assert.equal(j.code, 0, j.stderr);
    assert.match(JSON.parse(j.stdout).changes[0].diff, /‹secret db\.password›/);
    assert.equal(run('-L', 'debug', 'prod', 'db', 'diff').code, 0);
    // a plan file keeps only the hashes of a unit that holds a secret; show prints it masked
    const planPath = path.join(tree.base, 'plan.json');
    assert.equal(run('prod', 'db', 'diff', '--out', planPath).code, 0);
    const plan = fs.readFileSync(planPath, 'utf8');
    printed.push(plan);
    assert.equal(mode(planPath), 0o600);
    assert.equal(JSON.parse(plan).units[0].desired.content, undefined);
    const show = ggn(['show', planPath], { env });
    printed.push(show.stdout, show.stderr);
    assert.match(show.stdout, /holds a secret: only hashes are kept/);
  });

  it('update delivers the real secret, writes the unit 0600 and keeps the state private', async () => {
    const r = run('prod', 'db', 'update', '-y', '--json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (let i = 0; i < 2; i++) {
      assert.equal(mode(unitFile(i)), 0o600);
      assert.equal(mode(stateDir(i)), 0o700);
      assert.equal((await cluster.exec(h[i], ['systemctl', '--user', 'is-active', `prod_db_d${i + 1}.service`])).stdout.trim(), 'active');
      assert.equal(fs.readFileSync(path.join(h[i].home, `d${i + 1}.pw`), 'utf8').trim(), FIRST, 'the service got the real value');
    }
    assert.equal(run('prod', 'db', 'check').code, 0);
  });

  it('a changed secret: diff says which, update rolls it out, and the revision holding the old one is private', async () => {
    await setSecret(SECOND);
    const d = run('prod', 'db', 'diff', '--exit-code');
    assert.equal(d.code, 2, d.stderr);
    assert.match(d.stdout, /^~ db\.password changed$/m);
    assert.doesNotMatch(d.stdout, /api\.token changed/);
    const j = run('prod', 'db', 'diff', '--json');
    assert.match(j.stdout, /~ db\.password changed/);
    const r = run('-L', 'debug', 'prod', 'db', 'update', '-y', '--json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (let i = 0; i < 2; i++) {
      assert.equal(fs.readFileSync(path.join(h[i].home, `d${i + 1}.pw`), 'utf8').trim(), SECOND);
      assert.equal(mode(unitFile(i)), 0o600);
      const revs = path.join(stateDir(i), 'revisions', `prod_db_d${i + 1}.service`);
      const kept = fs.readdirSync(revs).filter((f) => /^\d+$/.test(f));
      assert.ok(kept.length >= 1);
      for (const f of kept) {
        assert.equal(mode(path.join(revs, f)), 0o600);
        assert.ok(fs.readFileSync(path.join(revs, f), 'utf8').includes(FIRST), 'the revision holds the old secret');
      }
    }
    const hist = run('prod', 'db', 'history', '--json');
    assert.equal(hist.code, 0, hist.stderr);
    for (let i = 0; i < 2; i++) {
      const audit = fs.readFileSync(path.join(stateDir(i), 'audit.log'), 'utf8');
      for (const s of [FIRST, SECOND, TOKEN]) assert.ok(!audit.includes(s));
    }
  });

  it('rollback puts the old secret back, private, without printing it', async () => {
    const r = run('prod', 'db', 'rollback', '-y', '--json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (let i = 0; i < 2; i++) {
      assert.equal(fs.readFileSync(path.join(h[i].home, `d${i + 1}.pw`), 'utf8').trim(), FIRST);
      assert.equal(mode(unitFile(i)), 0o600);
    }
  });

  it('secrets removed from the tree: the private files on the hosts still do not show them', () => {
    fs.rmSync(path.join(tree.work, 'env/prod/services/db/attributes/secret.yml'));
    tree.write(
      'env/prod/services/db/attributes/public.yml',
      'default:\n  db:\n    host: db.example\n    password: now-a-public-value\n  api:\n    token: public-token\n',
    );
    const d = run('prod', 'db', 'diff');
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /^-Environment=DB_PASSWORD=‹hidden›$/m);
    assert.match(d.stdout, /^\+Environment=DB_PASSWORD=now-a-public-value$/m);
    const j = run('prod', 'db', 'diff', '--json');
    assert.match(j.stdout, /‹hidden›/);
  });

  it('nothing ggn printed, and nothing the hooks saw, holds a secret', () => {
    const all = printed.join('\n');
    assert.ok(printed.length >= 10);
    for (const s of [FIRST, SECOND, TOKEN])
      for (const f of forms(s)) assert.ok(!all.includes(f), `${f} was printed: ${all.slice(Math.max(0, all.indexOf(f) - 300), all.indexOf(f) + 100)}`);
    assert.match(all, /‹secret db\.password›/);
    const hooks = fs.readFileSync(path.join(tree.home, 'hooks.log'), 'utf8');
    assert.match(hooks, /== unit\/update/);
    assert.match(hooks, /"password":"‹secret db\.password›"/);
    for (const s of [FIRST, SECOND, TOKEN]) for (const f of forms(s)) assert.ok(!hooks.includes(f), `${f} reached a hook`);
    assert.ok(!hooks.includes(KEY), 'the age key (SOPS_AGE_KEY) is not passed to hooks');
  });
});
