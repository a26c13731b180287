/**
 * Evaluator for parsed templates (port of Go 1.19 text/template/exec.go).
 *
 * Value model during execution (see values.ts):
 *   undefined  Go's invalid reflect.Value (missing map key, nil data): prints "<no value>"
 *   null       a nil interface{} (a YAML null stored in a map or list, a func returning nil)
 * After every pipeline stage Go "unwraps" interface values, so a nil interface becomes invalid:
 * pipelines never yield null. Fields of an invalid value are invalid; fields of a nil
 * interface are an error ("nil pointer evaluating interface {}.x"), as in Go.
 *
 * Where Go would need the static type of a value (error texts like "can't evaluate field x in
 * type interface {}"), the engine tracks whether the value came out of an interface{} slot
 * (map value, []interface{} element) with `iface` flags next to dot and variables.
 */
import {
  NodeType,
  nodeString,
  type ActionNode,
  type BranchNode,
  type ChainNode,
  type CommandNode,
  type EngineFunc,
  type EngineParamKind,
  type FieldNode,
  type IdentifierNode,
  type Node,
  type NumberNode,
  type PipeNode,
  type TemplateNode,
  type Tree,
  type VariableNode,
} from './ast';
import { truth } from './builtins';
import { ExecLimits, NO_LIMITS, withLimits } from './limits';
import { formatValue, goQuote, goTypeName, sortedKeys, utf8Len } from './fmt';
import { GoStringSlice, isGoMap } from './values';
import type { GoMap, GoOpaque, GoValue } from './values';

export class TemplateExecError extends Error {
  /** ParseName of the tree holding the failing node (e.g. the unit file or the partial). */
  file: string;
  line: number;
  /** Go's column: byte offset of the node in its line (0-based). */
  col: number;
  /** Output produced before the error (Go writes it to the unit file). */
  partialOutput: string;
  constructor(message: string, file: string, line: number, col: number, partialOutput: string) {
    super(message);
    this.name = 'TemplateExecError';
    this.file = file;
    this.line = line;
    this.col = col;
    this.partialOutput = partialOutput;
  }
}

type Val = GoValue | undefined;
/** Go's missingVal: "no final argument from a previous pipeline stage". */
const MISSING: unique symbol = Symbol('missing');
type Final = Val | typeof MISSING;

const maxExecDepth = 100000;
const BREAK = 1;
const CONTINUE = 2;

function goParamType(k: EngineParamKind): string {
  switch (k) {
    case 'any':
      return 'interface {}';
    case 'string':
      return 'string';
    case 'int':
      return 'int';
    case 'float':
      return 'float64';
    case 'bool':
      return 'bool';
    case 'stringList':
      return '[]string';
    case 'list':
      return '[]interface {}';
    case 'map':
      return 'map[string]interface {}';
    case 'value':
      return 'reflect.Value';
  }
}

function canBeNil(k: EngineParamKind): boolean {
  return k === 'any' || k === 'value' || k === 'list' || k === 'map' || k === 'stringList';
}

/** Go's ErrorContext: "NAME:LINE:COL" and the node's text. */
export function errorContext(n: Node): { file: string; line: number; col: number; context: string } {
  const tree = n.tr;
  const text = tree.text.slice(0, n.pos);
  const nl = text.lastIndexOf('\n');
  const col = nl === -1 ? utf8Len(text) : utf8Len(text.slice(nl + 1));
  let line = 1;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return { file: tree.parseName, line, col, context: nodeString(n) };
}

export class ExecState {
  /** The output so far, as pieces joined once at the end: one flat string, where appending to a
   * string made a rope that cost more to flatten (when encoded for writing) than to build. */
  private parts: string[] = [];
  private outLength = 0;
  node: Node | null = null;
  tmplName: string;
  depth = 0;
  /** Whether the value last returned by a field/variable evaluation sits in an interface slot. */
  lastIface = false;
  varNames: string[];
  varValues: Val[];
  varIfaces: boolean[];
  nvars = 1;

