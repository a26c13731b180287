/**
 * The home folder (`-H`, default `~/.config/ggn`) and its `config.yml`, with GGN's keys:
 * `workPath` (the tree), `user` (identity in locks, hooks and audit), `envVarUser` (an
 * environment variable that names the user, e.g. SUDO_USER), `overrideConfig` (per env-dir
 * partial env configs merged over `env/<dir>/config.yml`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgnError } from '../errors';
import { GoMap, newMap } from '../template/values';
import { isMapValue, parseYaml } from './yaml';
import { assertConfig } from '../config/check';

export interface Home {
  path: string;
  configFile: string;
  workPath: string;
  user?: string;
  envVarUser?: string;
  overrideConfig: GoMap;
}

export function defaultHomePath(): string {
  return path.join(os.homedir(), '.config', 'ggn');
}

export function expandTilde(p: string): string {
  if (p === '~') return os.homedir();
  if (p.startsWith('~/')) return path.join(os.homedir(), p.slice(2));
  return p;
}

/** The home folder's config file (`-H`, default ~/.config/ggn). */
export function homeConfigFile(homePath?: string): string {
  return path.join(path.resolve(expandTilde(homePath ?? defaultHomePath())), 'config.yml');
}

/** `check: false` leaves the schema check to the caller (`validate` lists every problem itself). */
export function loadHome(homePath?: string, opts: { check?: boolean } = {}): Home {
  const configFile = homeConfigFile(homePath);
  const home = path.dirname(configFile);
  let text: string;
  try {
    text = fs.readFileSync(configFile, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? ` (create it with \`workPath: /path/to/your/tree\`, or pass -H <home>)` : '';
    throw new GgnError(`cannot read the home config: ${code ?? (e as Error).message}${hint}`, { file: configFile });
  }
  const data = parseYaml(text, configFile);
  if (!isMapValue(data)) throw new GgnError('the home config must be a map with at least `workPath:`', { file: configFile });
  const workPath = data.workPath;
  if (typeof workPath !== 'string' || workPath === '') {
    throw new GgnError('`workPath:` is missing: it must name the folder that holds `env/`', { file: configFile });
  }
  if (opts.check !== false) assertConfig('home', data, { file: configFile, text });
  const str = (k: string): string | undefined => {
    const v = data[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new GgnError(`\`${k}:\` must be a string`, { file: configFile });
    return v;
  };
  const override = data.overrideConfig;
  if (override !== undefined && override !== null && !isMapValue(override)) {
    throw new GgnError('`overrideConfig:` must be a map of env directory to config', { file: configFile });
  }
  return {
    path: home,
    configFile,
    workPath: path.resolve(home, expandTilde(workPath)),
    user: str('user'),
    envVarUser: str('envVarUser'),
    overrideConfig: (override as GoMap | undefined) ?? newMap(),
  };
}

/** `user@localhostname`, the identity GGN used in locks and hooks (WHO). */
export function whoAmI(home: Pick<Home, 'user' | 'envVarUser'>, env: NodeJS.ProcessEnv = process.env): string {
  let user = home.user;
  if (!user && home.envVarUser) user = env[home.envVarUser] || undefined;
  if (!user) user = os.userInfo().username;
  return `${user}@${os.hostname()}`;
}
