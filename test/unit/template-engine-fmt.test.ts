import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatFloat, formatValue, sortedKeys, sprint, sprintf, sprintln } from '../../src/template/fmt';
import { Template } from '../../src/template/index';
import { GoStringSlice, newMap, type GoMap, type GoValue } from '../../src/template/values';

function m(o: { [k: string]: GoValue }): GoMap {
  return Object.assign(newMap(), o);
}

/** [format, args, expected Go output] */
const cases: [string, GoValue[], string][] = [
  // integers
  ['%d', [42n], '42'],
  ['%5d|%-5d|%05d|%05d', [42n, 42n, 42n, -42n], '   42|42   |00042|-0042'],
  ['%+d % d %+d', [42n, 42n, -5n], '+42  42 -5'],
  ['%x %X %#x %#X %x', [255n, 255n, 255n, 255n, -255n], 'ff FF 0xff 0XFF -ff'],
  ['%o %#o %O %b %#b', [8n, 8n, 8n, 5n, 5n], '10 010 0o10 101 0b101'],
  ['%c %q %U %#U %q', [65n, 65n, 0x1f600n, 65n, 0x1f600n], "A 'A' U+1F600 U+0041 'A' '😀'"],
  ['%.3d|%8.3d|%-05d|%.0d|', [7n, 7n, 42n, 0n], '007|     007|42   ||'],
  ['%d', [9007199254740993n], '9007199254740993'],
  // strings
  ['%s|%10s|%-10s|%.2s|%05s', ['hi', 'hi', 'hi', 'héllo', 'ab'], 'hi|        hi|hi        |hé|000ab'],
  ['%q %+q %#q %q', ['a"b', 'é', 'abc', 'é\n\x01'], '"a\\"b" "\\u00e9" `abc` "é\\n\\x01"'],
  ['%x % x %#x %X', ['hi', 'hi', 'hi', 'é'], '6869 68 69 0x6869 C3A9'],
  ['%v', ['plain'], 'plain'],
  // floats
  ['%f %.2f %e %E %g', [3.14159, 3.14159, 1234.5678, 1234.5678, 1234.5678], '3.141590 3.14 1.234568e+03 1.234568E+03 1234.5678'],
  ['%g %g %g %.3g %.3g', [1e21, 100000.0, 1e-5, 1234.5678, 100.0], '1e+21 100000 1e-05 1.23e+03 100'],
  ['%8.2f|%-8.2f|%08.2f|%+.1f', [3.14159, 3.14159, -3.14159, 2.0], '    3.14|3.14    |-0003.14|+2.0'],
  ['%.0f %.0f %.0f %.2f %.1f', [0.5, 1.5, 2.5, 0.125, 0.05], '0 2 2 0.12 0.1'],
  ['%v %v %v', [1000000.0, 0.0000005, 2.0], '1e+06 5e-07 2'],
  ['%#g %#.3g %#.0f', [1.0, 1.0, 3.0], '1.00000 1.00 3.'],
  ['%6.2f|%+f|%08f|%f', [NaN, Infinity, Infinity, -Infinity], '   NaN|+Inf|    +Inf|-Inf'],
  ['%.3e %.10f', [0.0, 0.1], '0.000e+00 0.1000000000'],
  // %x / %b of floats (strconv 'x' and 'b'), outputs from Go 1.19
  ['%x|%b', [100.0, 0.5], '0x1.9p+06|4503599627370496p-53'],
  ['%X|%.0x|%.3x|%#x|%10.2x|%+x', [-1.75, 255.9999, 1e300, 1e300, 0.0, 5e-324], '-0X1.CP+00|0x1p+08|0x1.7e4p+996|0x1.7e43c8800759cp+996|0x0.00p+00|+0x1p-1074'],
  ['%b %b %x', [0.0, -0.0, 123456.789], '0p-1074 -0p-1074 0x1.e240c9fbe76c9p+16'],
  // booleans and nil
  ['%t %v %d', [true, false, true], 'true false %!d(bool=true)'],
  ['%s|%v|%d|%T', [null, null, null, null], '%!s(<nil>)|<nil>|%!d(<nil>)|<nil>'],
  // bad verbs keep the flags
  ['%d|%z|%s|%5s', ['hi', 42n, 42n, 42n], '%!d(string=hi)|%!z(int=42)|%!s(int=42)|%!s(int=   42)'],
  // argument errors
  ['%d %d', [1n], '1 %!d(MISSING)'],
  ['%d', [1n, 2n, 'a'], '1%!(EXTRA int=2, string=a)'],
  ['%d', [1n, null], '1%!(EXTRA <nil>)'],
  ['100%', [], '100%!(NOVERB)'],
  ['%% %d%%', [5n], '% 5%'],
  ['%*d|%-*d|%*d|%.*f', [5n, 42n, 5n, 42n, -5n, 42n, 2n, 3.14159], '   42|42   |42   |3.14'],
  ['%*d', ['x', 42n], '%!(BADWIDTH)42'],
  ['%[2]d %[1]d|%[3]d', [1n, 2n], '2 1|%!d(BADINDEX)'],
  // composites
  ['%v|%d|%d|%s', [[1n, 'a', null], [1n, 2n], ['a'], ['a', 'b']], '[1 a <nil>]|[1 2]|[%!d(string=a)]|[a b]'],
  ['%v %v', [m({ b: 2n, a: m({ x: [] }) }), m({})], 'map[a:map[x:[]] b:2] map[]'],
  [
    '%#v %#v %#v %#v',
    [m({ a: 1n, b: null }), [1n, 'a'], 's', GoStringSlice.fromStrings(['x'])],
    'map[string]interface {}{"a":1, "b":interface {}(nil)} []interface {}{1, "a"} "s" []string{"x"}',
  ],
  [
    '%T %T %T %T %T %T %T',
    [1n, 1.5, 's', true, [], m({}), GoStringSlice.fromStrings([])],
    'int float64 string bool []interface {} map[string]interface {} []string',
  ],
];

