/**
 * What one command run works on: the home config, the envs it touches, and the services it has
 * prepared, each loaded once and only when needed.
 */
import { GgnError } from './errors';
import { loadLocalManifests, LocalManifests } from './render/containers';
import { parseManifestAttributes } from './render/manifest';
import { PreparedService, prepareService, RenderOptions } from './render/service';
import { Env, listEnvs, listServices, loadEnv } from './tree/env';
import { Home, loadHome } from './tree/home';

export interface WorkspaceOptions {
  homePath?: string;
  /** `-M`: comma-separated ACI / pod manifest files. */
  generateManifest?: string;
  /** `-A`: JSON object for manifest templating. */
  manifestAttributes?: string;
  /** Load configs without their schema check (`validate` reports those problems itself, all of them). */
  deferSchemaChecks?: boolean;
  /** `--strict`: missing attributes are errors. */
  strict?: boolean;
  cwd?: string;
}

export class Workspace {
  private homeCache?: Home;
  private envCache = new Map<string, Env>();
  private serviceCache = new Map<string, PreparedService>();
  private serviceNamesCache = new Map<string, string[]>();
  private renderOpts?: RenderOptions;

  constructor(readonly options: WorkspaceOptions = {}) {}

  get home(): Home {
    return (this.homeCache ??= loadHome(this.options.homePath, { check: !this.options.deferSchemaChecks }));
  }

  envNames(): string[] {
    return listEnvs(this.home);
  }

  env(dir: string): Env {
    let env = this.envCache.get(dir);
    if (!env) {
      env = loadEnv(this.home, dir, { check: !this.options.deferSchemaChecks });
      this.envCache.set(dir, env);
    }
    return env;
  }

  /** The env's services (listed once per run). */
  serviceNames(env: Env): string[] {
    let names = this.serviceNamesCache.get(env.dir);
    if (!names) {
      names = listServices(env);
      this.serviceNamesCache.set(env.dir, names);
    }
    return names;
  }

  get renderOptions(): RenderOptions {
    if (!this.renderOpts) {
      const local: LocalManifests = loadLocalManifests(this.options.generateManifest, this.options.cwd);
      this.renderOpts = {
        manifestAttributes: parseManifestAttributes(this.options.manifestAttributes),
        localManifests: local,
        strict: this.options.strict,
      };
    }
    return this.renderOpts;
  }

  service(env: Env, name: string): PreparedService {
    const key = `${env.dir}\0${name}`;
    let svc = this.serviceCache.get(key);
    if (!svc) {
      if (!this.serviceNames(env).includes(name)) {
        throw new GgnError(`no such service "${name}" in env "${env.dir}"`, { env: env.dir });
      }
      svc = prepareService(env, name, this.renderOptions);
      this.serviceCache.set(key, svc);
    }
    return svc;
  }
}
