/** "did you mean" for unknown envs, services, units and commands. */
export function suggest(word: string, candidates: string[], max = 3): string[] {
  const scored = candidates
    .map((c) => ({ c, d: distance(word.toLowerCase(), c.toLowerCase()) }))
    .filter(({ c, d }) => d <= Math.max(2, Math.floor(word.length / 3)) || c.startsWith(word) || c.includes(word));
  return scored
    .sort((a, b) => a.d - b.d || (a.c < b.c ? -1 : 1))
    .slice(0, max)
    .map((s) => s.c);
}

export function didYouMean(word: string, candidates: string[]): string {
  const s = suggest(word, candidates);
  return s.length ? ` (did you mean ${s.map((x) => `"${x}"`).join(' or ')}?)` : '';
}

function distance(a: string, b: string): number {
  const prev = new Array(b.length + 1).fill(0).map((_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}
