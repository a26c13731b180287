import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { formatDuration, parseDuration, readLockConfig, createLockBackend, LockHeldError } from '../../src/apply/lock';
import { EtcdLockStore, grpcDetail, parseValue } from '../../src/apply/lock/etcd';
import { LockRecord } from '../../src/apply/lock/common';
import { GgnError } from '../../src/errors';
import { realClock } from '../../src/apply/types';
import { GoMap } from '../../src/template/values';
import { parseYaml } from '../../src/tree/yaml';
import { assertConfig } from '../../src/config/check';

const FILE = '/w/env/prod/config.yml';
// As ggn reads it: the schema first (keys and types), then the lock's own checks.
const cfg = (yaml: string) => {
  const data = parseYaml(yaml, FILE) as GoMap;
  assertConfig('env', data, { file: FILE, text: yaml });
  return readLockConfig(data, FILE);
};

describe('lock durations', () => {
  it('parses Go-style durations', () => {
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('1m30s500ms'), 90_500);
    assert.equal(parseDuration('0'), 0);
  });
  it('refuses anything else with a clear error', () => {
    for (const bad of ['', '1', '1d', 'h', '-5m', '5 m', '1h-30m', 'abc', '1e3s', '5M', '1h 30m']) {
      assert.throws(
        () => parseDuration(bad),
        (e: unknown) => e instanceof GgnError && /invalid duration .*e\.g\. 90s, 5m, 1h or 1h30m/.test(e.message),
        bad,
      );
    }
  });
  it('formats like Go, rounded up to the second', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(1), '1s');
    assert.equal(formatDuration(59_000), '59s');
    assert.equal(formatDuration(3_492_000), '58m12s');
    assert.equal(formatDuration(3_600_000), '1h0m0s');
    assert.equal(formatDuration(3_723_000), '1h2m3s');
    assert.equal(formatDuration(90_000_000), '25h0m0s');
  });
  it('LockHeldError names service, holder, message, run or hand lock and time left; control characters are escaped', () => {
    const rec = (r: Partial<LockRecord>): LockRecord => ({
      holder: 'alice@box',
      message: 'deploying 1.2',
      kind: 'hand',
      id: 'h1',
      takenAt: 0,
      renewedAt: 0,
      expiresAt: 1000 + 3_492_000,
      ...r,
    });
    const e = new LockHeldError('web', rec({}), 1000);
    assert.equal(e.message, 'service web is locked by [alice@box] deploying 1.2 (locked by hand, 58m12s left)');
    assert.ok(e instanceof GgnError);
    assert.equal(e.ctx.service, 'web');
    assert.match(new LockHeldError('web', rec({ expiresAt: Infinity }), 0).message, /\(locked by hand, no expiry\)$/);
    assert.equal(
      new LockHeldError('web', rec({ kind: 'run', id: '0123456789', renewedAt: 0, expiresAt: 45_000 }), 5000).message,
      'service web is locked by [alice@box] deploying 1.2 (run 01234567, renewed 5s ago, 40s left)',
    );
    const evil = new LockHeldError('web', rec({ message: 'x\x1b]0;pwned\x07\x1b[2J\nline2' }), 1000);
    assert.equal(evil.message, 'service web is locked by [alice@box] x\\x1b]0;pwned\\x07\\x1b[2J\\nline2 (locked by hand, 58m12s left)');
  });
});

