/**
 * Masking secrets in rendered units, whatever the template did with them.
 *
 * A unit that sees secrets is rendered three times: with the real values (R) and with two sets of
 * canaries (C1, C2: other values of the same type and, for plain strings, the same length, so
 * that 1950-byte chunks and base64 stay aligned). A line that is not identical in the three
 * renders depends on a secret: whatever the path (printf, base64 in `attributesBase64`, JSON in
 * `environmentAttributes`, a chunk boundary, upper-casing...). Such a line is shown as its
 * common prefix, the mask, and its common suffix: `Environment=DB_PASSWORD=‹secret db.password›`.
 * The canaries' first (and last) characters differ from each other in every bit that ASCII can
 * vary, so a prefix common to the three renders cannot carry a bit of the secret.
 *
 * Another version of the unit (the live one, a revision) is masked with the same lines: a line
 * equal to a rendered one takes its mask; a line with a masked line's prefix is that line with
 * another value (`~ db.password changed`); any other line the tree does not have shows its key
 * only (`ExecStart=‹hidden›`): it may hold an old secret that ggn no longer knows.
 */
import { isMapValue } from '../tree/yaml';
import { GoMap, GoValue } from '../template/values';
import { base64Cores, mask, MIN_REDACTED_LENGTH, SecretLeaf, secretRegistry } from './registry';

export interface SecretVariants {
  /** Names of the secrets found in the attributes. */
  names: string[];
  canary: [GoMap, GoMap];
  /** Secrets replaced by `‹secret name›` (hooks' ATTRIBUTES). */
  masked: GoMap;
  /** Per secret name, its canary strings (to tell which secrets a line holds). */
  markers: Map<string, string[]>;
}

