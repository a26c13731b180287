/**
 * The env config's `secrets:` map: `hookAttributes: masked` (the default: hooks get ATTRIBUTES with
 * every secret as `‹secret name›`) or `plain` (hooks get the real values). Its keys are checked with
 * the env config (schemas/env-config.schema.json) and read with the env's settings.
 */
import { envSettings } from '../config/env-config';
import type { Env } from '../tree/env';

export interface SecretsConfig {
  hookAttributes: 'masked' | 'plain';
}

export function secretsConfig(env: Pick<Env, 'config' | 'configFile'>): SecretsConfig {
  return { hookAttributes: envSettings(env).secretsInHooks };
}
