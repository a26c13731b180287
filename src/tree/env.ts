/**
 * An environment directory of the work tree: `env/<dir>/{config.yml, attributes/, templates/,
 * hooks/, services/}`. Loading is lazy and per env (GGN loaded every env at start-up, so bad YAML
 * in one env broke commands on all others; we read only what the command needs).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GgnError } from '../errors';
import { GoMap, newMap } from '../template/values';
import { deepClone, mergeInto, mergeLevel } from './attributes';
import { Home } from './home';
import { isMapValue, parseYaml } from './yaml';
import { assertConfig } from '../config/check';

export interface Partial {
  file: string;
  text: string;
}

export interface Env {
  home: Home;
  /** Directory name under `env/` (what the user types). */
  dir: string;
  /** `envName` from config.yml, else the directory name; used in unit file names. */
  name: string;
  path: string;
  configFile: string;
  /** config.yml, with the home's `overrideConfig.<dir>` merged over it. */
  config: GoMap;
  /** Env-level merged attributes (computed on first use). */
  readonly attributes: GoMap;
  readonly partials: Partial[];
}

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

export function envRoot(home: Home): string {
  return path.join(home.workPath, 'env');
}

/** Every env directory name, sorted. */
export function listEnvs(home: Home): string[] {
  const root = envRoot(home);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch (e) {
    throw new GgnError(`cannot read the env folder of workPath: ${(e as NodeJS.ErrnoException).code}`, { file: root });
  }
  return entries
    .filter((e) => e.isDirectory() || isDirLink(path.join(root, e.name), e))
    .map((e) => e.name)
    .sort(byBytes);
}

function isDirLink(full: string, e: fs.Dirent): boolean {
  if (!e.isSymbolicLink()) return false;
  try {
    return fs.statSync(full).isDirectory();
  } catch {
    return false;
  }
}

/** `check: false` leaves the schema check to the caller (`validate` lists every problem itself). */
export function loadEnv(home: Home, dir: string, opts: { check?: boolean } = {}): Env {
  const envPath = path.join(envRoot(home), dir);
  if (!fs.existsSync(envPath) || !fs.statSync(envPath).isDirectory()) {
    throw new GgnError(`no such env "${dir}"`, { env: dir });
  }
  const configFile = path.join(envPath, 'config.yml');
  let config = newMap();
  if (fs.existsSync(configFile)) {
    const text = fs.readFileSync(configFile, 'utf8');
    const data = parseYaml(text, configFile);
    if (data !== null && !isMapValue(data)) throw new GgnError('env config must be a map', { file: configFile });
    if (data) {
      if (opts.check !== false) assertConfig('env', data, { file: configFile, text });
      config = data;
    }
  }
  const override = home.overrideConfig[dir];
  if (override !== undefined && override !== null) {
    if (!isMapValue(override)) throw new GgnError(`\`overrideConfig.${dir}\` must be a map`, { file: home.configFile });
    config = mergeInto(deepClone(config) as GoMap, override);
  }
  const envName = config.envName;
  if (envName !== undefined && envName !== null && (typeof envName !== 'string' || envName === '')) {
    throw new GgnError('`envName:` must be a non-empty string', { file: configFile });
  }
  let attributes: GoMap | undefined;
  let partials: Partial[] | undefined;
  return {
    home,
    dir,
    name: (envName as string | undefined) ?? dir,
    path: envPath,
    configFile,
    config,
    get attributes() {
      return (attributes ??= mergeLevel(newMap(), path.join(envPath, 'attributes'), { workPath: home.workPath, envDir: dir, level: 'env' }));
    },
    get partials() {
      return (partials ??= loadPartials(path.join(envPath, 'templates')));
    },
  };
}

/** `templates/*.partial`, sorted; other files and sub-directories are ignored, as in GGN. */
function loadPartials(dir: string): Partial[] {
  let names: string[];
  try {
    names = fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => !e.isDirectory() && e.name.endsWith('.partial'))
      .map((e) => e.name);
  } catch {
    return [];
  }
  return names.sort(byBytes).map((n) => ({ file: path.join(dir, n), text: fs.readFileSync(path.join(dir, n), 'utf8') }));
}

/** Service directories that hold a service-manifest.yml, sorted by name. */
export function listServices(env: Env): string[] {
  const dir = path.join(env.path, 'services');
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => (e.isDirectory() || isDirLink(path.join(dir, e.name), e)) && fs.existsSync(path.join(dir, e.name, 'service-manifest.yml')))
    .map((e) => e.name)
    .sort(byBytes);
}

export interface ServiceSource {
  env: Env;
  name: string;
  path: string;
  manifestFile: string;
  unitTemplateFile: string;
  timerTemplateFile?: string;
  /** env attributes merged with the service's own files (service default beats env override). */
  attributes: GoMap;
}

export function loadServiceSource(env: Env, name: string): ServiceSource {
  const svcPath = path.join(env.path, 'services', name);
  const manifestFile = path.join(svcPath, 'service-manifest.yml');
  if (!fs.existsSync(manifestFile)) {
    throw new GgnError(`no such service "${name}" in env "${env.dir}" (no ${path.relative(env.home.workPath, manifestFile)})`, { env: env.dir, service: name });
  }
  const timer = path.join(svcPath, 'unit.timer.tmpl');
  return {
    env,
    name,
    path: svcPath,
    manifestFile,
    unitTemplateFile: path.join(svcPath, 'unit.tmpl'),
    timerTemplateFile: fs.existsSync(timer) ? timer : undefined,
    attributes: mergeLevel(env.attributes, path.join(svcPath, 'attributes'), { workPath: env.home.workPath, envDir: env.dir, level: 'service' }),
  };
}
