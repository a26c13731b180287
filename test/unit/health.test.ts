import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { GgnError } from '../../src/errors';
import { HealthCheck, readHealthCheck, waitHealthy, HealthContext } from '../../src/apply/health';
import { Clock, realClock, RemoteExec } from '../../src/apply/types';
import { GoMap, GoValue } from '../../src/template/values';
import { fakeClock } from '../support/fake-clock';

const FILE = '/tree/env/prod/services/web/service-manifest.yml';

function manifest(hc: GoValue): GoMap {
  const m = Object.create(null) as GoMap;
  m.healthCheck = hc;
  return m;
}
function map(o: Record<string, GoValue>): GoMap {
  return Object.assign(Object.create(null) as GoMap, o);
}

const noExec: RemoteExec = async () => {
  throw new Error('exec not expected');
};

function ctx(over: Partial<HealthContext> & { clock: Clock }): HealthContext {
  return { machine: 'host1', exec: noExec, ...over };
}

function respond(status: number, body = ''): Response {
  return new Response(body === '' ? null : body, { status });
}

describe('readHealthCheck', () => {
  it('returns undefined without healthCheck', () => {
    assert.equal(readHealthCheck(Object.create(null) as GoMap, FILE), undefined);
    assert.equal(readHealthCheck(manifest(null), FILE), undefined);
  });

  it('reads http with the defaults', () => {
    assert.deepEqual(readHealthCheck(manifest(map({ http: 'http://127.0.0.1:8080/health' })), FILE), {
      kind: 'http',
      url: 'http://127.0.0.1:8080/health',
      timeoutMs: 30_000,
      intervalMs: 1_000,
      file: FILE,
    });
  });

  it('reads tcp (IPv4, [IPv6], $HOST) and exec', () => {
    const t = readHealthCheck(manifest(map({ tcp: '127.0.0.1:8080' })), FILE) as Extract<HealthCheck, { kind: 'tcp' }>;
    assert.deepEqual([t.kind, t.host, t.port], ['tcp', '127.0.0.1', 8080]);
    const v6 = readHealthCheck(manifest(map({ tcp: '[::1]:9000' })), FILE) as Extract<HealthCheck, { kind: 'tcp' }>;
    assert.deepEqual([v6.host, v6.port], ['::1', 9000]);
    const h = readHealthCheck(manifest(map({ tcp: '$HOST:22' })), FILE) as Extract<HealthCheck, { kind: 'tcp' }>;
    assert.deepEqual([h.host, h.port], ['$HOST', 22]);
    const e = readHealthCheck(manifest(map({ exec: ['curl', '-fsS', 'http://localhost:8080/ready'] })), FILE) as Extract<HealthCheck, { kind: 'exec' }>;
    assert.deepEqual(e.argv, ['curl', '-fsS', 'http://localhost:8080/ready']);
  });

  it('parses Go durations and numbers of seconds', () => {
    const t = (timeout: GoValue, interval: GoValue = '1s') => {
      const c = readHealthCheck(manifest(map({ http: 'http://$HOST/x', timeout, interval })), FILE)!;
      return [c.timeoutMs, c.intervalMs];
    };
    assert.deepEqual(t('30s'), [30_000, 1000]);
    assert.deepEqual(t('1m30s', '500ms'), [90_000, 500]);
    assert.deepEqual(t('1.5s', '250ms'), [1500, 250]);
    assert.deepEqual(t('1h'), [3_600_000, 1000]);
    assert.deepEqual(t(45n, 2n), [45_000, 2000]);
    assert.deepEqual(t(2.5, 0.1), [2500, 100]);
    assert.deepEqual(t('10'), [10_000, 1000]);
  });

  const bad: [string, GoValue, RegExp][] = [
    ['not a map', 'http://x', /must be a map/],
    ['no kind', map({ timeout: '3s' }), /needs one of/],
    ['two kinds', map({ http: 'http://x/', tcp: 'x:1' }), /`http:` and `tcp:`: use exactly one/],
    ['ftp URL', map({ http: 'ftp://x/y' }), /http:\/\/ or https:\/\//],
    ['bad URL', map({ http: 'not a url' }), /not a valid URL/],
    ['tcp without port', map({ tcp: 'localhost' }), /"host:port"/],
    ['tcp port out of range', map({ tcp: 'localhost:70000' }), /"host:port"/],
    ['exec empty', map({ exec: [] }), /non-empty list of strings/],
    ['exec non-strings', map({ exec: ['curl', 3n] }), /non-empty list of strings/],
    ['exec a string', map({ exec: 'curl -f x' }), /non-empty list of strings/],
    ['bad duration', map({ http: 'http://x/', timeout: '3 seconds' }), /`timeout:` must be a duration/],
    ['zero interval', map({ http: 'http://x/', interval: 0n }), /`interval:` must be greater than zero/],
  ];
  for (const [name, hc, re] of bad) {
    it(`rejects ${name}, naming the manifest`, () => {
      assert.throws(
        () => readHealthCheck(manifest(hc), FILE),
        (e: unknown) => e instanceof GgnError && re.test(e.message) && e.ctx.file === FILE && e.oneLine().startsWith(FILE + ': healthCheck: '),
      );
    });
  }
});

describe('waitHealthy (injected fetch/connect/exec, fake clock)', () => {
  const httpCheck = (over: Partial<HealthCheck> = {}): HealthCheck =>
    ({ kind: 'http', url: 'http://$HOST:8080/health', timeoutMs: 5000, intervalMs: 1000, file: FILE, ...over }) as HealthCheck;

  it('retries until a 2xx, substituting $HOST with the machine address', async () => {
    const clock = fakeClock();
    const urls: string[] = [];
    const answers = [respond(503, 'starting'), respond(500), respond(204)];
    const fetchFn = (async (url: string) => {
      urls.push(url);
      return answers.shift()!;
    }) as unknown as typeof fetch;
    const r = await waitHealthy(httpCheck(), ctx({ clock, fetch: fetchFn, machineAddress: '10.1.2.3' }));
    assert.deepEqual(r, { ok: true, attempts: 3, ms: 2000 });
    assert.deepEqual(urls, Array(3).fill('http://10.1.2.3:8080/health'));
    assert.deepEqual(clock.sleeps, [1000, 1000]);
  });

  it('puts an IPv6 address in brackets', async () => {
    const clock = fakeClock();
    let seen = '';
    const fetchFn = (async (url: string) => ((seen = url), respond(200))) as unknown as typeof fetch;
    await waitHealthy(httpCheck(), ctx({ clock, fetch: fetchFn, machineAddress: 'fd00::7' }));
    assert.equal(seen, 'http://[fd00::7]:8080/health');
  });

  it('gives up at the deadline and reports the status and the first 200 characters of the body', async () => {
    const clock = fakeClock();
    const body = 'x'.repeat(150) + '\n' + 'y'.repeat(300);
    const fetchFn = (async () => respond(503, body)) as unknown as typeof fetch;
    const r = await waitHealthy(httpCheck(), ctx({ clock, fetch: fetchFn, machineAddress: 'h' }));
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 5); // t = 0, 1, 2, 3, 4 s; the last sleep ends at the 5 s deadline
    assert.equal(r.ms, 5000);
    assert.ok(!r.ok && r.last === 'HTTP 503: ' + 'x'.repeat(150) + ' ' + 'y'.repeat(49), !r.ok ? r.last : '');
  });

  it('says "connection refused" when fetch cannot connect', async () => {
    const clock = fakeClock();
    const fetchFn = (async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8080'), { code: 'ECONNREFUSED' }) });
    }) as unknown as typeof fetch;
    const r = await waitHealthy(httpCheck({ timeoutMs: 1500 }), ctx({ clock, fetch: fetchFn, machineAddress: '127.0.0.1' }));
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 2);
    assert.ok(!r.ok && /connection refused \(ECONNREFUSED\)/.test(r.last), !r.ok ? r.last : '');
  });

  it('fails every attempt when $HOST is used without an address', async () => {
    const clock = fakeClock();
    const r = await waitHealthy(httpCheck({ timeoutMs: 1000 }), ctx({ clock, fetch: (async () => respond(200)) as unknown as typeof fetch }));
    assert.ok(!r.ok && /\$HOST used but no address is known for machine host1/.test(r.last));
  });

  it('bounds each tcp attempt by the time left', async () => {
    const clock = fakeClock();
    const calls: [string, number, number][] = [];
    const connect = async (host: string, port: number, timeoutMs: number) => {
      calls.push([host, port, timeoutMs]);
      clock.t += 2000; // a slow refusal
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    };
    const check: HealthCheck = { kind: 'tcp', host: '$HOST', port: 8080, timeoutMs: 5000, intervalMs: 1000, file: FILE };
    const r = await waitHealthy(check, ctx({ clock, connect, machineAddress: '10.0.0.9' }));
    assert.deepEqual(calls, [
      ['10.0.0.9', 8080, 5000],
      ['10.0.0.9', 8080, 2000],
    ]);
    assert.equal(r.ok, false);
    assert.equal(r.ms, 5000);
    assert.ok(!r.ok && r.last === 'tcp 10.0.0.9:8080: connection refused (ECONNREFUSED)', !r.ok ? r.last : '');
  });

  it('runs exec on the machine and reports exit code and stderr', async () => {
    const clock = fakeClock();
    const seen: [string, string[], number | undefined][] = [];
    const answers = [
      { code: 7, stdout: '', stderr: 'curl: (7) Failed to connect\n' },
      { code: 0, stdout: 'ready', stderr: '' },
    ];
    const exec: RemoteExec = async (machine, argv, opts) => {
      seen.push([machine, argv, opts?.timeoutMs]);
      clock.t += 100;
      return answers.shift()!;
    };
    const check: HealthCheck = { kind: 'exec', argv: ['curl', '-fsS', 'http://localhost:8080/ready'], timeoutMs: 3000, intervalMs: 500, file: FILE };
    const r = await waitHealthy(check, ctx({ clock, exec }));
    assert.deepEqual(r, { ok: true, attempts: 2, ms: 700 });
    assert.deepEqual(seen, [
      ['host1', ['curl', '-fsS', 'http://localhost:8080/ready'], 3000],
      ['host1', ['curl', '-fsS', 'http://localhost:8080/ready'], 2400],
    ]);
    const failing: RemoteExec = async () => ({ code: 7, stdout: '', stderr: 'curl: (7) Failed to connect\n' });
    const r2 = await waitHealthy({ ...check, timeoutMs: 1000 }, ctx({ clock: fakeClock(), exec: failing }));
    assert.ok(!r2.ok && r2.last === 'exit 7: curl: (7) Failed to connect', !r2.ok ? r2.last : '');
  });

  it('turns a transport error of exec into a failed attempt', async () => {
    const exec: RemoteExec = async () => {
      throw new Error('host host1 (10.0.0.1:22): connection lost');
    };
    const check: HealthCheck = { kind: 'exec', argv: ['true'], timeoutMs: 1000, intervalMs: 1000, file: FILE };
    const r = await waitHealthy(check, ctx({ clock: fakeClock(), exec }));
    assert.ok(!r.ok && r.attempts === 1 && /connection lost/.test(r.last));
  });

  it('stops when the signal aborts', async () => {
    const ac = new AbortController();
    const clock = fakeClock();
    const fetchFn = (async () => {
      ac.abort();
      return respond(503);
    }) as unknown as typeof fetch;
    const r = await waitHealthy(httpCheck({ timeoutMs: 60_000 }), ctx({ clock, fetch: fetchFn, signal: ac.signal, machineAddress: 'h' }));
    assert.ok(!r.ok && r.attempts === 1 && r.last === 'aborted (last: HTTP 503)', !r.ok ? r.last : '');
  });
});

