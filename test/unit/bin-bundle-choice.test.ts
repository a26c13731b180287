/**
 * bin/ggn.js loads the small bundle (dist/bundle/ggn-local.js) only when the words name one of
 * its verbs and no other: its two word lists must cover every verb and top-level command the
 * registry knows, and its local verbs must be the ones scripts/bundle.ts keeps.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TOP_LEVEL, verbNames } from '../../commands/registry';
import { LOCAL_VERBS } from '../../scripts/bundle';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const bin = fs.readFileSync(path.join(ROOT, 'bin', 'ggn.js'), 'utf8');

function listIn(name: string): string[] {
  const m = new RegExp(`const ${name} = \\[([^\\]]*)\\]`).exec(bin);
  assert.ok(m, `bin/ggn.js declares ${name}`);
  return [...m[1].matchAll(/'([^']+)'/g)].map((x) => x[1]);
}

describe('bin/ggn.js: which bundle', () => {
  it('its local verbs are the bundle script’s', () => {
    assert.deepEqual(listIn('LOCAL_VERBS').sort(), [...LOCAL_VERBS].sort());
  });

  it('every other verb and top-level command sends it to the full bundle', () => {
    const local = listIn('LOCAL_VERBS');
    const other = listIn('OTHER_WORDS');
    const known = [...verbNames(), ...Object.keys(TOP_LEVEL), '__complete'];
    assert.deepEqual([...local, ...other].sort(), [...new Set(known)].sort());
  });
});
