/**
 * The writer thread of `generate`: receives the units of one service at a time and writes them
 * with `writeUnits` (atomic, unchanged files left alone), so the main thread renders the next
 * service meanwhile (the contents arrive as one buffer of bytes). One thread writing in order: no contention on directory locks.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { writeUnits } from './write';

type Batch = { id: number; units: { localPath: string; secret?: boolean }[]; ends: number[]; bytes: Uint8Array };

/** UnitSink.stop() sets it: the batch being written stops before its next unit, later ones at once. */
const stop = new Int32Array((workerData as { stop: SharedArrayBuffer }).stop);
const stopped = () => Atomics.load(stop, 0) !== 0;

parentPort!.on('message', (msg: Batch) => {
  try {
    // Each unit's content is its slice of the batch's bytes (UnitSink.write).
    const res = writeUnits(
      msg.units.map((u, i) => ({ ...u, content: msg.bytes.subarray(i === 0 ? 0 : msg.ends[i - 1], msg.ends[i]) })),
      stopped,
    );
    // A full disk: the batches after this one write nothing either (the main thread sees the flag too).
    if (res.full) Atomics.store(stop, 0, 1);
    // The buffer goes back (moved) for the next batch.
    parentPort!.postMessage(
      {
        id: msg.id,
        written: res.written,
        unchanged: res.unchanged,
        errors: res.errors.map((e) => ({ message: e.message, ctx: e.ctx })),
        skipped: res.skipped,
        bytes: msg.bytes.buffer as ArrayBuffer,
      },
      [msg.bytes.buffer as ArrayBuffer],
    );
  } catch (e) {
    const err = e as Error & { ctx?: object };
    parentPort!.postMessage({ id: msg.id, error: { message: err.message, ctx: err.ctx ?? {} } });
  }
});
