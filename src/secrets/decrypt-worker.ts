/**
 * The thread that decrypts SOPS files for decrypt-sync.ts: age and the noble libraries are ESM
 * and asynchronous, the tree is read synchronously, so the reading thread waits on a shared word
 * while this one works, then reads the answer from the request's port. One thread serves every
 * file of a run (loading the libraries is most of the cost).
 */
import { MessagePort, parentPort } from 'node:worker_threads';
import { decryptSops } from './sops';

interface Request {
  text: string;
  identities: string[];
  shared: Int32Array;
  port: MessagePort;
}

parentPort!.on('message', (req: Request) => {
  decryptSops(req.text, req.identities)
    .then(
      (r) => req.port.postMessage({ ok: r }),
      (e: Error) => req.port.postMessage({ error: e.message }),
    )
    .finally(() => {
      req.port.close();
      Atomics.store(req.shared, 0, 1);
      Atomics.notify(req.shared, 0);
    });
});
