/**
 * The bridge between GGN files and the template engine: GGN's whitespace rewrite, GGN's
 * function set, partials, and errors turned into GgnErrors that name the file, line and column.
 */
import { ErrorContext, GgnError } from '../errors';
import { ExecLimits, Template, TemplateExecError, TemplateParseError } from '../template';
import { ggnFuncs } from '../template/funcs';
import { GoValue } from '../template/values';
import { ggnCleanupTemplate } from './whitespace';

export interface SourceText {
  file: string;
  text: string;
}

export function compileTemplate(file: string, text: string, partials: SourceText[]): Template {
  try {
    return Template.parse(file, ggnCleanupTemplate(text), ggnFuncs(), {
      partials: partials.map((p) => ({ name: p.file, text: ggnCleanupTemplate(p.text) })),
    });
  } catch (e) {
    if (e instanceof TemplateParseError) {
      throw new GgnError(`template: ${stripGoPrefix(e.message, e.file)}`, { file: e.file || file, line: e.line, col: e.col });
    }
    throw e;
  }
}

export function executeTemplate(t: Template, data: GoValue, ctx: ErrorContext, limits?: ExecLimits): string {
  try {
    return t.execute(data, limits);
  } catch (e) {
    if (e instanceof TemplateExecError) {
      throw new GgnError(stripGoPrefix(e.message, e.file), { ...ctx, file: e.file || ctx.file, line: e.line, col: e.col });
    }
    throw new GgnError(`template execution failed: ${(e as Error).message}`, ctx, { cause: e });
  }
}

/** Go's messages start with `template: <file>:<line>:<col>: `; we print the position ourselves. */
function stripGoPrefix(message: string, file: string): string {
  const prefix = `template: ${file}:`;
  if (!message.startsWith(prefix)) return message.replace(/^template: /, '');
  return message.slice(prefix.length).replace(/^\d+(:\d+)?: /, '');
}
