/**
 * YAML as GGN read it through go-yaml v2 (the version vendored by GGN). The `yaml` package only
 * tokenizes and builds the node tree (failsafe schema: every scalar stays text); the values are
 * go-yaml's, decided here:
 *   - scalars resolve by src/tree/go-scalar.ts (YAML 1.1 booleans, Go's int/uint64/float rules,
 *     unquoted dates stay strings); an explicit tag must match (`!!float 1` is refused);
 *   - `<<` merge keys are applied where they stand, overwriting keys set before them (old v2);
 *   - duplicate keys keep the last value; map keys must be strings or integers (ints become strings);
 *   - a block scalar that ends the file without a newline has no final newline;
 *   - only the first document counts in Go; we refuse a second one instead of dropping it;
 *   - `\/` in a double-quoted string is refused, infinite and NaN floats too (GGN could not
 *     render them as JSON).
 */
import type * as YAMLTypes from 'yaml';
import { GgnError, sourceExcerpt } from '../errors';
import { GoMap, GoUint64, GoValue, newMap } from '../template/values';
import { isNonFinite, resolveScalar, TagMismatch, TAG_PREFIX } from './go-scalar';
import { parseYamlFast, quoted } from './yaml-fast';

// Loaded only when the fast reader gives up: most trees never need it, and it costs ~50 ms to load.
let yamlModule: typeof YAMLTypes | undefined;
const yamlLib = (): typeof YAMLTypes => (yamlModule ??= require('yaml') as typeof YAMLTypes);

const OPTIONS: YAMLTypes.ParseOptions & YAMLTypes.DocumentOptions & YAMLTypes.SchemaOptions = {
  version: '1.1',
  schema: 'failsafe',
  uniqueKeys: false,
  prettyErrors: true,
};

/** Aliases may expand a document this much (go-yaml v2 had no limit; a billion laughs would hang). */
const MAX_ALIAS_NODES = 1_000_000;

/** Deeper than this is refused: no attribute tree needs it, and every later step recurses. */
export const MAX_YAML_DEPTH = 1000;

/** Parses YAML text into Go-like values. Errors carry file, line and column. */
export function parseYaml(text: string, file: string): GoValue {
  let v: GoValue;
  try {
    const fast = parseYamlFast(text);
    v = fast !== undefined ? fast : parseYamlFull(text, file);
  } catch (e) {
    throw asYamlError(e, file);
  }
  checkDepth(v, file);
  return v;
}

/** A stack overflow on deep nesting arrives as a plain RangeError: give it the file, like any YAML error. */
function asYamlError(e: unknown, file: string): GgnError {
  if (e instanceof GgnError) return e.withContext({ file });
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof RangeError && /call stack/i.test(msg)) {
    return new GgnError(`invalid YAML: nested too deeply (more than ${MAX_YAML_DEPTH} levels are refused)`, { file }, { cause: e });
  }
  return new GgnError(`invalid YAML: ${msg.split('\n')[0]}`, { file }, { cause: e });
}

/** Refuses values nested deeper than MAX_YAML_DEPTH (iterative: safe at any depth). */
function checkDepth(root: GoValue, file: string): void {
  const stack: Array<[GoValue, number]> = [[root, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null || v instanceof GoUint64) continue;
    if (d >= MAX_YAML_DEPTH) throw new GgnError(`invalid YAML: nested too deeply (more than ${MAX_YAML_DEPTH} levels are refused)`, { file });
    for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push([x, d + 1]);
  }
}

/** The full `yaml` package: every construct, and the error messages. */
export function parseYamlFull(text: string, file: string): GoValue {
  const YAML = yamlLib();
  const lineCounter = new YAML.LineCounter();
  const docs = YAML.parseAllDocuments(text, { ...OPTIONS, lineCounter });
  const list = Array.isArray(docs) ? docs : [];
  for (const doc of list) {
    // libyaml (so GGN) accepts `\'` in double quotes; the `yaml` package does not (see scalar()).
    const errors = doc.errors.filter((e) => !(e.code === 'BAD_DQ_ESCAPE' && e.message.startsWith("Invalid escape sequence \\'")));
    if (errors.length > 0) {
      const e = errors[0];
      const pos = e.linePos?.[0];
      let msg = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      if (/call stack/i.test(msg)) msg = `nested too deeply (more than ${MAX_YAML_DEPTH} levels are refused)`;
      const err = new GgnError(`invalid YAML: ${msg}`, { file, line: pos?.line, col: pos?.col });
      if (pos) err.excerpt = sourceExcerpt(text, pos.line, pos.col);
      throw err;
    }
  }
  const extra = list.slice(1).find((d) => !isEmpty(d.contents));
  if (extra !== undefined) {
    const second = extra.range[0];
    throw new GgnError('the file holds more than one YAML document (GGN silently read only the first): remove the `---` or split the file', {
      file,
      line: lineCounter.linePos(second).line,
    });
  }
  if (list.length === 0 || isEmpty(list[0].contents)) return null;
  const c = new Converter(text, file, list[0], lineCounter);
  const v = c.value(list[0].contents);
  c.checkKeys(v);
  return v;
}

