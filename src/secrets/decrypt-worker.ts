/**
 * The thread that decrypts one SOPS file for decrypt-sync.ts: age and the noble libraries are
 * ESM and asynchronous, the tree is read synchronously, so the reading thread waits on a shared
 * word while this one works, then reads the answer from the port.
 */
import { MessagePort, workerData } from 'node:worker_threads';
import { decryptSops } from './sops';

const { text, identities, shared, port } = workerData as { text: string; identities: string[]; shared: Int32Array; port: MessagePort };

decryptSops(text, identities)
  .then(
    (r) => port.postMessage({ ok: r }),
    (e: Error) => port.postMessage({ error: e.message }),
  )
  .finally(() => {
    Atomics.store(shared, 0, 1);
    Atomics.notify(shared, 0);
  });
