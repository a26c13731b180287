/**
 * Many hosts (issue 13): a service with one unit on each of 200 user-scope test hosts, through
 * the real CLI: diff, update (with its task list on a terminal), check, and diff and check
 * through one jump host. Asserts what the hosts hold and run afterwards, that ggn stays within 1,024 open
 * descriptors (the common default limit; ggn keeps one connection per host open for the run),
 * and that nothing is left behind: no run lock, no temporary file on a host or on the client.
 * Speed is the bench's business (`npm run bench -- hosts`); GGN_TEST_MANY_HOSTS sets the count.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { up, Cluster, TestHost } from '../harness';
import { GGN, ggnOnTerminal, listFiles, Run, tmpDir } from '../support/cli';
import { clusterTree, ClusterTree, envConfigFor, SLEEPER_UNIT } from '../support/cluster-tree';
import { mapLimit } from '../../src/parallel';
import { screenOf } from '../support/screen';

const skip = process.getuid?.() === 0 ? false : 'the test cluster needs root';
const N = Number(process.env.GGN_TEST_MANY_HOSTS ?? 200);
/** The soft and hard limit of open descriptors ggn runs under here. */
const FD_LIMIT = 1024;

describe(`${N} hosts: diff, update, check, and diff through one jump host`, { skip, timeout: 1_200_000 }, () => {
  let cluster: Cluster;
  let tree: ClusterTree;
  let clientTmp: string;
  const unit = (i: number) => `prod_web_w${i + 1}.service`;
  const unitPath = (h: TestHost, i: number) => path.join(h.home, '.config/systemd/user', unit(i));

  /** ggn under a limit of FD_LIMIT descriptors (soft and hard: Node raises the soft one to the hard one), with its own TMPDIR. */
  function run(...args: string[]): Run {
    const r = spawnSync('prlimit', [`--nofile=${FD_LIMIT}:${FD_LIMIT}`, process.execPath, GGN, '-H', tree.home, ...args], {
      env: { ...process.env, NO_COLOR: '1', TMPDIR: clientTmp },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const out = { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    assert.doesNotMatch(out.stderr, /EMFILE|too many open files/i, 'ran out of descriptors');
    return out;
  }

  /** Every unit file holds version `v`, its service ran it, and systemd says it is active. */
  async function assertAllRunning(v: string): Promise<void> {
    for (const [i, h] of cluster.hosts.entries()) {
      assert.match(fs.readFileSync(unitPath(h, i), 'utf8'), new RegExp(`^Description=web w${i + 1} v${v}$`, 'm'), h.name);
      assert.match(fs.readFileSync(path.join(h.home, `w${i + 1}.log`), 'utf8'), new RegExp(`^started ${v}$`, 'm'), h.name);
    }
    const states = await mapLimit(cluster.hosts, 8, (h, i) => cluster.exec(h, ['systemctl', '--user', 'is-active', unit(i)]));
    const notActive = states.flatMap((s, i) =>
      s.ok && s.value.stdout.trim() === 'active' ? [] : [`${cluster.hosts[i].name}: ${s.ok ? s.value.stdout : s.error}`],
    );
    assert.deepEqual(notActive, []);
  }

  /** No run lock and no temporary file of ggn's on any host, and none on the client. */
  function assertNothingLeft(): void {
    const locks = path.join(cluster.hosts[0].home, '.local/state/ggn/locks/prod');
    assert.deepEqual(fs.existsSync(locks) ? fs.readdirSync(locks) : [], [], 'the run lock was released');
    const strays = cluster.hosts.flatMap((h) =>
      [path.join(h.home, '.config/systemd/user'), path.join(h.home, '.local/state/ggn')].flatMap((d) =>
        listFiles(d)
          .filter((f) => /ggn-tmp|(^|\/)\.tmp\./.test(f))
          .map((f) => `${h.name}:${f}`),
      ),
    );
    assert.deepEqual(strays, []);
    assert.deepEqual(listFiles(clientTmp), [], "the client's TMPDIR");
  }

  before(async () => {
    cluster = await up(N, { readyTimeoutMs: 180_000 });
    clientTmp = tmpDir('many-tmp');
    tree = clusterTree(
      cluster,
      {
        'env/prod/attributes/base.yml': 'default:\n  version: "1"\n',
        'env/prod/services/web/service-manifest.yml': 'nodes:\n' + cluster.hosts.map((h, i) => `  - hostname: w${i + 1}\n    machine_id: ${h.name}\n`).join(''),
        'env/prod/services/web/unit.tmpl': SLEEPER_UNIT,
      },
      // A connect timeout that N handshakes on 2 busy cores do not run into (a short one is
      // host-lost.test.ts's business).
      { connectTimeout: 60 },
    );
  });
  after(async () => {
    await cluster?.down();
  });

  it(`diff sees ${N} new units`, () => {
    const r = run('prod', 'web', 'diff', '--exit-code');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout, new RegExp(`0 changed, ${N} new, 0 orphaned, 0 unchanged`));
  });

  it(`update installs and starts all ${N} with the live task list on a terminal; diff then finds nothing and check says all are ok`, async () => {
    const u = ggnOnTerminal(['-H', tree.home, 'prod', 'web', 'update', '-y', '--parallel', '50'], [], {
      // 200 units take minutes on 2 busy cores: more than pty-run's default 180 s.
      env: { TMPDIR: clientTmp, PTY_RUN_TIMEOUT_S: '900' },
    });
    assert.equal(u.code, 0, u.output.slice(-3000));
    assert.match(u.output, new RegExp(`prod/web: ${N} updated`));
    assert.doesNotMatch(u.output, /EMFILE|too many open files/i);
    // What the terminal (40 rows) holds at the end: each unit's line once, no live line left.
    const { lines } = screenOf(u.raw, 40);
    for (const [i, h] of cluster.hosts.entries()) assert.equal(lines.filter((l) => l.startsWith(`✔ ${unit(i)}@${h.name}  done in `)).length, 1, h.name);
    assert.ok(!lines.some((l) => / in flight · | pending · |reading hosts/.test(l)), lines.slice(-5).join('\n'));
    await assertAllRunning('1');
    const d = run('prod', 'web', 'diff', '--exit-code');
    assert.equal(d.code, 0, d.stdout.slice(-2000) + d.stderr);
    assert.match(d.stdout, new RegExp(`0 changed, 0 new, 0 orphaned, ${N} unchanged`));
    const c = run('prod', 'web', 'check');
    assert.equal(c.code, 0, c.stdout.slice(-2000) + c.stderr);
    assert.match(c.stdout, new RegExp(`${N} of ${N} units ok`));
    assertNothingLeft();
  });

  it(`diff and check of all ${N} through one jump host (its one connection carries ${N} channels)`, () => {
    const jump = cluster.hosts[0];
    tree.write(
      'env/prod/config.yml',
      envConfigFor(cluster, { connectTimeout: 60 }).replace('ssh:\n', `ssh:\n  jumpHost: ${jump.user}@${jump.address}:${jump.port}\n`),
    );
    const d = run('prod', 'web', 'diff', '--exit-code');
    assert.equal(d.code, 0, d.stdout.slice(-2000) + d.stderr);
    assert.match(d.stdout, new RegExp(`0 changed, 0 new, 0 orphaned, ${N} unchanged`));
    const c = run('prod', 'web', 'check', '--parallel', String(N));
    assert.equal(c.code, 0, c.stdout.slice(-2000) + c.stderr);
    assert.match(c.stdout, new RegExp(`${N} of ${N} units ok`));
    assertNothingLeft();
  });
});
