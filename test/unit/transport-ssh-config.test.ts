import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadSshConfig, lookup, parseProxyJump, parseSshConfig, splitLine } from '../../src/transport/ssh-config';
import { matchPattern, matchPatternList } from '../../src/transport/pattern';

const HOME = '/home/tester';

describe('host patterns', () => {
  it('matches * and ? case-insensitively over the whole string', () => {
    assert.ok(matchPattern('*', 'anything'));
    assert.ok(matchPattern('web*', 'WEB12'));
    assert.ok(matchPattern('web?', 'web1'));
    assert.ok(!matchPattern('web?', 'web12'));
    assert.ok(matchPattern('*.example.com', 'a.b.example.com'));
    assert.ok(!matchPattern('*.example.com', 'example.com'));
    assert.ok(matchPattern('10.0.*.1', '10.0.99.1'));
    assert.ok(matchPattern('a*b*c', 'aXXbYYc'));
    assert.ok(!matchPattern('a*b*c', 'aXXbYY'));
  });
  it('needs a positive match and no negated match', () => {
    assert.ok(matchPatternList(['*', '!bastion'], 'web1'));
    assert.ok(!matchPatternList(['*', '!bastion'], 'bastion'));
    assert.ok(!matchPatternList(['!bastion'], 'web1'), 'negation alone never matches');
    assert.ok(matchPatternList(['db*', 'web*'], 'web3'));
  });
});

describe('ssh_config lines', () => {
  it('splits keyword and arguments in all the accepted forms', () => {
    assert.deepEqual(splitLine('  HostName example.com'), { key: 'hostname', args: ['example.com'] });
    assert.deepEqual(splitLine('Port=2222'), { key: 'port', args: ['2222'] });
    assert.deepEqual(splitLine('Port = 2222'), { key: 'port', args: ['2222'] });
    assert.deepEqual(splitLine('\tIdentityFile "~/my keys/id"  # trailing comment'), { key: 'identityfile', args: ['~/my keys/id'] });
    assert.deepEqual(splitLine('# a comment'), null);
    assert.deepEqual(splitLine('   '), null);
    assert.deepEqual(splitLine('Host a b !c'), { key: 'host', args: ['a', 'b', '!c'] });
    assert.ok('error' in (splitLine('User "unterminated') as object));
  });
});

describe('lookup', () => {
  const cfg = parseSshConfig(
    [
      'User globaluser', // before any Host: applies to all
      '',
      'Host web* !web9',
      '  HostName %h.internal.example.com',
      '  Port 2201',
      '  IdentityFile ~/.ssh/web_key',
      '',
      'Host web1',
      '  Port 9999', // ignored: Port already set by the block above (first value wins)
      '  User webadmin', // ignored: User set before any Host
      '  IdentityFile %d/.ssh/id_%h', // accumulates
      '',
      'Match host db*',
      '  User matched', // Match not supported -> skipped
      '',
      'Host bastion',
      '  HostName 203.0.113.7',
      '  User jump',
      '',
      'Host *',
      '  PORT 22',
      '  userknownhostsfile ~/.ssh/kh1 /etc/kh2',
      '  StrictHostKeyChecking accept-new',
      '  ConnectTimeout 7',
      '  ProxyJump jump@bastion:2222',
      '  IdentityFile ~/.ssh/id_ed25519',
    ].join('\n'),
    { home: HOME, file: 'cfg' },
  );

  it('applies first-obtained values, in file order', () => {
    const w = lookup(cfg, 'web1');
    assert.equal(w.hostName, 'web1.internal.example.com');
    assert.equal(w.port, 2201);
    assert.equal(w.user, 'globaluser');
    assert.equal(w.connectTimeout, 7);
    assert.equal(w.strictHostKeyChecking, 'accept-new');
    assert.equal(w.proxyJump, 'jump@bastion:2222');
    assert.deepEqual(w.userKnownHostsFiles, [`${HOME}/.ssh/kh1`, '/etc/kh2']);
  });

  it('accumulates IdentityFile with ~ and % tokens expanded', () => {
    const w = lookup(cfg, 'web1');
    assert.deepEqual(w.identityFiles, [`${HOME}/.ssh/web_key`, `${HOME}/.ssh/id_web1.internal.example.com`, `${HOME}/.ssh/id_ed25519`]);
  });

  it('honours negated patterns', () => {
    const w9 = lookup(cfg, 'web9');
    assert.equal(w9.hostName, undefined);
    assert.equal(w9.port, 22);
  });

  it('skips Match blocks and says so', () => {
    assert.equal(lookup(cfg, 'db1').user, 'globaluser');
    assert.ok(
      cfg.warnings.some((w) => /cfg:13: Match blocks are not supported/.test(w)),
      cfg.warnings.join('\n'),
    );
  });

  it('returns nothing for keys that are not set', () => {
    const empty = parseSshConfig('', { home: HOME });
    assert.deepEqual(lookup(empty, 'x'), {});
  });

  it('treats Match all like Host *', () => {
    const c = parseSshConfig('Host a\n  User ua\nMatch all\n  User fallback\n', { home: HOME });
    assert.equal(lookup(c, 'a').user, 'ua');
    assert.equal(lookup(c, 'b').user, 'fallback');
    assert.deepEqual(c.warnings, []);
  });
});

