/**
 * atomicWrite creates its temporary file exclusively: a leftover one (a crashed run with the same
 * pid), even a symlink, is replaced, never written through. UnitSink's writer thread writes the
 * same bytes from the buffers it sends back and gets again.
 */
import { describe, it, mock } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { atomicWrite, STALE_TEMP_MS, UnitSink, writeUnits } from '../../src/render/write';

/** The fs module itself (the import above is a namespace copy), for mock.method. */
const fsModule = require('node:fs') as typeof fs;

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

describe('writeUnits', () => {
  it("removes a killed run's temporary files once they are old, and only those", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-write-'));
    const old = path.join(dir, '.a.service.12345.tmp');
    const young = path.join(dir, '.b.service.12346.tmp'); // a live run's
    const notOurs = path.join(dir, '.hidden'); // not a temporary file's name
    for (const f of [old, young, notOurs]) fs.writeFileSync(f, 'half');
    const then = new Date(Date.now() - STALE_TEMP_MS - 60_000);
    fs.utimesSync(old, then, then);
    fs.utimesSync(notOurs, then, then);
    const res = writeUnits([{ localPath: path.join(dir, 'a.service'), content: 'x' }]);
    assert.deepEqual(res.written, [path.join(dir, 'a.service')]);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['.b.service.12346.tmp', '.hidden', 'a.service']);
  });

  for (const code of ['ENOSPC', 'EDQUOT', 'EROFS']) {
    it(`${code}: one error saying what it means, and nothing more is written (every write would fail the same way)`, (t) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-write-'));
      const units = ['a', 'b', 'c', 'd'].map((n) => ({ localPath: path.join(dir, `${n}.service`), content: n }));
      const real = fsModule.writeFileSync;
      let n = 0;
      // The file system fills up at the second unit (a real one would need a mount).
      mock.method(fsModule, 'writeFileSync', (...args: Parameters<typeof fs.writeFileSync>) => {
        if (++n === 2) throw Object.assign(new Error(`${code}: simulated`), { code });
        return real(...args);
      });
      t.after(() => mock.restoreAll());
      const res = writeUnits(units);
      assert.deepEqual(res.written, [units[0].localPath]);
      assert.equal(res.errors.length, 1);
      assert.match(res.errors[0].message, new RegExp(`^cannot write unit file: ${code} \\(.+\\); nothing more is written$`));
      assert.equal(res.errors[0].ctx.file, units[1].localPath);
      assert.deepEqual(
        res.skipped,
        units.slice(2).map((u) => u.localPath),
      );
      assert.equal(res.full, true);
      assert.deepEqual(fs.readdirSync(dir), ['a.service'], 'no temporary file');
    });
  }

  it("another error (one unit) is that unit's: the others are still written", (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-write-'));
    const units = ['a', 'b', 'c'].map((n) => ({ localPath: path.join(dir, `${n}.service`), content: n }));
    const real = fsModule.writeFileSync;
    let n = 0;
    mock.method(fsModule, 'writeFileSync', (...args: Parameters<typeof fs.writeFileSync>) => {
      if (++n === 2) throw Object.assign(new Error('EIO: simulated'), { code: 'EIO' });
      return real(...args);
    });
    t.after(() => mock.restoreAll());
    const res = writeUnits(units);
    assert.deepEqual(res.written, [units[0].localPath, units[2].localPath]);
    assert.deepEqual(
      res.errors.map((e) => e.message),
      ['cannot write unit file: EIO'],
    );
    assert.deepEqual(res.skipped, []);
    assert.equal(res.full, undefined);
  });

  it('stops before the next unit once asked: the rest are skipped, untouched', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-write-'));
    const units = ['a', 'b', 'c', 'd'].map((n) => ({ localPath: path.join(dir, `${n}.service`), content: n }));
    let asked = 0;
    const res = writeUnits(units, () => ++asked > 2);
    assert.deepEqual(
      res.written,
      units.slice(0, 2).map((u) => u.localPath),
    );
    assert.deepEqual(
      res.skipped,
      units.slice(2).map((u) => u.localPath),
    );
    assert.deepEqual(fs.readdirSync(dir).sort(), ['a.service', 'b.service']);
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

  it('stop() ends the batch being written after its current unit; later batches write nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-sink-'));
    const sink = new UnitSink(1);
    const batch = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => ({ localPath: path.join(dir, tag, `${tag}-${i}.service`), content: `[Service]\n# ${tag} ${i}\n` }));
    try {
      await sink.write(batch(2, 'warm'));
      const big = batch(10_000, 'big');
      const pending = sink.write(big);
      const later = sink.write(batch(5, 'later'));
      // Stopped as soon as the thread has written a unit of the big batch.
      while (!(fs.existsSync(path.join(dir, 'big')) && fs.readdirSync(path.join(dir, 'big')).some((n) => !n.startsWith('.'))))
        await new Promise((r) => setImmediate(r));
      sink.stop();
      const res = await pending;
      assert.ok(res.written.length > 0 && res.written.length < big.length, `${res.written.length} written`);
      assert.deepEqual(
        [...res.written, ...res.skipped],
        big.map((u) => u.localPath),
        'written in order, then skipped',
      );
      assert.deepEqual(fs.readdirSync(path.join(dir, 'big')).sort(), res.written.map((f) => path.basename(f)).sort(), 'no temporary file');
      for (const f of res.written) assert.match(fs.readFileSync(f, 'utf8'), /^\[Service\]\n# big \d+\n$/);
      const l = await later;
      assert.deepEqual(l.written, []);
      assert.equal(l.skipped.length, 5);
    } finally {
      await sink.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
