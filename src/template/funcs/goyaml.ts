/**
 * yaml.Marshal from gopkg.in/yaml.v2 (v2.2-era encoder + the libyaml-derived emitter) for the
 * template value model, as used by dgr's `toYaml`.
 *
 *  - block style, 2-space indentation, sequences inside a mapping are not indented,
 *  - map keys sorted with yaml.v2's "natural" key order (digit runs compared numerically),
 *  - empty maps/lists as `{}` / `[]`, nil as `null`, floats like strconv 'g' (1e+06),
 *  - strings that would resolve to another type (`true`, `10`, `1.5`, `~`, ``, dates, 1:20)
 *    are double-quoted, multi-line strings use literal style (`|-`), other strings follow
 *    libyaml's plain / single-quoted / double-quoted analysis, with folding at 80 columns,
 *  - the output ends with a newline.
 */
import { GoStringSlice, isGoMap } from '../values';
import type { GoMap, GoValue } from '../values';
import { resolveUntagged } from '../../tree/go-scalar';
import { formatFloat32G } from './goutil';

export class GoYamlError extends Error {}

// ---------------------------------------------------------------------------------------------
// Key ordering (yaml.v2 sorter.go keyList.Less, for string keys)
// ---------------------------------------------------------------------------------------------

const LETTER = /\p{L}/u;
const DIGIT = /\p{Nd}/u;

function isLetter(c: number): boolean {
  if (c < 0x80) return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  return LETTER.test(String.fromCodePoint(c));
}

function isDigit(c: number): boolean {
  if (c < 0x80) return c >= 0x30 && c <= 0x39;
  return DIGIT.test(String.fromCodePoint(c));
}

function toRunes(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0)!);
  return out;
}

function yamlKeyLess(a: string, b: string): boolean {
  const ar = toRunes(a);
  const br = toRunes(b);
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = isLetter(ar[i]);
    const bl = isLetter(br[i]);
    if (al && bl) return ar[i] < br[i];
    if (al || bl) return bl;
    let an = 0n;
    let bn = 0n;
    if (ar[i] === 0x30 || br[i] === 0x30) {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== 0x30) {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = BigInt.asIntN(64, an * 10n + BigInt(ar[ai] - 0x30));
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = BigInt.asIntN(64, bn * 10n + BigInt(br[bi] - 0x30));
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i] < br[i];
  }
  return ar.length < br.length;
}

