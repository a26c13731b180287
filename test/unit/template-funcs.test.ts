import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ggnFuncs, dgrFuncs, gtfFuncs, FuncError, GoCell } from '../../src/template/funcs';
import { GoStringSlice, newMap } from '../../src/template/values';
import type { GoMap, GoValue } from '../../src/template/values';

const F = ggnFuncs();
const call = (name: string, ...args: GoValue[]): GoValue => {
  const def = F[name];
  assert.ok(def, `function ${name} is registered`);
  return def.fn(...args);
};
const m = (o: Record<string, GoValue>): GoMap => Object.assign(newMap(), o);
const ss = (...items: string[]) => GoStringSlice.fromStrings(items);
const throwsGo = (fn: () => unknown, msg: string) => assert.throws(fn, (e: unknown) => e instanceof FuncError && e.message === msg);

describe('ggnFuncs precedence and signatures', () => {
  test('gtf wins over dgr on a name clash', () => {
    assert.equal(F.join, gtfFuncs().join);
    assert.equal(F.replace, gtfFuncs().replace);
    assert.deepEqual(F.join.params, ['string', 'stringList']);
    assert.deepEqual(F.replace.params, ['string', 'string']);
    assert.deepEqual(dgrFuncs().join.params, ['stringList', 'string']);
    assert.equal(F.eq, dgrFuncs().eq);
    assert.equal(F.contains, dgrFuncs().contains);
  });
  test('built once', () => assert.equal(ggnFuncs(), F));
  test('complete function list', () => {
    const names = Object.keys(F).sort();
    const expected = [
      'HowDeep',
      'IsMapFirst',
      'IsMapLast',
      'add',
      'apnumber',
      'base',
      'capfirst',
      'cell',
      'center',
      'contains',
      'datetime',
      'default',
      'dir',
      'div',
      'divisibleby',
      'eq',
      'filesizeformat',
      'first',
      'getenv',
      'hasPrefix',
      'hasSuffix',
      'howDeep',
      'ifOrDef',
      'intcomma',
      'isArray',
      'isKind',
      'isMap',
      'isMapFirst',
      'isMapLast',
      'isNil',
      'isString',
      'isType',
      'join',
      'json',
      'jsonArray',
      'last',
      'length',
      'lengthis',
      'ljust',
      'lower',
      'mod',
      'mul',
      'orDef',
      'orDefs',
      'ordinal',
      'pluralize',
      'random',
      'repeat',
      'replace',
      'rjust',
      'slice',
      'split',
      'striptags',
      'sub',
      'toJson',
      'toLower',
      'toUpper',
      'toYaml',
      'trim',
      'truncatechars',
      'upper',
      'urlencode',
      'wordcount',
      'yesno',
    ].sort();
    assert.deepEqual(names, expected);
  });
  test('declared Go parameter kinds', () => {
    const sig = (n: string) => [F[n].params.join(','), F[n].variadic ?? ''];
    assert.deepEqual(sig('add'), ['int,int', '']);
    assert.deepEqual(sig('eq'), ['', 'any']);
    assert.deepEqual(sig('cell'), ['', 'any']);
    assert.deepEqual(sig('split'), ['string,string', '']);
    assert.deepEqual(sig('orDefs'), ['list,any', '']);
    assert.deepEqual(sig('truncatechars'), ['int,string', '']);
    assert.deepEqual(sig('yesno'), ['string,string,bool', '']);
    assert.deepEqual(sig('slice'), ['int,int,any', '']);
    assert.deepEqual(sig('lengthis'), ['int,any', '']);
    assert.deepEqual(sig('divisibleby'), ['any,any', '']);
    assert.deepEqual(sig('pluralize'), ['string,any', '']);
    assert.deepEqual(sig('repeat'), ['string,int', '']);
  });
});

