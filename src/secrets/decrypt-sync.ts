/**
 * A synchronous `decryptSops` for the tree reader (which is synchronous, like GGN's): the work
 * runs in a worker thread (decrypt-worker.ts) while this thread waits on a shared word.
 */
import * as path from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { DecryptedFile, SopsError } from './sops';

const TIMEOUT_MS = 60_000;

export function decryptSopsSync(text: string, identities: string[]): DecryptedFile {
  const shared = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(path.join(__dirname, 'decrypt-worker.js'), {
    workerData: { text, identities, shared, port: port2 },
    transferList: [port2],
  });
  worker.unref();
  try {
    if (Atomics.wait(shared, 0, 0, TIMEOUT_MS) === 'timed-out') throw new SopsError('decryption did not finish in 60 s');
    const msg = receiveMessageOnPort(port1)?.message as { ok?: DecryptedFile; error?: string } | undefined;
    if (!msg) throw new SopsError('decryption thread gave no answer');
    if (msg.error !== undefined) throw new SopsError(msg.error);
    return msg.ok!;
  } finally {
    port1.close();
    void worker.terminate();
  }
}
