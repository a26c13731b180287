/**
 * The one error type that crosses module boundaries. It carries where the problem is (file,
 * line, column) and what it is about (env, service, unit, host), so the CLI can print a single
 * line such as `env/prod/attributes/a.yml:4:3: invalid YAML: ...`.
 */
export interface ErrorContext {
  file?: string;
  line?: number;
  col?: number;
  env?: string;
  service?: string;
  unit?: string;
  host?: string;
}

export class GgnError extends Error {
  readonly ctx: ErrorContext;
  /** Lines printed under the error: the offending source line and a caret (YAML syntax errors). */
  excerpt?: string[];
  constructor(message: string, ctx: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GgnError';
    this.ctx = { ...ctx };
  }

  /** Returns a copy with more context filled in (existing fields win). */
  withContext(ctx: ErrorContext): GgnError {
    const e = new GgnError(this.message, { ...ctx, ...definedOnly(this.ctx) }, { cause: this.cause });
    e.stack = this.stack;
    e.excerpt = this.excerpt;
    return e;
  }

  /** `file:line:col: [unit X] message` */
  oneLine(relativeTo?: (p: string) => string): string {
    const c = this.ctx;
    let where = '';
    if (c.file) {
      where = relativeTo ? relativeTo(c.file) : c.file;
      if (c.line) where += `:${c.line}` + (c.col ? `:${c.col}` : '');
      where += ': ';
    }
    const about: string[] = [];
    if (c.unit) about.push(`unit ${c.unit}`);
    else if (c.service && !this.message.startsWith(`service ${c.service}`)) about.push(`service ${c.service}`);
    // Transport messages already start with `host X (address:port)`; don't say it twice.
    if (c.host && !this.message.startsWith(`host ${c.host}`)) about.push(`host ${c.host}`);
    return where + (about.length ? `${about.join(', ')}: ` : '') + this.message;
  }
}

/** `  12 | the line` and a caret under column `col` (1-based), for a source line shown under an error. */
export function sourceExcerpt(text: string, line: number, col?: number): string[] {
  const src = text.split('\n')[line - 1];
  if (src === undefined) return [];
  const shown = src.replace(/\r$/, '').replace(/\t/g, ' ');
  const gutter = `${line} | `;
  const out = [`  ${gutter}${shown.length > 200 ? `${shown.slice(0, 200)}...` : shown}`];
  if (col && col >= 1 && col <= shown.length + 1 && col <= 201) out.push(`  ${' '.repeat(gutter.length - 2)}| ${' '.repeat(col - 1)}^`);
  return out;
}

function definedOnly(ctx: ErrorContext): ErrorContext {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ctx)) if (v !== undefined) out[k] = v;
  return out as ErrorContext;
}

export function toGgnError(e: unknown, ctx: ErrorContext = {}): GgnError {
  if (e instanceof GgnError) return e.withContext(ctx);
  const msg = e instanceof Error ? e.message : String(e);
  return new GgnError(msg, ctx, { cause: e });
}
