/**
 * ggn's Go text/template engine (Go 1.19 semantics): lexer -> parser (AST) -> evaluator.
 *
 *   const t = Template.parse('/path/unit.tmpl', text, funcMap, { partials: [{ name, text }] });
 *   const out = t.execute(data);            // throws TemplateExecError (with .partialOutput)
 *
 * Parsing throws TemplateParseError with Go's message (`template: NAME:LINE: MSG`).
 * A Template is immutable after parsing and can be executed any number of times.
 *
 * Template sets: like Go, every text is parsed into one set of named templates. Partials
 * (GGN's *.partial files) are parsed first, in the given order, each under its own name (which
 * is the ParseName used in their error messages); then the main text under `name`. As in Go's
 * Template.AddParseTree, a later definition of a name replaces an earlier one unless the later
 * one is empty. `addParseTree(name, text)` adds another text to the set afterwards (Go's
 * t.New(name).Parse(text)).
 */
import { isEmptyTree, type EngineFunc, type Tree } from './ast';
import { builtins } from './builtins';
import { ExecState, TemplateExecError } from './exec';
import type { ExecLimits } from './limits';
import type { FuncMap } from './funcs/types';
import { parseTrees, type FuncResolver } from './parser';
import type { GoValue } from './values';

export { TemplateExecError } from './exec';
export type { ExecLimits } from './limits';
export { TemplateParseError } from './parser';
export { formatValue, sprint, sprintf, sprintln, formatFloat, goQuote, goTypeName } from './fmt';
export { builtins } from './builtins';

export interface PartialText {
  name: string;
  text: string;
}

export interface ParseOptions {
  /** Texts parsed into the set before the main text (GGN's *.partial files). */
  partials?: readonly PartialText[];
}

const hasOwn = Object.prototype.hasOwnProperty;

function makeResolver(funcs: FuncMap): FuncResolver {
  return {
    has(name: string): boolean {
      return hasOwn.call(funcs, name) || name in builtins;
    },
    find(name: string): { fn: EngineFunc; isBuiltin: boolean } | null {
      if (hasOwn.call(funcs, name)) return { fn: funcs[name], isBuiltin: false };
      const b = builtins[name];
      return b ? { fn: b, isBuiltin: true } : null;
    },
  };
}

export class Template {
  private constructor(
    /** Name of the template `execute` runs (Go's t.Name()). */
    readonly name: string,
    private readonly set: Map<string, Tree>,
    private readonly resolver: FuncResolver,
  ) {}

  /** Parses `text` as template `name` with the function map (and optional partials). */
  static parse(name: string, text: string, funcs: FuncMap, opts?: ParseOptions): Template {
    const t = new Template(name, new Map(), makeResolver(funcs));
    for (const p of opts?.partials ?? []) t.addParseTree(p.name, p.text);
    t.addParseTree(name, text);
    return t;
  }

  /**
   * Parses `text` as the template `name` into this template's set (Go: t.New(name).Parse(text)),
   * with its {{define}}s. Throws TemplateParseError.
   */
  addParseTree(name: string, text: string): void {
    const trees = parseTrees(name, text, this.resolver);
    for (const [n, tree] of trees) {
      const old = this.set.get(n);
      if (old !== undefined && isEmptyTree(tree.root)) continue;
      this.set.set(n, tree);
    }
  }

  /** Reports whether a template with this name is defined in the set. */
  has(name: string): boolean {
    return this.set.has(name);
  }

  /** Executes the template on `data` (the value of `.` and `$`), within `limits` if given. */
  execute(data: GoValue, limits?: ExecLimits): string {
    const tree = this.set.get(this.name);
    const value = data === null ? undefined : data;
    const state = new ExecState(this.set, this.name, value, limits);
    if (tree === undefined) {
      throw new TemplateExecError(`template: ${this.name}: "${this.name}" is an incomplete or empty template`, this.name, 0, 0, '');
    }
    return state.run(tree, value);
  }
}
