/**
 * commands/flags.ts builds the same flag definitions as @oclif/core/flags, and with no arguments
 * parseCommandFlags returns what oclif's parser returns, for every command ggn has; so does it
 * with each boolean flag alone (long and short), which it parses without oclif.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as OclifFlags from '@oclif/core/flags';
import { parse } from '@oclif/core/parser';
import { parseCommandFlags } from '../../commands/base';
import * as Flags from '../../commands/flags';
import { loadVerb, verbNames } from '../../commands/registry';

const withoutParse = (f: object) => Object.fromEntries(Object.entries(f).filter(([k]) => k !== 'parse'));

describe('flag builders', () => {
  const cases: [string, object, object][] = [
    ['boolean', Flags.boolean({ char: 'q', description: 'd' }), OclifFlags.boolean({ char: 'q', description: 'd' })],
    ['boolean allowNo', Flags.boolean({ allowNo: true }), OclifFlags.boolean({ allowNo: true })],
    ['string', Flags.string({ char: 't', default: '1h', helpValue: 'D' }), OclifFlags.string({ char: 't', default: '1h', helpValue: 'D' })],
    ['string multiple', Flags.string({ multiple: true }), OclifFlags.string({ multiple: true })],
    ['integer', Flags.integer({ default: 20, min: 1 }), OclifFlags.integer({ default: 20, min: 1 })],
  ];
  for (const [name, ours, theirs] of cases) {
    it(`${name}: the same definition as oclif's`, () => {
      assert.deepEqual(withoutParse(ours), withoutParse(theirs));
    });
  }

  it('integer: parses and refuses like oclif', async () => {
    const def = { n: Flags.integer({ min: 1, max: 9 }) };
    const oclif = { n: OclifFlags.integer({ min: 1, max: 9 }) };
    for (const argv of [['--n', '5'], ['--n', '0'], ['--n', '10'], ['--n', 'x'], ['--n=-3']]) {
      const a = await parseCommandFlags(argv, def).then(
        (r) => r,
        (e: Error) => `${e.constructor.name}: ${e.message}`,
      );
      const b = await parse(argv, { flags: oclif, strict: true, args: {} }).then(
        (r) => r.flags,
        (e: Error) => `${e.constructor.name}: ${e.message}`,
      );
      assert.deepEqual(a, b, argv.join(' '));
    }
  });
});

describe('parseCommandFlags without arguments', () => {
  for (const verb of verbNames()) {
    it(`${verb}: the defaults oclif's parser gives`, async () => {
      const flags = loadVerb(verb)!.flags;
      const ours = await parseCommandFlags([], flags);
      const theirs = (await parse([], { flags, strict: true, args: {} })).flags;
      assert.deepEqual(ours, theirs);
    });
  }
});

describe('parseCommandFlags with boolean flags only', () => {
  for (const verb of verbNames()) {
    it(`${verb}: what oclif's parser gives for each boolean flag, long and short`, async () => {
      const flags = loadVerb(verb)!.flags;
      const bools = Object.entries(flags).filter(([, f]) => f.type === 'boolean');
      const argvs = bools.flatMap(([name, f]) => [[`--${name}`], ...(f.char ? [[`-${f.char}`]] : [])]);
      if (bools.length > 1) argvs.push(bools.map(([name]) => `--${name}`));
      argvs.push(['--no-such-flag'], ['-Z'], ...bools.map(([name]) => [`--${name}`, `--${name}`]));
      for (const argv of argvs) {
        const ours = await parseCommandFlags(argv, flags).then(
          (r) => r,
          (e: Error) => `${e.constructor.name}: ${e.message}`,
        );
        const theirs = await parse(argv, { flags, strict: true, args: {} }).then(
          (r) => r.flags,
          (e: Error) => `${e.constructor.name}: ${e.message}`,
        );
        assert.deepEqual(ours, theirs, argv.join(' '));
      }
    });
  }
});
