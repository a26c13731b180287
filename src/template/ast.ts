/**
 * Parse tree nodes (port of text/template/parse/node.go), with Go's String() forms, which
 * appear in error messages ("executing ... at <index .a 1>").
 */
import type { ParamKind } from './funcs/types';
import type { GoValue } from './values';
import { goQuote } from './fmt';

/** Parameter kinds the engine understands: ggn's ParamKind plus Go's reflect.Value (builtins). */
export type EngineParamKind = ParamKind | 'value';

/** A callable: a ggn FuncDef, a builtin, or a bound method of an opaque value. */
export interface EngineFunc {
  params: readonly EngineParamKind[];
  variadic?: EngineParamKind;
  fn: (...args: any[]) => any;
}

export const enum NodeType {
  Text,
  Action,
  Bool,
  Chain,
  Command,
  Dot,
  Else, // internal
  End, // internal
  Field,
  Identifier,
  If,
  List,
  Nil,
  Number,
  Pipe,
  Range,
  String,
  Template,
  Variable,
  With,
  Comment,
  Break,
  Continue,
}

/** One parsed template (Go's parse.Tree). */
export interface Tree {
  name: string;
  /** Name of the top-level template during parsing, for error messages (e.g. the file path). */
  parseName: string;
  /** The text parsed to create the template (or its parent). */
  text: string;
  root: ListNode | null;
}

export interface NodeBase {
  type: NodeType;
  pos: number;
  tr: Tree;
}

export interface TextNode extends NodeBase {
  type: NodeType.Text;
  text: string;
}
export interface CommentNode extends NodeBase {
  type: NodeType.Comment;
  text: string;
}
export interface ListNode extends NodeBase {
  type: NodeType.List;
  nodes: Node[];
}
export interface PipeNode extends NodeBase {
  type: NodeType.Pipe;
  line: number;
  isAssign: boolean;
  decl: VariableNode[];
  cmds: CommandNode[];
}
export interface ActionNode extends NodeBase {
  type: NodeType.Action;
  line: number;
  pipe: PipeNode;
}
export interface CommandNode extends NodeBase {
  type: NodeType.Command;
  args: Node[];
}
export interface IdentifierNode extends NodeBase {
  type: NodeType.Identifier;
  ident: string;
  /** Resolved at parse time: user functions shadow builtins (Go's findFunction). */
  fn: EngineFunc | null;
  isBuiltin: boolean;
}
export interface VariableNode extends NodeBase {
  type: NodeType.Variable;
  ident: string[];
}
export interface DotNode extends NodeBase {
  type: NodeType.Dot;
}
export interface NilNode extends NodeBase {
  type: NodeType.Nil;
}
export interface FieldNode extends NodeBase {
  type: NodeType.Field;
  ident: string[];
}
export interface ChainNode extends NodeBase {
  type: NodeType.Chain;
  node: Node;
  field: string[];
}
export interface BoolNode extends NodeBase {
  type: NodeType.Bool;
  value: boolean;
}
export interface NumberNode extends NodeBase {
  type: NodeType.Number;
  isInt: boolean;
  isUint: boolean;
  isFloat: boolean;
  isComplex: boolean;
  int64: bigint;
  uint64: bigint;
  float64: number;
  text: string;
  /** Go's idealConstant: the value the number has in an untyped context. */
  ideal: GoValue | undefined;
  /** Error idealConstant reports (e.g. "... overflows int"), if any. */
  idealError: string | null;
}
export interface StringNode extends NodeBase {
  type: NodeType.String;
  quoted: string;
  text: string;
}
export interface EndNode extends NodeBase {
  type: NodeType.End;
}
export interface ElseNode extends NodeBase {
  type: NodeType.Else;
  line: number;
}
export interface BranchNode extends NodeBase {
  type: NodeType.If | NodeType.Range | NodeType.With;
  line: number;
  pipe: PipeNode;
  list: ListNode;
  elseList: ListNode | null;
}
export interface TemplateNode extends NodeBase {
  type: NodeType.Template;
  line: number;
  name: string;
  pipe: PipeNode | null;
}
export interface BreakNode extends NodeBase {
  type: NodeType.Break;
  line: number;
}
export interface ContinueNode extends NodeBase {
  type: NodeType.Continue;
  line: number;
}

export type Node =
  | TextNode
  | CommentNode
  | ListNode
  | PipeNode
  | ActionNode
  | CommandNode
  | IdentifierNode
  | VariableNode
  | DotNode
  | NilNode
  | FieldNode
  | ChainNode
  | BoolNode
  | NumberNode
  | StringNode
  | EndNode
  | ElseNode
  | BranchNode
  | TemplateNode
  | BreakNode
  | ContinueNode;

