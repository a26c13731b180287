/**
 * Size limits of one template execution, so that a runaway template (`repeat "x," 100000000`,
 * a huge range) fails fast with a clear error instead of allocating gigabytes. Sizes are in
 * UTF-16 code units (JS string length), a lower bound of the UTF-8 byte count, so a limit of N
 * stops any output or string of more than N bytes (and lets through some up to 3N bytes, which
 * the caller re-checks in bytes at the end).
 */
export interface ExecLimits {
  /** Longest output. */
  maxOutput: number;
  /** Longest string a function may build or return. */
  maxString: number;
  /** How the limit is named in errors, e.g. `maxUnitSize (1 MiB)`. */
  what: string;
  /** Told of every `<no value>` printed for a missing key (Go prints it and goes on). */
  onNoValue?: (at: { file: string; line: number; col: number; context: string }) => void;
}

export const NO_LIMITS: ExecLimits = { maxOutput: Infinity, maxString: Infinity, what: 'the limit' };

let current: ExecLimits = NO_LIMITS;

/** The limits of the execution in progress (functions are plain calls: no context argument). */
export function currentLimits(): ExecLimits {
  return current;
}

export function withLimits<T>(limits: ExecLimits, fn: () => T): T {
  const prev = current;
  current = limits;
  try {
    return fn();
  } finally {
    current = prev;
  }
}
