/**
 * diff, check and list-units against live hosts, in both scopes (test/harness/hosts.ts): sshd +
 * systemd --user per host (`scope: user`), and real system managers with `scope: system, sudo:
 * true`. Units are put on hosts by hand here (rollout is another step), so what ggn reads is
 * exactly what systemd has.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateEd25519, upHosts, scopes, HostCluster, LiveHost, Scope } from '../harness';
import { ggn } from '../support/cli';
import { liveTree, ClusterTree, SLEEPER_UNIT } from '../support/cluster-tree';

const skip = process.getuid?.() === 0 ? false : 'the test hosts need root';

for (const scope of scopes()) suite(scope);

function suite(scope: Scope): void {
  let cluster: HostCluster;
  let tree: ClusterTree;
  let h: LiveHost[];

  const run = (...args: string[]) => ggn(['-H', tree.home, ...args]);
  const unitDir = (host: LiveHost) => cluster.unitDir(host);

  /** Puts a unit file on a host and reloads the manager (what an update will do). */
  async function place(host: LiveHost, name: string, content: string): Promise<void> {
    await cluster.mkdir(host, unitDir(host));
    await cluster.write(host, path.join(unitDir(host), name), content);
    await cluster.systemctl(host, 'daemon-reload');
    assert.equal(await cluster.systemctl(host, 'show', '-p', 'LoadState', '--value', name), 'loaded');
  }

  /** What `generate` renders for a unit (the bytes ggn expects on the host). */
  function rendered(unit: string): string {
    assert.equal(run('prod', 'generate', '-q').code, 0);
    return fs.readFileSync(path.join(tree.work, 'env/prod/services/web/units', unit), 'utf8');
  }

  describe(`diff / check / list-units on live hosts, scope ${scope}`, { skip, timeout: 180_000 }, () => {
    before(async () => {
      cluster = await upHosts(scope, 3, { name: 'live' });
      h = cluster.hosts;
      tree = liveTree(cluster, {
        'env/prod/attributes/base.yml': 'default:\n  version: "1"\n',
        'env/prod/services/web/service-manifest.yml': h
          .map((x, i) => `${i === 0 ? 'nodes:\n' : ''}  - hostname: web${i + 1}\n    machine_id: ${x.name}\n`)
          .join(''),
        'env/prod/services/web/unit.tmpl': SLEEPER_UNIT,
      });
    });
    after(async () => {
      await cluster?.down();
    });

    it('shows every unit as new before anything is deployed, with exit code 2', () => {
      const r = run('prod', 'web', 'diff', '--exit-code');
      assert.equal(r.code, 2, r.stderr);
      for (let i = 1; i <= 3; i++) assert.match(r.stdout, new RegExp(`# prod_web_web${i}\\.service on ${h[i - 1].name}: new`));
      assert.match(r.stdout, /\+ExecStart=\/bin\/sh -c 'echo started 1/);
      assert.match(r.stdout, /0 changed, 3 new, 0 orphaned, 0 unchanged/);
      assert.equal(run('prod', 'web', 'diff').code, 0, 'without --exit-code, changes are not an error');
    });

    it('reports nothing to do once the hosts have the rendered bytes; check wants them running', async () => {
      for (let i = 0; i < 3; i++) await place(h[i], `prod_web_web${i + 1}.service`, rendered(`prod_web_web${i + 1}.service`));
      // Up to date but not running: drift for diff --exit-code as for check and update.
      const d = run('prod', 'web', 'diff', '--exit-code');
      assert.equal(d.code, 2, d.stdout + d.stderr);
      assert.match(d.stdout, new RegExp(`# prod_web_web1\\.service on ${h[0].name}: up to date but not running \\(inactive/dead\\); update starts it`));
      assert.match(d.stdout, /0 changed, 0 new, 0 orphaned, 3 unchanged \(3 of them not running\)/);
      assert.equal(JSON.parse(run('prod', 'web', 'diff', '--json').stdout).summary.notRunning, 3);
      const c = run('prod', 'web', 'check');
      assert.equal(c.code, 2);
      assert.match(c.stdout, new RegExp(`prod_web_web1\\.service +${h[0].name} +inactive/dead`));
      for (let i = 0; i < 3; i++) {
        await cluster.systemctl(h[i], 'start', `prod_web_web${i + 1}.service`);
        assert.equal(await cluster.systemctl(h[i], 'is-active', `prod_web_web${i + 1}.service`), 'active');
      }
      const ok = run('prod', 'web', 'check');
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const clean = run('prod', 'web', 'diff', '--exit-code');
      assert.equal(clean.code, 0, clean.stdout + clean.stderr);
      assert.match(clean.stdout, /0 changed, 0 new, 0 orphaned, 3 unchanged\n/);
      assert.match(ok.stdout, /3 of 3 units ok/);
      const lu = run('prod', 'list-units');
      assert.match(lu.stdout, new RegExp(`prod_web_web2\\.service +${h[1].name} +unchanged +loaded +active +running`));
    });

    it('a changed attribute shows up in diff with exit code 2, per unit and host', () => {
      tree.write('env/prod/attributes/base.yml', 'default:\n  version: "2"\n');
      const r = run('prod', 'web', 'diff', '--exit-code');
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stdout, new RegExp(`# prod_web_web3\\.service on ${h[2].name}: changed`));
      assert.match(r.stdout, /-Description=web web3 v1\n\+Description=web web3 v2/);
      assert.match(r.stdout, /3 changed, 0 new, 0 orphaned, 0 unchanged/);
      const json = JSON.parse(run('prod', 'web', 'web1', 'diff', '--json').stdout);
      assert.deepEqual(json.summary, { new: 0, changed: 1, unchanged: 0, orphan: 0, notRunning: 0 });
      assert.equal(json.changes[0].host, h[0].name);
      assert.match(json.changes[0].diff, /\+Description=web web1 v2/);
      const c = run('prod', 'web', 'check');
      assert.equal(c.code, 2);
      assert.match(c.stdout, /outdated/);
    });

    it('reports an orphan: a unit of the service on a host that the tree no longer has', async () => {
      await place(h[1], 'prod_web_old.service', '[Service]\nExecStart=/bin/true\n');
      await place(h[1], 'prod_webcache_x.service', '[Service]\nExecStart=/bin/true\n');
      const r = run('prod', 'web', 'diff');
      assert.match(r.stdout, new RegExp(`# prod_web_old\\.service on ${h[1].name}: orphan`));
      assert.doesNotMatch(r.stdout, /prod_webcache_x/, 'another service (by prefix) is not an orphan of web');
      assert.match(r.stdout, /1 orphaned/);
      assert.notEqual(await cluster.read(h[1], path.join(unitDir(h[1]), 'prod_web_old.service')), null, 'diff changes nothing');
    });

    it('refuses a host whose key does not match known_hosts, naming the host, and sends nothing', () => {
      const wrong = path.join(tree.base, 'known_hosts_wrong');
      const lines = fs.readFileSync(cluster.knownHostsPath, 'utf8').split('\n');
      const other = lines
        .find((l) => l.includes(h[0].address))!
        .split(' ')
        .slice(1)
        .join(' ');
      fs.writeFileSync(wrong, lines.map((l) => (l.includes(h[1].address) ? `${l.split(' ')[0]} ${other}` : l)).join('\n'));
      tree.write('env/prod/config.yml', fs.readFileSync(path.join(tree.work, 'env/prod/config.yml'), 'utf8').replace(cluster.knownHostsPath, wrong));
      const r = run('prod', 'web', 'diff');
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`host ${h[1].name}: HOST KEY CHANGED`));
      assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1, r.stderr);
      tree.write('env/prod/config.yml', fs.readFileSync(path.join(tree.work, 'env/prod/config.yml'), 'utf8').replace(wrong, cluster.knownHostsPath));
    });

    it('an identity the hosts do not accept is an authentication error naming host and user', () => {
      const config = path.join(tree.work, 'env/prod/config.yml');
      const good = fs.readFileSync(config, 'utf8');
      const badKey = path.join(tree.base, 'other_key');
      // A valid key that no host authorises.
      fs.writeFileSync(badKey, generateEd25519('stranger').privateKey, { mode: 0o600 });
      tree.write('env/prod/config.yml', good.replace(cluster.clientKeyPath, badKey));
      try {
        const r = run('prod', 'web', 'diff');
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`host ${h[0].name}: authentication failed for user ${h[0].user}`));
      } finally {
        tree.write('env/prod/config.yml', good);
      }
    });

    it('a dead host fails fast with its name; the others are still diffed', async () => {
      await cluster.kill(h[2]);
      try {
        const t0 = Date.now();
        const r = run('prod', 'web', 'diff');
        assert.equal(r.code, 1);
        assert.ok(Date.now() - t0 < 5000, 'fails fast');
        assert.match(r.stderr, new RegExp(`host ${h[2].name} \\(${h[2].address.replace(/\./g, '\\.')}:${h[2].port}\\): connection refused`));
        assert.match(r.stdout, /# prod_web_web1\.service on/);
      } finally {
        await cluster.restart(h[2]);
      }
    });

    it('a hung host fails with its name within the connect timeout', async () => {
      await cluster.hang(h[2]);
      try {
        const t0 = Date.now();
        const r = run('prod', 'web', 'diff');
        const ms = Date.now() - t0;
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`host ${h[2].name} .*timed out after 3 s`));
        assert.ok(ms < 3000 + 2500, `took ${ms} ms`);
      } finally {
        await cluster.resume(h[2]);
      }
    });

    it('a partitioned host fails with its name within the connect timeout; healed, it answers again', async () => {
      await cluster.partition(h[1]);
      try {
        const r = run('prod', 'web', 'diff');
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`host ${h[1].name} .*timed out after 3 s`));
        assert.match(r.stdout, /# prod_web_web1\.service on/, 'the others are still diffed');
      } finally {
        await cluster.heal(h[1]);
      }
      const healed = run('prod', 'web', 'diff');
      assert.equal(healed.code, 0, healed.stderr);
    });

    it('after a reboot ggn reaches the host again and sees what its manager runs', async () => {
      const unitState = () => {
        const r = run('prod', 'list-units', '--json');
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout).units.find((u: { unit: string }) => u.unit === 'prod_web_web1.service').state;
      };
      assert.equal(unitState().active, 'active');
      await cluster.restart(h[0]);
      // a unit without [Install] is not enabled: it does not come back by itself
      assert.deepEqual(unitState(), { load: 'loaded', active: 'inactive', sub: 'dead' });
      assert.equal(await cluster.systemctl(h[0], 'is-active', 'prod_web_web1.service'), 'inactive');
    });
  });
}