describe('lock config', () => {
  it('defaults to ssh', () => {
    assert.deepEqual(cfg('machines: []\n'), { backend: 'ssh' });
    assert.deepEqual(cfg('lock: {backend: ssh}\n'), { backend: 'ssh' });
    assert.deepEqual(cfg('lock: {}\n'), { backend: 'ssh' });
  });
  it('reads etcd endpoints', () => {
    assert.deepEqual(cfg('lock: {backend: etcd, endpoints: [http://127.0.0.1:2379, "https://10.0.0.2:2379/"]}\n'), {
      backend: 'etcd',
      endpoints: ['http://127.0.0.1:2379', 'https://10.0.0.2:2379'],
    });
    assert.deepEqual(cfg('lock:\n  backend: etcd\n  endpoints: http://127.0.0.1:2379\n'), { backend: 'etcd', endpoints: ['http://127.0.0.1:2379'] });
  });
  it('refuses mistakes, naming the file', () => {
    const cases: [string, RegExp][] = [
      ['lock: etcd\n', /`lock` must be a map/],
      ['lock: {backend: zk}\n', /`lock.backend` must be one of ssh, etcd/],
      ['lock: {backend: etcd}\n', /needs `lock.endpoints:`/],
      ['lock: {backend: etcd, endpoints: []}\n', /at least one URL/],
      ['lock: {backend: etcd, endpoints: [127.0.0.1:2379]}\n', /must start with http:\/\/ or https:\/\//],
      ['lock: {backend: etcd, endpoints: ["http://exa mple:1"]}\n', /is not a URL/],
      ['lock: {backend: etcd, endpoints: [http://h:1/v2]}\n', /scheme:\/\/host:port only/],
      ['lock: {backend: etcd, endpoints: [3]}\n', /`lock.endpoints\[0\]` must be a string/],
      ['lock: {backend: ssh, endpoints: [http://h:1]}\n', /only for `lock.backend: etcd`/],
      ['lock: {backend: etcd, endpoint: [http://h:1]}\n', /unknown key `lock.endpoint` \(did you mean "endpoints"\?\)/],
    ];
    for (const [yaml, re] of cases) {
      assert.throws(
        () => cfg(yaml),
        (e: unknown) => e instanceof GgnError && re.test(e.message) && e.ctx.file === FILE,
        yaml,
      );
    }
  });
});

describe('etcd lock backend without etcd', () => {
  it('parses GGN values', () => {
    assert.deepEqual(parseValue('[alice@box] deploying 1.2'), { holder: 'alice@box', message: 'deploying 1.2' });
    assert.deepEqual(parseValue('hand-made'), { holder: 'unknown', message: 'hand-made' });
  });
  it('shortens gRPC messages', () => {
    assert.equal(
      grpcDetail('14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ', 3000),
      'connect ECONNREFUSED 127.0.0.1:1',
    );
    assert.equal(grpcDetail('4 DEADLINE_EXCEEDED: Deadline exceeded after 3.002s,metadata filters: 0.001s,Waiting for LB pick', 3000), 'no answer within 3 s');
    assert.equal(grpcDetail('7 PERMISSION_DENIED: etcdserver: permission denied', 3000), 'etcdserver: permission denied');
  });
  it('an unreachable endpoint is a clear error, fast', async () => {
    // A port that was just free: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const ep = `http://127.0.0.1:${port}`;
    const b = createLockBackend({ backend: 'etcd', endpoints: [ep] }, { hostStore: () => assert.fail('no ssh'), clock: realClock });
    assert.equal(b.description, `etcd lock at ${ep}`);
    const t0 = Date.now();
    try {
      await assert.rejects(
        b.check(),
        (e: unknown) => e instanceof GgnError && e.message === `etcd lock backend ${ep} unreachable: connect ECONNREFUSED 127.0.0.1:${port}`,
      );
      await assert.rejects(b.acquireRun('web', { holder: 'a@b', message: 'm', ttlMs: 5000 }), new RegExp(`etcd lock backend ${ep} unreachable`));
    } finally {
      await b.close();
    }
    assert.ok(Date.now() - t0 < 8000, `took ${Date.now() - t0} ms`);
  });
  it('an endpoint that accepts but never answers times out with a clear error', async () => {
    const accepted: net.Socket[] = [];
    const srv = net.createServer((sock) => accepted.push(sock)).listen(0, '127.0.0.1');
    await new Promise((r) => srv.on('listening', r));
    const ep = `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
    const b = new EtcdLockStore({ endpoints: [ep], clock: realClock, timeoutMs: 500 });
    const t0 = Date.now();
    try {
      await assert.rejects(b.check(), (e: unknown) => e instanceof GgnError && e.message === `etcd lock backend ${ep} unreachable: no answer within 0.5 s`);
    } finally {
      await b.close();
      for (const sock of accepted) sock.destroy();
      srv.close();
    }
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  });
});
