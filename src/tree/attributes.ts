/**
 * GGN's attribute files: which files, in which order, and how they merge.
 *
 * Order: the `attributes/` directory listed in byte order; a sub-directory's own .yml/.yaml files
 * (sorted) stand at the sub-directory's position; deeper levels are never read. Then the files
 * named by `include:` lists, in the order they were met. For each level the `default` sections
 * deep-merge in that order, so do the `override` sections, and override merges over default.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GgnError } from '../errors';
import { decryptAttributeData, isSopsData } from '../secrets/files';
import { GoMap, GoUint64, GoValue, newMap } from '../template/values';
import { isMapValue, parseYaml } from './yaml';

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const isAttrFile = (name: string) => name.endsWith('.yml') || name.endsWith('.yaml');

/** The attribute files of one `attributes/` directory, in GGN's order. Missing dir: none. */
export function listAttributeFiles(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new GgnError(`cannot read attributes directory: ${(e as Error).message}`, { file: dir });
  }
  const out: string[] = [];
  for (const entry of entries.sort((a, b) => byBytes(a.name, b.name))) {
    const full = path.join(dir, entry.name);
    if (isDirectory(entry, full)) {
      const sub = fs.readdirSync(full, { withFileTypes: true }).sort((a, b) => byBytes(a.name, b.name));
      for (const s of sub) if (!isDirectory(s, path.join(full, s.name)) && isAttrFile(s.name)) out.push(path.join(full, s.name));
    } else if (isAttrFile(entry.name)) {
      out.push(full);
    }
  }
  return out;
}

function isDirectory(entry: fs.Dirent, full: string): boolean {
  if (entry.isDirectory()) return true;
  if (entry.isSymbolicLink()) {
    try {
      return fs.statSync(full).isDirectory();
    } catch {
      return false;
    }
  }
  return false;
}

export interface AttributeFile {
  file: string;
  /** The raw `default:` / `override:` values; undefined when the key is absent. */
  default: GoValue | undefined;
  override: GoValue | undefined;
  include: string[];
}

/** Reads one attribute file (decrypting a SOPS file). GGN panicked on an empty or non-map file; we say what is wrong. */
export function readAttributeFile(file: string): AttributeFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new GgnError(`cannot read attribute file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
  let data = parseYaml(text, file);
  // An encrypted file (SOPS format, age keys): decrypted here, its values registered as secrets.
  if (isMapValue(data) && isSopsData(data)) data = decryptAttributeData(text, data, file);
  if (data === null) throw new GgnError('attribute file is empty (expected a map with `default:` and/or `override:`)', { file });
  if (!isMapValue(data)) {
    throw new GgnError(`attribute file must be a map with \`default:\` and/or \`override:\`, not ${describe(data)}`, { file });
  }
  return { file, default: data.default, override: data.override, include: includes(data, file) };
}

function includes(data: GoMap, file: string): string[] {
  const v = data.include;
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new GgnError('`include:` must be a list of names like `a.b`, `env::a.b` or `env:<dir>:a.b`', { file });
  }
  return v as string[];
}

/** "a list", "an integer": what a value is, for error messages. */
export function describe(v: GoValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'bigint' || v instanceof GoUint64) return 'an integer';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'number') return 'a float';
  return `a ${typeof v}`;
}

export interface IncludeContext {
  workPath: string;
  envDir: string;
  /** env-level files may not include `env::` (their own env's common attributes). */
  level: 'env' | 'service';
}

/** Resolves an include name to its file, as GGN did (dots become path separators, `.yml` added). */
export function resolveInclude(name: string, ctx: IncludeContext, from: string): string {
  const parts = name.split(':');
  if (parts.length === 3) {
    const [kw, dir, rest] = parts;
    if (kw !== 'env') throw new GgnError(`include "${name}": expected \`env:<dir>:a.b\``, { file: from });
    if (dir === '') {
      if (ctx.level === 'env') {
        throw new GgnError(`include "${name}": an env attribute file cannot include its own env's common attributes (\`env::\`)`, { file: from });
      }
      return path.join(ctx.workPath, 'env', ctx.envDir, 'common-attributes', dotted(rest, name, from));
    }
    return path.join(ctx.workPath, 'env', dir, 'common-attributes', dotted(rest, name, from));
  }
  if (parts.length !== 1) throw new GgnError(`include "${name}": expected \`a.b\`, \`env::a.b\` or \`env:<dir>:a.b\``, { file: from });
  return path.join(ctx.workPath, 'common-attributes', dotted(name, name, from));
}

function dotted(rest: string, name: string, from: string): string {
  const segs = rest.split('.');
  if (rest === '' || segs.some((s) => s === '' || s === '..')) {
    throw new GgnError(`include "${name}": not a valid include name`, { file: from });
  }
  return segs.join(path.sep) + '.yml';
}

/**
 * Merges the attribute files of one level over `base` (the env result for a service, empty for
 * an env): default sections in order, includes after regular files, then override over default.
 */
export function mergeLevel(base: GoMap, dir: string, ctx: IncludeContext): GoMap {
  const files = listAttributeFiles(dir).map(readAttributeFile);
  const included: AttributeFile[] = [];
  for (const f of files) {
    for (const name of f.include) {
      const target = resolveInclude(name, ctx, f.file);
      if (!fs.existsSync(target)) {
        throw new GgnError(`include "${name}": file not found: ${target}`, { file: f.file });
      }
      // Includes inside an included file are ignored, as in GGN.
      included.push(readAttributeFile(target));
    }
  }
  const defaults = new Section('default', deepClone(base));
  const overrides = new Section('override', undefined);
  for (const f of [...files, ...included]) {
    defaults.merge(f.default, f.file);
    overrides.merge(f.override, f.file);
  }
  return mergeInto(defaults.result(), overrides.result());
}

/**
 * One top-level section as GGN merged it: the files' whole maps were deep-merged, so a
 * section that is not a map (an empty `default:` is null) replaces everything merged before
 * it at that level, and a later map replaces it in turn. A null left at the end (GGN panicked)
 * counts as empty; any other non-map is an error naming the file that set it.
 */
class Section {
  private from = '';
  constructor(
    private readonly key: string,
    private value: GoValue | undefined,
  ) {}

  merge(v: GoValue | undefined, file: string): void {
    if (v === undefined) return;
    if (isMapValue(v) && this.value !== undefined && isMapValue(this.value)) mergeInto(this.value, v);
    else this.value = deepClone(v);
    this.from = file;
  }

  result(): GoMap {
    const v = this.value;
    if (v === undefined || v === null) return newMap();
    if (!isMapValue(v)) throw new GgnError(`\`${this.key}:\` must be a map, not ${describe(v)}`, { file: this.from });
    return v;
  }
}

/**
 * Deep merge of `src` into `dst` (mutated): maps merge recursively, anything else replaces
 * (lists, null, a map replaced by a scalar). Values taken from `src` are cloned, so YAML aliases
 * that share one object never leak changes between keys.
 */
export function mergeInto(dst: GoMap, src: GoMap): GoMap {
  for (const key in src) {
    const s = src[key];
    const d = dst[key];
    if (isMapValue(s) && d !== undefined && isMapValue(d)) mergeInto(d, s);
    else dst[key] = deepClone(s);
  }
  return dst;
}

export function deepClone(v: GoValue): GoValue {
  if (Array.isArray(v)) return v.map(deepClone);
  if (isMapValue(v)) {
    const out = newMap();
    for (const k in v) out[k] = deepClone(v[k]);
    return out;
  }
  return v;
}
