/**
 * atomicWrite creates its temporary file exclusively: a leftover one (a crashed run with the same
 * pid), even a symlink, is replaced, never written through.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { atomicWrite } from '../../src/render/write';

const tmpOf = (file: string) => path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);

describe('atomicWrite', () => {
  it('writes the file with its mode and leaves no temporary file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-write-'));
    const f = path.join(dir, 'a.service');
    atomicWrite(f, 'one\n');
    atomicWrite(f, 'two\n', 0o600);
    assert.equal(fs.readFileSync(f, 'utf8'), 'two\n');
    assert.equal(fs.statSync(f).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(dir), ['a.service']);
  });

  it('replaces a leftover temporary file, and does not follow a symlink there', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-write-'));
    const f = path.join(dir, 'a.service');
    fs.writeFileSync(tmpOf(f), 'stale and longer than the new content\n');
    atomicWrite(f, 'new\n');
    assert.equal(fs.readFileSync(f, 'utf8'), 'new\n');
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'keep\n');
    fs.symlinkSync(victim, tmpOf(f));
    atomicWrite(f, 'newer\n');
    assert.equal(fs.readFileSync(victim, 'utf8'), 'keep\n');
    assert.equal(fs.readFileSync(f, 'utf8'), 'newer\n');
    assert.ok(!fs.lstatSync(f).isSymbolicLink());
    assert.deepEqual(fs.readdirSync(dir).sort(), ['a.service', 'victim']);
  });
});
