/**
 * `generate`: render units and write them locally. One failing service does not stop the
 * others (every failure is reported), and a unit whose template fails is not written at all:
 * GGN wrote the partial output and exited 0.
 */
import * as path from 'node:path';
import { GgnError, toGgnError } from '../errors';
import { Workspace } from '../workspace';
import { renderUnits } from './service';
import type { RenderedOutcome, RenderJob } from './render-worker';
import { UnitSink } from './write';

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
}

/** An env-level generate of at least this many services renders half of them on a second thread. */
export const RENDER_THREAD_FROM = 8;

export async function generate(ws: Workspace, scope: GenerateScope, opts: { renderThreadFrom?: number } = {}): Promise<ServiceOutcome[]> {
  const env = ws.env(scope.env);
  // Inputs shared by every service fail once, as env-level errors, before any service starts.
  void ws.renderOptions;
  void env.attributes;
  void env.partials;
  const services = scope.service ? [scope.service] : ws.serviceNames(env);
  const outcomes: ServiceOutcome[] = services.map((name) => ({ service: name, written: [], unchanged: [], errors: [] }));
  // A large env: every other service goes to a render thread (which writes its own units).
  const threaded = !scope.service && !scope.unit && services.length >= (opts.renderThreadFrom ?? RENDER_THREAD_FROM);
  const elsewhere = threaded
    ? renderOnThread(
        ws,
        scope.env,
        outcomes.filter((_, i) => i % 2 === 1),
      )
    : undefined;
  const sink = new UnitSink();
  const writes: Promise<void>[] = [];
  for (const outcome of threaded ? outcomes.filter((_, i) => i % 2 === 0) : outcomes) {
    const name = outcome.service;
    try {
      const svc = ws.service(env, name);
      const filter = scope.unit ? unitMatcher(env.name, name, scope.unit) : undefined;
      const { units, errors } = renderUnits(svc, filter);
      if (filter && units.length === 0 && errors.length === 0) {
        throw new GgnError(`no unit "${scope.unit}" in service "${name}"`, { env: env.dir, service: name });
      }
      outcome.errors = errors;
      // Written by the writer thread while the next service renders (see UnitSink).
      writes.push(
        sink.write(units).then(
          (res) => {
            outcome.written = res.written;
            outcome.unchanged = res.unchanged;
            outcome.errors.push(...res.errors.map((e) => e.withContext({ env: env.dir, service: name })));
          },
          (e) => void outcome.errors.push(toGgnError(e, { env: env.dir, service: name })),
        ),
      );
    } catch (e) {
      outcome.errors.push(toGgnError(e, { env: env.dir, service: name }));
    }
  }
  try {
    await Promise.all(writes);
  } finally {
    await sink.close();
  }
  await elsewhere;
  return outcomes;
}

/** Renders and writes these services on a worker thread, filling in their outcomes. */
function renderOnThread(ws: Workspace, env: string, outcomes: ServiceOutcome[]): Promise<void> {
  const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
  const job: RenderJob = { options: { ...ws.options, cwd: ws.options.cwd ?? process.cwd() }, env, services: outcomes.map((o) => o.service) };
  const w = new Worker(path.join(__dirname, 'render-worker.js'), { workerData: job });
  return new Promise<void>((resolve) => {
    let done = false;
    const fail = (why: string) => {
      if (done) return;
      done = true;
      for (const o of outcomes) o.errors.push(new GgnError(`the render thread failed: ${why}`, { env, service: o.service }));
      resolve();
    };
    w.once('message', (res: RenderedOutcome[]) => {
      done = true;
      res.forEach((r, i) => {
        outcomes[i].written = r.written;
        outcomes[i].unchanged = r.unchanged;
        outcomes[i].errors = r.errors.map((e) => new GgnError(e.message, e.ctx));
      });
      resolve();
    });
    w.once('error', (e) => fail(e.message));
    w.once('exit', (code) => fail(`exited with code ${code}`));
  });
}

import { unitMatcher } from './names';

export { unitMatcher };
