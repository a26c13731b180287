import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { goJsonMarshal, goJsonQuote, goYamlMarshal } from '../../src/template/funcs';
import { formatFloatG, formatFloatFixed, goStringCompare, sortedKeys } from '../../src/template/funcs/goutil';
import { yamlSortedKeys } from '../../src/template/funcs/goyaml';
import { GoCell } from '../../src/template/funcs/cell';
import { GoStringSlice, newMap } from '../../src/template/values';
import type { GoMap, GoValue } from '../../src/template/values';

const m = (o: Record<string, GoValue>): GoMap => Object.assign(newMap(), o);

describe('goJsonMarshal (encoding/json)', () => {
  test('numbers', () => {
    const cases: Array<[GoValue, string]> = [
      [9007199254740993n, '9007199254740993'],
      [-9223372036854775808n, '-9223372036854775808'],
      [2, '2'],
      [2.5, '2.5'],
      [1000000, '1000000'],
      [5e-7, '5e-7'],
      [1.5e-7, '1.5e-7'],
      [0.000001, '0.000001'],
      [1e20, '100000000000000000000'],
      [1e21, '1e+21'],
      [1.2345e300, '1.2345e+300'],
      [-0, '-0'],
      [0, '0'],
      [0.1 + 0.2, '0.30000000000000004'],
      [-12.75, '-12.75'],
      [5e-324, '5e-324'],
    ];
    for (const [v, want] of cases) assert.equal(goJsonMarshal(v), want, String(v));
  });
  test('strings', () => {
    assert.equal(goJsonQuote('plain'), '"plain"');
    assert.equal(goJsonQuote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(goJsonQuote('<a href="x">&</a>'), '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"');
    assert.equal(goJsonQuote('\n\r\t\b\f\u0000\u001f'), '"\\n\\r\\t\\u0008\\u000c\\u0000\\u001f"');
    assert.equal(goJsonQuote('é ü 日本 😀'), '"é ü 日本 😀"');
    assert.equal(goJsonQuote('\u2028\u2029'), '"\\u2028\\u2029"');
    assert.equal(goJsonQuote('\u007f'), '"\u007f"');
    assert.equal(goJsonQuote('x\ud800y'), '"x\\ufffdy"');
    assert.equal(goJsonQuote("it's"), '"it\'s"');
  });
  test('compact structures, sorted keys', () => {
    const v = m({ b: [1n, 'x', null, true, m({})], a: m({ z: 1.5, y: [] }), '': false });
    assert.equal(goJsonMarshal(v), '{"":false,"a":{"y":[],"z":1.5},"b":[1,"x",null,true,{}]}');
    assert.equal(goJsonMarshal(GoStringSlice.fromStrings(['a', 'b'])), '["a","b"]');
    assert.equal(goJsonMarshal(new GoCell(1n)), '{}');
  });
  test('keys sort by UTF-8 bytes', () => {
    const v = m({ b: 1n, B: 2n, '\uffff': 3n, '😀': 4n, é: 5n, '10': 6n, '9': 7n, a_b: 8n, 'a-b': 9n });
    assert.equal(goJsonMarshal(v), '{"10":6,"9":7,"B":2,"a-b":9,"a_b":8,"b":1,"é":5,"\uffff":3,"😀":4}');
    assert.ok(goStringCompare('\uffff', '😀') < 0);
    assert.deepEqual(sortedKeys(m({ b: 1n, a: 2n })), ['a', 'b']);
  });
  test('indented', () => {
    const v = m({ list: [1n, [2n, m({ k: 'v' })]], empty: m({}), none: [] });
    assert.equal(
      goJsonMarshal(v, '  '),
      '{\n  "empty": {},\n  "list": [\n    1,\n    [\n      2,\n      {\n        "k": "v"\n      }\n    ]\n  ],\n  "none": []\n}',
    );
    assert.equal(goJsonMarshal('x', '  '), '"x"');
  });
  // Its speed is the render benchmark's (npm run bench -- render), not a timed test's.
  test('a 50-key map of escaped strings, integers and nested maps, keys in Go order', () => {
    const v = newMap();
    for (let i = 0; i < 50; i++) {
      v['key_' + i] = i % 3 === 0 ? 'value with <html> & "quotes" ' + i : i % 3 === 1 ? BigInt(i) : m({ nested: [1.5, 'x', true] });
    }
    const out = goJsonMarshal(v);
    assert.ok(out.startsWith('{"key_0":"value with \\u003chtml\\u003e \\u0026 \\"quotes\\" 0","key_1":1,"key_10":10,"key_11":{"nested":[1.5,"x",true]},'), out);
    assert.ok(out.endsWith(',"key_8":{"nested":[1.5,"x",true]},"key_9":"value with \\u003chtml\\u003e \\u0026 \\"quotes\\" 9"}'), out);
    assert.deepEqual(Object.keys(JSON.parse(out)).length, 50);
  });
});

describe('goYamlMarshal (yaml.v2)', () => {
  test('scalars at the root', () => {
    assert.equal(goYamlMarshal(null), 'null\n');
    assert.equal(goYamlMarshal(true), 'true\n');
    assert.equal(goYamlMarshal(42n), '42\n');
    assert.equal(goYamlMarshal(1e6), '1e+06\n');
    assert.equal(goYamlMarshal(2), '2\n');
    assert.equal(goYamlMarshal(0.5), '0.5\n');
    assert.equal(goYamlMarshal(NaN), '.nan\n');
    assert.equal(goYamlMarshal(-Infinity), '-.inf\n');
    // Floats go through float32 in GGN's yaml.v2 (outputs from GGN).
    assert.equal(goYamlMarshal(123456789.123), '1.2345679e+08\n');
    assert.equal(goYamlMarshal(5e-324), '0\n');
    assert.equal(goYamlMarshal(16777217), '1.6777216e+07\n');
    assert.equal(goYamlMarshal(1e300), '.inf\n');
    assert.equal(goYamlMarshal(2400414.25) + goYamlMarshal(-305629.625), '2.4004142e+06\n-305629.62\n');
    // A final U+2028 is a line break to the emitter, but GGN writes no indent after it.
    assert.equal(goYamlMarshal(m({ s1: 'x\u2028', s3: 'a\u2028b' })), "s1: 'x\u2028'\ns3: 'a\u2028  b'\n");
    assert.equal(goYamlMarshal('hello world'), 'hello world\n');
    assert.equal(goYamlMarshal('a\nb'), '|-\n  a\n  b\n');
    assert.equal(goYamlMarshal('a\nb\n'), '|\n  a\n  b\n');
  });
  test('string quoting', () => {
    const q = (s: string) => goYamlMarshal(m({ k: s }));
    assert.equal(q(''), 'k: ""\n');
    assert.equal(q('true'), 'k: "true"\n');
    assert.equal(q('yes'), 'k: "yes"\n');
    assert.equal(q('yES'), 'k: yES\n');
    assert.equal(q('~'), 'k: "~"\n');
    assert.equal(q('null'), 'k: "null"\n');
    assert.equal(q('10'), 'k: "10"\n');
    assert.equal(q('1.5'), 'k: "1.5"\n');
    assert.equal(q('+1'), 'k: "+1"\n');
    assert.equal(q('0x1F'), 'k: "0x1F"\n');
    assert.equal(q('1_000'), 'k: "1_000"\n');
    assert.equal(q('1e3'), 'k: "1e3"\n');
    assert.equal(q('.5'), 'k: ".5"\n');
    assert.equal(q('.inf'), 'k: ".inf"\n');
    // GGN's yaml.v2 has no timestamps; Go's strconv decides the numbers (outputs from GGN).
    assert.equal(q('2015-01-01'), 'k: 2015-01-01\n');
    assert.equal(q('2001-12-14t21:59:43.10-05:00'), 'k: 2001-12-14t21:59:43.10-05:00\n');
    assert.equal(q('0X1F') + q('08') + q('0x1p4') + q('+inf') + q('.5_0'), 'k: "0X1F"\nk: "08"\nk: "0x1p4"\nk: "+inf"\nk: ".5_0"\n');
    assert.equal(q('1e400') + q('0x10000000000000000') + q('._5') + q('.'), 'k: 1e400\nk: 0x10000000000000000\nk: ._5\nk: .\n');
    assert.equal(q('12:30'), 'k: "12:30"\n');
    assert.equal(q('8080:80'), 'k: 8080:80\n');
    assert.equal(q('1.2.3'), 'k: 1.2.3\n');
    assert.equal(q('-x'), 'k: -x\n');
    assert.equal(q('<<'), 'k: <<\n');
    assert.equal(q('es1:9200'), 'k: es1:9200\n');
    assert.equal(q('a: b'), "k: 'a: b'\n");
    assert.equal(q('#c'), "k: '#c'\n");
    assert.equal(q('a #c'), "k: 'a #c'\n");
    assert.equal(q('a#c'), 'k: a#c\n');
    assert.equal(q('- x'), "k: '- x'\n");
    assert.equal(q(' lead'), "k: ' lead'\n");
    assert.equal(q('trail '), "k: 'trail '\n");
    assert.equal(q("'q"), "k: '''q'\n");
    assert.equal(q("it's"), "k: it's\n");
    assert.equal(q('*star'), "k: '*star'\n");
    assert.equal(q('{x}'), "k: '{x}'\n");
    assert.equal(q('a{x}'), 'k: a{x}\n');
    assert.equal(q('tab\there'), 'k: "tab\\there"\n');
    assert.equal(q('é ü'), 'k: é ü\n');
    assert.equal(q('😀'), 'k: "\\U0001F600"\n');
    assert.equal(q('a\\b"c'), 'k: a\\b"c\n');
    assert.equal(q('multi\nline'), 'k: |-\n  multi\n  line\n');
    assert.equal(q('  indented\nx'), 'k: |2-\n    indented\n  x\n');
    assert.equal(q('trailing \nx'), 'k: "trailing \\nx"\n');
    assert.equal(q('a\n\nb\n\n'), 'k: |+\n  a\n\n  b\n\n');
  });
  test('long strings fold at 80 columns', () => {
    const words = Array.from({ length: 30 }, (_, i) => 'word' + i).join(' ');
    const out = goYamlMarshal(m({ k: words }));
    const lines = out.split('\n');
    assert.ok(lines[0].length > 80 && lines[0].length < 90, out);
    assert.ok(lines[1].startsWith('  word'), out);
    assert.equal(out.replace(/\n  /g, ' '), 'k: ' + words + '\n');
  });
  test('nesting', () => {
    const v = m({
      a: m({ b: [1n, 2n, m({ c: 'x', d: [], e: m({}) })] }),
      list: [[1n, 2n], [3n]],
      s: GoStringSlice.fromStrings(['x']),
    });
    assert.equal(goYamlMarshal(v), 'a:\n  b:\n  - 1\n  - 2\n  - c: x\n    d: []\n    e: {}\nlist:\n- - 1\n  - 2\n- - 3\ns:\n- x\n');
    assert.equal(goYamlMarshal([m({ a: m({ b: 1n }) })]), '- a:\n    b: 1\n');
    assert.equal(goYamlMarshal([m({ a: 'x\ny' })]), '- a: |-\n    x\n    y\n');
  });
  test('key order is yaml.v2 natural order', () => {
    assert.deepEqual(yamlSortedKeys(m({ a10: 1n, a2: 1n, b: 1n, A: 1n, '1': 1n, '10': 1n, '2': 1n, _x: 1n })), ['_x', '1', '2', '10', 'A', 'a2', 'a10', 'b']);
  });
  test('long keys become complex keys', () => {
    const k = 'k'.repeat(129);
    assert.equal(goYamlMarshal(m({ [k]: 1n })), `? ${k}\n: 1\n`);
  });
});

describe('float formatting helpers', () => {
  test("strconv 'g' shortest (fmt %v)", () => {
    const cases: Array<[number, string]> = [
      [1e6, '1e+06'],
      [123456, '123456'],
      [1234567, '1.234567e+06'],
      [5e-7, '5e-07'],
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [2, '2'],
      [0.75, '0.75'],
      [-1.5, '-1.5'],
      [1e21, '1e+21'],
      [1e100, '1e+100'],
      [0, '0'],
      [-0, '-0'],
      [Infinity, '+Inf'],
      [NaN, 'NaN'],
    ];
    for (const [v, want] of cases) assert.equal(formatFloatG(v), want, String(v));
  });
  test("'%.1f' rounds exact ties to even", () => {
    assert.equal(formatFloatFixed(1.25, 1), '1.2');
    assert.equal(formatFloatFixed(1.35, 1), '1.4'); // 1.35 is above the tie in binary
    assert.equal(formatFloatFixed(0.5, 0), '0');
    assert.equal(formatFloatFixed(1.5, 0), '2');
    assert.equal(formatFloatFixed(700, 1), '700.0');
    assert.equal(formatFloatFixed(-2.25, 1), '-2.2');
    assert.equal(formatFloatFixed(1e22, 1), '10000000000000000000000.0');
  });
});