describe('dgr functions', () => {
  test('arithmetic on Go ints', () => {
    assert.equal(call('add', 8080n, 1n), 8081n);
    assert.equal(call('div', 48n, 16n), 3n);
    assert.equal(call('mod', 48n, 10n), 8n);
    assert.equal(call('mul', 48n, 2n), 96n);
    assert.equal(call('sub', 48n, 8n), 40n);
    assert.equal(call('div', -7n, 2n), -3n);
    assert.equal(call('mod', -7n, 2n), -1n);
    assert.equal(call('add', 9223372036854775807n, 1n), -9223372036854775808n);
    throwsGo(() => call('div', 1n, 0n), 'runtime error: integer divide by zero');
    throwsGo(() => call('mod', 1n, 0n), 'runtime error: integer divide by zero');
  });
  test('split returns []string', () => {
    const r = call('split', 'es1:9200,es2:9200,es3:9200', ',');
    assert.ok(r instanceof GoStringSlice);
    assert.deepEqual([...(r as string[])], ['es1:9200', 'es2:9200', 'es3:9200']);
    assert.deepEqual([...(call('split', 'abc', '') as string[])], ['a', 'b', 'c']);
    assert.deepEqual([...(call('split', '', ',') as string[])], ['']);
    assert.deepEqual([...(call('split', '', '') as string[])], []);
  });
  test('dgr join (shadowed) is strings.Join', () => {
    assert.equal(dgrFuncs().join.fn(ss('a', 'b'), '|'), 'a|b');
  });
  test('base / dir', () => {
    assert.equal(call('base', '/var/log/blabla/search-api/current.log'), 'current.log');
    assert.equal(call('dir', '/var/log/blabla/search-api/current.log'), '/var/log/blabla/search-api');
    assert.equal(call('base', ''), '.');
    assert.equal(call('base', '/'), '/');
    assert.equal(call('base', 'a/b/'), 'b');
    assert.equal(call('dir', 'file'), '.');
    assert.equal(call('dir', '/a//b/../c/d'), '/a/c');
    assert.equal(call('dir', '/'), '/');
    assert.equal(call('dir', ''), '.');
  });
  test('string predicates and transforms', () => {
    assert.equal(call('contains', 'search1', 'search'), true);
    assert.equal(call('hasPrefix', 'search1', 'search'), true);
    assert.equal(call('hasSuffix', 'search1', '2'), false);
    assert.equal(call('repeat', '=', 10n), '==========');
    throwsGo(() => call('repeat', 'x', -1n), 'strings: negative Repeat count');
    assert.equal(call('toUpper', 'prod'), 'PROD');
    assert.equal(call('toLower', 'ON'), 'on');
    assert.equal(call('toUpper', 'straße é'), 'STRAßE É');
  });
  test('type predicates', () => {
    const cache = m({ ttl: 300n });
    const routes: GoValue[] = [m({ a: 'b' })];
    assert.equal(call('isMap', cache), true);
    assert.equal(call('isMap', routes), false);
    assert.equal(call('isArray', routes), true);
    assert.equal(call('isArray', ss('a')), true);
    assert.equal(call('isArray', cache), false);
    assert.equal(call('isString', 'r1'), true);
    assert.equal(call('isString', 8080n), false);
    assert.equal(call('isNil', null), true);
    assert.equal(call('isNil', 'r1'), false);
    assert.equal(call('isMap', null), false);
    assert.equal(call('isKind', 8080n, 'int'), true);
    assert.equal(call('isKind', 0.5, 'float64'), true);
    assert.equal(call('isKind', cache, 'map'), true);
    assert.equal(call('isKind', routes, 'slice'), true);
    assert.equal(call('isKind', null, 'invalid'), false);
    assert.equal(call('isKind', new GoCell(), 'ptr'), true);
    assert.equal(call('isType', routes, '[]interface {}'), true);
    assert.equal(call('isType', cache, 'map[string]interface {}'), true);
    assert.equal(call('isType', true, 'bool'), true);
    assert.equal(call('isType', ss('a'), '[]string'), true);
    assert.equal(call('isType', 1n, 'int'), true);
    assert.equal(call('isType', 1, 'float64'), true);
    assert.equal(call('isType', null, '<nil>'), false);
  });
  test('orDef / orDefs / ifOrDef', () => {
    assert.equal(call('orDef', null, 'fallback'), 'fallback');
    assert.equal(call('orDef', 'r1', 'fallback'), 'r1');
    assert.equal(call('orDef', false, 'fallback'), false);
    assert.equal(call('ifOrDef', false, 'typo-set', 'typo-unset'), 'typo-set');
    assert.equal(call('ifOrDef', null, 'x-set', 'x-unset'), 'x-unset');
    assert.deepEqual(call('orDefs', [], 'untagged'), ['untagged']);
    assert.deepEqual(call('orDefs', null, 'none'), ['none']);
    const routes = [1n, 2n, 3n];
    assert.equal(call('orDefs', routes, 'none'), routes);
  });
  test('eq: any of, basic types strict, others deep', () => {
    assert.equal(call('eq', 'r1', 'r1', 'r3'), true);
    assert.equal(call('eq', 'r2', 'r1', 'r3'), false);
    assert.equal(call('eq', 8080n, 8080n), true);
    assert.equal(call('eq', 2n, 2), false);
    assert.equal(call('eq', 2, 2), true);
    assert.equal(call('eq', true, true), true);
    assert.equal(call('eq', 'redis', 'memcached'), false);
    assert.equal(call('eq'), false);
    assert.equal(call('eq', 'x'), false);
    assert.equal(call('eq', null, null), true);
    assert.equal(call('eq', null, 'x'), false);
    assert.equal(call('eq', m({ a: [1n] }), m({ a: [1n] })), true);
    assert.equal(call('eq', m({ a: [1n] }), m({ a: [1] })), false);
    assert.equal(call('eq', [1n, 'a'], 'x', [1n, 'a']), true);
    assert.equal(call('eq', ss('a'), ['a']), false);
    assert.equal(call('eq', NaN, NaN), false);
  });
  test('isMapFirst / isMapLast', () => {
    const cache = m({ ttl: 300n, size: 10000n, backend: 'redis' });
    assert.equal(call('isMapFirst', cache, 'backend'), true);
    assert.equal(call('isMapFirst', cache, 'size'), false);
    assert.equal(call('isMapLast', cache, 'ttl'), true);
    assert.equal(call('isMapLast', cache, 'size'), false);
    assert.equal(call('isMapLast', [1n], 'x'), false);
    assert.equal(call('IsMapFirst', cache, 'backend'), true);
    throwsGo(() => call('isMapFirst', m({}), 'x'), 'runtime error: index out of range [0] with length 0');
    throwsGo(() => call('isMapLast', m({}), 'x'), 'runtime error: index out of range [-1]');
    throwsGo(() => call('isMapFirst', null, 'x'), 'runtime error: invalid memory address or nil pointer dereference');
  });
  test('howDeep finds maps at depth 1 or 2 only', () => {
    const level3 = m({ leaf: true });
    const level2 = m({ level3 });
    const level1 = m({ level2 });
    const deep = m({ level1 });
    assert.equal(call('howDeep', deep, level1), 1n);
    assert.equal(call('howDeep', deep, level2), 2n);
    assert.equal(call('howDeep', deep, level3), 0n);
    assert.equal(call('howDeep', deep, 'x'), 0n);
    assert.equal(call('HowDeep', deep, m({ level2: m({ level3: m({ leaf: true }) }) })), 1n);
    throwsGo(() => call('howDeep', 'str', level1), 'reflect: call of reflect.Value.MapKeys on string Value');
    throwsGo(() => call('howDeep', null, level1), 'reflect: call of reflect.Value.MapKeys on zero Value');
    throwsGo(() => call('howDeep', deep, null), 'runtime error: invalid memory address or nil pointer dereference');
  });
  test('howDeep visits keys in sorted order: deterministic where GGN gave 1 or 2 from run to run', () => {
    for (let i = 0; i < 3; i++) assert.equal(call('howDeep', m({ b: m({ c: m({}) }), a: m({}) }), m({})), 1n);
    assert.equal(call('howDeep', m({ a: m({ c: m({}) }), b: m({}) }), m({})), 2n);
  });
  test('json / jsonArray decode like encoding/json into interface{}', () => {
    const cfg = call('json', '{"timeout_ms": 1500, "retries": 2, "tags": ["a","b"]}') as GoMap;
    assert.equal(cfg.timeout_ms, 1500);
    assert.equal(typeof cfg.timeout_ms, 'number');
    assert.deepEqual(cfg.tags, ['a', 'b']);
    assert.equal(Object.getPrototypeOf(cfg), null);
    assert.deepEqual(call('jsonArray', '[10, 20, 30]'), [10, 20, 30]);
    assert.deepEqual(call('jsonArray', 'null'), []);
    assert.deepEqual(Object.keys(call('json', 'null') as GoMap), []);
    const nested = call('json', '{"a":{"b":[true,null,"\\u00e9\\ud83d\\ude00"]},"a":{"c":1}}') as GoMap;
    assert.deepEqual(Object.keys(nested.a as GoMap), ['c']);
    assert.equal((call('json', '{"s":"\\ud800x"}') as GoMap).s, '\ufffdx');
  });
  test('json errors carry Go messages', () => {
    throwsGo(() => call('json', '[1,2]'), 'json: cannot unmarshal array into Go value of type map[string]interface {}');
    throwsGo(() => call('jsonArray', '{}'), 'json: cannot unmarshal object into Go value of type []interface {}');
    throwsGo(() => call('jsonArray', '"x"'), 'json: cannot unmarshal string into Go value of type []interface {}');
    throwsGo(() => call('json', ''), 'unexpected end of JSON input');
    throwsGo(() => call('json', '{"a":'), 'unexpected end of JSON input');
    throwsGo(() => call('json', 'x'), "invalid character 'x' looking for beginning of value");
    throwsGo(() => call('json', '{"a" 1}'), "invalid character '1' after object key");
    throwsGo(() => call('json', '{"a":1 "b"}'), "invalid character '\"' after object key:value pair");
    throwsGo(() => call('json', "{'a':1}"), "invalid character '\\'' looking for beginning of object key string");
    throwsGo(() => call('jsonArray', '[1 2]'), "invalid character '2' after array element");
    throwsGo(() => call('json', '{} x'), "invalid character 'x' after top-level value");
    throwsGo(() => call('json', '{"a":tru}'), "invalid character '}' in literal true (expecting 'e')");
    throwsGo(() => call('json', '{"a":-x}'), "invalid character 'x' in numeric literal");
    throwsGo(() => call('json', '{"a":1.}'), "invalid character '}' after decimal point in numeric literal");
    throwsGo(() => call('json', '{"a":1e}'), "invalid character '}' in exponent of numeric literal");
    throwsGo(() => call('json', '{"a":"\\x"}'), "invalid character 'x' in string escape code");
    throwsGo(() => call('json', '{"a":"\n"}'), "invalid character '\\n' in string literal");
    throwsGo(() => call('json', '{"a":1e999}'), 'json: cannot unmarshal number 1e999 into Go value of type float64');
    throwsGo(() => call('json', '{"a":01}'), "invalid character '1' after object key:value pair");
  });
  test('cell: Set returns the cell, Get the value', () => {
    const c = call('cell', 0n) as GoCell;
    assert.ok(c instanceof GoCell);
    assert.equal(c.goType, '*template.Cell');
    assert.equal(c.methods.Get.fn(), 0n);
    assert.equal(c.methods.Set.fn(call('add', c.methods.Get.fn() as bigint, 1n)), c);
    assert.equal(c.methods.Get.fn(), 1n);
    assert.deepEqual(c.methods.Set.params, ['any']);
    assert.equal((call('cell') as GoCell).methods.Get.fn(), null);
    throwsGo(() => call('cell', 1n, 2n), 'wrong number of args: want 0 or 1, got 2');
  });
  test('getenv and datetime', () => {
    process.env.GGN_FUNCS_TEST = 'yes';
    assert.equal(call('getenv', 'GGN_FUNCS_TEST'), 'yes');
    assert.equal(call('getenv', 'GGN_FUNCS_TEST_MISSING_VAR'), '');
    const t = call('datetime') as any;
    assert.equal(t.goType, 'time.Time');
  });
  test('toJson: indented, sorted, HTML-escaped', () => {
    const cache = m({ ttl: 300n, size: 10000n, backend: 'redis' });
    assert.equal(call('toJson', cache), '{\n  "backend": "redis",\n  "size": 10000,\n  "ttl": 300\n}');
    assert.equal(call('toJson', 'a < b && c > d'), '"a \\u003c b \\u0026\\u0026 c \\u003e d"');
    assert.equal(call('toJson', m({ autocomplete: true, typo_tolerance: false })), '{\n  "autocomplete": true,\n  "typo_tolerance": false\n}');
    assert.equal(
      call('toJson', m({ a: [], b: m({}), c: [1n, m({ d: null })] })),
      '{\n  "a": [],\n  "b": {},\n  "c": [\n    1,\n    {\n      "d": null\n    }\n  ]\n}',
    );
    assert.equal(call('toJson', null), 'null');
    throwsGo(() => call('toJson', NaN), 'json: unsupported value: NaN');
    throwsGo(() => call('toJson', [Infinity]), 'json: unsupported value: +Inf');
  });
  test('toYaml: go-yaml v2 block style', () => {
    const routes = [m({ path: '/search', upstream: 'es' }), m({ path: '/health', upstream: 'local' })];
    assert.equal(call('toYaml', routes), '- path: /search\n  upstream: es\n- path: /health\n  upstream: local\n');
    assert.equal(call('toYaml', m({ ttl: 300n, size: 10000n, backend: 'redis' })), 'backend: redis\nsize: 10000\nttl: 300\n');
    assert.equal(call('toYaml', []), '[]\n');
    assert.equal(call('toYaml', m({})), '{}\n');
    assert.equal(call('toYaml', null), 'null\n');
    assert.equal(call('toYaml', 'plain'), 'plain\n');
    assert.equal(call('toYaml', m({ k: ['a', 'b'], l: m({ x: 1n }) })), 'k:\n- a\n- b\nl:\n  x: 1\n');
    assert.equal(call('toYaml', m({ n: 'y', on: 'no' })), '"n": "y"\n"on": "no"\n');
  });
});

