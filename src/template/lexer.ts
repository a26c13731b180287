/**
 * Lexer for Go 1.19 text/template (port of text/template/parse/lex.go).
 * It scans the whole input eagerly into a token array (the Go lexer runs in a goroutine and
 * stops at the first error; so does this one: an error token is the last token).
 * Positions are JS string indices; `line` is 1 + the number of newlines before the token.
 */
import { goQuote } from './fmt';

export const enum Item {
  Error,
  Bool,
  Char,
  CharConstant,
  Comment,
  Complex,
  Assign,
  Declare,
  EOF,
  Field,
  Identifier,
  LeftDelim,
  LeftParen,
  Number,
  Pipe,
  RawString,
  RightDelim,
  RightParen,
  Space,
  String,
  Text,
  Variable,
  // Keywords appear after all the rest.
  Keyword,
  Block,
  Break,
  Continue,
  Dot,
  Define,
  Else,
  End,
  If,
  Nil,
  Range,
  Template,
  With,
}

export interface Token {
  typ: Item;
  pos: number;
  val: string;
  line: number;
}

const keywords: { [word: string]: Item } = Object.assign(Object.create(null), {
  '.': Item.Dot,
  block: Item.Block,
  break: Item.Break,
  continue: Item.Continue,
  define: Item.Define,
  else: Item.Else,
  end: Item.End,
  if: Item.If,
  range: Item.Range,
  nil: Item.Nil,
  template: Item.Template,
  with: Item.With,
});

const EOF = -1;
const LEFT = '{{';
const RIGHT = '}}';
const LEFT_COMMENT = '/*';
const RIGHT_COMMENT = '*/';

function isSpace(r: number): boolean {
  return r === 0x20 || r === 0x09 || r === 0x0d || r === 0x0a;
}

const letterOrDigit = /^[\p{L}\p{Nd}]$/u;
function isAlphaNumeric(r: number): boolean {
  if (r < 0x80) {
    return r === 0x5f || (r >= 0x30 && r <= 0x39) || (r >= 0x41 && r <= 0x5a) || (r >= 0x61 && r <= 0x7a);
  }
  if (r === EOF) return false;
  return letterOrDigit.test(String.fromCodePoint(r));
}

/** Go's %#U: U+0078 'x' */
export function formatRuneU(r: number): string {
  if (r < 0) return 'U+FFFFFFFFFFFFFFFF';
  let s = 'U+' + r.toString(16).toUpperCase().padStart(4, '0');
  const printable = (r >= 0x20 && r < 0x7f) || (r >= 0xa0 && /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(String.fromCodePoint(r)));
  if (printable) s += " '" + String.fromCodePoint(r) + "'";
  return s;
}

function rightTrimLength(s: string): number {
  let i = s.length;
  while (i > 0 && isSpace(s.charCodeAt(i - 1))) i--;
  return s.length - i;
}

function leftTrimLength(s: string, from: number): number {
  let i = from;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i - from;
}

function hasLeftTrimMarker(s: string, at: number): boolean {
  return at + 1 < s.length && s.charCodeAt(at) === 0x2d && isSpace(s.charCodeAt(at + 1));
}

function hasRightTrimMarker(s: string, at: number): boolean {
  return at + 1 < s.length && isSpace(s.charCodeAt(at)) && s.charCodeAt(at + 1) === 0x2d;
}

type StateFn = ((l: Lexer) => StateFn) | null;

export class Lexer {
  readonly tokens: Token[] = [];
  pos = 0;
  start = 0;
  width = 0;
  parenDepth = 0;
  // incremental line counting
  private lineAtPos = 0;
  private lineAtLine = 1;

  constructor(
    readonly name: string,
    readonly input: string,
    readonly breakOK: boolean,
    readonly continueOK: boolean,
  ) {}

  run(): Token[] {
    let state: StateFn = lexText;
    while (state !== null) state = state(this);
    return this.tokens;
  }

  lineOf(pos: number): number {
    if (pos < this.lineAtPos) {
      this.lineAtPos = 0;
      this.lineAtLine = 1;
    }
    const s = this.input;
    let line = this.lineAtLine;
    for (let i = this.lineAtPos; i < pos; i++) if (s.charCodeAt(i) === 10) line++;
    this.lineAtPos = pos;
    this.lineAtLine = line;
    return line;
  }

  next(): number {
    if (this.pos >= this.input.length) {
      this.width = 0;
      return EOF;
    }
    const r = this.input.codePointAt(this.pos)!;
    this.width = r > 0xffff ? 2 : 1;
    this.pos += this.width;
    return r;
  }

  peek(): number {
    const r = this.next();
    this.backup();
    return r;
  }

  backup(): void {
    this.pos -= this.width;
  }

  emit(t: Item): void {
    this.tokens.push({ typ: t, pos: this.start, val: this.input.slice(this.start, this.pos), line: this.lineOf(this.start) });
    this.start = this.pos;
  }

  ignore(): void {
    this.start = this.pos;
  }

  accept(valid: string): boolean {
    const r = this.next();
    if (r !== EOF && valid.indexOf(String.fromCodePoint(r)) >= 0) return true;
    this.backup();
    return false;
  }