/** An empty document (`---` with nothing after it): the parser gives an empty plain scalar. */
function isEmpty(node: unknown): boolean {
  const YAML = yamlLib();
  return node === null || node === undefined || (YAML.isScalar(node) && node.type === 'PLAIN' && node.tag === undefined && node.source === '');
}

class Converter {
  private expanded = 0;
  private aliasDepth = 0;
  /**
   * Maps holding a key GGN refused (bool, float, null, uint64). GGN checked the keys after
   * decoding, so such a map only fails if it survives (a later duplicate key may replace it).
   */
  private readonly badKeys = new WeakMap<GoMap, () => never>();

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly doc: YAMLTypes.Document,
    private readonly lc: YAMLTypes.LineCounter,
  ) {}

  private fail(message: string, node: YAMLTypes.Node | null | undefined): never {
    const at = node?.range ? this.lc.linePos(node.range[0]) : undefined;
    throw new GgnError(message, { file: this.file, line: at?.line, col: at?.col });
  }

  value(node: unknown): GoValue {
    const YAML = yamlLib();
    if (this.aliasDepth > 0 && ++this.expanded > MAX_ALIAS_NODES) this.fail('invalid YAML: aliases expand to too many nodes', node as YAMLTypes.Node);
    if (node === null || node === undefined) return null;
    if (YAML.isAlias(node)) {
      this.aliasDepth++;
      try {
        return this.value(this.target(node));
      } finally {
        this.aliasDepth--;
      }
    }
    if (YAML.isScalar(node)) return this.scalar(node);
    if (YAML.isMap(node)) return this.mapping(node, newMap());
    if (YAML.isSeq(node)) return node.items.map((item) => this.value(item));
    return this.fail('unsupported YAML node', node as YAMLTypes.Node);
  }

  private target(alias: YAMLTypes.Alias): YAMLTypes.Node {
    const t = alias.resolve(this.doc);
    if (t === undefined) this.fail(`unknown anchor "${alias.source}"`, alias);
    return t as YAMLTypes.Node;
  }

  private scalar(node: YAMLTypes.Scalar): GoValue {
    const s = String(node.value);
    const plain = node.type === 'PLAIN';
    if (node.type === 'QUOTE_DOUBLE' && this.checkEscapes(node)) return this.singleQuoteEscape(node);
    const tag = node.tag === undefined ? '' : node.tag;
    if (!plain && tag === '') return this.blockAtEof(node, s);
    let v: GoValue;
    try {
      v = tag === TAG_PREFIX + 'binary' ? Buffer.from(s, 'base64').toString('utf8') : resolveScalar(tag, plain ? s : this.blockAtEof(node, s));
    } catch (e) {
      if (e instanceof TagMismatch) this.fail(`invalid YAML: ${e.message} (go-yaml refuses it)`, node);
      throw e;
    }
    if (isNonFinite(v)) {
      this.fail(`\`${s}\` reads as ${v !== v ? 'NaN' : 'an infinite float'}, which GGN cannot write as JSON: quote it to keep a string`, node);
    }
    return v;
  }

  /** libyaml adds a block scalar's final line break only when the file has one. */
  private blockAtEof(node: YAMLTypes.Scalar, s: string): string {
    if (node.type !== 'BLOCK_LITERAL' && node.type !== 'BLOCK_FOLDED') return s;
    const end = node.range?.[1] ?? 0;
    if (end >= this.text.length && !/[\n\r]$/.test(this.text) && s.endsWith('\n')) return s.slice(0, -1);
    return s;
  }

  /** go-yaml knows YAML 1.1's escapes only: `\/` (YAML 1.2) is an error there. */
  private checkEscapes(node: YAMLTypes.Scalar): boolean {
    const [start, end] = node.range ?? [0, 0];
    const raw = this.text.slice(start, end);
    let quote = false;
    for (let i = raw.indexOf('\\'); i >= 0; i = raw.indexOf('\\', i + 2)) {
      if (raw[i + 1] === "'") quote = true;
      if (raw[i + 1] === '/') {
        const at = this.lc.linePos(start + i);
        throw new GgnError(
          'invalid YAML: found unknown escape character `\\/` in a double-quoted string (go-yaml reads YAML 1.1, which has no `\\/`: write `/`)',
          {
            file: this.file,
            line: at.line,
            col: at.col,
          },
        );
      }
    }
    return quote;
  }

  /** A double-quoted scalar using libyaml's `\'`, which the `yaml` package left undecoded. */
  private singleQuoteEscape(node: YAMLTypes.Scalar): GoValue {
    const [start, end] = node.range ?? [0, 0];
    const raw = this.text.slice(start, end);
    if (node.tag === undefined && !/[\r\n]/.test(raw)) {
      try {
        const r = quoted(raw, 0);
        if (r.end === raw.length) return r.value;
      } catch {
        // not decodable on one line: the error below
      }
    }
    return this.fail("invalid YAML: `\\'` in a multi-line or tagged double-quoted string is not supported: write `'`", node);
  }

  /** go-yaml's d.mapping: keys in order, `<<` merges where it stands (overwriting). */
  private mapping(node: YAMLTypes.YAMLMap, out: GoMap): GoMap {
    const YAML = yamlLib();
    for (const pair of node.items) {
      const k = pair.key as YAMLTypes.Node | null;
      if (YAML.isScalar(k) && k.type === 'PLAIN' && k.value === '<<' && (k.tag === undefined || k.tag === TAG_PREFIX + 'merge')) {
        this.merge(pair.value as YAMLTypes.Node | null, out);
        continue;
      }
      const key = this.key(k);
      if (typeof key === 'string') out[key] = this.value(pair.value);
      else {
        this.value(pair.value); // still checked (escapes, tags, floats)
        if (!this.badKeys.has(out)) this.badKeys.set(out, key.fail);
      }
    }
    return out;
  }

  /** Throws for the first surviving map with a refused key (see badKeys). */
  checkKeys(v: GoValue): void {
    if (Array.isArray(v)) for (const x of v) this.checkKeys(x);
    else if (isMapValue(v)) {
      this.badKeys.get(v)?.();
      for (const k in v) this.checkKeys(v[k]);
    }
  }

  private merge(v: YAMLTypes.Node | null, out: GoMap): void {
    const YAML = yamlLib();
    const asMap = (n: YAMLTypes.Node | null): YAMLTypes.YAMLMap => {
      const t = YAML.isAlias(n) ? this.target(n) : n;
      if (!YAML.isMap(t)) this.fail('invalid YAML: map merge requires map or sequence of maps as the value', v);
      return t as YAMLTypes.YAMLMap;
    };
    if (YAML.isSeq(v)) {
      // Step backwards: earlier maps take precedence.
      for (let i = v.items.length - 1; i >= 0; i--) this.mapping(asMap(v.items[i] as YAMLTypes.Node), out);
    } else {
      this.mapping(asMap(v), out);
    }
  }

  /** The key as a string, or how to fail for a key GGN refused (reported only if its map survives). */
  private key(node: YAMLTypes.Node | null): string | { fail: () => never } {
    const YAML = yamlLib();
    if (node === null) return this.badKey('null', 'nil', node);
    if (YAML.isAlias(node)) return this.key(this.target(node));
    if (!YAML.isScalar(node)) return this.fail(`invalid YAML: map key is a ${YAML.isMap(node) ? 'map' : 'list'} (go-yaml refuses it)`, node);
    const k = this.scalar(node);
    if (typeof k === 'string') return k;
    if (typeof k === 'bigint') return k.toString();
    if (k instanceof GoUint64) return this.badKey(k.value.toString(), 'uint64', node);
    if (k === null) return this.badKey('null', 'nil', node);
    if (typeof k === 'boolean') return this.badKey(String(k), 'bool', node);
    return this.badKey(String(k), 'float64', node);
  }

  private badKey(text: string, goType: string, node: YAMLTypes.Node | null): { fail: () => never } {
    const hint =
      goType === 'bool'
        ? ' (YAML 1.1 reads an unquoted y/n/yes/no/on/off key as a boolean: quote it)'
        : goType === 'uint64'
          ? ' (an integer key must fit in 64-bit signed: quote it)'
          : '';
    return { fail: () => this.fail(`map key ${JSON.stringify(text)} is a ${goType}; keys must be strings or integers${hint}`, node) };
  }
}

export function isMapValue(v: GoValue): v is GoMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v as { __goOpaque?: boolean }).__goOpaque;
}
