/**
 * `generate`: render units and write them locally. One failing service does not stop the
 * others (every failure is reported), and a unit whose template fails is not written at all:
 * GGN wrote the partial output and exited 0. A stop (`signal`: Ctrl-C, SIGTERM) renders nothing
 * more and lets the writer finish only the unit it is writing: every unit file is the old one or
 * the new one, and no temporary file is left.
 */
import { GgnError, toGgnError } from '../errors';
import { Workspace } from '../workspace';
import { renderUnits } from './service';
import { toWrite, UnitSink } from './write';

export interface GenerateScope {
  env: string;
  /** Omitted: every service of the env, in name order. */
  service?: string;
  /** Omitted: every unit of the service. A hostname, `<hostname>.timer`, or a full unit name. */
  unit?: string;
}

export interface ServiceOutcome {
  service: string;
  written: string[];
  unchanged: string[];
  errors: GgnError[];
  /** Missing attributes (see renderUnits). */
  warnings: GgnError[];
  /** false: the stop came before this service was rendered (nothing of it was written). */
  rendered: boolean;
  /** Units rendered but not written because of the stop (their files are as they were). */
  notWritten: number;
}

export async function generate(ws: Workspace, scope: GenerateScope, opts: { signal?: AbortSignal } = {}): Promise<ServiceOutcome[]> {
  const env = ws.env(scope.env);
  // Inputs shared by every service fail once, as env-level errors, before any service starts.
  void ws.renderOptions;
  void env.attributes;
  void env.partials;
  const services = scope.service ? [scope.service] : ws.serviceNames(env);
  const outcomes: ServiceOutcome[] = [];
  const sink = new UnitSink();
  const { signal } = opts;
  const stop = () => sink.stop();
  signal?.addEventListener('abort', stop);
  const writes: Promise<void>[] = [];
  for (const name of services) {
    const outcome: ServiceOutcome = { service: name, written: [], unchanged: [], errors: [], warnings: [], rendered: false, notWritten: 0 };
    outcomes.push(outcome);
    // A stop, or a full disk (the writer stopped): nothing more is rendered.
    if (signal?.aborted || sink.stopped) continue;
    outcome.rendered = true;
    try {
      const svc = ws.service(env, name);
      const filter = scope.unit ? unitMatcher(env.name, name, scope.unit) : undefined;
      const { units, errors, warnings } = renderUnits(svc, filter);
      outcome.warnings = warnings;
      if (filter && units.length === 0 && errors.length === 0) {
        throw new GgnError(`no unit "${scope.unit}" in service "${name}"`, { env: env.dir, service: name });
      }
      outcome.errors = errors;
      // Written by the writer thread while the next service renders (see UnitSink).
      writes.push(
        sink.write(units.map(toWrite)).then(
          (res) => {
            outcome.written = res.written;
            outcome.unchanged = res.unchanged;
            outcome.notWritten = res.skipped.length;
            outcome.errors.push(...res.errors.map((e) => e.withContext({ env: env.dir, service: name })));
          },
          (e) => void outcome.errors.push(toGgnError(e, { env: env.dir, service: name })),
        ),
      );
    } catch (e) {
      outcome.errors.push(toGgnError(e, { env: env.dir, service: name }));
    }
    // Lets the writer thread's replies in: they bring back its buffers for the next services.
    await new Promise((resolve) => setImmediate(resolve));
  }
  try {
    await Promise.all(writes);
  } finally {
    signal?.removeEventListener('abort', stop);
    await sink.close();
  }
  return outcomes;
}

import { unitMatcher } from './names';

export { unitMatcher };
