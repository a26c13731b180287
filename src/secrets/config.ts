/**
 * The env config's `secrets:` map (read here, in one place, so it can move into the env config's
 * schema): `hookAttributes: masked` (the default: hooks get ATTRIBUTES with every secret as
 * `‹secret name›`) or `plain` (hooks get the real values).
 */
import { GgnError } from '../errors';
import type { Env } from '../tree/env';
import { isMapValue } from '../tree/yaml';

export interface SecretsConfig {
  hookAttributes: 'masked' | 'plain';
}

export function secretsConfig(env: Pick<Env, 'config' | 'configFile'>): SecretsConfig {
  const s = env.config.secrets;
  if (s === undefined || s === null) return { hookAttributes: 'masked' };
  const err = (m: string) => new GgnError(m, { file: env.configFile });
  if (!isMapValue(s)) throw err('`secrets:` must be a map');
  for (const k of Object.keys(s)) if (k !== 'hookAttributes') throw err(`unknown key \`secrets.${k}\` (known: hookAttributes)`);
  const h = s.hookAttributes ?? 'masked';
  if (h !== 'masked' && h !== 'plain') throw err('`secrets.hookAttributes:` must be `masked` or `plain`');
  return { hookAttributes: h };
}