  acceptRun(valid: string): void {
    for (;;) {
      const r = this.next();
      if (r === EOF || valid.indexOf(String.fromCodePoint(r)) < 0) break;
    }
    this.backup();
  }

  errorf(msg: string): StateFn {
    this.tokens.push({ typ: Item.Error, pos: this.start, val: msg, line: this.lineOf(this.start) });
    return null;
  }

  /** Reports whether the input is at a right delimiter, possibly preceded by a trim marker. */
  atRightDelim(): [boolean, boolean] {
    const s = this.input;
    if (hasRightTrimMarker(s, this.pos) && s.startsWith(RIGHT, this.pos + 2)) return [true, true];
    if (s.startsWith(RIGHT, this.pos)) return [true, false];
    return [false, false];
  }

  atTerminator(): boolean {
    const r = this.peek();
    if (isSpace(r)) return true;
    switch (r) {
      case EOF:
      case 0x2e: // .
      case 0x2c: // ,
      case 0x7c: // |
      case 0x3a: // :
      case 0x29: // )
      case 0x28: // (
        return true;
    }
    return r === 0x7d; // first rune of the right delimiter '}'
  }

  scanNumber(): boolean {
    this.accept('+-');
    let digits = '0123456789_';
    if (this.accept('0')) {
      if (this.accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (this.accept('oO')) digits = '01234567_';
      else if (this.accept('bB')) digits = '01_';
    }
    this.acceptRun(digits);
    if (this.accept('.')) this.acceptRun(digits);
    if (digits.length === 11 && this.accept('eE')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    if (digits.length === 23 && this.accept('pP')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    this.accept('i');
    if (isAlphaNumeric(this.peek())) {
      this.next();
      return false;
    }
    return true;
  }
}

function lexText(l: Lexer): StateFn {
  const s = l.input;
  const x = s.indexOf(LEFT, l.pos);
  if (x >= 0) {
    l.pos = x;
    let trimLength = 0;
    if (hasLeftTrimMarker(s, x + LEFT.length)) {
      trimLength = rightTrimLength(s.slice(l.start, l.pos));
    }
    l.pos -= trimLength;
    if (l.pos > l.start) l.emit(Item.Text);
    l.pos += trimLength;
    l.ignore();
    return lexLeftDelim;
  }
  l.pos = s.length;
  if (l.pos > l.start) l.emit(Item.Text);
  l.emit(Item.EOF);
  return null;
}

function lexLeftDelim(l: Lexer): StateFn {
  l.pos += LEFT.length;
  const trimSpace = hasLeftTrimMarker(l.input, l.pos);
  const afterMarker = trimSpace ? 2 : 0;
  if (l.input.startsWith(LEFT_COMMENT, l.pos + afterMarker)) {
    l.pos += afterMarker;
    l.ignore();
    return lexComment;
  }
  l.emit(Item.LeftDelim);
  l.pos += afterMarker;
  l.ignore();
  l.parenDepth = 0;
  return lexInsideAction;
}

function lexComment(l: Lexer): StateFn {
  l.pos += LEFT_COMMENT.length;
  const x = l.input.indexOf(RIGHT_COMMENT, l.pos);
  if (x < 0) return l.errorf('unclosed comment');
  l.pos = x + RIGHT_COMMENT.length;
  const [delim, trimSpace] = l.atRightDelim();
  if (!delim) return l.errorf('comment ends before closing delimiter');
  if (trimSpace) l.pos += 2;
  l.pos += RIGHT.length;
  if (trimSpace) l.pos += leftTrimLength(l.input, l.pos);
  l.ignore();
  return lexText;
}

function lexRightDelim(l: Lexer): StateFn {
  const trimSpace = hasRightTrimMarker(l.input, l.pos);
  if (trimSpace) {
    l.pos += 2;
    l.ignore();
  }
  l.pos += RIGHT.length;
  l.emit(Item.RightDelim);
  if (trimSpace) {
    l.pos += leftTrimLength(l.input, l.pos);
    l.ignore();
  }
  return lexText;
}

function lexInsideAction(l: Lexer): StateFn {
  const [delim] = l.atRightDelim();
  if (delim) {
    if (l.parenDepth === 0) return lexRightDelim;
    return l.errorf('unclosed left paren');
  }
  const r = l.next();
  if (r === EOF) return l.errorf('unclosed action');
  if (isSpace(r)) {
    l.backup();
    return lexSpace;
  }
  switch (r) {
    case 0x3d: // =
      l.emit(Item.Assign);
      return lexInsideAction;
    case 0x3a: // :
      if (l.next() !== 0x3d) return l.errorf('expected :=');
      l.emit(Item.Declare);
      return lexInsideAction;
    case 0x7c: // |
      l.emit(Item.Pipe);
      return lexInsideAction;
    case 0x22: // "
      return lexQuote;
    case 0x60: // `
      return lexRawQuote;
    case 0x24: // $
      return lexVariable;
    case 0x27: // '
      return lexChar;
    case 0x2e: {
      // .
      if (l.pos < l.input.length) {
        const c = l.input.charCodeAt(l.pos);
        if (c < 0x30 || c > 0x39) return lexField;
      }
      l.backup();
      return lexNumber;
    }
    case 0x28: // (
      l.emit(Item.LeftParen);
      l.parenDepth++;
      return lexInsideAction;
    case 0x29: // )
      l.emit(Item.RightParen);
      l.parenDepth--;
      if (l.parenDepth < 0) return l.errorf('unexpected right paren ' + formatRuneU(r));
      return lexInsideAction;
  }
  if (r === 0x2b || r === 0x2d || (r >= 0x30 && r <= 0x39)) {
    l.backup();
    return lexNumber;
  }
  if (isAlphaNumeric(r)) {
    l.backup();
    return lexIdentifier;
  }
  if (r < 0x80 && r >= 0x20 && r < 0x7f) {
    l.emit(Item.Char);
    return lexInsideAction;
  }
  return l.errorf('unrecognized character in action: ' + formatRuneU(r));
}

function lexSpace(l: Lexer): StateFn {
  let numSpaces = 0;
  for (;;) {
    const r = l.peek();
    if (!isSpace(r)) break;
    l.next();
    numSpaces++;
  }
  // A trim-marked closing delimiter starts with a space followed by '-'.
  if (hasRightTrimMarker(l.input, l.pos - 1) && l.input.startsWith(RIGHT, l.pos + 1)) {
    l.backup(); // before the space
    if (numSpaces === 1) return lexRightDelim;
  }
  l.emit(Item.Space);
  return lexInsideAction;
}

function lexIdentifier(l: Lexer): StateFn {
  for (;;) {
    const r = l.next();
    if (isAlphaNumeric(r)) continue;
    l.backup();
    const word = l.input.slice(l.start, l.pos);
    if (!l.atTerminator()) return l.errorf('bad character ' + formatRuneU(r));
    const kw = keywords[word];
    if (kw !== undefined && kw > Item.Keyword) {
      if ((kw === Item.Break && !l.breakOK) || (kw === Item.Continue && !l.continueOK)) l.emit(Item.Identifier);
      else l.emit(kw);
    } else if (word[0] === '.') {
      l.emit(Item.Field);
    } else if (word === 'true' || word === 'false') {
      l.emit(Item.Bool);
    } else {
      l.emit(Item.Identifier);
    }
    return lexInsideAction;
  }
}

function lexField(l: Lexer): StateFn {
  return lexFieldOrVariable(l, Item.Field);
}

function lexVariable(l: Lexer): StateFn {
  if (l.atTerminator()) {
    l.emit(Item.Variable);
    return lexInsideAction;
  }
  return lexFieldOrVariable(l, Item.Variable);
}

function lexFieldOrVariable(l: Lexer, typ: Item): StateFn {
  if (l.atTerminator()) {
    l.emit(typ === Item.Variable ? Item.Variable : Item.Dot);
    return lexInsideAction;
  }
  let r: number;
  for (;;) {
    r = l.next();
    if (!isAlphaNumeric(r)) {
      l.backup();
      break;
    }
  }
  if (!l.atTerminator()) return l.errorf('bad character ' + formatRuneU(r));
  l.emit(typ);
  return lexInsideAction;
}

function lexChar(l: Lexer): StateFn {
  for (;;) {
    let r = l.next();
    if (r === 0x5c) {
      r = l.next();
      if (r !== EOF && r !== 0x0a) continue;
      return l.errorf('unterminated character constant');
    }
    if (r === EOF || r === 0x0a) return l.errorf('unterminated character constant');
    if (r === 0x27) break;
  }
  l.emit(Item.CharConstant);
  return lexInsideAction;
}

function lexNumber(l: Lexer): StateFn {
  if (!l.scanNumber()) return l.errorf('bad number syntax: ' + goQuote(l.input.slice(l.start, l.pos)));
  const sign = l.peek();
  if (sign === 0x2b || sign === 0x2d) {
    if (!l.scanNumber() || l.input.charCodeAt(l.pos - 1) !== 0x69) {
      return l.errorf('bad number syntax: ' + goQuote(l.input.slice(l.start, l.pos)));
    }
    l.emit(Item.Complex);
  } else {
    l.emit(Item.Number);
  }
  return lexInsideAction;
}

function lexQuote(l: Lexer): StateFn {
  for (;;) {
    let r = l.next();
    if (r === 0x5c) {
      r = l.next();
      if (r !== EOF && r !== 0x0a) continue;
      return l.errorf('unterminated quoted string');
    }
    if (r === EOF || r === 0x0a) return l.errorf('unterminated quoted string');
    if (r === 0x22) break;
  }
  l.emit(Item.String);
  return lexInsideAction;
}

function lexRawQuote(l: Lexer): StateFn {
  for (;;) {
    const r = l.next();
    if (r === EOF) return l.errorf('unterminated raw quoted string');
    if (r === 0x60) break;
  }
  l.emit(Item.RawString);
  return lexInsideAction;
}

/** Scans the whole input. */
export function lex(name: string, input: string, breakOK = true, continueOK = true): Token[] {
  return new Lexer(name, input, breakOK, continueOK).run();
}
