/**
 * `maxUnitSize:` in the env's config.yml: the largest unit (or rendered service manifest) ggn
 * renders, 1 MiB by default. Checked while the template writes, and on every string a template
 * function builds, so a runaway template fails in milliseconds instead of eating the memory.
 */
import { GgnError } from '../errors';
import { envSettings } from '../config/env-config';
import { Env } from '../tree/env';
import { ExecLimits } from '../template';

export { DEFAULT_MAX_UNIT_SIZE } from '../config/env-config';

/** The env's limit in bytes (`maxUnitSize:`, read with the env's settings). */
export function maxUnitSize(env: Pick<Env, 'config' | 'configFile'>): number {
  return envSettings(env).maxUnitSize;
}

export function formatSize(n: number): string {
  if (n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** The template limits for a unit of at most `max` bytes. */
export function unitLimits(max: number): ExecLimits {
  return { maxOutput: max, maxString: max, what: `maxUnitSize (${formatSize(max)}; set in the env's config.yml)` };
}

/** The final check, in bytes (the running check counts characters). */
export function checkUnitSize(content: string, max: number, what: string): void {
  if (content.length > max / 3 && Buffer.byteLength(content) > max) {
    throw new GgnError(
      `${what} is ${Buffer.byteLength(content)} bytes, larger than maxUnitSize (${formatSize(max)}; set \`maxUnitSize:\` in the env's config.yml to raise it)`,
    );
  }
}