describe('gtf functions', () => {
  const description = 'Transactional mailer sending booking confirmations to passengers';
  const relays = ['smtp1.example.net', 'smtp2.example.net', 'smtp3.example.net'];
  test('truncatechars', () => {
    assert.equal(call('truncatechars', 30n, description), 'Transactional mailer sendin...');
    assert.equal(call('truncatechars', 2n, 'abcdef'), 'ab');
    assert.equal(call('truncatechars', 3n, 'abcdef'), 'abc');
    assert.equal(call('truncatechars', 4n, 'abcdef'), 'a...');
    assert.equal(call('truncatechars', -1n, 'abc'), 'abc');
    assert.equal(call('truncatechars', 30n, 'abc'), 'abc');
    assert.equal(call('truncatechars', 5n, 'héllo wörld'), 'hé...');
  });
  test('wordcount / urlencode', () => {
    assert.equal(call('wordcount', description), 7n);
    assert.equal(call('wordcount', '  a\tb\u00a0c\u3000 '), 3n);
    assert.equal(call('urlencode', 'Mailer Service'), 'Mailer+Service');
    assert.equal(call('urlencode', 'from:booking subject:confirmed & sent'), 'from%3Abooking+subject%3Aconfirmed+%26+sent');
    assert.equal(call('urlencode', 'a-b_c.d~e/é'), 'a-b_c.d~e%2F%C3%A9');
  });
  test('trim / upper / lower / capfirst', () => {
    assert.equal(call('trim', '  platform team  '), 'platform team');
    assert.equal(call('upper', 'platform team'), 'PLATFORM TEAM');
    assert.equal(call('capfirst', 'platform team'), 'Platform team');
    assert.equal(call('lower', 'MAILER'), 'mailer');
    assert.equal(call('capfirst', ''), '');
    // GGN cut the first character's bytes (invalid UTF-8); ggn keeps it whole.
    assert.equal(call('capfirst', 'été'), 'Été');
    assert.equal(call('capfirst', 'ßa'), 'ßa');
  });
  test('length / first / last / slice / lengthis', () => {
    assert.equal(call('length', relays), 3n);
    assert.equal(call('length', description), 64n);
    assert.equal(call('length', 'héllo'), 5n);
    assert.equal(call('length', m({ a: 1n })), 1n);
    assert.equal(call('length', 5n), 0n);
    assert.equal(call('length', null), 0n);
    assert.equal(call('first', relays), 'smtp1.example.net');
    assert.equal(call('last', relays), 'smtp3.example.net');
    assert.equal(call('first', 'héllo'), 'h');
    assert.equal(call('last', 'héllo'), 'o');
    assert.equal(call('first', []), null);
    assert.equal(call('last', []), null);
    assert.equal(call('first', ''), null);
    assert.equal(call('first', null), '');
    assert.equal(call('first', 3n), '');
    assert.equal(call('first', m({ a: 1n })), '');
    assert.deepEqual(call('slice', 1n, 2n, relays), ['smtp2.example.net']);
    assert.equal(call('slice', 1n, 3n, 'héllo'), 'él');
    assert.equal(call('slice', -5n, 99n, 'abc'), 'abc');
    assert.equal(call('slice', 2n, 1n, 'abc'), null);
    assert.equal(call('slice', 0n, 4n, relays), null);
    assert.equal(call('slice', 0n, 1n, 5n), '');
    const sl = call('slice', 0n, 1n, ss('a', 'b'));
    assert.ok(sl instanceof GoStringSlice);
    assert.equal(call('lengthis', 3n, relays), true);
    assert.equal(call('lengthis', 2n, 'hé'), true);
    assert.equal(call('lengthis', 0n, 5n), false);
  });
  test('join (gtf: SEP LIST of []string) / replace (OLD S)', () => {
    assert.equal(call('join', ',', ss('smtp1', 'smtp2', 'smtp3')), 'smtp1,smtp2,smtp3');
    assert.equal(call('join', ',', null), '');
    assert.equal(call('replace', '@example.net', 'no-reply@example.net'), 'no-reply');
    assert.equal(call('replace', '', 'abc'), 'abc');
    assert.equal(call('replace', ' ', 'The Go Programming Language'), 'TheGoProgrammingLanguage');
  });
  test('filesizeformat', () => {
    assert.equal(call('filesizeformat', 734003200n), '700 MB');
    assert.equal(call('filesizeformat', 999n), '999 bytes');
    assert.equal(call('filesizeformat', 234n), '234 bytes');
    assert.equal(call('filesizeformat', 12345n), '12.1 KB');
    assert.equal(call('filesizeformat', 12345.35335), '12.1 KB');
    assert.equal(call('filesizeformat', 1048576n), '1 MB');
    assert.equal(call('filesizeformat', 554832114n), '529.1 MB');
    assert.equal(call('filesizeformat', 14868735121n), '13.8 GB');
    assert.equal(call('filesizeformat', 14868735121365n), '13.5 TB');
    assert.equal(call('filesizeformat', 1486873512136523n), '1.3 PB');
    assert.equal(call('filesizeformat', 1280n), '1.2 KB'); // exact tie 1.25: Go rounds half to even
    assert.equal(call('filesizeformat', 1126400n), '1.1 MB'); // 1.07421875
    assert.equal(call('filesizeformat', 'x'), '');
    assert.equal(call('filesizeformat', 10240n), '10 KB');
  });
  test('intcomma / apnumber / ordinal', () => {
    assert.equal(call('intcomma', 2500000n), '2,500,000');
    assert.equal(call('intcomma', -1234n), '-1,234');
    assert.equal(call('intcomma', 999n), '999');
    assert.equal(call('intcomma', 1000n), '1,000');
    assert.equal(call('intcomma', 1000005n), '1,000,005');
    assert.equal(call('intcomma', 1.5), '');
    assert.equal(call('intcomma', -9223372036854775808n), '-9,223,372,036,854,775,808');
    assert.equal(call('apnumber', 3n), 'three');
    assert.equal(call('apnumber', 1n), 'one');
    assert.equal(call('apnumber', 9n), 'nine');
    assert.equal(call('apnumber', 12n), 12n);
    assert.equal(call('apnumber', 10n), 10n);
    assert.equal(call('apnumber', 0n), null);
    assert.equal(call('apnumber', -4n), null);
    assert.equal(call('apnumber', 3.0), 3.0);
    assert.equal(call('apnumber', 'x'), 'x');
    assert.equal(call('ordinal', 22n), '22nd');
    assert.equal(call('ordinal', 1n), '1st');
    assert.equal(call('ordinal', 2n), '2nd');
    assert.equal(call('ordinal', 3n), '3rd');
    assert.equal(call('ordinal', 11n), '11th');
    assert.equal(call('ordinal', 12n), '12th');
    assert.equal(call('ordinal', 113n), '113th');
    assert.equal(call('ordinal', 101n), '101st');
    assert.equal(call('ordinal', 0n), '0th');
    assert.equal(call('ordinal', -1n), '');
    assert.equal(call('ordinal', 1.0), '');
  });
  test('pluralize / yesno / divisibleby', () => {
    assert.equal(call('pluralize', 's', 1n), '');
    assert.equal(call('pluralize', 's', 0n), 's');
    assert.equal(call('pluralize', 'y,ies', 3n), 'ies');
    assert.equal(call('pluralize', 'y,ies', 1n), 'y');
    assert.equal(call('pluralize', 'a,b,c', 1n), '');
    assert.equal(call('pluralize', 's', 1.0), '');
    assert.equal(call('yesno', 'on', 'off', false), 'off');
    assert.equal(call('yesno', 'on', 'off', true), 'on');
    assert.equal(call('divisibleby', 2n, 1n), false);
    assert.equal(call('divisibleby', 2n, 2n), true);
    assert.equal(call('divisibleby', 1000n, 2500000n), true);
    assert.equal(call('divisibleby', 0.5, 2n), true);
    assert.equal(call('divisibleby', 0n, 2n), false);
    assert.equal(call('divisibleby', 2n, '4'), false);
  });
  test('striptags / rjust / ljust / center', () => {
    assert.equal(call('striptags', '<b>Mailer</b> <i>v2</i>'), 'Mailer v2');
    assert.equal(call('striptags', ' <p\nclass="x">a</p> '), 'a');
    assert.equal(call('rjust', 8n, 'abc'), '     abc');
    assert.equal(call('ljust', 8n, 'abc'), 'abc     ');
    assert.equal(call('center', 9n, 'abc'), '   abc   ');
    assert.equal(call('center', 10n, 'Go'), '    Go    ');
    assert.equal(call('center', 10n, '안녕하세요'), '  안녕하세요   ');
    assert.equal(call('rjust', 2n, 'abc'), 'abc');
  });
  test('default', () => {
    assert.equal(call('default', 'none', ''), 'none');
    assert.equal(call('default', 'none', []), 'none');
    assert.equal(call('default', 'none', m({})), 'none');
    assert.equal(call('default', 'none', false), 'none');
    assert.equal(call('default', 'none', true), true);
    assert.equal(call('default', 'none', 3n), 3n);
    assert.equal(call('default', 'none', 0n), 0n);
    assert.equal(call('default', 'none', 0), 0);
    assert.equal(call('default', 'none', null), null);
    assert.equal(call('default', 'none', 'x'), 'x');
    const l = [1n];
    assert.equal(call('default', 'none', l), l);
  });
  test('random picks an element', () => {
    assert.ok(relays.includes(call('random', relays) as string));
    assert.equal(call('random', []), null);
    assert.equal(call('random', 'a'), 'a');
    assert.equal(call('random', 5n), '');
  });
});
