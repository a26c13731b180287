/**
 * Durations, in one place: Go-style strings ("1h30m", "90s", "500ms", "1.5h") parsed to ms, and
 * the two ways ggn prints them (a lock's time left, a step's elapsed time).
 */
import { GgnError } from './errors';

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** "1h", "5m", "90s", "1h30m", "1.5h", "500ms", "0" → ms, or undefined when it is not a duration. */
export function tryParseDuration(text: string): number | undefined {
  const s = String(text).trim();
  if (s === '0') return 0;
  if (s === '') return undefined;
  const re = new RegExp(PART.source, 'y');
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while (pos < s.length && (m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = re.lastIndex;
  }
  if (pos !== s.length || !Number.isFinite(total) || total > Number.MAX_SAFE_INTEGER) return undefined;
  return Math.round(total);
}

/** Like tryParseDuration; throws a GgnError for anything else. */
export function parseDuration(text: string): number {
  const ms = tryParseDuration(text);
  if (ms === undefined) throw new GgnError(`invalid duration ${JSON.stringify(text)}: use a number with a unit, e.g. 90s, 5m, 1h or 1h30m`);
  return ms;
}

/** Go's time.Duration style at second precision: "1h2m3s", "58m12s", "5s", "1h0m0s". Rounds up. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'forever';
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** Elapsed time of a step: 850ms, 1.2s, 59.9s, 2m03s, 1h02m. */
export function formatElapsed(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
