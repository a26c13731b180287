import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GgnError } from '../../src/errors';
import { hookAttributes, hookEnvironment, HookInfo, listHooks, MAX_ATTRIBUTES_ENV, runAvailabilityHooks, runHooks } from '../../src/apply/hooks';
import { Env } from '../../src/tree/env';
import { GoMap } from '../../src/template/values';
import { tmpDir } from '../support/cli';
import { fakeClock } from '../support/fake-clock';

const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

function makeEnv(): Env {
  const root = tmpDir('hooks');
  roots.push(root);
  const envPath = path.join(root, 'env', 'prod-dc1');
  fs.mkdirSync(envPath, { recursive: true });
  return { home: { path: path.join(root, 'home') }, dir: 'prod-dc1', name: 'prod', path: envPath } as unknown as Env;
}

function hook(env: Env, kind: string, name: string, body: string, mode = 0o755): string {
  const dir = path.join(env.path, 'hooks', kind);
  fs.mkdirSync(dir, { recursive: true });
  const p = path.join(dir, name);
  fs.writeFileSync(p, body, { mode });
  fs.chmodSync(p, mode);
  return p;
}

function info(env: Env, over: Partial<HookInfo> = {}): HookInfo {
  return {
    env,
    service: 'web',
    unit: 'w1',
    action: 'unit/restart',
    command: 'restart',
    who: 'alice@laptop',
    attributes: '{"a":1}',
    logLevel: 'INFO',
    ...over,
  };
}

const DUMP = `#!/bin/sh
out="$(dirname "$0")/../../out-$(basename "$0")"
{
  echo "ENV=$ENV"; echo "ENVDIR=$ENVDIR"; echo "SERVICE=\${SERVICE-unset}"; echo "UNIT=\${UNIT-unset}"
  echo "ACTION=$ACTION"; echo "COMMAND=$COMMAND"; echo "WHO=$WHO"; echo "ATTRIBUTES=$ATTRIBUTES"
  echo "GGN_HOME_PATH=$GGN_HOME_PATH"; echo "LOG_LEVEL=$LOG_LEVEL"; echo "HOST=\${HOST-unset}"; echo "PWD=$(pwd)"
} > "$out"
echo "ran $(basename "$0")"
`;

