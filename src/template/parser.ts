/**
 * Parser for Go 1.19 text/template (port of text/template/parse/parse.go), producing the AST of
 * ./ast.ts. Error messages and the line they report are Go's: `template: NAME:LINE: MESSAGE`,
 * where LINE is the line of the token the parser last read.
 */
import {
  NodeType,
  isEmptyTree,
  uniform,
  nodeString,
  type ActionNode,
  type BranchNode,
  type ChainNode,
  type CommandNode,
  type ElseNode,
  type EndNode,
  type EngineFunc,
  type ListNode,
  type Node,
  type NumberNode,
  type PipeNode,
  type TemplateNode,
  type Tree,
  type VariableNode,
} from './ast';
import { goQuote } from './fmt';
import { Item, lex, type Token } from './lexer';

export class TemplateParseError extends Error {
  /** The template name (ParseName), e.g. the file path. */
  file: string;
  line: number;
  col?: number;
  constructor(message: string, file: string, line: number) {
    super(message);
    this.name = 'TemplateParseError';
    this.file = file;
    this.line = line;
  }
}

/** Function lookup used while parsing: user functions shadow builtins. */
export interface FuncResolver {
  has(name: string): boolean;
  find(name: string): { fn: EngineFunc; isBuiltin: boolean } | null;
}

const zeroToken: Token = { typ: Item.Error, pos: 0, val: '', line: 0 };

interface TokenStream {
  toks: Token[];
  i: number;
}

// ---------------------------------------------------------------------------------------------
// strconv helpers
// ---------------------------------------------------------------------------------------------

class SyntaxErr extends Error {}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * strconv.UnquoteChar on s starting at i. Returns [value, isByte, nextIndex].
 * isByte marks \x and octal escapes, which produce a raw byte in Go.
 */
function unquoteChar(s: string, i: number, quote: number): [number, boolean, number] {
  const c = s.charCodeAt(i);
  if (c === quote && (quote === 0x27 || quote === 0x22)) throw new SyntaxErr();
  if (c !== 0x5c) {
    const cp = s.codePointAt(i)!;
    return [cp, false, i + (cp > 0xffff ? 2 : 1)];
  }
  if (i + 1 >= s.length) throw new SyntaxErr();
  const e = s.charCodeAt(i + 1);
  i += 2;
  switch (e) {
    case 0x61:
      return [7, false, i];
    case 0x62:
      return [8, false, i];
    case 0x66:
      return [12, false, i];
    case 0x6e:
      return [10, false, i];
    case 0x72:
      return [13, false, i];
    case 0x74:
      return [9, false, i];
    case 0x76:
      return [11, false, i];
    case 0x78: // x
    case 0x75: // u
    case 0x55: {
      // U
      const n = e === 0x78 ? 2 : e === 0x75 ? 4 : 8;
      if (s.length - i < n) throw new SyntaxErr();
      let v = 0;
      for (let j = 0; j < n; j++) {
        const x = hexVal(s.charCodeAt(i + j));
        if (x < 0) throw new SyntaxErr();
        v = v * 16 + x;
      }
      i += n;
      if (e === 0x78) return [v, true, i];
      if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw new SyntaxErr();
      return [v, false, i];
    }
    case 0x30:
    case 0x31:
    case 0x32:
    case 0x33:
    case 0x34:
    case 0x35:
    case 0x36:
    case 0x37: {
      let v = e - 48;
      if (s.length - i < 2) throw new SyntaxErr();
      for (let j = 0; j < 2; j++) {
        const x = s.charCodeAt(i + j) - 48;
        if (x < 0 || x > 7) throw new SyntaxErr();
        v = v * 8 + x;
      }
      i += 2;
      if (v > 255) throw new SyntaxErr();
      return [v, true, i];
    }
    case 0x5c:
      return [0x5c, false, i];
    case 0x27:
    case 0x22:
      if (e !== quote) throw new SyntaxErr();
      return [e, false, i];
  }
  throw new SyntaxErr();
}