  constructor(
    private readonly set: Map<string, Tree>,
    name: string,
    data: Val,
    private readonly limits: ExecLimits = NO_LIMITS,
  ) {
    this.tmplName = name;
    this.varNames = ['$'];
    this.varValues = [data];
    this.varIfaces = [false];
  }

  // --- errors ---------------------------------------------------------------------------------

  errorf(msg: string): never {
    const name = this.tmplName;
    if (this.node === null) {
      throw new TemplateExecError(`template: ${name}: ${msg}`, name, 0, 0, this.out);
    }
    const c = errorContext(this.node);
    throw new TemplateExecError(
      `template: ${c.file}:${c.line}:${c.col}: executing ${goQuote(name)} at <${c.context}>: ${msg}`,
      c.file,
      c.line,
      c.col,
      this.out,
    );
  }

  // --- variables ------------------------------------------------------------------------------
  // A push-down stack held in parallel arrays; nvars is its height (no array resizing).

  private push(name: string, value: Val, iface: boolean): void {
    const n = this.nvars++;
    this.varNames[n] = name;
    this.varValues[n] = value;
    this.varIfaces[n] = iface;
  }

  private pop(mark: number): void {
    const n = this.nvars;
    if (n !== mark) {
      for (let i = mark; i < n; i++) this.varValues[i] = undefined; // release references
      this.nvars = mark;
    }
  }

