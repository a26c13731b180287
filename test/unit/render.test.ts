import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { chunkAttributes, environmentLines } from '../../src/render/chunks';
import { buildUnitData, escapeForUnit, serviceDataContext } from '../../src/render/data';
import { newMap } from '../../src/template/values';
import { ggnCleanupTemplate } from '../../src/render/whitespace';
import { unitMatcher } from '../../src/render/generate';
import { resolveContainers } from '../../src/render/containers';
import { isValidUnitName } from '../../src/render/names';

describe("GGN's whitespace rewrite", () => {
  it('strips trailing spaces, keeps tabs, and drops the final newline', () => {
    assert.equal(ggnCleanupTemplate('a  \nb\t\n'), 'a\nb\t');
    assert.equal(ggnCleanupTemplate('a\n\n'), 'a\n');
  });
  it('turns a leading {{- into {{ and joins lines ending in -}}', () => {
    assert.equal(ggnCleanupTemplate('x\n   {{- .a }}\n'), 'x\n{{ .a }}');
    assert.equal(ggnCleanupTemplate('{{ if .a -}}\n  b\n{{ end }}'), '{{ if .a }}  b\n{{ end }}');
    assert.equal(ggnCleanupTemplate('a\r\nb\r\n'), 'a\nb');
    assert.equal(ggnCleanupTemplate('\t{{- .a }}'), '\t{{- .a }}');
  });
});

describe('attribute chunking', () => {
  it('keeps short strings whole', () => {
    assert.deepEqual(chunkAttributes('abc'), ['abc']);
    assert.deepEqual(environmentLines('abc', 'ATTR_'), { lines: "Environment='ATTR_0=abc'\n", vars: '${ATTR_0}' });
  });
  it('cuts at multiples of 1950 bytes and moves the cut back before forbidden characters', () => {
    const s = 'a'.repeat(1948) + 'b:' + 'c'.repeat(100);
    const chunks = chunkAttributes(s);
    assert.deepEqual(
      chunks.map((c) => c.length),
      [1948, 102],
    );
    assert.equal(chunks[1].slice(0, 2), 'b:');
    assert.equal(chunks.join(''), s);
  });
  it('does not cut inside a multi-byte character', () => {
    const s = 'a'.repeat(1949) + 'é' + 'z'.repeat(2000);
    const chunks = chunkAttributes(s);
    assert.equal(Buffer.byteLength(chunks[0]), 3900);
    assert.equal(chunks.join(''), s);
  });
  it('never splits a multi-byte character when moving back (GGN corrupted it)', () => {
    const s = 'a'.repeat(1948) + 'é"' + 'z'.repeat(10);
    const chunks = chunkAttributes(s);
    assert.equal(chunks.join(''), s);
    assert.ok(chunks.every((c) => !c.includes('\ufffd')));
  });
});

describe('unit data helpers', () => {
  it('escapes the JSON like GGN (\\" and \')', () => {
    assert.equal(escapeForUnit(`{"a":"Don't \\"x\\"","b":"end\\\\\\"q"}`), `{"a":"Don\\'t \\\\\\"x\\\\\\"","b":"end\\\\\\\\\\"q"}`);
  });
  it('matches units by hostname, hostname.timer or full name', () => {
    const m = unitMatcher('prod', 'web', 'web1');
    assert.ok(m('prod_web_web1.service') && m('prod_web_web1.timer') && !m('prod_web_web10.service'));
    assert.ok(unitMatcher('prod', 'web', 'web1.timer')('prod_web_web1.timer'));
    assert.ok(!unitMatcher('prod', 'web', 'web1.timer')('prod_web_web1.service'));
    assert.ok(unitMatcher('prod', 'web', 'prod_web_web1.service')('prod_web_web1.service'));
  });
  it('validates unit names', () => {
    assert.ok(isValidUnitName('prod_web_web1.service'));
    assert.ok(!isValidUnitName('prod_web_a b.service'));
    assert.ok(!isValidUnitName('../x.service'));
    assert.ok(!isValidUnitName('x@y.service'));
  });
  it('resolves containers from local manifests, or takes an explicit version', () => {
    const local = {
      acis: new Map([['r/m', { file: 'm.json', name: 'r/m', version: '2' }]]),
      pods: [
        {
          file: 'p.json',
          apps: [
            { name: 'r/pod-x_a', version: '1' },
            { name: 'r/pod-x_b', version: '3' },
          ],
        },
      ],
    };
    assert.deepEqual(resolveContainers(['r/api:1.0', 'r/pod-x', 'r/m:9'], local, 'f'), ['r/api:1.0', 'r/pod-x_a:1', 'r/pod-x_b:3', 'r/m:2']);
    assert.throws(() => resolveContainers(['r/nover'], local, 'f'), /has no version/);
  });
});

describe('error lines', () => {
  it('name file, line, unit and host once', () => {
    const { GgnError } = require('../../src/errors');
    assert.equal(new GgnError('boom', { file: 'a.yml', line: 3, col: 2, unit: 'u.service', host: 'h1' }).oneLine(), 'a.yml:3:2: unit u.service, host h1: boom');
    assert.equal(new GgnError('host h1 (1.2.3.4:22): refused', { host: 'h1' }).oneLine(), 'host h1 (1.2.3.4:22): refused');
  });
});

describe('unit data (buildUnitData)', () => {
  it('has the service keys in order, the node over them, no inherited keys, odd key names included', () => {
    const attrs = newMap();
    for (const k of ['b', '__proto__', 'constructor', '2', 'a"\'\\x', 'toString', '10', 'nested']) attrs[k] = k === 'nested' ? { x: 1, y: 2 } : `v-${k}`;
    const node = newMap();
    node.hostname = 'h1';
    node.nested = { y: 3 };
    node.b = 'node-b';
    const data = buildUnitData(serviceDataContext(attrs, ['aci']), node);
    const keys = Object.keys(data);
    assert.deepEqual(keys.slice(0, 9), ['2', '10', 'b', '__proto__', 'constructor', 'a"\'\\x', 'toString', 'nested', 'hostname']);
    assert.equal(data.b, 'node-b');
    assert.equal(data.__proto__, 'v-__proto__');
    assert.equal(data.constructor, 'v-constructor');
    assert.deepEqual({ ...(data.nested as object) }, { x: 1, y: 3 });
    assert.equal('hasOwnProperty' in data, false);
    assert.equal('valueOf' in data, false);
    assert.ok(keys.includes('environmentAttributes'));
    assert.match(data.attributes as string, /"__proto__":"v-__proto__"/);
  });
});
