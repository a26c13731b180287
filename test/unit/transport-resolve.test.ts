import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSshConfig } from '../../src/transport/ssh-config';
import { resolveHosts } from '../../src/transport/resolve';

const HOME = '/home/me';
const base = { configDir: '/work/envs/prod', home: HOME, localUser: 'me', exists: (p: string) => p.endsWith('id_rsa') || p.endsWith('id_ed25519') };

describe('resolveHosts', () => {
  it('applies defaults', () => {
    const [h] = resolveHosts({}, [{ name: 'web1', address: '10.0.0.1' }], base);
    assert.deepEqual(h, {
      name: 'web1',
      address: '10.0.0.1',
      port: 22,
      user: 'me',
      identityFiles: [`${HOME}/.ssh/id_ed25519`, `${HOME}/.ssh/id_rsa`],
      knownHostsFile: `${HOME}/.ssh/known_hosts`,
      strictHostKeyChecking: true,
      connectTimeoutMs: 10_000,
    });
  });

  it('machine beats env beats ssh config; relative paths against configDir, ~ against home', () => {
    const sshConfig = parseSshConfig(
      [
        'Host 10.0.0.*',
        '  User cfguser',
        '  Port 2200',
        '  IdentityFile ~/.ssh/cfg_key',
        '  ConnectTimeout 3',
        '  StrictHostKeyChecking no',
        '  UserKnownHostsFile ~/.ssh/kh_cfg',
      ].join('\n'),
      { home: HOME },
    );
    const hosts = resolveHosts(
      { user: 'envuser', identityFile: 'keys/deploy', knownHostsFile: '~/kh' },
      [
        { name: 'web1', address: '10.0.0.1' },
        { name: 'web2', address: '10.0.0.2', port: 2022, user: 'special', identityFile: '/abs/key' },
      ],
      { ...base, sshConfig },
    );
    assert.equal(hosts[0].user, 'envuser');
    assert.equal(hosts[0].port, 2200);
    assert.deepEqual(hosts[0].identityFiles, ['/work/envs/prod/keys/deploy']);
    assert.equal(hosts[0].knownHostsFile, `${HOME}/kh`);
    assert.equal(hosts[0].strictHostKeyChecking, false);
    assert.equal(hosts[0].connectTimeoutMs, 3000);
    assert.equal(hosts[1].user, 'special');
    assert.equal(hosts[1].port, 2022);
    assert.deepEqual(hosts[1].identityFiles, ['/abs/key']);
  });

  it('ssh config blocks apply when the address OR the machine name matches, first value wins in file order', () => {
    const sshConfig = parseSshConfig(['Host 10.0.0.*', '  Port 2200', 'Host web1', '  User by-name', '  Port 2300', 'Host *', '  User everyone'].join('\n'), {
      home: HOME,
    });
    const [a, b] = resolveHosts(
      {},
      [
        { name: 'web1', address: '10.0.0.1' },
        { name: 'web2', address: '10.0.0.2' },
      ],
      { ...base, sshConfig },
    );
    assert.equal(a.user, 'by-name');
    assert.equal(a.port, 2200);
    assert.equal(b.user, 'everyone');
  });

  it('ssh config fills the gaps; HostName only from blocks matching the address', () => {
    const sshConfig = parseSshConfig(
      [
        'Host web1',
        '  HostName 192.0.2.99', // ignored: the machine's address is explicit
        '  User by-name',
        '  IdentityFile ~/.ssh/by_name',
        'Host alias-addr',
        '  HostName 192.0.2.1',
        '  Port 2201',
        'Host *',
        '  ConnectTimeout 5',
      ].join('\n'),
      { home: HOME },
    );
    const [a, b] = resolveHosts(
      { strictHostKeyChecking: 'yes' },
      [
        { name: 'web1', address: '10.0.0.1' },
        { name: 'web2', address: 'alias-addr' },
      ],
      { ...base, sshConfig },
    );
    assert.equal(a.address, '10.0.0.1');
    assert.equal(a.user, 'by-name');
    assert.deepEqual(a.identityFiles, [`${HOME}/.ssh/by_name`]);
    assert.equal(a.connectTimeoutMs, 5000);
    assert.equal(b.address, '192.0.2.1');
    assert.equal(b.port, 2201);
    assert.equal(b.user, 'me');
  });

  it('resolves the jump host, from the env or ProxyJump, chained', () => {
    const sshConfig = parseSshConfig(['Host bastion', '  HostName 198.51.100.1', '  User jumper', 'Host 10.1.*', '  ProxyJump outer:2022,bastion'].join('\n'), {
      home: HOME,
    });
    const [a] = resolveHosts({ jumpHost: 'core@gw.example.com:2222', user: 'deploy' }, [{ name: 'web1', address: '10.0.0.1' }], { ...base, sshConfig });
    assert.equal(a.jump?.address, 'gw.example.com');
    assert.equal(a.jump?.user, 'core');
    assert.equal(a.jump?.port, 2222);
    assert.equal(a.jump?.jump, undefined);

    const [b] = resolveHosts({ user: 'deploy' }, [{ name: 'db1', address: '10.1.0.5' }], { ...base, sshConfig });
    assert.equal(b.user, 'deploy');
    assert.equal(b.jump?.address, '198.51.100.1');
    assert.equal(b.jump?.user, 'jumper');
    assert.equal(b.jump?.jump?.address, 'outer');
    assert.equal(b.jump?.jump?.port, 2022);
    assert.equal(b.jump?.jump?.user, 'deploy', 'a hop without its own user gets the env user');

    const [c] = resolveHosts({ jumpHost: 'none' }, [{ name: 'db1', address: '10.1.0.5' }], { ...base, sshConfig });
    assert.equal(c.jump, undefined, 'env jumpHost none overrides ProxyJump');
  });

  it('rejects bad values with the machine named', () => {
    assert.throws(
      () => resolveHosts({ strictHostKeyChecking: 'maybe' }, [{ name: 'web1', address: 'a' }], base),
      (e: any) => e.ctx.host === 'web1' && /strictHostKeyChecking/.test(e.message),
    );
    assert.throws(() => resolveHosts({ port: 70000 }, [{ name: 'web1', address: 'a' }], base), /invalid SSH port/);
    assert.throws(() => resolveHosts({ jumpHost: 'x:y' }, [{ name: 'web1', address: 'a' }], base), /invalid jump host/);
  });
});
