/** The attributes hooks see: secrets masked unless the env config says `secrets.hookAttributes: plain`. */
import type { Env } from '../tree/env';
import type { GoMap } from '../template/values';
import { secretsConfig } from './config';
import { secretVariants } from './taint';

export function attributesForHooks(attributes: GoMap, env: Pick<Env, 'config' | 'configFile'>): GoMap {
  if (secretsConfig(env).hookAttributes === 'plain') return attributes;
  return secretVariants(attributes)?.masked ?? attributes;
}
