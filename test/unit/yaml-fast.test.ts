/**
 * The fast YAML reader must give exactly what the full parser gives, or give up. Checked on
 * every YAML file of the fixtures and on thousands of random documents mixing the subset with
 * constructs it must refuse.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { parseYamlFast, resolvePlain } from '../../src/tree/yaml-fast';
import { parseYamlFull } from '../../src/tree/yaml';
import { ROOT } from '../support/cli';

function full(text: string): unknown {
  try {
    return parseYamlFull(text, 'x.yml');
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function same(text: string): void {
  const fast = parseYamlFast(text);
  if (fast === undefined) return;
  assert.deepStrictEqual(fast, full(text), `fast and full parsers disagree on:\n${text}`);
}

const SCALARS = [
  'a',
  'hello world',
  'yes',
  'No',
  'on',
  'OFF',
  'y',
  'n',
  'true',
  'False',
  '~',
  'null',
  '',
  '0',
  '-0',
  '+12',
  '0644',
  '09',
  '0x1F',
  '0x_1F',
  '0b101',
  '1_000',
  '9007199254740993',
  '-9223372036854775808',
  '1.5',
  '2.0',
  '1e3',
  '1.5e-7',
  '.5',
  '1.',
  '.inf',
  '-.Inf',
  '.nan',
  '.',
  '12:30',
  '2016-03-01',
  'http://x.y:80/z',
  'a#b',
  'a # comment',
  "'it''s'",
  '"quo\\"ted\\n\\u00e9"',
  "'single'",
  '"double"',
  '-Xss256k',
  'a-b',
  '*-*-* 03:00:00',
  '[1, two, "3"]',
  '[]',
  '{}',
  '{a: 1, b: [x, y]}',
  '[a, [b, c]]',
  '{a: }',
  '"a: b"',
  'C:\\zk\\data',
  'é',
  '@x',
  '`x',
  '&a x',
  '*a',
  '!!str 1',
  '|',
  '>',
  'a: b',
  '- x',
  '? x',
  '0o17',
  '+.inf',
  '1_0.5',
  '[a,',
  '"unterminated',
  'x ',
  '0b',
  '-',
  '%x',
  // go-yaml v2's strconv forms: prefixes, Go-only floats, uint64, beyond 64 bits, refused escapes
  '0X1F',
  '0B11',
  '0O17',
  '-0b11',
  '0x1p4',
  '0x1.8',
  '08',
  '0648',
  '1e400',
  '.5_0',
  '._5',
  '18446744073709551616',
  '18446744073709551615',
  '9223372036854775808',
  '-9223372036854775809',
  '0x10000000000000000',
  '+inf',
  '-Infinity',
  '"x\\/y"',
  '[0x1p4, 08]',
  '{18446744073709551615: x}',
];

function rnd(n: number): number {
  return Math.floor(Math.random() * n);
}

function randomDoc(depth = 0, indent = ''): string {
  const kind = depth > 2 ? 0 : rnd(3);
  const lines: string[] = [];
  const n = 1 + rnd(3);
  for (let i = 0; i < n; i++) {
    const key = ['k', 'a.b', '200', '"q k"', "'s'", 'on', 'x y', 'k' + i, '0x1F', '9223372036854775808', '1.5'][rnd(11)];
    const sc = SCALARS[rnd(SCALARS.length)];
    if (kind === 0 || depth > 2) lines.push(`${indent}${key}: ${sc}`);
    else if (kind === 1) {
      lines.push(`${indent}${key}:`);
      lines.push(randomDoc(depth + 1, indent + (rnd(2) ? '  ' : '    ')));
    } else {
      lines.push(`${indent}${key}:`);
      const sub = indent + (rnd(2) ? '' : '  ');
      for (let j = 0; j < 1 + rnd(3); j++) {
        if (rnd(3) === 0) lines.push(`${sub}- ${SCALARS[rnd(SCALARS.length)]}`);
        else if (rnd(2) === 0) {
          lines.push(`${sub}- k${j}: ${SCALARS[rnd(SCALARS.length)]}`);
          lines.push(`${sub}  m${j}: ${SCALARS[rnd(SCALARS.length)]}`);
        } else {
          lines.push(`${sub}-`);
          lines.push(randomDoc(depth + 1, sub + '  '));
        }
      }
    }
    if (rnd(6) === 0) lines.push(`${indent}# a comment`);
  }
  return lines.join('\n');
}

describe('fast YAML reader', () => {
  it('resolves plain scalars like the full parser', () => {
    for (const s of SCALARS) {
      const fast = (() => {
        try {
          return resolvePlain(s.trim());
        } catch {
          return undefined;
        }
      })();
      if (fast === undefined || /^[[{'"&*!|>%@`?#-]|: | #/.test(s)) continue;
      const whole = full(`v: ${s}\n`) as Record<string, unknown>;
      assert.ok('v' in whole, `scalar ${s}: ${inspect(whole)}`);
      assert.deepStrictEqual(fast, whole.v, `scalar ${s}`);
    }
  });

  it('agrees with the full parser on every YAML file of the fixtures', () => {
    let used = 0;
    let files = 0;
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const f = path.join(d, e.name);
        if (e.isDirectory()) walk(f);
        else if (/\.ya?ml$/.test(e.name)) {
          files++;
          const text = fs.readFileSync(f, 'utf8');
          if (parseYamlFast(text) !== undefined) used++;
          same(text);
        }
      }
    };
    walk(path.join(ROOT, 'test', 'fixtures'));
    walk(path.join(ROOT, 'envs'));
    assert.ok(used > files / 2, `the fast path handled only ${used} of ${files} files`);
  });

  it('agrees with the full parser on 5,000 random documents', () => {
    let used = 0;
    for (let i = 0; i < 5000; i++) {
      const doc = randomDoc() + (rnd(2) ? '\n' : '');
      if (parseYamlFast(doc) !== undefined) used++;
      same(doc);
    }
    assert.ok(used > 500, `the fast path handled only ${used} documents`);
  });

  it('gives up on what it does not handle', () => {
    for (const doc of [
      'a: &x 1\nb: *x\n',
      'a: |\n  text\n',
      'a: !!str 1\n',
      '--- \na: 1\n',
      'a: b\n  c\n',
      'a:\n\t- x\n',
      '? a\n: b\n',
      'on: 1\n',
      'a: [1,\n 2]\n',
    ]) {
      assert.equal(parseYamlFast(doc), undefined, doc);
    }
  });
});