describe('waitHealthy against real loopback listeners', () => {
  it('http: a server that answers 503 twice, then 200', async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => {
      hits++;
      res.statusCode = hits <= 2 ? 503 : 200;
      res.end(hits <= 2 ? 'warming up' : 'ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const check: HealthCheck = { kind: 'http', url: `http://$HOST:${port}/health`, timeoutMs: 5000, intervalMs: 20, file: FILE };
      const r = await waitHealthy(check, ctx({ clock: realClock, machineAddress: '127.0.0.1' }));
      assert.equal(r.ok, true);
      assert.equal(r.attempts, 3);
      const fail: HealthCheck = { kind: 'http', url: `http://127.0.0.1:${port}/x`, timeoutMs: 400, intervalMs: 20, file: FILE };
      hits = -100;
      const r2 = await waitHealthy(fail, ctx({ clock: realClock }));
      assert.ok(!r2.ok && r2.last === 'HTTP 503: warming up', !r2.ok ? r2.last : '');
    } finally {
      server.close();
    }
  });

  it('tcp: a listener accepts, a closed port is refused', async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const check: HealthCheck = { kind: 'tcp', host: '127.0.0.1', port, timeoutMs: 2000, intervalMs: 20, file: FILE };
    const ok = await waitHealthy(check, ctx({ clock: realClock }));
    assert.equal(ok.ok, true);
    assert.equal(ok.attempts, 1);
    await new Promise<void>((r) => server.close(() => r()));
    const r = await waitHealthy({ ...check, timeoutMs: 100, intervalMs: 30 }, ctx({ clock: realClock }));
    assert.ok(!r.ok && r.attempts >= 2 && /connection refused \(ECONNREFUSED\)/.test(r.last), !r.ok ? r.last : '');
  });
});
