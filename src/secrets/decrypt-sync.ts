/**
 * A synchronous `decryptSops` for the tree reader (which is synchronous, like GGN's): the work
 * runs in a worker thread (decrypt-worker.ts, started on the first encrypted file and kept for
 * the others) while this thread waits on a shared word.
 */
import * as path from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { DecryptedFile, SopsError } from './sops';

const TIMEOUT_MS = 60_000;
let worker: Worker | undefined;

function thread(): Worker {
  if (!worker) {
    worker = new Worker(path.join(__dirname, 'decrypt-worker.js'));
    worker.unref();
    worker.on('error', () => {
      worker = undefined;
    });
    worker.on('exit', () => {
      worker = undefined;
    });
  }
  return worker;
}

export function decryptSopsSync(text: string, identities: string[]): DecryptedFile {
  const shared = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const w = thread();
  w.postMessage({ text, identities, shared, port: port2 }, [port2]);
  try {
    if (Atomics.wait(shared, 0, 0, TIMEOUT_MS) === 'timed-out') {
      void w.terminate();
      throw new SopsError('decryption did not finish in 60 s');
    }
    const msg = receiveMessageOnPort(port1)?.message as { ok?: DecryptedFile; error?: string } | undefined;
    if (!msg) throw new SopsError('the decryption thread gave no answer');
    if (msg.error !== undefined) throw new SopsError(msg.error);
    return msg.ok!;
  } finally {
    port1.close();
  }
}