describe('Include', () => {
  let home: string;
  before(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-sshcfg-'));
    fs.mkdirSync(path.join(home, '.ssh', 'conf.d'), { recursive: true });
    fs.writeFileSync(path.join(home, '.ssh', 'conf.d', '20-b.conf'), 'Host b\n  User from-b\nHost c\n  User from-c-in-b\n');
    fs.writeFileSync(path.join(home, '.ssh', 'conf.d', '10-a.conf'), 'Host a\n  User from-a\n  Port 1001\n');
    fs.writeFileSync(path.join(home, '.ssh', 'conf.d', 'README'), 'User nope\n');
    fs.writeFileSync(path.join(home, '.ssh', 'only-web'), 'Port 4444\n');
    fs.writeFileSync(
      path.join(home, '.ssh', 'config'),
      [
        'Include conf.d/*.conf',
        'Include does-not-exist',
        'Host web*',
        '  Include only-web', // only applies when the Host block matches
        'Host *',
        '  User default',
        '  Port 22',
      ].join('\n'),
    );
  });
  after(() => fs.rmSync(home, { recursive: true, force: true }));

  it('reads globs relative to ~/.ssh, sorted, and keeps first-wins across files', () => {
    const cfg = loadSshConfig(undefined, { home });
    assert.deepEqual(
      cfg.files.map((f) => path.relative(home, f)),
      ['.ssh/config', '.ssh/conf.d/10-a.conf', '.ssh/conf.d/20-b.conf', '.ssh/only-web'],
    );
    assert.equal(lookup(cfg, 'a').user, 'from-a');
    assert.equal(lookup(cfg, 'a').port, 1001);
    assert.equal(lookup(cfg, 'b').user, 'from-b');
    assert.equal(lookup(cfg, 'c').user, 'from-c-in-b');
    assert.equal(lookup(cfg, 'zzz').user, 'default');
  });

  it('an Include inside a Host block only applies to that block', () => {
    const cfg = loadSshConfig(undefined, { home });
    assert.equal(lookup(cfg, 'web3').port, 4444);
    assert.equal(lookup(cfg, 'db3').port, 22);
  });

  it('a missing config file is an empty config', () => {
    const cfg = loadSshConfig(path.join(home, 'nope'), { home });
    assert.deepEqual(cfg.options, []);
  });
});

describe('parseProxyJump', () => {
  it('parses hops', () => {
    assert.deepEqual(parseProxyJump('none'), []);
    assert.deepEqual(parseProxyJump('bastion'), [{ host: 'bastion' }]);
    assert.deepEqual(parseProxyJump('core@bastion:2222'), [{ user: 'core', host: 'bastion', port: 2222 }]);
    assert.deepEqual(parseProxyJump('a@h1, h2:23'), [
      { user: 'a', host: 'h1' },
      { host: 'h2', port: 23 },
    ]);
    assert.deepEqual(parseProxyJump('ssh://u@[::1]:2200'), [{ user: 'u', host: '::1', port: 2200 }]);
    assert.throws(() => parseProxyJump('host:notaport'), /invalid jump host/);
    assert.throws(() => parseProxyJump('@host'), /invalid jump host/);
  });
});
