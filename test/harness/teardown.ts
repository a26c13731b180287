/**
 * Emergency teardown of test hosts when the test process exits or is signalled without having
 * called down(): one registry for every kind of test host (user-scope cluster, system hosts).
 */
export interface Teardown {
  /** Best-effort synchronous teardown. */
  downSync(): void;
}

const live = new Map<Teardown, string>();
let installed = false;

function emergencyAll(): void {
  for (const [t, label] of live) {
    try {
      t.downSync();
    } catch (e) {
      process.stderr.write(`[${label}] emergency teardown failed: ${(e as Error).message}\n`);
    }
  }
}

function onSignal(sig: NodeJS.Signals): void {
  emergencyAll();
  process.exit(sig === 'SIGINT' ? 130 : 143);
}

/** Tears `t` down if the process exits or gets SIGINT/SIGTERM before `forget(t)`. */
export function remember(t: Teardown, label: string): void {
  live.set(t, label);
  if (installed) return;
  installed = true;
  process.on('exit', emergencyAll);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

export function forget(t: Teardown): void {
  live.delete(t);
  if (!installed || live.size > 0) return;
  installed = false;
  process.removeListener('exit', emergencyAll);
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
}