describe('runHooks', () => {
  it('runs every executable of hooks/early in name order with GGN variables, cwd = env dir', async () => {
    const env = makeEnv();
    hook(env, 'early', 'b-second', DUMP);
    hook(env, 'early', 'a-first', DUMP);
    hook(env, 'early', '10-numbered', DUMP);
    const results = await runHooks('early', info(env));
    assert.deepEqual(
      results.map((r) => [r.name, r.ok, r.code, r.output]),
      [
        ['hooks/early/10-numbered', true, 0, 'ran 10-numbered\n'],
        ['hooks/early/a-first', true, 0, 'ran a-first\n'],
        ['hooks/early/b-second', true, 0, 'ran b-second\n'],
      ],
    );
    const dump = fs.readFileSync(path.join(env.path, 'out-a-first'), 'utf8');
    assert.equal(
      dump,
      [
        'ENV=prod',
        'ENVDIR=prod-dc1',
        'SERVICE=web',
        'UNIT=w1',
        'ACTION=unit/restart',
        'COMMAND=restart',
        'WHO=alice@laptop',
        'ATTRIBUTES={"a":1}',
        `GGN_HOME_PATH=${env.home.path}`,
        'LOG_LEVEL=INFO',
        'HOST=unset',
        `PWD=${fs.realpathSync(env.path)}`,
        '',
      ].join('\n'),
    );
  });

  it('does not leak inherited UNIT/SERVICE into service- or env-level hooks', async () => {
    const env = makeEnv();
    hook(env, 'late', 'dump', DUMP);
    const saved = { UNIT: process.env.UNIT, SERVICE: process.env.SERVICE };
    process.env.UNIT = 'stale-unit';
    process.env.SERVICE = 'stale-service';
    try {
      await runHooks('late', info(env, { unit: undefined, service: undefined, action: 'env/check', command: 'env/check', attributes: '' }));
    } finally {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
    const dump = fs.readFileSync(path.join(env.path, 'out-dump'), 'utf8');
    assert.match(dump, /^SERVICE=unset$/m);
    assert.match(dump, /^UNIT=unset$/m);
    assert.match(dump, /^ATTRIBUTES=$/m);
    assert.equal(hookEnvironment({ UNIT: 'x' }, { PATH: '/bin', UNIT: 'old', SERVICE: 'old' }).SERVICE, undefined);
  });

  it('stops at the first failing early hook and throws with its exit and last output lines', async () => {
    const env = makeEnv();
    hook(env, 'early', '10-ok', '#!/bin/sh\necho fine\n');
    hook(env, 'early', '20-deny', '#!/bin/sh\necho checking window\necho "deploys are frozen until monday" >&2\nexit 3\n');
    hook(env, 'early', '30-never', '#!/bin/sh\ntouch "$(dirname "$0")/ran-30"\n');
    await assert.rejects(runHooks('early', info(env)), (e: unknown) => {
      assert.ok(e instanceof GgnError);
      assert.equal(e.message, 'early hook hooks/early/20-deny failed (exit 3): checking window | deploys are frozen until monday');
      assert.equal(e.ctx.service, 'web');
      return true;
    });
    assert.equal(fs.existsSync(path.join(env.path, 'hooks', 'early', 'ran-30')), false);
  });

  it('runs all late hooks and returns failures instead of throwing', async () => {
    const env = makeEnv();
    hook(env, 'late', '10-fail', '#!/bin/sh\necho boom\nexit 1\n');
    hook(env, 'late', '20-ok', '#!/bin/sh\necho ok\n');
    const r = await runHooks('late', info(env));
    assert.deepEqual(
      r.map((x) => [x.name, x.ok, x.code, x.output]),
      [
        ['hooks/late/10-fail', false, 1, 'boom\n'],
        ['hooks/late/20-ok', true, 0, 'ok\n'],
      ],
    );
  });

  it('fails a non-executable file as GGN did, skips dot-files and sub-directories', async () => {
    const env = makeEnv();
    hook(env, 'late', 'README', 'notes\n', 0o644);
    hook(env, 'late', '.gitkeep', '', 0o644);
    fs.mkdirSync(path.join(env.path, 'hooks', 'late', 'lib'));
    hook(env, 'late', 'run', '#!/bin/sh\nexit 0\n');
    assert.deepEqual(
      listHooks(env, 'late').map((f) => f.name),
      ['hooks/late/.gitkeep', 'hooks/late/README', 'hooks/late/run'],
    );
    const r = await runHooks('late', info(env));
    assert.deepEqual(
      r.map((x) => [x.name, x.ok, x.code, x.skipped ?? x.error ?? '']),
      [
        ['hooks/late/.gitkeep', true, null, 'dot-file, not run'],
        ['hooks/late/README', false, 126, 'not executable (run `chmod +x hooks/late/README`, or move it out of hooks/late/)'],
        ['hooks/late/run', true, 0, ''],
      ],
    );
    hook(env, 'early', 'check', 'exit 0\n', 0o644);
    await assert.rejects(runHooks('early', info(env)), /early hook hooks\/early\/check failed \(not executable/);
  });

  it('runs an executable without #! through bash, as bash -c did', async () => {
    const env = makeEnv();
    hook(env, 'late', 'plain', '[[ -n "$BASH_VERSION" ]] && echo "bash $ACTION"\n');
    const [r] = await runHooks('late', info(env));
    assert.equal(r.ok, true);
    assert.equal(r.output, 'bash unit/restart\n');
  });

  it('returns [] when the hooks folder does not exist', async () => {
    assert.deepEqual(await runHooks('early', info(makeEnv())), []);
  });

  it('kills a hook and its children after timeoutMs', async () => {
    const env = makeEnv();
    hook(env, 'late', 'slow', '#!/bin/sh\necho started\nsleep 30 &\nwait\n');
    const t0 = Date.now();
    const [r] = await runHooks('late', info(env), { timeoutMs: 150 });
    assert.ok(Date.now() - t0 < 3000);
    assert.equal(r.ok, false);
    assert.equal(r.code, null);
    assert.equal(r.error, 'killed after the 150ms timeout');
    assert.equal(r.output, 'started\n');
  });

  it('does not start hooks once aborted', async () => {
    const env = makeEnv();
    hook(env, 'early', 'x', '#!/bin/sh\ntouch "$(dirname "$0")/ran"\n');
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(runHooks('early', info(env), { signal: ac.signal }), /early hook hooks\/early\/x failed \(not run: aborted\)/);
    assert.equal(fs.existsSync(path.join(env.path, 'hooks', 'early', 'ran')), false);
  });

  it('hookAttributes is Go json.Marshal (sorted keys, HTML escaping)', () => {
    const m = Object.assign(Object.create(null) as GoMap, { b: 'x<y', a: 1n });
    assert.equal(hookAttributes(m), '{"a":1,"b":"x\\u003cy"}');
  });
});

describe('runAvailabilityHooks (hooks/command)', () => {
  it('passes at once with no hooks', async () => {
    const r = await runAvailabilityHooks({ ...info(makeEnv()), host: 'host1' }, { clock: fakeClock(), timeoutMs: 1000, intervalMs: 100 });
    assert.deepEqual(r, { ok: true, attempts: 0, ms: 0, hooks: 0, results: [] });
  });

  it('retries the hook list every interval until all pass, with HOST set', async () => {
    const env = makeEnv();
    hook(env, 'command', '10-dump', DUMP);
    hook(
      env,
      'command',
      '20-ready',
      '#!/bin/sh\nf="$(dirname "$0")/count"\nn=$(( $(cat "$f" 2>/dev/null || echo 0) + 1 ))\necho $n > "$f"\n[ $n -ge 3 ] || { echo "not ready ($n)"; exit 1; }\n',
    );
    const clock = fakeClock();
    const r = await runAvailabilityHooks({ ...info(env, { action: 'unit/isAvailable' }), host: 'host7' }, { clock, timeoutMs: 10_000, intervalMs: 500 });
    assert.equal(r.ok, true);
    assert.equal(r.attempts, 3);
    assert.equal(r.ms, 1000);
    assert.equal(r.hooks, 2);
    assert.deepEqual(clock.sleeps, [500, 500]);
    assert.match(fs.readFileSync(path.join(env.path, 'out-10-dump'), 'utf8'), /^HOST=host7$/m);
  });

  it('gives up at the deadline with the failing hook and its output', async () => {
    const env = makeEnv();
    hook(env, 'command', 'never', '#!/bin/sh\necho "port 8080 closed"\nexit 2\n');
    hook(env, 'command', 'zz-not-reached', '#!/bin/sh\ntouch "$(dirname "$0")/ran"\n');
    const clock = fakeClock();
    const r = await runAvailabilityHooks({ ...info(env), host: 'h' }, { clock, timeoutMs: 1000, intervalMs: 400 });
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 3); // t = 0, 400, 800; the third sleep is clipped to the deadline
    assert.deepEqual(clock.sleeps, [400, 400, 200]);
    assert.equal(r.last, 'hooks/command/never failed (exit 2): port 8080 closed');
    assert.equal(r.results.length, 1);
    assert.equal(fs.existsSync(path.join(env.path, 'hooks', 'command', 'ran')), false);
  });
});

describe('ATTRIBUTES too large for the environment', () => {
  const SHOW = `#!/bin/sh
out="$(dirname "$0")/../../out-$(basename "$0")"
{ echo "env=\${ATTRIBUTES+set} len=\${#ATTRIBUTES}"; echo "file=$ATTRIBUTES_FILE"; cat "$ATTRIBUTES_FILE"; } > "$out"
`;
  const attrs = (n: number) => hookAttributes({ big: 'x'.repeat(n) } as unknown as GoMap);

  it('a 300 KiB ATTRIBUTES (spawn E2BIG before) reaches every hook through ATTRIBUTES_FILE', async () => {
    const env = makeEnv();
    hook(env, 'early', 'show', SHOW);
    hook(env, 'command', 'show', SHOW);
    const big = attrs(300 * 1024);
    const [r] = await runHooks('early', info(env, { attributes: big }));
    assert.equal(r.ok, true, r.error ?? r.output);
    const out = fs.readFileSync(path.join(env.path, 'out-show'), 'utf8');
    const [first, second, ...rest] = out.split('\n');
    assert.equal(first, 'env= len=0', 'left out of the environment');
    assert.equal(rest.join('\n'), big, 'the file holds the whole JSON');
    const file = second.replace(/^file=/, '');
    assert.ok(!fs.existsSync(file) && !fs.existsSync(path.dirname(file)), 'the file is removed afterwards');
    const a = await runAvailabilityHooks({ ...info(env, { attributes: big }), host: 'h' }, { clock: fakeClock(), timeoutMs: 5000, intervalMs: 100 });
    assert.equal(a.ok, true, a.last);
  });

  it('up to the limit ATTRIBUTES stays in the environment too (as GGN passed it)', async () => {
    const env = makeEnv();
    hook(env, 'late', 'show', SHOW);
    const json = attrs(MAX_ATTRIBUTES_ENV - attrs(0).length);
    assert.equal(json.length, MAX_ATTRIBUTES_ENV);
    const [r] = await runHooks('late', info(env, { attributes: json }));
    assert.equal(r.ok, true, r.error ?? r.output);
    const out = fs.readFileSync(path.join(env.path, 'out-show'), 'utf8');
    assert.equal(out.split('\n')[0], `env=set len=${json.length}`);
    assert.equal(out.split('\n').slice(2).join('\n'), json);
  });
});
