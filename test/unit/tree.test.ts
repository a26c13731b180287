import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listAttributeFiles, mergeInto, mergeLevel, resolveInclude } from '../../src/tree/attributes';
import { parseYaml } from '../../src/tree/yaml';
import { whoAmI } from '../../src/tree/home';
import { parseFleetMachines } from '../../src/tree/machines';
import { GoMap } from '../../src/template/values';
import { tmpDir } from '../support/cli';

const plain = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x)));

describe('YAML 1.1 as go-yaml v2 reads it', () => {
  it('reads booleans, octal, hex, exact 64-bit ints, floats, nulls and dates as strings', () => {
    const v = parseYaml('a: yes\nb: off\nc: 0644\nd: 0xff\ne: 9007199254740993\nf: 2.0\ng: ~\nh: 2016-03-01\ni: 12:30\nj: "0644"\nk: y\n', 'x.yml') as GoMap;
    assert.equal(v.a, true);
    assert.equal(v.b, false);
    assert.equal(v.c, 420n);
    assert.equal(v.d, 255n);
    assert.equal(v.e, 9007199254740993n);
    assert.equal(v.f, 2);
    assert.equal(typeof v.f, 'number');
    assert.equal(v.g, null);
    assert.equal(v.h, '2016-03-01');
    assert.equal(v.i, '12:30');
    assert.equal(v.j, '0644');
    assert.equal(v.k, true);
  });
  it('resolves anchors and << merge keys without sharing objects', () => {
    const v = parseYaml('base: &b {x: 1}\nm:\n  <<: *b\n  z: 2\nq: *b\n', 'x.yml') as GoMap;
    assert.deepEqual(plain(v.m), { x: '1n', z: '2n' });
    const out = mergeInto(Object.create(null), v);
    (out.q as GoMap).x = 5n;
    assert.equal((out.base as GoMap).x, 1n);
  });
  it('turns integer keys into strings and keeps the last duplicate key', () => {
    const v = parseYaml('200: ok\na: 1\na: 2\n', 'x.yml') as GoMap;
    assert.deepEqual(Object.keys(v).sort(), ['200', 'a']);
    assert.equal(v.a, 2n);
  });
  it('refuses boolean and float keys with the line', () => {
    assert.throws(
      () => parseYaml('x: 1\nn: 2\n', 'f.yml'),
      (e: any) => e.ctx.line === 2 && /is a bool/.test(e.message),
    );
    assert.throws(() => parseYaml('1.5: a\n', 'f.yml'), /is a float64/);
  });
  it('reports syntax errors with line and column', () => {
    assert.throws(
      () => parseYaml('a: [1, 2\nb: 3\n', 'f.yml'),
      (e: any) => e.ctx.file === 'f.yml' && e.ctx.line >= 1 && e.ctx.col >= 1,
    );
  });
});