/** strconv.Unquote for "..." and `...` literals. */
function unquote(s: string): string {
  const n = s.length;
  if (n < 2) throw new SyntaxErr();
  const quote = s.charCodeAt(0);
  if (quote !== s.charCodeAt(n - 1)) throw new SyntaxErr();
  const body = s.slice(1, n - 1);
  if (quote === 0x60) {
    if (body.indexOf('`') >= 0) throw new SyntaxErr();
    return body.indexOf('\r') >= 0 ? body.replace(/\r/g, '') : body;
  }
  if (quote !== 0x22 && quote !== 0x27) throw new SyntaxErr();
  if (body.indexOf('\n') >= 0) throw new SyntaxErr();
  if (body.indexOf('\\') < 0 && body.indexOf(String.fromCharCode(quote)) < 0) {
    if (quote === 0x22) return body;
  }
  const bytes: number[] = [];
  let hasRawBytes = false;
  let out = '';
  for (let i = 0; i < body.length; ) {
    const [v, isByte, next] = unquoteChar(body, i, quote);
    i = next;
    if (isByte && v >= 0x80) hasRawBytes = true;
    if (isByte) bytes.push(v);
    else {
      const enc = Buffer.from(String.fromCodePoint(v), 'utf8');
      for (const b of enc) bytes.push(b);
    }
    if (quote === 0x27 && i < body.length) throw new SyntaxErr();
  }
  out = Buffer.from(bytes).toString(hasRawBytes ? 'latin1' : 'utf8');
  if (hasRawBytes) {
    // Raw bytes that form valid UTF-8 decode as UTF-8; otherwise keep them byte-per-char.
    const b = Buffer.from(bytes);
    const u = b.toString('utf8');
    if (Buffer.from(u, 'utf8').equals(b)) out = u;
  }
  return out;
}

function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'bBoOxX'.indexOf(s[1]) >= 0) {
    i = 2;
    saw = '0';
    hex = s[1] === 'x' || s[1] === 'X';
  }
  for (; i < s.length; i++) {
    const c = s[i];
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** strconv.ParseUint(s, 0, 64); null on error. */
function parseUint(s0: string): bigint | null {
  let s = s0;
  if (s.length === 0) return null;
  let base = 10;
  if (s[0] === '0') {
    const c = s.length >= 3 ? s[1].toLowerCase() : '';
    if (c === 'b') {
      base = 2;
      s = s.slice(2);
    } else if (c === 'o') {
      base = 8;
      s = s.slice(2);
    } else if (c === 'x') {
      base = 16;
      s = s.slice(2);
    } else {
      base = 8;
      s = s.slice(1);
    }
  }
  let n = 0n;
  const B = BigInt(base);
  let underscores = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5f) {
      underscores = true;
      continue;
    }
    const d = hexVal(c);
    if (d < 0 || d >= base) return null;
    n = n * B + BigInt(d);
  }
  if (underscores && !underscoreOK(s0)) return null;
  if (n >= 1n << 64n) return null;
  return n;
}

/** strconv.ParseInt(s, 0, 64); null on error. */
function parseInt64(s: string): bigint | null {
  if (s.length === 0) return null;
  let neg = false;
  let body = s;
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-';
    body = s.slice(1);
  }
  const u = parseUint(body);
  if (u === null) return null;
  if (!neg && u >= 1n << 63n) return null;
  if (neg && u > 1n << 63n) return null;
  return neg ? -u : u;
}

const decFloatRe = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const hexFloatRe = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/;

