/**
 * `validate`: everything ggn can check without contacting a host, and every problem at once
 * (not the first): the home config, the env config (keys and types against the schemas, then the
 * settings: lock, sizes, update order, the driver's machines), attribute files, partials, each
 * service's manifest (schema, nodes, health check, ggnMinimalVersion) and every unit template,
 * rendered for every node. Missing attributes are warnings (errors with --strict).
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { checkConfig, ConfigProblem, problemError } from '../config/check';
import { envSettings } from '../config/env-config';
import { readDriverConfig } from '../drivers/config';
import { GgnError, toGgnError } from '../errors';
import { readHealthCheck } from '../apply/health';
import { GoMap, GoValue } from '../template/values';
import { parseYaml } from '../tree/yaml';
import { homeConfigFile } from '../tree/home';
import { Workspace } from '../workspace';
import { nodeHealthCheck, renderUnits } from './service';
import { unitMatcher } from './names';

export interface ValidateScope {
  env: string;
  service?: string;
  unit?: string;
}

export interface ValidateReport {
  services: number;
  units: number;
  errors: GgnError[];
  warnings: GgnError[];
}

export function validate(ws: Workspace, scope: ValidateScope): ValidateReport {
  const report: ValidateReport = { services: 0, units: 0, errors: [], warnings: [] };
  // Schema problems are listed below, all of them; loading goes on past them to check the rest.
  ws.options.deferSchemaChecks = true;
  const fail = (e: unknown, ctx = {}) => void report.errors.push(toGgnError(e, ctx));

  // The home config: every problem, then (if it loads) the rest.
  const homeProblems = fileProblems('home', homeConfigFile(ws.options.homePath));
  report.errors.push(...homeProblems);
  let home: Workspace['home'];
  try {
    home = ws.home;
  } catch (e) {
    fail(e);
    return report;
  }

  const envConfig = nodePath.join(home.workPath, 'env', scope.env, 'config.yml');
  const envProblems = fileProblems('env', envConfig);
  report.errors.push(...envProblems);
  let env: ReturnType<Workspace['env']>;
  try {
    env = ws.env(scope.env);
  } catch (e) {
    fail(e, { env: scope.env });
    return report;
  }
  const envCtx = { env: env.dir };
  const attempt = (fn: () => void, ctx: object = envCtx) => {
    try {
      fn();
    } catch (e) {
      fail(e, ctx);
    }
  };
  // Their own checks would say again what the schema said.
  if (envProblems.length === 0 && homeProblems.length === 0) {
    attempt(() => void envSettings(env));
    attempt(() => {
      if (env.config.machines !== undefined || env.config.ssh !== undefined) readDriverConfig(env);
    });
  }
  attempt(() => void env.attributes);
  attempt(() => void env.partials);
  const all = ws.serviceNames(env);
  attempt(() => {
    for (const s of envSettings(env).updateOrder)
      if (!all.includes(s)) throw new GgnError(`\`updateOrder:\` names "${s}", which is not a service of this env`, { file: env.configFile });
  });
  attempt(() => void ws.renderOptions);

  const services = scope.service ? [scope.service] : all;
  for (const name of services) {
    const ctx = { env: env.dir, service: name };
    report.services++;
    try {
      const svc = ws.service(env, name);
      readHealthCheck(svc.manifest.raw, svc.manifest.file);
      const r = renderUnits(svc, scope.unit ? unitMatcher(env.name, name, scope.unit) : undefined);
      report.units += r.units.length;
      for (const u of r.units) {
        if (u.kind !== 'service') continue;
        try {
          const raw = nodeHealthCheck(svc, u.node);
          if (raw) readHealthCheck({ healthCheck: raw } as GoMap, svc.manifest.file);
        } catch (e) {
          fail(e, { ...ctx, unit: u.name });
        }
      }
      report.errors.push(...r.errors);
      report.warnings.push(...r.warnings);
    } catch (e) {
      fail(e, ctx);
    }
  }
  return report;
}

/** Every schema problem of one YAML config file (none when it cannot be read or parsed: loading it says why). */
function fileProblems(name: 'home' | 'env', path: string): GgnError[] {
  let text: string;
  let data: GoValue;
  try {
    text = fs.readFileSync(path, 'utf8');
    data = parseYaml(text, path);
  } catch {
    return [];
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return [];
  return checkConfig(name, data, { file: path, text }).map((p: ConfigProblem) => problemError(p));
}