describe('template engine fmt: Sprintf', () => {
  for (const [format, args, want] of cases) {
    it(`${format} ${args.length} args`, () => {
      assert.equal(sprintf(format, args), want);
    });
  }
  it('printf through a template', () => {
    const t = Template.parse('t', '{{printf "%s-%v-%t" .h .p .b}} {{printf "%03d" .n}} {{printf "%5.1f%%" .r}}', {});
    assert.equal(t.execute(m({ h: 'lb1', p: 150n, b: true, n: 2n, r: 99.44 })), 'lb1-150-true 002  99.4%');
  });
});

describe('template engine fmt: Sprint / Sprintln / %v', () => {
  it('Sprint spacing: only between two non-strings', () => {
    assert.equal(sprint([1n, 2n, 'a', 'b', 3n, true, null]), '1 2ab3 true <nil>');
    assert.equal(sprintln(['a', 'b', 1n]), 'a b 1\n');
  });
  it('formatValue of each kind', () => {
    assert.equal(formatValue('x'), 'x');
    assert.equal(formatValue(-3n), '-3');
    assert.equal(formatValue(false), 'false');
    assert.equal(formatValue(0.1), '0.1');
    assert.equal(formatValue(1e-7), '1e-07');
    assert.equal(formatValue(123456789.0), '1.23456789e+08');
    assert.equal(formatValue(null), '<nil>');
    assert.equal(formatValue([m({ a: [null] })]), '[map[a:[<nil>]]]');
  });
  it('formatFloat matches strconv', () => {
    assert.equal(formatFloat(0.000123, 'g', -1), '0.000123');
    assert.equal(formatFloat(0.0000123, 'g', -1), '1.23e-05');
    assert.equal(formatFloat(1.5, 'e', -1), '1.5e+00');
    assert.equal(formatFloat(123.456, 'f', -1), '123.456');
    assert.equal(formatFloat(2.5, 'f', 0), '2');
    assert.equal(formatFloat(3.5, 'f', 0), '4');
    assert.equal(formatFloat(1e100, 'g', -1), '1e+100');
    assert.equal(formatFloat(5e-324, 'g', -1), '5e-324');
    assert.equal(formatFloat(1.7976931348623157e308, 'g', -1), '1.7976931348623157e+308');
    assert.equal(formatFloat(999999.5, 'g', 6), '1e+06');
    assert.equal(formatFloat(0.1, 'f', 20), '0.10000000000000000555');
  });
});

describe('template engine fmt: sortedKeys (cached per map)', () => {
  it('sorts again when the map changed since, even with the same number of keys', () => {
    const m = newMap();
    for (const k of ['k', 'j', 'i', 'h', 'g', 'f', 'e', 'd', 'c', 'b']) m[k] = 1;
    const first = sortedKeys(m);
    assert.deepEqual(first, ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k']);
    first.pop(); // the caller's own array: the cache is not changed through it
    assert.deepEqual(sortedKeys(m), ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k']);
    delete m.e;
    m.a = 1;
    assert.deepEqual(sortedKeys(m), ['a', 'b', 'c', 'd', 'f', 'g', 'h', 'i', 'j', 'k']);
    m.z = 1;
    assert.deepEqual(sortedKeys(m), ['a', 'b', 'c', 'd', 'f', 'g', 'h', 'i', 'j', 'k', 'z']);
  });
});
