/** Unit commands on live hosts, in both scopes: load, start, status, restart, journal, ssh, stop, unload, destroy. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { upHosts, scopes, HostCluster, LiveHost, Scope } from '../harness';
import { ggn } from '../support/cli';
import { liveTree, ClusterTree, SLEEPER_UNIT } from '../support/cluster-tree';

const skip = process.getuid?.() === 0 ? false : 'the test hosts need root';

for (const scope of scopes()) suite(scope);

function suite(scope: Scope): void {
  let cluster: HostCluster;
  let tree: ClusterTree;
  let h: LiveHost[];
  const run = (...args: string[]) => ggn(['-H', tree.home, ...args]);
  const sc = (host: LiveHost, ...args: string[]) => cluster.systemctl(host, ...args);
  const unitFile = (host: LiveHost, name: string) => path.join(cluster.unitDir(host), name);
  const exists = async (host: LiveHost, file: string) => (await cluster.read(host, file)) !== null;

  describe(`unit commands on live hosts, scope ${scope}`, { skip, timeout: 180_000 }, () => {
    before(async () => {
      cluster = await upHosts(scope, 2, { name: 'unitcmds' });
      h = cluster.hosts;
      tree = liveTree(cluster, {
        'env/prod/attributes/base.yml': 'default:\n  version: "1"\n',
        'env/prod/services/web/service-manifest.yml': `nodes:\n  - hostname: web1\n    machine_id: ${h[0].name}\n  - hostname: web2\n    machine_id: ${h[1].name}\n`,
        'env/prod/services/web/unit.tmpl': SLEEPER_UNIT,
        'env/prod/services/tick/service-manifest.yml': `nodes:\n  - hostname: t1\n    machine_id: ${h[1].name}\n`,
        'env/prod/services/tick/unit.tmpl': '[Service]\nType=oneshot\nExecStart=/bin/true\n\n[X-Fleet]\nMachineID={{.machine_id}}\n',
        'env/prod/services/tick/unit.timer.tmpl': '[Timer]\nOnCalendar=hourly\n\n[X-Fleet]\nMachineID={{.machine_id}}\n',
      });
    });
    after(async () => {
      await cluster?.down();
    });

    it('load writes the unit to its machine and reloads systemd', async () => {
      const r = run('prod', 'web', 'web1', 'load');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`${h[0].name}: wrote prod_web_web1\\.service, reloaded`));
      assert.ok(await exists(h[0], unitFile(h[0], 'prod_web_web1.service')));
      assert.ok(!(await exists(h[1], unitFile(h[1], 'prod_web_web1.service'))));
      assert.equal(await sc(h[0], 'show', '-p', 'LoadState', '--value', 'prod_web_web1.service'), 'loaded');
      // The file is current; the unit is loaded but not started: drift for diff --exit-code.
      const d = run('prod', 'web', 'web1', 'diff', '--exit-code');
      assert.equal(d.code, 2, d.stdout);
      assert.match(d.stdout, /0 changed, 0 new, 0 orphaned, 1 unchanged \(1 of them not running\)/);
    });

    it('start starts it, status shows it, restart restarts it', async () => {
      assert.equal(run('prod', 'web', 'web1', 'start').code, 0);
      assert.equal(await sc(h[0], 'is-active', 'prod_web_web1.service'), 'active');
      const st = run('prod', 'web', 'web1', 'status');
      assert.equal(st.code, 0, st.stderr);
      assert.match(st.stdout, new RegExp(`# prod_web_web1\\.service on ${h[0].name}`));
      assert.match(st.stdout, /Active: active \(running\)/);
      const pid = await sc(h[0], 'show', '-p', 'MainPID', '--value', 'prod_web_web1.service');
      assert.equal(run('prod', 'web', 'web1', 'restart').code, 0);
      assert.notEqual(await sc(h[0], 'show', '-p', 'MainPID', '--value', 'prod_web_web1.service'), pid);
      assert.equal(await cluster.read(h[0], path.join(cluster.unitHome(h[0]), 'web1.log')), 'started 1\nstarted 1\n');
    });

    it('start writes a missing unit first; a unit with a timer starts its timer', async () => {
      const r = run('prod', 'tick', 't1', 'start');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /wrote prod_tick_t1\.service, wrote prod_tick_t1\.timer, reloaded, started prod_tick_t1\.timer/);
      assert.equal(await sc(h[1], 'is-active', 'prod_tick_t1.timer'), 'active');
      assert.equal(run('prod', 'tick', 'check').code, 0);
    });

    it("journal and ssh reach the unit's machine", () => {
      const j = run('prod', 'web', 'web1', 'journal', '-l', '5');
      assert.equal(j.code, 0, j.stderr);
      assert.match(j.stdout, new RegExp(`# prod_web_web1\\.service on ${h[0].name}`));
      const s = run('prod', 'web', 'web2', 'ssh', '--', 'hostname');
      assert.equal(s.code, 0, s.stderr);
      assert.equal(s.stdout.trim(), h[1].name);
    });

    it('stop stops the timer and the service; unload keeps the files', async () => {
      assert.equal(run('prod', 'tick', 't1', 'stop').code, 0);
      assert.equal(await sc(h[1], 'is-active', 'prod_tick_t1.timer'), 'inactive');
      assert.equal(run('prod', 'web', 'web1', 'unload').code, 0);
      assert.equal(await sc(h[0], 'is-active', 'prod_web_web1.service'), 'inactive');
      assert.ok(await exists(h[0], unitFile(h[0], 'prod_web_web1.service')));
    });

    it('destroy asks for -y without a terminal, then removes the unit', async () => {
      const refused = run('prod', 'web', 'web1', 'destroy');
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /pass -y to confirm/);
      assert.ok(await exists(h[0], unitFile(h[0], 'prod_web_web1.service')));
      const r = run('prod', 'web', 'web1', 'destroy', '-y');
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!(await exists(h[0], unitFile(h[0], 'prod_web_web1.service'))));
      assert.equal(await sc(h[0], 'show', '-p', 'LoadState', '--value', 'prod_web_web1.service'), 'not-found');
      assert.match(run('prod', 'web', 'web1', 'diff').stdout, /prod_web_web1\.service on .*: new/);
    });

    it("names the host and systemctl's words when an action fails", async () => {
      fs.writeFileSync(path.join(tree.work, 'env/prod/services/web/unit.tmpl'), SLEEPER_UNIT.replace('ExecStart=', 'ExecStart=relative/path '));
      assert.equal(run('prod', 'web', 'web2', 'load').code, 0);
      const r = run('prod', 'web', 'web2', 'start');
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`host ${h[1].name}: systemctl start prod_web_web2\\.service failed: .*`));
    });

    it('a unit with an [Install] section is enabled by update and start, runs again after a reboot, and destroy disables it', async () => {
      const target = scope === 'user' ? 'default.target' : 'multi-user.target';
      const unit = 'prod_boot_b1.service';
      const wants = path.join(cluster.unitDir(h[1]), `${target}.wants`);
      tree.write('env/prod/services/boot/service-manifest.yml', `nodes:\n  - hostname: b1\n    machine_id: ${h[1].name}\n`);
      tree.write(
        'env/prod/services/boot/unit.tmpl',
        `[Service]\nExecStart=/bin/sleep 600\n\n[Install]\nWantedBy=${target}\n\n[X-Fleet]\nMachineID={{.machine_id}}\n`,
      );
      const u = run('prod', 'boot', 'update', '-y');
      assert.equal(u.code, 0, u.stdout + u.stderr);
      assert.equal(await sc(h[1], 'is-enabled', unit), 'enabled');
      assert.ok((await cluster.list(h[1], wants)).includes(unit));
      // is-active of a unit, asked every 100 ms for up to 10 s until it says active
      const activeSoon = async (u: string) => {
        let state = '';
        for (let i = 0; i < 100 && state !== 'active'; i++) {
          state = await sc(h[1], 'is-active', u);
          if (state !== 'active') await new Promise((r) => setTimeout(r, 100));
        }
        return state;
      };
      await cluster.restart(h[1]);
      assert.equal(await activeSoon(unit), 'active', 'started at boot');
      assert.equal(run('prod', 'boot', 'check').code, 0);
      const d = run('prod', 'boot', 'b1', 'destroy', '-y');
      assert.equal(d.code, 0, d.stdout + d.stderr);
      assert.ok(!(await cluster.list(h[1], wants)).includes(unit), 'destroy disables it');
      const s = run('prod', 'boot', 'b1', 'start');
      assert.equal(s.code, 0, s.stdout + s.stderr);
      assert.equal(await sc(h[1], 'is-enabled', unit), 'enabled', 'the start command enables it too');
      const st = run('prod', 'boot', 'b1', 'stop');
      assert.equal(st.code, 0, st.stdout + st.stderr);
      assert.equal(await sc(h[1], 'is-enabled', unit), 'disabled', 'stop disables it: it stays stopped after a reboot');
      assert.equal(await sc(h[1], 'is-active', unit), 'inactive');
      await cluster.restart(h[1]);
      // once the boot's target is reached, what it wanted has been started
      assert.equal(await activeSoon(target), 'active', `${target} reached`);
      assert.equal(await sc(h[1], 'is-active', unit), 'inactive', 'not started at boot');
    });
  });
}
