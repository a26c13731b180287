/**
 * atomicWrite creates its temporary file exclusively: a leftover one (a crashed run with the same
 * pid), even a symlink, is replaced, never written through. UnitSink's writer thread writes the
 * same bytes from the buffers it sends back and gets again.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { atomicWrite, UnitSink } from '../../src/render/write';

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

describe('UnitSink on its writer thread', () => {
  it('writes every batch byte for byte while reusing the buffers the thread sends back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-sink-'));
    const sink = new UnitSink(1);
    const batch = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => ({
        localPath: path.join(dir, 'units', `${tag}-${i}.service`),
        // multi-byte characters: a unit's bytes are longer than its string
        content: `[Service]\nEnvironment=T=${tag} é 日本 🚀 ${'x'.repeat(i * 37)}\n`,
        secret: i === 1,
      }));
    try {
      // Each awaited, so the next one gets the buffer back: a small batch, a larger one (the
      // buffer is too small and a new one is made), then smaller ones in a larger buffer.
      const batches = [batch(3, 'a'), batch(40, 'b'), batch(2, 'c'), batch(5, 'd')];
      for (const b of batches) {
        const res = await sink.write(b);
        assert.deepEqual(res.errors, []);
        assert.deepEqual(
          res.written,
          b.map((u) => u.localPath),
        );
      }
      for (const u of batches.flat()) {
        assert.equal(fs.readFileSync(u.localPath, 'utf8'), u.content, u.localPath);
        assert.equal(fs.statSync(u.localPath).mode & 0o777, u.secret ? 0o600 : 0o644);
      }
      const again = await sink.write(batches[1]);
      assert.deepEqual(again.written, []);
      assert.equal(again.unchanged.length, 40);
      assert.equal(fs.readdirSync(path.join(dir, 'units')).length, 50, 'no temporary file left');
    } finally {
      await sink.close();
    }
  });
});