describe('attribute files', () => {
  it('lists files in byte order with one sub-directory level, .yml/.yaml only', () => {
    const dir = tmpDir('attrs');
    for (const f of ['b.yml', 'a.yaml', 'kafka.yml', 'kafka/x.yml', 'kafka/deeper/no.yml', 'NOTES.txt', 'Z.yml']) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), 'default: {}\n');
    }
    assert.deepEqual(
      listAttributeFiles(dir).map((f) => path.relative(dir, f)),
      ['Z.yml', 'a.yaml', 'b.yml', 'kafka/x.yml', 'kafka.yml'],
    );
    assert.deepEqual(listAttributeFiles(path.join(dir, 'missing')), []);
  });
  it('merges defaults, then overrides, with includes after regular files; service default beats env override', () => {
    const work = tmpDir('work');
    const w = (f: string, c: string) => {
      fs.mkdirSync(path.dirname(path.join(work, f)), { recursive: true });
      fs.writeFileSync(path.join(work, f), c);
    };
    w('common-attributes/inc/a.yml', 'default:\n  port: 2\n  list: [x]\n');
    w('env/e/attributes/1.yml', 'include: [inc.a]\ndefault:\n  port: 1\n  deep: {a: 1, b: 1}\n  list: [a, b]\noverride:\n  level: env\n');
    w('env/e/attributes/2.yml', 'default:\n  deep: {b: 2}\n');
    w('env/e/services/s/attributes/s.yml', 'default:\n  level: service\n');
    const ctx = { workPath: work, envDir: 'e', level: 'env' as const };
    const env = mergeLevel(Object.create(null), path.join(work, 'env/e/attributes'), ctx);
    assert.deepEqual(plain(env), { port: '2n', deep: { a: '1n', b: '2n' }, list: ['x'], level: 'env' });
    const svc = mergeLevel(env, path.join(work, 'env/e/services/s/attributes'), { ...ctx, level: 'service' });
    assert.equal(svc.level, 'service');
    assert.equal(env.level, 'env', 'the env result is not mutated');
  });
  it('an empty or non-map section replaces what the level merged before it, like GGN (its outputs)', () => {
    const work = tmpDir('work');
    const w = (f: string, c: string) => {
      fs.mkdirSync(path.dirname(path.join(work, f)), { recursive: true });
      fs.writeFileSync(path.join(work, f), c);
    };
    w('env/e/attributes/a.yml', 'default:\n  a: 1\n  b: 2\n');
    w('env/e/attributes/b.yml', 'default:\noverride:\n  c: 3\n');
    w('env/e/attributes/c.yml', 'default:\n  b: 5\n');
    w('env/e/services/s/attributes/s.yml', 'default:\noverride:\n  t: 1\n');
    w('env/e/services/s/attributes/t.yml', 'default:\n  s: 9\n');
    const ctx = { workPath: work, envDir: 'e', level: 'env' as const };
    const env = mergeLevel(Object.create(null), path.join(work, 'env/e/attributes'), ctx);
    assert.deepEqual(plain(env), { b: '5n', c: '3n' });
    // The service's empty `default:` also drops what it inherited from the env.
    const svc = mergeLevel(env, path.join(work, 'env/e/services/s/attributes'), { ...ctx, level: 'service' });
    assert.deepEqual(plain(svc), { s: '9n', t: '1n' });
    // Last file: GGN panicked; ggn applies the same rule (the level's defaults are empty).
    w('env/e/attributes/d.yml', 'default:\n');
    assert.deepEqual(plain(mergeLevel(Object.create(null), path.join(work, 'env/e/attributes'), ctx)), { c: '3n' });
    // A scalar section replaces too, and is an error only if nothing replaces it.
    w('env/e/attributes/d.yml', 'default: 5\n');
    assert.throws(
      () => mergeLevel(Object.create(null), path.join(work, 'env/e/attributes'), ctx),
      (e: any) => /d\.yml$/.test(e.ctx.file) && /`default:` must be a map, not an integer/.test(e.message),
    );
    w('env/e/attributes/e.yml', 'default:\n  z: 1\n');
    assert.deepEqual(plain(mergeLevel(Object.create(null), path.join(work, 'env/e/attributes'), ctx)), { z: '1n', c: '3n' });
  });
  it('resolves include names like GGN', () => {
    const ctx = { workPath: '/w', envDir: 'prod', level: 'service' as const };
    assert.equal(resolveInclude('a.b.c', ctx, 'f'), '/w/common-attributes/a/b/c.yml');
    assert.equal(resolveInclude('env::x.y', ctx, 'f'), '/w/env/prod/common-attributes/x/y.yml');
    assert.equal(resolveInclude('env:dc2:x.y', ctx, 'f'), '/w/env/dc2/common-attributes/x/y.yml');
    assert.throws(() => resolveInclude('env::x', { ...ctx, level: 'env' }, 'f'), /cannot include its own env/);
    assert.throws(() => resolveInclude('a..b', ctx, 'f'), /not a valid include name/);
  });
});

describe('home and machines', () => {
  it('user@host from `user`, else envVarUser, else the OS user', () => {
    assert.match(whoAmI({ user: 'alice' }), /^alice@/);
    assert.match(whoAmI({ envVarUser: 'GGN_T_USER' }, { GGN_T_USER: 'bob' }), /^bob@/);
    assert.match(whoAmI({}, {}), /^[^@]+@.+/);
  });
  it('reads dirName= machines from fleetctl list-machines output', () => {
    assert.deepEqual(parseFleetMachines('dirName=a,rack=1\nrack=2,dirName=b\nregion=eu\ndirName=c\n'), ['a', 'b', 'c']);
  });
});
