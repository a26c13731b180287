import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { quoteArg, shellQuote } from '../../src/transport/quote';

const NASTY = [
  '',
  ' ',
  'plain',
  'two words',
  "it's",
  "''",
  "'",
  '"double"',
  '$HOME',
  '${HOME}',
  '$(id)',
  '`id`',
  'a\nb',
  '\n',
  'tab\there',
  '*',
  '?',
  '[a-z]*',
  '~',
  '~/x',
  '-n',
  '--help',
  '-e',
  'a;b',
  'a&&b',
  'a|b',
  '>out',
  '<in',
  '\\',
  '\\n',
  '!',
  '!!',
  '#comment',
  'A=b',
  '{a,b}',
  'é ü 漢字 🙂',
  'mix \'single\' "double" $var `cmd` \\ \n end',
  '\x01\x7f\xff',
];

/** Runs `printf '%s\0' <quoted>` through a real shell and splits the output. */
function roundTrip(shell: string, argv: string[]): string[] {
  const out = execFileSync(shell, ['-c', `printf '%s\\0' ${shellQuote(argv)}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('shellQuote', () => {
  it('leaves simple words bare and single-quotes the rest', () => {
    assert.equal(shellQuote(['systemctl', '--user', 'is-active', 'a.service']), 'systemctl --user is-active a.service');
    assert.equal(shellQuote(['echo', '']), "echo ''");
    assert.equal(shellQuote(['echo', "it's"]), "echo 'it'\\''s'");
    assert.equal(shellQuote(['echo', 'a b']), "echo 'a b'");
    assert.equal(quoteArg('A=b'), "'A=b'");
    assert.equal(quoteArg('~'), "'~'");
    assert.equal(quoteArg('$x'), "'$x'");
  });

  for (const shell of ['/bin/sh', '/bin/bash']) {
    it(`round-trips nasty arguments through ${shell}`, () => {
      assert.deepEqual(roundTrip(shell, NASTY), NASTY);
    });
  }

  it('round-trips every ASCII character 1..127 inside a word', () => {
    const args: string[] = [];
    for (let c = 1; c < 128; c++) args.push(`x${String.fromCharCode(c)}y`);
    assert.deepEqual(roundTrip('/bin/sh', args), args);
  });

  it('an assignment-looking first word is still run as a command', () => {
    const out = execFileSync('/bin/sh', ['-c', `${shellQuote(['A=b'])} 2>&1 || true`], { encoding: 'utf8' });
    assert.match(out, /not found/);
  });

  it('rejects NUL bytes and empty argv', () => {
    assert.throws(() => shellQuote(['a\0b']), /NUL/);
    assert.throws(() => shellQuote([]), /non-empty/);
  });
});