/** strconv.ParseFloat(s, 64); null on syntax or range error. */
function parseFloat64(s: string): number | null {
  let t = s;
  if (t.indexOf('_') >= 0) {
    if (!underscoreOK(t)) return null;
    t = t.replace(/_/g, '');
  }
  if (decFloatRe.test(t)) {
    const v = Number(t);
    return Number.isFinite(v) ? v : null;
  }
  const m = hexFloatRe.exec(t);
  if (m) {
    const intPart = m[2];
    const frac = m[3] ?? '';
    if (intPart.length + frac.length === 0) return null;
    let mant = 0;
    for (const c of intPart + frac) mant = mant * 16 + hexVal(c.charCodeAt(0));
    const v = mant * Math.pow(2, parseInt(m[4], 10) - 4 * frac.length);
    if (!Number.isFinite(v)) return null;
    return m[1] === '-' ? -v : v;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

class TreeParser {
  readonly tree: Tree;
  private token: Token[] = [zeroToken, zeroToken, zeroToken];
  private peekCount = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  private actionLine = 0;

  constructor(
    name: string,
    parseName: string,
    text: string,
    private readonly stream: TokenStream,
    private readonly treeSet: Map<string, Tree>,
    private readonly funcs: FuncResolver,
  ) {
    this.tree = { name, parseName, text, root: null };
  }

  // --- token access ---------------------------------------------------------------------------

  private nextItem(): Token {
    const s = this.stream;
    if (s.i < s.toks.length) return s.toks[s.i++];
    return zeroToken;
  }

  private next(): Token {
    if (this.peekCount > 0) this.peekCount--;
    else this.token[0] = this.nextItem();
    return this.token[this.peekCount];
  }

  private backup(): void {
    this.peekCount++;
  }

  private backup2(t1: Token): void {
    this.token[1] = t1;
    this.peekCount = 2;
  }

  private backup3(t2: Token, t1: Token): void {
    this.token[1] = t1;
    this.token[2] = t2;
    this.peekCount = 3;
  }

  private peek(): Token {
    if (this.peekCount > 0) return this.token[this.peekCount - 1];
    this.peekCount = 1;
    this.token[0] = this.nextItem();
    return this.token[0];
  }

  private nextNonSpace(): Token {
    let token: Token;
    do token = this.next();
    while (token.typ === Item.Space);
    return token;
  }

  private peekNonSpace(): Token {
    const token = this.nextNonSpace();
    this.backup();
    return token;
  }

  // --- errors ---------------------------------------------------------------------------------

  errorf(msg: string): never {
    this.tree.root = null;
    const line = this.token[0].line;
    throw new TemplateParseError(`template: ${this.tree.parseName}:${line}: ${msg}`, this.tree.parseName, line);
  }

  private expect(expected: Item, context: string): Token {
    const token = this.nextNonSpace();
    if (token.typ !== expected) this.unexpected(token, context);
    return token;
  }

  private expectOneOf(e1: Item, e2: Item, context: string): Token {
    const token = this.nextNonSpace();
    if (token.typ !== e1 && token.typ !== e2) this.unexpected(token, context);
    return token;
  }

  private unexpected(token: Token, context: string): never {
    if (token.typ === Item.Error) {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== token.line) {
        extra = ` in action started at ${this.tree.parseName}:${this.actionLine}`;
        if (token.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(token.val + extra);
    }
    this.errorf(`unexpected ${itemString(token)} in ${context}`);
  }

  // --- node constructors ----------------------------------------------------------------------

  private newList(pos: number): ListNode {
    return { type: NodeType.List, pos, tr: this.tree, nodes: [] };
  }

  private newPipeline(pos: number, line: number): PipeNode {
    return { type: NodeType.Pipe, pos, tr: this.tree, line, isAssign: false, decl: [], cmds: [] };
  }

  private newVariable(pos: number, name: string): VariableNode {
    return { type: NodeType.Variable, pos, tr: this.tree, ident: name.split('.') };
  }

  private newNumber(pos: number, text: string, typ: Item): NumberNode {
    const n: NumberNode = {
      type: NodeType.Number,
      pos,
      tr: this.tree,
      isInt: false,
      isUint: false,
      isFloat: false,
      isComplex: false,
      int64: 0n,
      uint64: 0n,
      float64: 0,
      text,
      ideal: undefined,
      idealError: null,
    };
    if (typ === Item.CharConstant) {
      let r: number;
      let next: number;
      try {
        [r, , next] = unquoteChar(text, 1, text.charCodeAt(0));
      } catch (e) {
        if (e instanceof SyntaxErr) this.errorf('invalid syntax');
        throw e;
      }
      if (text.slice(next) !== "'") this.errorf(`malformed character constant: ${text}`);
      n.int64 = BigInt(r);
      n.isInt = true;
      n.uint64 = BigInt(r);
      n.isUint = true;
      n.float64 = r;
      n.isFloat = true;
      n.ideal = n.int64;
      return n;
    }
    if (typ === Item.Complex || text.endsWith('i')) {
      this.errorf(`complex constants are not supported: ${text}`);
    }
    const u = parseUint(text);
    if (u !== null) {
      n.isUint = true;
      n.uint64 = u;
    }
    const i = parseInt64(text);
    if (i !== null) {
      n.isInt = true;
      n.int64 = i;
      if (i === 0n) {
        n.isUint = true;
        n.uint64 = u ?? 0n;
      }
    }
    if (n.isInt) {
      n.isFloat = true;
      n.float64 = Number(n.int64);
    } else if (n.isUint) {
      n.isFloat = true;
      n.float64 = Number(n.uint64);
    } else {
      const f = parseFloat64(text);
      if (f !== null) {
        if (!/[.eEpP]/.test(text)) this.errorf(`integer overflow: ${goQuote(text)}`);
        n.isFloat = true;
        n.float64 = f;
        if (!n.isInt && Number.isInteger(f) && f >= -9223372036854775808 && f < 9223372036854775808) {
          n.isInt = true;
          n.int64 = BigInt(f);
        }
        if (!n.isUint && Number.isInteger(f) && f >= 0 && f < 18446744073709551616) {
          n.isUint = true;
          n.uint64 = BigInt(f);
        }
      }
    }
    if (!n.isInt && !n.isUint && !n.isFloat) this.errorf(`illegal number syntax: ${goQuote(text)}`);
    // idealConstant, precomputed.
    const isHexInt = text.length > 2 && text[0] === '0' && (text[1] === 'x' || text[1] === 'X') && !/[pP]/.test(text);
    if (n.isFloat && !isHexInt && /[.eEpP]/.test(text)) n.ideal = n.float64;
    else if (n.isInt) n.ideal = n.int64;
    else if (n.isUint) n.idealError = `${text} overflows int`;
    return n;
  }

  // --- grammar --------------------------------------------------------------------------------

  /** parse is the top-level parser for a template; it runs to EOF. */
  parse(): void {
    this.tree.root = this.newList(this.peek().pos);
    while (this.peek().typ !== Item.EOF) {
      if (this.peek().typ === Item.LeftDelim) {
        const delim = this.next();
        if (this.nextNonSpace().typ === Item.Define) {
          const newT = new TreeParser('definition', this.tree.parseName, this.tree.text, this.stream, this.treeSet, this.funcs);
          newT.parseDefinition();
          continue;
        }
        this.backup2(delim);
      }
      const n = this.textOrAction();
      if (n.type === NodeType.End || n.type === NodeType.Else) this.errorf(`unexpected ${nodeString(n)}`);
      this.tree.root.nodes.push(n);
    }
  }

  /** add adds the tree to the tree set. */
  add(): void {
    const existing = this.treeSet.get(this.tree.name);
    if (existing === undefined || isEmptyTree(existing.root)) {
      this.treeSet.set(this.tree.name, this.tree);
      return;
    }
    if (!isEmptyTree(this.tree.root)) {
      this.errorf(`template: multiple definition of template ${goQuote(this.tree.name)}`);
    }
  }

  private parseDefinition(): void {
    const context = 'define clause';
    const name = this.expectOneOf(Item.String, Item.RawString, context);
    try {
      this.tree.name = unquote(name.val);
    } catch (e) {
      if (e instanceof SyntaxErr) this.errorf('invalid syntax');
      throw e;
    }
    this.expect(Item.RightDelim, context);
    const [list, end] = this.itemList();
    this.tree.root = list;
    if (end.type !== NodeType.End) this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    this.add();
  }

  private itemList(): [ListNode, Node] {
    const list = this.newList(this.peekNonSpace().pos);
    while (this.peekNonSpace().typ !== Item.EOF) {
      const n = this.textOrAction();
      if (n.type === NodeType.End || n.type === NodeType.Else) return [list, n];
      list.nodes.push(n);
    }
    this.errorf('unexpected EOF');
  }

  private textOrAction(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case Item.Text:
        return { type: NodeType.Text, pos: token.pos, tr: this.tree, text: token.val };
      case Item.LeftDelim: {
        this.actionLine = token.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      }
      case Item.Comment:
        return { type: NodeType.Comment, pos: token.pos, tr: this.tree, text: token.val };
    }
    this.unexpected(token, 'input');
  }

  private action(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case Item.Block:
        return this.blockControl();
      case Item.Break:
        return this.breakControl(token.pos, token.line);
      case Item.Continue:
        return this.continueControl(token.pos, token.line);
      case Item.Else:
        return this.elseControl();
      case Item.End:
        return this.endControl();
      case Item.If:
        return this.branchControl(NodeType.If, true, 'if');
      case Item.Range:
        return this.branchControl(NodeType.Range, false, 'range');
      case Item.Template:
        return this.templateControl();
      case Item.With:
        return this.branchControl(NodeType.With, false, 'with');
    }
    this.backup();
    const tok = this.peek();
    const pipe = this.pipeline('command', Item.RightDelim);
    const a: ActionNode = { type: NodeType.Action, pos: tok.pos, tr: this.tree, line: tok.line, pipe };
    return a;
  }

  private breakControl(pos: number, line: number): Node {
    const token = this.nextNonSpace();
    if (token.typ !== Item.RightDelim) this.unexpected(token, '{{break}}');
    if (this.rangeDepth === 0) this.errorf('{{break}} outside {{range}}');
    return { type: NodeType.Break, pos, tr: this.tree, line };
  }

  private continueControl(pos: number, line: number): Node {
    const token = this.nextNonSpace();
    if (token.typ !== Item.RightDelim) this.unexpected(token, '{{continue}}');
    if (this.rangeDepth === 0) this.errorf('{{continue}} outside {{range}}');
    return { type: NodeType.Continue, pos, tr: this.tree, line };
  }

  private pipeline(context: string, end: Item): PipeNode {
    const token = this.peekNonSpace();
    const pipe = this.newPipeline(token.pos, token.line);
    decls: for (;;) {
      const v = this.peekNonSpace();
      if (v.typ === Item.Variable) {
        this.next();
        // Since space is a token, we need 3-token look-ahead here in the worst case:
        // in "$x foo" we need to read "foo" (as opposed to ":=") to know that $x is an
        // argument variable rather than a declaration.
        const tokenAfterVariable = this.peek();
        const next = this.peekNonSpace();
        if (next.typ === Item.Assign || next.typ === Item.Declare) {
          pipe.isAssign = next.typ === Item.Assign;
          this.nextNonSpace();
          pipe.decl.push(this.newVariable(v.pos, v.val));
          this.vars.push(v.val);
        } else if (next.typ === Item.Char && next.val === ',') {
          this.nextNonSpace();
          pipe.decl.push(this.newVariable(v.pos, v.val));
          this.vars.push(v.val);
          if (context === 'range' && pipe.decl.length < 2) {
            const p = this.peekNonSpace().typ;
            if (p === Item.Variable || p === Item.RightDelim || p === Item.RightParen) {
              continue decls; // second initialized variable in a range pipeline
            }
            this.errorf('range can only initialize variables');
          }
          this.errorf(`too many declarations in ${context}`);
        } else if (tokenAfterVariable.typ === Item.Space) {
          this.backup3(v, tokenAfterVariable);
        } else {
          this.backup2(v);
        }
      }
      break;
    }
    for (;;) {
      const token = this.nextNonSpace();
      switch (token.typ) {
        case end:
          this.checkPipeline(pipe, context);
          return pipe;
        case Item.Bool:
        case Item.CharConstant:
        case Item.Complex:
        case Item.Dot:
        case Item.Field:
        case Item.Identifier:
        case Item.Number:
        case Item.Nil:
        case Item.RawString:
        case Item.String:
        case Item.Variable:
        case Item.LeftParen:
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(token, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    for (let i = 1; i < pipe.cmds.length; i++) {
      switch (pipe.cmds[i].args[0].type) {
        case NodeType.Bool:
        case NodeType.Dot:
        case NodeType.Nil:
        case NodeType.Number:
        case NodeType.String:
          this.errorf(`non executable command in pipeline stage ${i + 1}`);
      }
    }
  }

  private parseControl(allowElseIf: boolean, context: string): [number, number, PipeNode, ListNode, ListNode | null] {
    const mark = this.vars.length;
    try {
      const pipe = this.pipeline(context, Item.RightDelim);
      if (context === 'range') this.rangeDepth++;
      let list: ListNode;
      let next: Node;
      try {
        [list, next] = this.itemList();
      } finally {
        if (context === 'range') this.rangeDepth--;
      }
      let elseList: ListNode | null = null;
      if (next.type === NodeType.Else) {
        let done = false;
        if (allowElseIf && this.peek().typ === Item.If) {
          // "{{else if ...}}" is treated as "{{else}}{{if ...}}...{{end}}{{end}}"; only one
          // {{end}} is required.
          this.next();
          elseList = this.newList(next.pos);
          elseList.nodes.push(this.branchControl(NodeType.If, true, 'if'));
          done = true;
        }
        if (!done) {
          [elseList, next] = this.itemList();
          if (next.type !== NodeType.End) this.errorf(`expected end; found ${nodeString(next)}`);
        }
      }
      return [pipe.pos, pipe.line, pipe, list, elseList];
    } finally {
      this.vars.length = mark;
    }
  }

  private branchControl(type: NodeType.If | NodeType.Range | NodeType.With, allowElseIf: boolean, context: string): BranchNode {
    const [pos, line, pipe, list, elseList] = this.parseControl(allowElseIf, context);
    return { type, pos, tr: this.tree, line, pipe, list, elseList };
  }

  private endControl(): EndNode {
    const t = this.expect(Item.RightDelim, 'end');
    return { type: NodeType.End, pos: t.pos, tr: this.tree };
  }

  private elseControl(): ElseNode {
    const peek = this.peekNonSpace();
    if (peek.typ === Item.If) {
      // We see "{{else if ... " but in effect rewrite it to {{else}}{{if ... ".
      return { type: NodeType.Else, pos: peek.pos, tr: this.tree, line: peek.line };
    }
    const token = this.expect(Item.RightDelim, 'else');
    return { type: NodeType.Else, pos: token.pos, tr: this.tree, line: token.line };
  }

  private blockControl(): TemplateNode {
    const context = 'block clause';
    const token = this.nextNonSpace();
    const name = this.parseTemplateName(token, context);
    const pipe = this.pipeline(context, Item.RightDelim);
    const block = new TreeParser(name, this.tree.parseName, this.tree.text, this.stream, this.treeSet, this.funcs);
    const [list, end] = block.itemList();
    block.tree.root = list;
    if (end.type !== NodeType.End) this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    block.add();
    return { type: NodeType.Template, pos: token.pos, tr: this.tree, line: token.line, name, pipe };
  }

  private templateControl(): TemplateNode {
    const context = 'template clause';
    const token = this.nextNonSpace();
    const name = this.parseTemplateName(token, context);
    let pipe: PipeNode | null = null;
    if (this.nextNonSpace().typ !== Item.RightDelim) {
      this.backup();
      pipe = this.pipeline(context, Item.RightDelim);
    }
    return { type: NodeType.Template, pos: token.pos, tr: this.tree, line: token.line, name, pipe };
  }

  private parseTemplateName(token: Token, context: string): string {
    if (token.typ === Item.String || token.typ === Item.RawString) {
      try {
        return unquote(token.val);
      } catch (e) {
        if (e instanceof SyntaxErr) this.errorf('invalid syntax');
        throw e;
      }
    }
    this.unexpected(token, context);
  }

  private command(): CommandNode {
    const cmd: CommandNode = { type: NodeType.Command, pos: this.peekNonSpace().pos, tr: this.tree, args: [] };
    for (;;) {
      this.peekNonSpace(); // skip leading spaces
      const operand = this.operand();
      if (operand !== null) cmd.args.push(operand);
      const token = this.next();
      switch (token.typ) {
        case Item.Space:
          continue;
        case Item.RightDelim:
        case Item.RightParen:
          this.backup();
          break;
        case Item.Pipe:
          break;
        default:
          this.unexpected(token, 'operand');
      }
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  private operand(): Node | null {
    let node = this.term();
    if (node === null) return null;
    if (this.peek().typ === Item.Field) {
      const chain: ChainNode = { type: NodeType.Chain, pos: this.peek().pos, tr: this.tree, node, field: [] };
      while (this.peek().typ === Item.Field) {
        const f = this.next().val;
        // Go's ChainNode.Add: strip the leading '.', reject empty/odd fields.
        if (f.length === 0 || f[0] !== '.') throw new Error('no dot in field');
        const name = f.slice(1);
        if (name === '') throw new Error('empty field');
        chain.field.push(name);
      }
      switch (node.type) {
        case NodeType.Field:
          node = { type: NodeType.Field, pos: chain.pos, tr: this.tree, ident: [...node.ident, ...chain.field] };
          break;
        case NodeType.Variable:
          node = { type: NodeType.Variable, pos: chain.pos, tr: this.tree, ident: [...node.ident, ...chain.field] };
          break;
        case NodeType.Bool:
        case NodeType.String:
        case NodeType.Number:
        case NodeType.Nil:
        case NodeType.Dot:
          this.errorf(`unexpected . after term ${goQuote(nodeString(node))}`);
        default:
          node = chain;
      }
    }
    return node;
  }

  private term(): Node | null {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case Item.Error:
        this.errorf(token.val);
      case Item.Identifier: {
        if (!this.funcs.has(token.val)) this.errorf(`function ${goQuote(token.val)} not defined`);
        const f = this.funcs.find(token.val);
        return {
          type: NodeType.Identifier,
          pos: token.pos,
          tr: this.tree,
          ident: token.val,
          fn: f ? f.fn : null,
          isBuiltin: f ? f.isBuiltin : false,
        };
      }
      case Item.Dot:
        return { type: NodeType.Dot, pos: token.pos, tr: this.tree };
      case Item.Nil:
        return { type: NodeType.Nil, pos: token.pos, tr: this.tree };
      case Item.Variable:
        return this.useVar(token.pos, token.val);
      case Item.Field:
        return { type: NodeType.Field, pos: token.pos, tr: this.tree, ident: token.val.slice(1).split('.') };
      case Item.Bool:
        return { type: NodeType.Bool, pos: token.pos, tr: this.tree, value: token.val === 'true' };
      case Item.CharConstant:
      case Item.Complex:
      case Item.Number:
        return this.newNumber(token.pos, token.val, token.typ);
      case Item.LeftParen:
        return this.pipeline('parenthesized pipeline', Item.RightParen);
      case Item.String:
      case Item.RawString: {
        let s: string;
        try {
          s = unquote(token.val);
        } catch (e) {
          if (e instanceof SyntaxErr) this.errorf('invalid syntax');
          throw e;
        }
        return { type: NodeType.String, pos: token.pos, tr: this.tree, quoted: token.val, text: s };
      }
    }
    this.backup();
    return null;
  }

  private useVar(pos: number, name: string): VariableNode {
    const v = this.newVariable(pos, name);
    for (const varName of this.vars) if (varName === v.ident[0]) return v;
    this.errorf(`undefined variable ${goQuote(v.ident[0])}`);
  }
}

/** Go's item.String(). */
function itemString(t: Token): string {
  if (t.typ === Item.EOF) return 'EOF';
  if (t.typ === Item.Error) return t.val;
  if (t.typ > Item.Keyword) return `<${t.val}>`;
  if ([...t.val].length > 10) return goQuote([...t.val].slice(0, 10).join('')) + '...';
  return goQuote(t.val);
}

/**
 * parse.Parse: parses `text` as template `name` (ParseName = name) and returns every tree it
 * defines (the top-level one and each {{define}}/{{block}}), keyed by template name.
 */
export function parseTrees(name: string, text: string, funcs: FuncResolver): Map<string, Tree> {
  const treeSet = new Map<string, Tree>();
  const toks = lex(name, text, !funcs.has('break'), !funcs.has('continue'));
  const stream: TokenStream = { toks, i: 0 };
  const p = new TreeParser(name, name, text, stream, treeSet, funcs);
  p.parse();
  p.add();
  for (const tree of treeSet.values()) if (tree.root !== null) tree.root = uniform(tree.root);
  return treeSet;
}