const SAFE = /^[\x20-\x7e]*$/;
const UNSAFE = /["\\<>&'%$]/;

function canaryString(real: string, k: number, which: 0 | 1): string {
  const edge = which === 0 ? '!' : '^';
  const body = which === 0 ? `ggn${k}.` : `GGN${k}:`;
  const pad = which === 0 ? 'x' : 'X';
  let s = edge + body + edge;
  const len = Buffer.byteLength(real);
  if (SAFE.test(real) && !UNSAFE.test(real) && len > s.length) s = edge + body + pad.repeat(len - s.length) + edge;
  return s === real ? s + pad : s;
}

function canaryOf(real: GoValue, k: number, which: 0 | 1): GoValue {
  if (typeof real === 'string') return canaryString(real, k, which);
  if (typeof real === 'bigint') return real + BigInt(which + 1);
  if (typeof real === 'number') return real + which + 1.5;
  if (typeof real === 'boolean') return !real;
  return real;
}

/**
 * The canary and masked copies of `attrs`, or undefined when no secret reaches them. A leaf is a
 * secret when a decrypted leaf has its path and value, or (strings of 4 characters or more)
 * when it equals a decrypted string anywhere.
 */
export function secretVariants(attrs: GoMap, leaves: readonly SecretLeaf[] = secretRegistry.leaves, firstIndex = 0): SecretVariants | undefined {
  if (leaves.length === 0) return undefined;
  const byPath = new Map<string, SecretLeaf>();
  const byValue = new Map<string, SecretLeaf>();
  for (const l of leaves) {
    byPath.set(l.path.join('\0'), l);
    if (typeof l.value === 'string' && l.value.length >= MIN_REDACTED_LENGTH && !byValue.has(l.value)) byValue.set(l.value, l);
  }
  const index = new Map<string, number>();
  const names: string[] = [];
  const markers = new Map<string, string[]>();
  const found = (l: SecretLeaf, real: GoValue) => {
    let k = index.get(l.name);
    if (k === undefined) {
      k = firstIndex + index.size;
      index.set(l.name, k);
      names.push(l.name);
    }
    if (typeof real === 'string') {
      const m = markers.get(l.name) ?? [];
      m.push(canaryString(real, k, 0));
      markers.set(l.name, m);
    }
    return k;
  };
  let any = false;
  const walk = (v: GoValue, path: (string | number)[]): [GoValue, GoValue, GoValue] => {
    if (Array.isArray(v)) {
      const a: GoValue[] = [];
      const b: GoValue[] = [];
      const c: GoValue[] = [];
      v.forEach((x, i) => {
        const [p, q, r] = walk(x, [...path, i]);
        a.push(p);
        b.push(q);
        c.push(r);
      });
      return [a, b, c];
    }
    if (isMapValue(v)) {
      const a = Object.create(null) as GoMap;
      const b = Object.create(null) as GoMap;
      const c = Object.create(null) as GoMap;
      for (const key in v) [a[key], b[key], c[key]] = walk(v[key], [...path, key]);
      return [a, b, c];
    }
    let leaf = byPath.get(path.join('\0'));
    if (leaf && !sameValue(leaf.value, v)) leaf = undefined;
    if (!leaf && typeof v === 'string') leaf = byValue.get(v);
    if (!leaf) return [v, v, v];
    any = true;
    const k = found(leaf, v);
    return [canaryOf(v, k, 0), canaryOf(v, k, 1), mask([leaf.name])];
  };
  const [c1, c2, masked] = walk(attrs, []) as [GoMap, GoMap, GoMap];
  return any ? { names, canary: [c1, c2], masked, markers } : undefined;
}

/** The variants of the service's attributes and of a node, as one (names and markers of both). */
export function mergeVariants(a: SecretVariants | undefined, b: SecretVariants | undefined): SecretVariants | undefined {
  if (!a || !b) return a ?? b;
  const markers = new Map(a.markers);
  for (const [k, v] of b.markers) markers.set(k, [...(markers.get(k) ?? []), ...v]);
  return { names: [...new Set([...a.names, ...b.names])], canary: a.canary, masked: a.masked, markers };
}

function sameValue(a: GoValue, b: GoValue): boolean {
  return a === b || (typeof a === 'bigint' && typeof b === 'bigint' && a === b);
}

interface TaintedLine {
  real: string;
  prefix: string;
  suffix: string;
  names: string[];
}

/** How one rendered unit is shown: its masked text, and how to mask other versions of it. */
export class SecretView {
  readonly masked: string;
  private readonly publicLines: Set<string>;
  private readonly tainted: TaintedLine[];
  private readonly byReal: Map<string, TaintedLine>;

  constructor(
    readonly names: string[],
    lines: { line: string; tainted?: TaintedLine }[],
  ) {
    this.publicLines = new Set(lines.filter((l) => !l.tainted).map((l) => l.line));
    this.tainted = lines.flatMap((l) => (l.tainted ? [l.tainted] : []));
    this.byReal = new Map(this.tainted.map((t) => [t.real, t]));
    this.masked = lines.map((l) => (l.tainted ? show(l.tainted) : l.line)).join('\n');
  }

  /** Secrets of the tree reach the unit (false: only the host's file is private). */
  get holdsSecrets(): boolean {
    return this.names.length > 0;
  }

  /** For a host file that holds secrets ggn no longer knows: what `text` has is shown, the rest hidden. */
  static hiding(text: string): SecretView {
    return new SecretView(
      [],
      text.split('\n').map((line) => ({ line })),
    );
  }

  /** Another version of the unit, masked; `changed`: secrets whose value differs there. */
  maskOther(text: string): { text: string; changed: string[] } {
    const changed = new Set<string>();
    const same = new Set<string>();
    const out = text.split('\n').map((line) => {
      if (this.publicLines.has(line)) return line;
      const real = this.byReal.get(line);
      if (real) {
        for (const n of real.names) same.add(n);
        return show(real);
      }
      // The same line with another value: the longest masked line whose prefix (and suffix) it has.
      let best: TaintedLine | undefined;
      for (const t of this.tainted) {
        if (t.prefix === '' || !line.startsWith(t.prefix)) continue;
        const whole = line.length >= t.prefix.length + t.suffix.length && line.endsWith(t.suffix);
        const better = !best || t.prefix.length > best.prefix.length;
        if (better) best = whole ? t : { ...t, suffix: '' };
      }
      if (best) {
        for (const n of best.names.length ? best.names : this.names) changed.add(n);
        return show(best);
      }
      // A line the tree does not have, in a unit that holds secrets: it may hold an old secret
      // (renamed, moved, or shifted to another 1950-byte chunk), so only its key is shown.
      return hidden(line);
    });
    // A line holding several secrets changed: name those that no unchanged line shows unchanged.
    const narrowed = [...changed].filter((n) => !same.has(n));
    return { text: out.join('\n'), changed: narrowed.length ? narrowed : [...changed] };
  }
}

export const HIDDEN = '‹hidden›';

/** `Environment=NAME=‹hidden›`, `ExecStart=‹hidden›`; a line without a key is hidden whole. */
function hidden(line: string): string {
  if (line.trim() === '') return line;
  const key = /^(\s*Environment=["']?[^=\s]*=|[^=]*=)/.exec(line)?.[0];
  return (key ?? '') + HIDDEN;
}

function show(t: TaintedLine): string {
  return t.prefix + mask(t.names) + t.suffix;
}

function commonPrefix(xs: string[]): number {
  let i = 0;
  const n = Math.min(...xs.map((x) => x.length));
  while (i < n && xs.every((x) => x.charCodeAt(i) === xs[0].charCodeAt(i))) i++;
  // never cut a surrogate pair
  if (i > 0 && i < xs[0].length && /[\ud800-\udbff]/.test(xs[0][i - 1])) i--;
  return i;
}

function commonSuffix(xs: string[], after: number): number {
  let i = 0;
  const n = Math.min(...xs.map((x) => x.length - after));
  while (i < n && xs.every((x) => x.charCodeAt(x.length - 1 - i) === xs[0].charCodeAt(xs[0].length - 1 - i))) i++;
  if (i > 0 && /[\udc00-\udfff]/.test(xs[0][xs[0].length - i])) i--;
  return i;
}

/** The names whose canary (or its base64) appears in a canary line. */
function namesIn(line: string, markers: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [name, ms] of markers) {
    if (ms.some((m) => line.includes(m) || base64Cores(m).some((c) => line.includes(c)))) out.push(name);
  }
  return out;
}

/**
 * The view of a unit from its three renders; `canaries` undefined (a canary render failed):
 * every line is masked but its key.
 */
export function buildView(real: string, canaries: [string, string] | undefined, v: SecretVariants): SecretView {
  const r = real.split('\n');
  const c = canaries?.map((x) => x.split('\n'));
  if (!c || c[0].length !== r.length || c[1].length !== r.length) {
    // The secrets change the unit's shape: mask every line that is not in all three renders.
    const other = c ? c.map((x) => new Set(x)) : undefined;
    return new SecretView(
      v.names,
      r.map((line) => {
        if (other && other.every((s) => s.has(line))) return { line };
        const key = /^[^=]*=/.exec(line)?.[0] ?? '';
        return { line, tainted: { real: line, prefix: key, suffix: '', names: v.names } };
      }),
    );
  }
  return new SecretView(
    v.names,
    r.map((line, i) => {
      const all = [line, c[0][i], c[1][i]];
      if (line === c[0][i] && line === c[1][i]) return { line };
      const p = commonPrefix(all);
      const s = commonSuffix(all, p);
      return { line, tainted: { real: line, prefix: line.slice(0, p), suffix: line.slice(line.length - s), names: namesIn(c[0][i], v.markers) } };
    }),
  );
}