/** Go's Node.String(). */
export function nodeString(n: Node): string {
  switch (n.type) {
    case NodeType.Text:
      return n.text;
    case NodeType.Comment:
      return '{{' + n.text + '}}';
    case NodeType.List:
      return n.nodes.map(nodeString).join('');
    case NodeType.Pipe: {
      let s = '';
      if (n.decl.length > 0) {
        s += n.decl.map(nodeString).join(', ') + ' := ';
      }
      s += n.cmds.map(nodeString).join(' | ');
      return s;
    }
    case NodeType.Action:
      return '{{' + nodeString(n.pipe) + '}}';
    case NodeType.Command:
      return n.args.map((a) => (a.type === NodeType.Pipe ? '(' + nodeString(a) + ')' : nodeString(a))).join(' ');
    case NodeType.Identifier:
      return n.ident;
    case NodeType.Variable:
      return n.ident.join('.');
    case NodeType.Dot:
      return '.';
    case NodeType.Nil:
      return 'nil';
    case NodeType.Field:
      return '.' + n.ident.join('.');
    case NodeType.Chain: {
      let s = n.node.type === NodeType.Pipe ? '(' + nodeString(n.node) + ')' : nodeString(n.node);
      for (const f of n.field) s += '.' + f;
      return s;
    }
    case NodeType.Bool:
      return n.value ? 'true' : 'false';
    case NodeType.Number:
      return n.text;
    case NodeType.String:
      return n.quoted;
    case NodeType.End:
      return '{{end}}';
    case NodeType.Else:
      return '{{else}}';
    case NodeType.If:
    case NodeType.Range:
    case NodeType.With: {
      const name = n.type === NodeType.If ? 'if' : n.type === NodeType.Range ? 'range' : 'with';
      let s = '{{' + name + ' ' + nodeString(n.pipe) + '}}' + nodeString(n.list);
      if (n.elseList) s += '{{else}}' + nodeString(n.elseList);
      return s + '{{end}}';
    }
    case NodeType.Template:
      return '{{template ' + goQuote(n.name) + (n.pipe ? ' ' + nodeString(n.pipe) : '') + '}}';
    case NodeType.Break:
      return '{{break}}';
    case NodeType.Continue:
      return '{{continue}}';
  }
}

/** parse.IsEmptyTree */
export function isEmptyTree(n: Node | null): boolean {
  if (n === null) return true;
  switch (n.type) {
    case NodeType.Comment:
      return true;
    case NodeType.List:
      for (const c of n.nodes) if (!isEmptyTree(c)) return false;
      return true;
    case NodeType.Text:
      return n.text.trim().length === 0;
  }
  return false;
}

/**
 * All nodes share one object shape (one V8 hidden class), so that the evaluator's property
 * loads stay monomorphic. `uniform` copies a parsed tree into that shape.
 */
class UniformNode {
  type: NodeType = NodeType.Text;
  pos = 0;
  tr: Tree | null = null;
  text: string = '';
  line = 0;
  pipe: unknown = null;
  isAssign = false;
  decl: unknown = null;
  cmds: unknown = null;
  args: unknown = null;
  ident: unknown = null;
  fn: unknown = null;
  isBuiltin = false;
  node: unknown = null;
  field: unknown = null;
  value = false;
  isInt = false;
  isUint = false;
  isFloat = false;
  isComplex = false;
  int64: bigint = 0n;
  uint64: bigint = 0n;
  float64 = 0.5;
  quoted = '';
  ideal: unknown = undefined;
  idealError: unknown = null;
  nodes: unknown = null;
  list: unknown = null;
  elseList: unknown = null;
  name = '';
}

function uniformList<T extends Node>(ns: T[]): T[] {
  return ns.map((n) => uniform(n));
}

export function uniform<T extends Node>(n: T): T {
  const u = new UniformNode() as any;
  const src = n as any;
  for (const k of Object.keys(src)) u[k] = src[k];
  switch (n.type) {
    case NodeType.List:
      u.nodes = uniformList(n.nodes);
      break;
    case NodeType.Pipe:
      u.decl = uniformList(n.decl);
      u.cmds = uniformList(n.cmds);
      break;
    case NodeType.Action:
      u.pipe = uniform(n.pipe);
      break;
    case NodeType.Command:
      u.args = uniformList(n.args);
      break;
    case NodeType.Chain:
      u.node = uniform(n.node);
      break;
    case NodeType.If:
    case NodeType.Range:
    case NodeType.With:
      u.pipe = uniform(n.pipe);
      u.list = uniform(n.list);
      u.elseList = n.elseList ? uniform(n.elseList) : null;
      break;
    case NodeType.Template:
      u.pipe = n.pipe ? uniform(n.pipe) : null;
      break;
  }
  return u as T;
}
