// A host lost in the middle of a command: the error line names the host, the cause and what
// ggn was doing, never the text of a remote script (root only: test hosts of both scopes).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { upHosts, scopes, HostCluster, LiveHost, Scope } from '../harness';
import { SshSystemdDriver } from '../../src/drivers/systemd/driver';
import { SshTransport } from '../../src/transport/ssh';
import { TransportError } from '../../src/transport/types';
import { hostSpec } from '../support/host-spec';

const skip = process.getuid?.() === 0 ? false : 'the test hosts need root';
const UNIT = 'p_web_a.service';
/** Stopping takes 30 s, so a restart is still running when the host goes away. */
const SLOW_STOP = '[Service]\nExecStart=/bin/sleep 1000\nExecStop=/bin/sleep 30\n';

for (const scope of scopes()) suite(scope);

function suite(scope: Scope): void {
  let cluster: HostCluster;
  const drivers: SshSystemdDriver[] = [];

  function driverFor(h: LiveHost): SshSystemdDriver {
    const d = new SshSystemdDriver({
      target: { scope, sudo: scope === 'system' },
      machines: [],
      hosts: [hostSpec(cluster, h)],
      transport: new SshTransport({ agentSocket: null }),
      parallel: 1,
    });
    drivers.push(d);
    return d;
  }

  async function restartWhile(h: LiveHost, fault: () => Promise<void>): Promise<{ err: TransportError; ms: number }> {
    const d = driverFor(h);
    await d.writeUnit(h.name, UNIT, SLOW_STOP);
    await d.systemctl(h.name, 'daemon-reload');
    await d.systemctl(h.name, 'start', [UNIT]);
    const t0 = Date.now();
    const outcome = d.systemctl(h.name, 'restart', [UNIT]).then(
      () => undefined,
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 500));
    await fault();
    const e = await outcome;
    assert.ok(e instanceof TransportError, `the restart should have failed with a TransportError, got ${String(e)}`);
    return { err: e, ms: Date.now() - t0 };
  }

  describe(`a host lost mid-restart, scope ${scope}`, { skip, timeout: 120_000 }, () => {
    before(async () => {
      cluster = await upHosts(scope, 2, { name: 'host-lost' });
    });
    after(async () => {
      for (const d of drivers) await d.close().catch(() => undefined);
      if (cluster) await cluster.down();
    });

    it('killed: "connection lost" with the host and the step, no script text', async (t) => {
      const h = cluster.hosts[0];
      const { err, ms } = await restartWhile(h, () => cluster.kill(h));
      t.diagnostic(`${ms} ms: ${err.oneLine()}`);
      assert.equal(err.kind, 'disconnected');
      assert.match(
        err.oneLine(),
        new RegExp(`^host ${h.name} \\(${h.address.replace(/\./g, '\\.')}:${h.port}\\): connection lost.* while systemctl restart p_web_a\\.service$`),
      );
      assert.doesNotMatch(err.message, /sh -c|set -u|scope=|\n/);
    });

    it('hung: "stopped responding" within the keepalive window', async (t) => {
      const h = cluster.hosts[1];
      const { err, ms } = await restartWhile(h, () => cluster.hang(h));
      t.diagnostic(`${ms} ms: ${err.oneLine()}`);
      await cluster.resume(h);
      assert.equal(err.kind, 'timeout');
      assert.match(
        err.oneLine(),
        new RegExp(
          `^host ${h.name} \\(.*\\): host stopped responding \\(no answer to keepalives\\); connection dropped while systemctl restart p_web_a\\.service$`,
        ),
      );
      assert.ok(ms < 10_000, `${ms} ms`);
    });
  });
}
