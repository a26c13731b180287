/**
 * A render thread of `generate`: renders and writes the services it is given (its share of a
 * large env), with the same Workspace options as the main thread, and sends back each service's
 * outcome. The main thread renders the other share meanwhile, so a large env uses two cores.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { GgnError, toGgnError } from '../errors';
import { Workspace, WorkspaceOptions } from '../workspace';
import { renderUnits } from './service';
import { writeUnits } from './write';

export interface RenderJob {
  options: WorkspaceOptions;
  env: string;
  services: string[];
}

export interface RenderedOutcome {
  service: string;
  written: string[];
  unchanged: string[];
  errors: { message: string; ctx: GgnError['ctx'] }[];
}

const job = workerData as RenderJob;
const plain = (e: GgnError) => ({ message: e.message, ctx: e.ctx });
const ws = new Workspace(job.options);
const env = ws.env(job.env);
const outcomes: RenderedOutcome[] = job.services.map((name) => {
  try {
    const { units, errors } = renderUnits(ws.service(env, name));
    const res = writeUnits(units);
    return {
      service: name,
      written: res.written,
      unchanged: res.unchanged,
      errors: [...errors, ...res.errors.map((e) => e.withContext({ env: env.dir, service: name }))].map(plain),
    };
  } catch (e) {
    return { service: name, written: [], unchanged: [], errors: [plain(toGgnError(e, { env: env.dir, service: name }))] };
  }
});
parentPort!.postMessage(outcomes);