  private setVar(name: string, value: Val): void {
    const names = this.varNames;
    for (let i = this.nvars - 1; i >= 0; i--) {
      if (names[i] === name) {
        this.varValues[i] = value;
        this.varIfaces[i] = false;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  private setTopVar(n: number, value: Val, iface: boolean): void {
    const i = this.nvars - n;
    this.varValues[i] = value;
    this.varIfaces[i] = iface;
  }

  private varValue(name: string): Val {
    const names = this.varNames;
    for (let i = this.nvars - 1; i >= 0; i--) {
      if (names[i] === name) {
        this.lastIface = this.varIfaces[i];
        return this.varValues[i];
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  // --- walk -----------------------------------------------------------------------------------

  /** Returns 0, or BREAK / CONTINUE when a {{break}} / {{continue}} was executed. */
  walk(dot: Val, dotIface: boolean, node: Node): number {
    this.node = node;
    switch (node.type) {
      case NodeType.Text:
        this.emit(node.text);
        return 0;
      case NodeType.List: {
        const nodes = node.nodes;
        for (let i = 0; i < nodes.length; i++) {
          const c = this.walk(dot, dotIface, nodes[i]);
          if (c !== 0) return c;
        }
        return 0;
      }
      case NodeType.Action: {
        const val = this.evalPipeline(dot, dotIface, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return 0;
      }
      case NodeType.If:
      case NodeType.With:
        return this.walkIfOrWith(dot, dotIface, node);
      case NodeType.Range:
        return this.walkRange(dot, dotIface, node);
      case NodeType.Template:
        this.walkTemplate(dot, dotIface, node);
        return 0;
      case NodeType.Comment:
        return 0;
      case NodeType.Break:
        return BREAK;
      case NodeType.Continue:
        return CONTINUE;
    }
    this.errorf(`unknown node: ${nodeString(node)}`);
  }

  private walkIfOrWith(dot: Val, dotIface: boolean, node: BranchNode): number {
    const mark = this.nvars;
    const val = this.evalPipeline(dot, dotIface, node.pipe);
    let c = 0;
    if (truth(val)) {
      if (node.type === NodeType.With) c = this.walk(val, false, node.list);
      else c = this.walk(dot, dotIface, node.list);
    } else if (node.elseList !== null) {
      c = this.walk(dot, dotIface, node.elseList);
    }
    this.pop(mark);
    return c;
  }

  private walkRange(dot: Val, dotIface: boolean, r: BranchNode): number {
    this.node = r;
    const mark0 = this.nvars;
    const val = this.evalPipeline(dot, dotIface, r.pipe);
    const mark = this.nvars;
    const ndecl = r.pipe.decl.length;
    let iterated = false;
    if (Array.isArray(val)) {
      if (val.length > 0) {
        iterated = true;
        const elemIface = !(val instanceof GoStringSlice);
        for (let i = 0; i < val.length; i++) {
          const elem = val[i];
          if (ndecl > 0) this.setTopVar(1, elem, elemIface);
          if (ndecl > 1) this.setTopVar(2, BigInt(i), false);
          const c = this.walk(elem, elemIface, r.list);
          this.pop(mark);
          if (c === BREAK) break;
        }
      }
    } else if (val !== undefined && isGoMap(val)) {
      const keys = sortedKeys(val);
      if (keys.length > 0) {
        iterated = true;
        for (let i = 0; i < keys.length; i++) {
          const elem = (val as GoMap)[keys[i]];
          if (ndecl > 0) this.setTopVar(1, elem, true);
          if (ndecl > 1) this.setTopVar(2, keys[i], false);
          const c = this.walk(elem, true, r.list);
          this.pop(mark);
          if (c === BREAK) break;
        }
      }
    } else if (val !== undefined) {
      this.errorf(`range can't iterate over ${formatValue(val)}`);
    }
    // Go walks the else list outside the iteration's recover: a {{break}} there only ends this
    // range, but a {{continue}} reaches the enclosing range's iteration (Go 1.19 semantics).
    const c = !iterated && r.elseList !== null ? this.walk(dot, dotIface, r.elseList) : 0;
    this.pop(mark0);
    return c === CONTINUE ? CONTINUE : 0;
  }

  private walkTemplate(dot: Val, dotIface: boolean, t: TemplateNode): void {
    this.node = t;
    const tree = this.set.get(t.name);
    if (tree === undefined || tree.root === null) this.errorf(`template ${goQuote(t.name)} not defined`);
    if (this.depth === maxExecDepth) this.errorf(`exceeded maximum template depth (${maxExecDepth})`);
    const newDot = this.evalPipeline(dot, dotIface, t.pipe);
    const saved = [this.tmplName, this.varNames, this.varValues, this.varIfaces, this.nvars] as const;
    this.tmplName = tree.name;
    this.varNames = ['$'];
    this.varValues = [newDot];
    this.varIfaces = [false];
    this.nvars = 1;
    this.depth++;
    this.walk(newDot, false, tree.root);
    this.depth--;
    [this.tmplName, this.varNames, this.varValues, this.varIfaces, this.nvars] = saved;
    this.node = t;
  }

  // --- evaluation -----------------------------------------------------------------------------

  evalPipeline(dot: Val, dotIface: boolean, pipe: PipeNode | null): Val {
    if (pipe === null) return undefined;
    this.node = pipe;
    let value: Final = MISSING;
    const cmds = pipe.cmds;
    for (let i = 0; i < cmds.length; i++) {
      value = this.evalCommand(dot, dotIface, cmds[i], value);
      // A nil interface{} unwraps to the invalid value.
      if (value === null) value = undefined;
    }
    const decl = pipe.decl;
    for (let i = 0; i < decl.length; i++) {
      if (pipe.isAssign) this.setVar(decl[i].ident[0], value as Val);
      else this.push(decl[i].ident[0], value as Val, false);
    }
    return value as Val;
  }

  private notAFunction(args: Node[] | null, final: Final): void {
    if ((args !== null && args.length > 1) || final !== MISSING) {
      this.errorf(`can't give argument to non-function ${args ? nodeString(args[0]) : ''}`);
    }
  }

  private evalCommand(dot: Val, dotIface: boolean, cmd: CommandNode, final: Final): Val {
    const first = cmd.args[0];
    switch (first.type) {
      case NodeType.Field:
        return this.evalFieldNode(dot, dotIface, first, cmd.args, final);
      case NodeType.Chain:
        return this.evalChainNode(dot, dotIface, first, cmd.args, final);
      case NodeType.Identifier:
        return this.evalFunction(dot, dotIface, first, cmd, cmd.args, final);
      case NodeType.Pipe:
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, dotIface, first);
      case NodeType.Variable:
        return this.evalVariableNode(dot, dotIface, first, cmd.args, final);
    }
    this.node = first;
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case NodeType.Bool:
        return first.value;
      case NodeType.Dot:
        return dot;
      case NodeType.Nil:
        this.errorf('nil is not a command');
      case NodeType.Number:
        return this.idealConstant(first);
      case NodeType.String:
        return first.text;
    }
    this.errorf(`can't evaluate command ${goQuote(nodeString(first))}`);
  }

  private idealConstant(n: NumberNode): Val {
    this.node = n;
    if (n.idealError !== null) this.errorf(n.idealError);
    return n.ideal;
  }

  private evalFieldNode(dot: Val, dotIface: boolean, field: FieldNode, args: Node[] | null, final: Final): Val {
    this.node = field;
    return this.evalFieldChain(dot, dotIface, dot, dotIface, field, field.ident, 0, args, final);
  }

  private evalChainNode(dot: Val, dotIface: boolean, chain: ChainNode, args: Node[] | null, final: Final): Val {
    this.node = chain;
    if (chain.field.length === 0) this.errorf('internal error: no fields in evalChainNode');
    if (chain.node.type === NodeType.Nil) this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, dotIface, null, chain.node);
    return this.evalFieldChain(dot, dotIface, pipe, this.lastIface, chain, chain.field, 0, args, final);
  }

  private evalVariableNode(dot: Val, dotIface: boolean, variable: VariableNode, args: Node[] | null, final: Final): Val {
    this.node = variable;
    const value = this.varValue(variable.ident[0]);
    if (variable.ident.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, dotIface, value, this.lastIface, variable, variable.ident, 1, args, final);
  }

  private evalFieldChain(
    dot: Val,
    dotIface: boolean,
    receiver: Val,
    recvIface: boolean,
    node: Node,
    ident: string[],
    start: number,
    args: Node[] | null,
    final: Final,
  ): Val {
    const n = ident.length;
    for (let i = start; i < n - 1; i++) {
      receiver = this.evalField(dot, dotIface, ident[i], node, null, MISSING, receiver, recvIface);
      recvIface = this.lastIface;
    }
    return this.evalField(dot, dotIface, ident[n - 1], node, args, final, receiver, recvIface);
  }

  private evalFunction(dot: Val, dotIface: boolean, node: IdentifierNode, cmd: Node, args: Node[] | null, final: Final): Val {
    this.node = node;
    const fn = node.fn;
    if (fn === null) this.errorf(`${goQuote(node.ident)} is not a defined function`);
    return this.evalCall(dot, dotIface, fn, node.isBuiltin, cmd, node.ident, args, final);
  }

  private evalField(dot: Val, dotIface: boolean, fieldName: string, node: Node, args: Node[] | null, final: Final, receiver: Val, recvIface: boolean): Val {
    if (receiver === undefined) {
      this.lastIface = false;
      return undefined;
    }
    if (receiver === null) this.errorf(`nil pointer evaluating interface {}.${fieldName}`);
    if (typeof receiver === 'object' && !Array.isArray(receiver)) {
      const o = receiver as GoOpaque;
      if (o.__goOpaque === true) {
        const m = o.methods;
        if (m !== undefined && Object.prototype.hasOwnProperty.call(m, fieldName)) {
          return this.evalCall(dot, dotIface, m[fieldName], false, node, fieldName, args, final);
        }
      } else if ((receiver as any).__goFunc !== true) {
        // A map[string]interface{}: the field name is a key.
        if ((args !== null && args.length > 1) || final !== MISSING) {
          this.errorf(`${fieldName} is not a method but has arguments`);
        }
        this.lastIface = true;
        return (receiver as GoMap)[fieldName];
      }
    }
    const typ = recvIface ? 'interface {}' : goTypeName(receiver);
    this.errorf(`can't evaluate field ${fieldName} in type ${typ}`);
  }

  private evalCall(dot: Val, dotIface: boolean, fn: EngineFunc, isBuiltin: boolean, node: Node, name: string, args: Node[] | null, final: Final): Val {
    const nargs = args === null ? 0 : args.length - 1;
    const numIn = final !== MISSING ? nargs + 1 : nargs;
    const params = fn.params;
    const variadic = fn.variadic;
    let numFixed = nargs;
    if (variadic !== undefined) {
      numFixed = params.length;
      if (numIn < numFixed) this.errorf(`wrong number of args for ${name}: want at least ${params.length} got ${nargs}`);
    } else if (numIn !== params.length) {
      this.errorf(`wrong number of args for ${name}: want ${params.length} got ${numIn}`);
    }

    // Special case for builtin and/or, which short-circuit.
    if (isBuiltin && (name === 'and' || name === 'or')) {
      const isOr = name === 'or';
      let v: Val = undefined;
      for (let i = 1; i <= nargs; i++) {
        v = this.evalArg(dot, dotIface, 'value', args![i]);
        if (truth(v === null ? undefined : v) === isOr) return v;
      }
      if (final !== MISSING) v = this.validateType(final, false, 'value');
      return v;
    }

    const argv: Val[] = new Array(numIn);
    let i = 0;
    for (; i < numFixed && i < nargs; i++) argv[i] = this.evalArg(dot, dotIface, params[i], args![i + 1]);
    if (variadic !== undefined) {
      for (; i < nargs; i++) argv[i] = this.evalArg(dot, dotIface, variadic, args![i + 1]);
    }
    if (final !== MISSING) {
      let t: EngineParamKind = params[params.length - 1];
      if (variadic !== undefined) t = numIn - 1 < numFixed ? params[numIn - 1] : variadic;
      argv[i] = this.validateType(final, false, t);
    }
    let v: Val;
    try {
      v = fn.fn.apply(null, argv);
    } catch (e) {
      if (e instanceof TemplateExecError) throw e;
      // A JS stack overflow is the engine's recursion limit, not the function's error.
      if (e instanceof RangeError && /call stack/i.test(e.message)) throw e;
      this.node = node;
      this.errorf(`error calling ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (typeof v === 'string' && v.length > this.limits.maxString) {
      this.node = node;
      this.errorf(`error calling ${name}: its result (${v.length} characters) is larger than ${this.limits.what}`);
    }
    this.lastIface = false;
    return v === undefined && !isBuiltin ? null : v;
  }

  private validateType(value: Val, _iface: boolean, typ: EngineParamKind | null): Val {
    if (value === undefined) {
      if (typ === null || typ === 'value') return undefined;
      if (canBeNil(typ)) return null;
      this.errorf(`invalid value; expected ${goParamType(typ)}`);
    }
    if (typ === null || typ === 'any' || typ === 'value') return value;
    if (value !== null) {
      switch (typ) {
        case 'string':
          if (typeof value === 'string') return value;
          break;
        case 'int':
          if (typeof value === 'bigint') return value;
          break;
        case 'float':
          if (typeof value === 'number') return value;
          break;
        case 'bool':
          if (typeof value === 'boolean') return value;
          break;
        case 'stringList':
          if (value instanceof GoStringSlice) return value;
          break;
        case 'list':
          if (Array.isArray(value) && !(value instanceof GoStringSlice)) return value;
          break;
        case 'map':
          if (isGoMap(value)) return value;
          break;
      }
    }
    // A nil interface{} keeps its static type in Go's message.
    const got = value === null ? 'interface {}' : goTypeName(value);
    this.errorf(`wrong type for value; expected ${goParamType(typ)}; got ${got}`);
  }

  private evalArg(dot: Val, dotIface: boolean, typ: EngineParamKind | null, n: Node): Val {
    this.node = n;
    switch (n.type) {
      case NodeType.Dot:
        return this.validateType(dot, dotIface, typ);
      case NodeType.Nil:
        if (typ !== null && canBeNil(typ)) return typ === 'value' ? undefined : null;
        this.errorf(`cannot assign nil to ${typ === null ? '<nil>' : goParamType(typ)}`);
      case NodeType.Field: {
        const v = this.evalFieldNode(dot, dotIface, n, null, MISSING);
        return this.validateType(v, this.lastIface, typ);
      }
      case NodeType.Variable: {
        const v = this.evalVariableNode(dot, dotIface, n, null, MISSING);
        return this.validateType(v, this.lastIface, typ);
      }
      case NodeType.Pipe: {
        const v = this.evalPipeline(dot, dotIface, n);
        this.lastIface = false;
        return this.validateType(v, false, typ);
      }
      case NodeType.Identifier: {
        const v = this.evalFunction(dot, dotIface, n, n, null, MISSING);
        this.lastIface = false;
        return this.validateType(v, false, typ);
      }
      case NodeType.Chain: {
        const v = this.evalChainNode(dot, dotIface, n, null, MISSING);
        return this.validateType(v, this.lastIface, typ);
      }
    }
    this.lastIface = false;
    switch (typ) {
      case 'bool':
        if (n.type === NodeType.Bool) return n.value;
        this.errorf(`expected bool; found ${nodeString(n)}`);
      case 'float':
        if (n.type === NodeType.Number && n.isFloat) return n.float64;
        this.errorf(`expected float; found ${nodeString(n)}`);
      case 'int':
        if (n.type === NodeType.Number && n.isInt) return n.int64;
        this.errorf(`expected integer; found ${nodeString(n)}`);
      case 'string':
        if (n.type === NodeType.String) return n.text;
        this.errorf(`expected string; found ${nodeString(n)}`);
      case 'any':
      case 'value':
        return this.evalEmptyInterface(n);
    }
    this.errorf(`can't handle ${nodeString(n)} for arg of type ${typ === null ? '<nil>' : goParamType(typ)}`);
  }

  private evalEmptyInterface(n: Node): Val {
    this.node = n;
    switch (n.type) {
      case NodeType.Bool:
        return n.value;
      case NodeType.Number:
        return this.idealConstant(n);
      case NodeType.String:
        return n.text;
      case NodeType.Nil:
        this.errorf("evalEmptyInterface: nil (can't happen)");
    }
    this.errorf(`can't handle assignment of ${nodeString(n)} to empty interface argument`);
  }

  private printValue(node: ActionNode, v: Val): void {
    this.node = node;
    switch (typeof v) {
      case 'string':
        this.emit(v);
        return;
      case 'undefined':
        this.limits.onNoValue?.(errorContext(node));
        this.emit('<no value>');
        return;
      case 'bigint':
        this.emit(v.toString());
        return;
      case 'object':
        if (v !== null && (v as any).__goFunc === true) {
          this.errorf(`can't print ${nodeString(node)} of type ${goTypeName(v)}`);
        }
        if (v !== null && (v as GoOpaque).formatDeref !== undefined) {
          this.append((v as GoOpaque).formatDeref!());
          return;
        }
    }
    this.emit(formatValue(v));
  }

  /** Appends to the output, refusing to grow it past the limit (checked as it is written). */
  private emit(s: string): void {
    if (this.outLength + s.length > this.limits.maxOutput) {
      this.errorf(`the rendered output is larger than ${this.limits.what}`);
    }
    this.append(s);
  }

  private append(s: string): void {
    this.parts.push(s);
    this.outLength += s.length;
  }

  get out(): string {
    return this.parts.join('');
  }

  /** Runs the template's tree. */
  run(tree: Tree, data: Val): string {
    if (tree.root === null) this.errorf(`${goQuote(this.tmplName)} is an incomplete or empty template`);
    try {
      withLimits(this.limits, () => this.walk(data, false, tree.root!));
    } catch (e) {
      if (e instanceof RangeError && /call stack/i.test(e.message)) {
        this.errorf(`exceeded maximum template depth (${maxExecDepth})`);
      }
      throw e;
    }
    return this.out;
  }
}