export function yamlSortedKeys(m: GoMap): string[] {
  return Object.keys(m).sort((x, y) => (yamlKeyLess(x, y) ? -1 : yamlKeyLess(y, x) ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// resolve(): would this plain scalar be read back as something other than a string?
// ---------------------------------------------------------------------------------------------

const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

/**
 * True when GGN's yaml.v2 would read the plain scalar `s` back as a non-string (so it must be
 * double-quoted), or when it looks like a base-60 float. That yaml.v2 has no timestamps:
 * `2016-03-01` stays plain.
 */
function resolvesToNonString(s: string): boolean {
  return typeof resolveUntagged(s) !== 'string' || BASE60_FLOAT.test(s);
}

// ---------------------------------------------------------------------------------------------
// Emitter (port of the relevant parts of libyaml's emitter as found in yaml.v2)
// ---------------------------------------------------------------------------------------------

const enum Style {
  Plain,
  Single,
  Double,
  Literal,
}

const BEST_INDENT = 2;
const BEST_WIDTH = 80;

function isPrintable(c: number): boolean {
  return c === 0x0a || (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff);
}
function isBreak(c: number | undefined): boolean {
  return c === 0x0d || c === 0x0a || c === 0x85 || c === 0x2028 || c === 0x2029;
}
function isSpaceC(c: number | undefined): boolean {
  return c === 0x20;
}
function isBlank(c: number | undefined): boolean {
  return c === 0x20 || c === 0x09;
}
function isBlankz(c: number | undefined): boolean {
  return c === undefined || c === 0 || isBlank(c) || isBreak(c);
}

interface ScalarAnalysis {
  multiline: boolean;
  flowPlain: boolean;
  blockPlain: boolean;
  single: boolean;
  block: boolean;
}

function analyzeScalar(r: number[]): ScalarAnalysis {
  if (r.length === 0) {
    return { multiline: false, flowPlain: false, blockPlain: true, single: true, block: false };
  }
  let blockIndicators = false;
  let flowIndicators = false;
  let lineBreaks = false;
  let specialCharacters = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let previousSpace = false;
  let previousBreak = false;

  if (r.length >= 3 && ((r[0] === 0x2d && r[1] === 0x2d && r[2] === 0x2d) || (r[0] === 0x2e && r[1] === 0x2e && r[2] === 0x2e))) {
    blockIndicators = true;
    flowIndicators = true;
  }
  let precededByWhitespace = true;
  for (let i = 0; i < r.length; i++) {
    const c = r[i];
    const followedByWhitespace = i + 1 >= r.length || isBlank(r[i + 1]);
    if (i === 0) {
      switch (c) {
        case 0x23:
        case 0x2c:
        case 0x5b:
        case 0x5d:
        case 0x7b:
        case 0x7d:
        case 0x26:
        case 0x2a:
        case 0x21:
        case 0x7c:
        case 0x3e:
        case 0x27:
        case 0x22:
        case 0x25:
        case 0x40:
        case 0x60:
          flowIndicators = true;
          blockIndicators = true;
          break;
        case 0x3f:
        case 0x3a:
          flowIndicators = true;
          if (followedByWhitespace) blockIndicators = true;
          break;
        case 0x2d:
          if (followedByWhitespace) {
            flowIndicators = true;
            blockIndicators = true;
          }
          break;
      }
    } else {
      switch (c) {
        case 0x2c:
        case 0x3f:
        case 0x5b:
        case 0x5d:
        case 0x7b:
        case 0x7d:
          flowIndicators = true;
          break;
        case 0x3a:
          flowIndicators = true;
          if (followedByWhitespace) blockIndicators = true;
          break;
        case 0x23:
          if (precededByWhitespace) {
            flowIndicators = true;
            blockIndicators = true;
          }
          break;
      }
    }
    if (!isPrintable(c)) specialCharacters = true; // emitter.unicode is on: non-ASCII is fine
    if (isSpaceC(c)) {
      if (i === 0) leadingSpace = true;
      if (i === r.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (i === r.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlankz(c);
  }
  const a: ScalarAnalysis = { multiline: lineBreaks, flowPlain: true, blockPlain: true, single: true, block: true };
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) {
    a.flowPlain = false;
    a.blockPlain = false;
  }
  if (trailingSpace) a.block = false;
  if (breakSpace) {
    a.flowPlain = false;
    a.blockPlain = false;
    a.single = false;
  }
  if (spaceBreak || specialCharacters) {
    a.flowPlain = false;
    a.blockPlain = false;
    a.single = false;
    a.block = false;
  }
  if (lineBreaks) {
    a.flowPlain = false;
    a.blockPlain = false;
  }
  if (flowIndicators) a.flowPlain = false;
  if (blockIndicators) a.blockPlain = false;
  return a;
}

const HEXU = '0123456789ABCDEF';

class Emitter {
  out = '';
  column = 0;
  whitespace = true;
  indention = true;
  indent = -1;
  indents: number[] = [];
  flowLevel = 0;
  rootContext = false;
  sequenceContext = false;
  mappingContext = false;
  simpleKeyContext = false;

  putRaw(s: string): void {
    this.out += s;
    this.column += s.length;
  }
  putChar(c: number): void {
    this.out += String.fromCodePoint(c);
    this.column++;
  }
  putBreak(): void {
    this.out += '\n';
    this.column = 0;
  }

  increaseIndent(flow: boolean, indentless: boolean): void {
    this.indents.push(this.indent);
    if (this.indent < 0) this.indent = flow ? BEST_INDENT : 0;
    else if (!indentless) this.indent += BEST_INDENT;
  }
  popIndent(): void {
    this.indent = this.indents.pop()!;
  }

  writeIndent(): void {
    const indent = this.indent < 0 ? 0 : this.indent;
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.putBreak();
    while (this.column < indent) this.putRaw(' ');
    this.whitespace = true;
    this.indention = true;
  }

  writeIndicator(ind: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean): void {
    if (needWhitespace && !this.whitespace) this.putRaw(' ');
    this.putRaw(ind);
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
  }

  // --- nodes -------------------------------------------------------------------------------

  node(v: GoValue, root: boolean, sequence: boolean, mapping: boolean, simpleKey: boolean): void {
    this.rootContext = root;
    this.sequenceContext = sequence;
    this.mappingContext = mapping;
    this.simpleKeyContext = simpleKey;
    if (v === null || v === undefined) return this.scalar('null', Style.Plain);
    switch (typeof v) {
      case 'boolean':
        return this.scalar(v ? 'true' : 'false', Style.Plain);
      case 'bigint':
        return this.scalar(v.toString(), Style.Plain);
      case 'number':
        return this.scalar(yamlFloat(v), Style.Plain);
      case 'string':
        return this.stringv(v);
    }
    if (Array.isArray(v)) return this.sequence(v);
    const o = v as any;
    if (o.__goOpaque) {
      if (o.goType === 'uint64') return this.scalar(String(o.value), Style.Plain);
      if (o.value instanceof Date) return this.scalar(o.value.toISOString(), Style.Plain);
      return this.mapping(Object.create(null)); // pointer to a struct without exported fields
    }
    if (o.__goFunc) throw new GoYamlError('cannot marshal type: ' + (o.goType ?? 'func()'));
    if (isGoMap(v)) return this.mapping(v);
    throw new GoYamlError('cannot marshal value');
  }

  stringv(s: string): void {
    let style: Style;
    if (s.includes('\n')) style = Style.Literal;
    else if (!resolvesToNonString(s)) style = Style.Plain;
    else style = Style.Double;
    this.scalar(s, style);
  }

  sequence(items: GoValue[]): void {
    if (items.length === 0 || this.flowLevel > 0) {
      this.writeIndicator('[', true, true, false);
      this.increaseIndent(true, false);
      this.flowLevel++;
      // Only empty collections are emitted in flow style by this encoder.
      this.flowLevel--;
      this.popIndent();
      this.writeIndicator(']', false, false, false);
      return;
    }
    this.increaseIndent(false, this.mappingContext && !this.indention);
    for (const item of items) {
      this.writeIndent();
      this.writeIndicator('-', true, false, true);
      this.node(item, false, true, false, false);
    }
    this.popIndent();
  }

  mapping(m: GoMap): void {
    const keys = yamlSortedKeys(m);
    if (keys.length === 0 || this.flowLevel > 0) {
      this.writeIndicator('{', true, true, false);
      this.increaseIndent(true, false);
      this.popIndent();
      this.writeIndicator('}', false, false, false);
      return;
    }
    this.increaseIndent(false, false);
    for (const k of keys) {
      this.writeIndent();
      if (this.checkSimpleKey(k)) {
        this.node(k, false, false, true, true);
        this.writeIndicator(':', false, false, false);
      } else {
        this.writeIndicator('?', true, false, true);
        this.node(k, false, false, true, false);
        this.writeIndent();
        this.writeIndicator(':', true, false, true);
      }
      this.node(m[k], false, false, true, false);
    }
    this.popIndent();
  }

  checkSimpleKey(k: string): boolean {
    if (Buffer.byteLength(k, 'utf8') > 128) return false;
    return !analyzeScalar(toRunes(k)).multiline;
  }

  // --- scalars -----------------------------------------------------------------------------

  scalar(value: string, requested: Style): void {
    const r = toRunes(value);
    const a = analyzeScalar(r);
    let style = requested;
    if (this.simpleKeyContext && a.multiline) style = Style.Double;
    if (style === Style.Plain) {
      if ((this.flowLevel > 0 && !a.flowPlain) || (this.flowLevel === 0 && !a.blockPlain)) style = Style.Single;
      if (r.length === 0 && (this.flowLevel > 0 || this.simpleKeyContext)) style = Style.Single;
    }
    if (style === Style.Single && !a.single) style = Style.Double;
    if (style === Style.Literal && (!a.block || this.flowLevel > 0 || this.simpleKeyContext)) style = Style.Double;

    this.increaseIndent(true, false);
    const allowBreaks = !this.simpleKeyContext;
    switch (style) {
      case Style.Plain:
        this.writePlain(r, allowBreaks);
        break;
      case Style.Single:
        this.writeSingle(r, allowBreaks);
        break;
      case Style.Double:
        this.writeDouble(r, allowBreaks);
        break;
      case Style.Literal:
        this.writeLiteral(r);
        break;
    }
    this.popIndent();
  }

  writePlain(r: number[], allowBreaks: boolean): void {
    if (r.length > 0 && !this.whitespace) this.putRaw(' ');
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < r.length; i++) {
      const c = r[i];
      if (isSpaceC(c)) {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && !isSpaceC(r[i + 1])) {
          this.writeIndent();
        } else {
          this.putChar(c);
        }
        spaces = true;
      } else if (isBreak(c)) {
        if (!breaks && c === 0x0a) this.putBreak();
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.putChar(c);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    if (r.length > 0) this.whitespace = false;
    this.indention = false;
  }

  writeBreak(c: number): void {
    if (c === 0x0a) this.putBreak();
    else {
      this.out += String.fromCodePoint(c);
      this.column = 0;
    }
  }

  writeSingle(r: number[], allowBreaks: boolean): void {
    this.writeIndicator("'", true, false, false);
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < r.length; i++) {
      const c = r[i];
      if (isSpaceC(c)) {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && i > 0 && i < r.length - 1 && !isSpaceC(r[i + 1])) {
          this.writeIndent();
        } else {
          this.putChar(c);
        }
        spaces = true;
      } else if (isBreak(c)) {
        if (!breaks && c === 0x0a) this.putBreak();
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        if (c === 0x27) this.putRaw("'");
        this.putChar(c);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    // No indent after a final break (U+2028 at the end): GGN's yaml.v2 writes none.
    this.writeIndicator("'", false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  writeDouble(r: number[], allowBreaks: boolean): void {
    this.writeIndicator('"', true, false, false);
    let spaces = false;
    for (let i = 0; i < r.length; i++) {
      const c = r[i];
      if (!isPrintable(c) || c === 0xfeff || isBreak(c) || c === 0x22 || c === 0x5c) {
        this.putRaw('\\');
        switch (c) {
          case 0x00:
            this.putRaw('0');
            break;
          case 0x07:
            this.putRaw('a');
            break;
          case 0x08:
            this.putRaw('b');
            break;
          case 0x09:
            this.putRaw('t');
            break;
          case 0x0a:
            this.putRaw('n');
            break;
          case 0x0b:
            this.putRaw('v');
            break;
          case 0x0c:
            this.putRaw('f');
            break;
          case 0x0d:
            this.putRaw('r');
            break;
          case 0x1b:
            this.putRaw('e');
            break;
          case 0x22:
            this.putRaw('"');
            break;
          case 0x5c:
            this.putRaw('\\');
            break;
          case 0x85:
            this.putRaw('N');
            break;
          case 0xa0:
            this.putRaw('_');
            break;
          case 0x2028:
            this.putRaw('L');
            break;
          case 0x2029:
            this.putRaw('P');
            break;
          default: {
            let w: number;
            let p: string;
            if (c <= 0xff) {
              p = 'x';
              w = 2;
            } else if (c <= 0xffff) {
              p = 'u';
              w = 4;
            } else {
              p = 'U';
              w = 8;
            }
            let h = '';
            for (let k = (w - 1) * 4; k >= 0; k -= 4) h += HEXU[(c >> k) & 15];
            this.putRaw(p + h);
          }
        }
        spaces = false;
      } else if (isSpaceC(c)) {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && i !== 0 && i !== r.length - 1) {
          this.writeIndent();
          if (isSpaceC(r[i + 1])) this.putRaw('\\');
        } else {
          this.putChar(c);
        }
        spaces = true;
      } else {
        this.putChar(c);
        spaces = false;
      }
    }
    this.writeIndicator('"', false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  writeLiteral(r: number[]): void {
    this.writeIndicator('|', true, false, false);
    // Block scalar hints.
    if (isSpaceC(r[0]) || isBreak(r[0])) this.writeIndicator(String(BEST_INDENT), false, false, false);
    let chomp = '';
    if (r.length === 0) {
      chomp = '-';
    } else if (!isBreak(r[r.length - 1])) {
      chomp = '-';
    } else if (r.length === 1) {
      chomp = '+';
    } else if (isBreak(r[r.length - 2])) {
      chomp = '+';
    }
    if (chomp) this.writeIndicator(chomp, false, false, false);
    this.putBreak();
    this.indention = true;
    this.whitespace = true;
    let breaks = true;
    for (let i = 0; i < r.length; i++) {
      const c = r[i];
      if (isBreak(c)) {
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.putChar(c);
        this.indention = false;
        breaks = false;
      }
    }
  }

  documentEnd(): void {
    this.indent = -1;
    this.writeIndent();
  }
}

function yamlFloat(f: number): string {
  if (Number.isNaN(f)) return '.nan';
  if (f === Infinity) return '.inf';
  if (f === -Infinity) return '-.inf';
  // GGN's yaml.v2 formats every float as a float32 ("FIXME: Handle 64 bits here").
  const s = formatFloat32G(f);
  return s === '+Inf' ? '.inf' : s === '-Inf' ? '-.inf' : s;
}

/** yaml.Marshal(v) of gopkg.in/yaml.v2. */
export function goYamlMarshal(v: GoValue): string {
  const e = new Emitter();
  e.node(v instanceof GoStringSlice ? [...v] : v, true, false, false, false);
  e.documentEnd();
  return e.out;
}
