/**
 * `maxUnitSize:` in the env's config.yml: the largest unit (or rendered service manifest) ggn
 * renders, 1 MiB by default. Checked while the template writes, and on every string a template
 * function builds, so a runaway template fails in milliseconds instead of eating the memory.
 */
import { GgnError } from '../errors';
import { Env } from '../tree/env';
import { ExecLimits } from '../template';

export const DEFAULT_MAX_UNIT_SIZE = 1 << 20;

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** The env's limit in bytes: a positive integer, or a string such as `4MiB`, `512KiB`, `2M`. */
export function maxUnitSize(env: Pick<Env, 'config' | 'configFile'>): number {
  const v = env.config.maxUnitSize;
  if (v === undefined || v === null) return DEFAULT_MAX_UNIT_SIZE;
  const bad = () => new GgnError(`\`maxUnitSize:\` must be a positive size in bytes, e.g. 1048576 or 4MiB (got ${shown(v)})`, { file: env.configFile });
  let n: number;
  if (typeof v === 'bigint' || typeof v === 'number') n = Number(v);
  else if (typeof v === 'string') {
    const m = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(v);
    if (!m || !(m[2].toLowerCase() in UNITS)) throw bad();
    n = Number(m[1]) * UNITS[m[2].toLowerCase()];
  } else throw bad();
  if (!Number.isSafeInteger(n) || n <= 0) throw bad();
  return n;
}

function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' && v !== null ? 'a map' : String(v);
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
