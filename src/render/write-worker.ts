/**
 * The writer thread of `generate`: receives the units of one service at a time and writes them
 * with `writeUnits` (atomic, unchanged files left alone), so the main thread renders the next
 * service meanwhile. One thread writing in order: no contention on directory locks.
 */
import { parentPort } from 'node:worker_threads';
import { writeUnits } from './write';

parentPort!.on('message', (msg: { id: number; units: { localPath: string; content: string; name: string; secret?: boolean }[] }) => {
  try {
    const res = writeUnits(msg.units);
    parentPort!.postMessage({
      id: msg.id,
      written: res.written,
      unchanged: res.unchanged,
      errors: res.errors.map((e) => ({ message: e.message, ctx: e.ctx })),
    });
  } catch (e) {
    const err = e as Error & { ctx?: object };
    parentPort!.postMessage({ id: msg.id, error: { message: err.message, ctx: err.ctx ?? {} } });
  }
});
