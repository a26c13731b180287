/**
 * OpenSSH-style host patterns (ssh_config `Host`, known_hosts host lists): `*` matches any run of
 * characters, `?` exactly one; matching is case-insensitive and covers the whole string. A
 * pattern list matches when at least one positive pattern matches and no `!negated` one does.
 */

export function matchPattern(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const t = text.toLowerCase();
  // iterative wildcard match with backtracking on the last '*'
  let pi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === t[ti])) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = ti;
    } else if (star >= 0) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** true: some positive pattern matches and no negated one does. */
export function matchPatternList(patterns: string[], text: string): boolean {
  let positive = false;
  for (const raw of patterns) {
    if (raw.startsWith('!')) {
      if (matchPattern(raw.slice(1), text)) return false;
    } else if (!positive && matchPattern(raw, text)) {
      positive = true;
    }
  }
  return positive;
}
