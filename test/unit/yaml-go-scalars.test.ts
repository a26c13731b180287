/**
 * Plain scalars as go-yaml v2 (vendored by GGN) resolves them: `%T:%#v` of `v` in `v: <scalar>`,
 * printed by Go 1.19 on the real package. Both YAML readers must give the same values (the fast
 * reader may give up); infinities and NaN are refused with a clear error instead (GGN panicked
 * when it wrote them as JSON).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { sprintf } from '../../src/template/fmt';
import { GoMap } from '../../src/template/values';
import { parseYamlFull } from '../../src/tree/yaml';
import { parseYamlFast } from '../../src/tree/yaml-fast';

const GO: [string, string][] = [
  ['0X1F', 'int:31'],
  ['0B11', 'int:3'],
  ['0o17', 'int:15'],
  ['0O17', 'int:15'],
  ['0x1F', 'int:31'],
  ['0b11', 'int:3'],
  ['-0b11', 'int:-3'],
  ['+0x1F', 'int:31'],
  ['0x1p4', 'float64:16'],
  ['0x1.8p1', 'float64:3'],
  ['-0x1P-2', 'float64:-0.25'],
  ['0x1.8', 'string:"0x1.8"'],
  ['08', 'float64:8'],
  ['0648', 'float64:648'],
  ['09.5', 'float64:9.5'],
  ['.', 'string:"."'],
  ['1e400', 'string:"1e400"'],
  ['-1e400', 'string:"-1e400"'],
  ['1e-400', 'float64:0'],
  ['.5e400', 'string:".5e400"'],
  ['18446744073709551616', 'float64:1.8446744073709552e+19'],
  ['18446744073709551615', 'uint64:0xffffffffffffffff'],
  ['9223372036854775808', 'uint64:0x8000000000000000'],
  ['9223372036854775807', 'int:9223372036854775807'],
  ['-9223372036854775808', 'int:-9223372036854775808'],
  ['-9223372036854775809', 'float64:-9.223372036854776e+18'],
  ['0xFFFFFFFFFFFFFFFF', 'uint64:0xffffffffffffffff'],
  ['0x10000000000000000', 'string:"0x10000000000000000"'],
  ['0777777777777777777777', 'int:9223372036854775807'],
  ['01777777777777777777777', 'uint64:0xffffffffffffffff'],
  ['0b1111111111111111111111111111111111111111111111111111111111111111', 'uint64:0xffffffffffffffff'],
  ['0b11111111111111111111111111111111111111111111111111111111111111111', 'string:"0b11111111111111111111111111111111111111111111111111111111111111111"'],
  ['-0b1000000000000000000000000000000000000000000000000000000000000000', 'int:-9223372036854775808'],
  ['1_000', 'int:1000'],
  ['1_0.5', 'float64:10.5'],
  ['0x_1F', 'int:31'],
  ['_1', 'string:"_1"'],
  ['1__0', 'int:10'],
  ['1_e5', 'float64:100000'],
  ['.5_0', 'float64:0.5'],
  ['5.', 'float64:5'],
  ['+.5', 'float64:0.5'],
  ['1.e5', 'float64:100000'],
  ['1e', 'string:"1e"'],
  ['1e+', 'string:"1e+"'],
  ['+nan', 'string:"+nan"'],
  ['nan', 'string:"nan"'],
  ['NaN', 'string:"NaN"'],
  ['inf', 'string:"inf"'],
  ['+inf', 'float64:+Inf'],
  ['-Infinity', 'float64:-Inf'],
  ['+INF', 'float64:+Inf'],
  ['.inf', 'float64:+Inf'],
  ['.NaN', 'float64:NaN'],
  ['-.inf', 'float64:-Inf'],
  ['0o', 'string:"0o"'],
  ['0x', 'string:"0x"'],
  ['0b', 'string:"0b"'],
  ['0', 'int:0'],
  ['-0', 'int:0'],
  ['+0', 'int:0'],
  ['00', 'int:0'],
  ['0.0', 'float64:0'],
  ['-0.0', 'float64:-0'],
  ['1e3', 'float64:1000'],
  ['1E3', 'float64:1000'],
  ['12:30', 'string:"12:30"'],
  ['2016-03-01', 'string:"2016-03-01"'],
  ['0.1e-320', 'float64:1e-321'],
  ['0x1p-1074', 'float64:5e-324'],
  ['0x1p-1075', 'float64:0'],
  ['0x1p1024', 'string:"0x1p1024"'],
  ['0x1.fffffffffffffp1023', 'float64:1.7976931348623157e+308'],
  ['0x1.fffffffffffff8p1023', 'string:"0x1.fffffffffffff8p1023"'],
  ['yes', 'bool:true'],
  ['Off', 'bool:false'],
  ['~', '<nil>:<nil>'],
  ['y', 'bool:true'],
  ['+', 'string:"+"'],
  ['+-1', 'string:"+-1"'],
  ['--1', 'string:"--1"'],
  ['1-1', 'string:"1-1"'],
  ['0x-1', 'string:"0x-1"'],
];

const show = (v: unknown) => (v === null ? '<nil>:<nil>' : sprintf('%T:%#v', [v, v]));

describe('scalars as go-yaml v2 reads them', () => {
  for (const [scalar, want] of GO) {
    it(scalar, () => {
      const doc = `v: ${scalar}\n`;
      if (/^float64:[-+]?(Inf|NaN)$/.test(want)) {
        assert.throws(() => parseYamlFull(doc, 'x.yml'), /^GgnError: .*which GGN cannot write as JSON: quote it/);
        assert.equal(parseYamlFast(doc), undefined);
        return;
      }
      assert.equal(show((parseYamlFull(doc, 'x.yml') as GoMap).v), want);
      const fast = parseYamlFast(doc) as GoMap | undefined;
      if (fast !== undefined) assert.equal(show(fast.v), want, 'fast reader');
    });
  }
});

describe("libyaml's \\' escape in double quotes (accepted by GGN, not by the yaml package)", () => {
  it('decodes it on one line, in both readers', () => {
    for (const [doc, want] of [
      ['v: "it\\\'s"\n', "it's"],
      ['v: ["x\\\'y", c]\n', ["x'y", 'c']],
      ['v: "a\\\\\'b"\n', "a\\'b"],
    ] as const) {
      assert.deepEqual((parseYamlFull(doc, 'x.yml') as GoMap).v, want, doc);
      const fast = parseYamlFast(doc) as GoMap | undefined;
      if (fast !== undefined) assert.deepEqual(fast.v, want, doc);
    }
  });
  it('refuses it with a clear error in a multi-line string', () => {
    assert.throws(() => parseYamlFull('v: "a\\\'\n  b"\n', 'x.yml'), /multi-line or tagged double-quoted string is not supported/);
  });
});
