/**
 * A reader for the OpenSSH client configuration (`~/.ssh/config`), limited to what the
 * transport needs. Semantics follow ssh_config(5):
 *
 * - Lines are `Keyword args` or `Keyword=args`; keywords are case-insensitive; arguments may be
 *   double-quoted; `#` starts a comment (a whole line, or from a word that begins with `#`).
 * - Options before the first `Host`/`Match` apply to every host.
 * - `Host p1 p2 !p3`: the block applies when the alias matches a positive pattern and no
 *   negated one (`*` and `?` wildcards, case-insensitive).
 * - For each option the FIRST value obtained wins, so specific blocks go first and `Host *`
 *   last. Exceptions (as in OpenSSH): `IdentityFile` accumulates every matching line, in order.
 * - `Include file...`: paths relative to ~/.ssh; globs (`*`, `?`, `[...]`) are expanded and sorted;
 *   a missing file is ignored. An Include inside a `Host` block only takes effect when that
 *   block matches (ssh's "never match" rule for inactive includes). Depth is limited to 16.
 * - `Match` blocks are NOT evaluated: `Match all` is treated as `Host *`; any other `Match`
 *   block is skipped (never applies) and a warning is recorded in `warnings`. Supporting
 *   `Match host/originalhost/user/exec/...` needs canonicalization and a final pass, which we
 *   do not implement.
 * - Host patterns are matched against the alias given to `lookup()` (OpenSSH's "original host";
 *   `CanonicalizeHostname` is not supported).
 *
 * Keywords understood: HostName (with %h and %%), User, Port, IdentityFile (~, %d, %u, %h, %r,
 * %p, %n, %l, %%), IdentitiesOnly, ProxyJump (`none`, `[user@]host[:port]`, comma list),
 * UserKnownHostsFile (several files per line; ~ and tokens), StrictHostKeyChecking,
 * ConnectTimeout. Everything else is parsed and ignored.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { matchPatternList } from './pattern';

/** One `Keyword args` line that ended up in the configuration (Includes already expanded). */
export interface SshConfigOption {
  /** Lower-cased keyword. */
  key: string;
  args: string[];
  file: string;
  line: number;
  /**
   * Host pattern lists that must ALL match for the option to apply (outer block first, then the
   * block inside an included file). `null` means "never applies" (a skipped Match block).
   */
  when: string[][] | null;
}

export interface ParsedSshConfig {
  /** Files that were read, in order. */
  files: string[];
  options: SshConfigOption[];
  warnings: string[];
  /** The home used for `~` and `%d` (and relative Includes: `<home>/.ssh`). */
  home: string;
}

/** What `lookup()` returns for one host alias; unset keys were not in the config. */
export interface SshHostConfig {
  hostName: string;
  user: string;
  port: number;
  /** Expanded paths (~, tokens), in config order; duplicates removed. */
  identityFiles: string[];
  identitiesOnly: boolean;
  /** Raw ProxyJump value; `none` means "no jump host". See parseProxyJump(). */
  proxyJump: string;
  /** Expanded paths of the first UserKnownHostsFile line (it may list several). */
  userKnownHostsFiles: string[];
  /** yes | no | ask | accept-new | off, lower-cased. */
  strictHostKeyChecking: string;
  /** Seconds. */
  connectTimeout: number;
}

export interface LoadOptions {
  /** Home directory for `~`, `%d` and relative Includes (default os.homedir()). */
  home?: string;
}

const MAX_INCLUDE_DEPTH = 16;

/** Reads a config file (default `~/.ssh/config`); a missing file yields an empty config. */
export function loadSshConfig(file?: string, opts: LoadOptions = {}): ParsedSshConfig {
  const home = opts.home ?? os.homedir();
  const cfg: ParsedSshConfig = { files: [], options: [], warnings: [], home };
  const f = file ?? path.join(home, '.ssh', 'config');
  readInto(cfg, expandTilde(f, home), [], 0, false);
  return cfg;
}

/** Parses config text (for tests and callers that already hold the text). */
export function parseSshConfig(text: string, opts: LoadOptions & { file?: string } = {}): ParsedSshConfig {
  const home = opts.home ?? os.homedir();
  const cfg: ParsedSshConfig = { files: [], options: [], warnings: [], home };
  parseInto(cfg, text, opts.file ?? '<config>', [], 0);
  return cfg;
}

function readInto(cfg: ParsedSshConfig, file: string, outer: string[][] | null, depth: number, fromInclude: boolean): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    if (code === 'EISDIR' && fromInclude) return;
    cfg.warnings.push(`${file}: cannot read: ${(e as Error).message}`);
    return;
  }
  cfg.files.push(file);
  parseInto(cfg, text, file, outer, depth);
}

function parseInto(cfg: ParsedSshConfig, text: string, file: string, outer: string[][] | null, depth: number): void {
  // `current` = conditions for the lines that follow, within this file
  let current: string[][] | null = outer;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const parsed = splitLine(lines[i]);
    if (!parsed) continue;
    if ('error' in parsed) {
      cfg.warnings.push(`${file}:${lineNo}: ${parsed.error}`);
      continue;
    }
    const { key, args } = parsed;
    if (key === 'host') {
      if (args.length === 0) {
        cfg.warnings.push(`${file}:${lineNo}: Host needs at least one pattern`);
        current = null;
      } else {
        current = outer === null ? null : [...outer, args];
      }
      continue;
    }
    if (key === 'match') {
      if (args.length === 1 && args[0].toLowerCase() === 'all') {
        current = outer;
      } else {
        cfg.warnings.push(`${file}:${lineNo}: Match blocks are not supported; this block is ignored (Match ${args.join(' ')})`);
        current = null;
      }
      continue;
    }
    if (key === 'include') {
      if (depth >= MAX_INCLUDE_DEPTH) {
        cfg.warnings.push(`${file}:${lineNo}: Include nested too deeply`);
        continue;
      }
      for (const arg of args) {
        let p = expandTilde(arg, cfg.home);
        if (!path.isAbsolute(p)) p = path.join(cfg.home, '.ssh', p);
        for (const f of expandGlob(p)) readInto(cfg, f, current, depth + 1, true);
      }
      continue;
    }
    cfg.options.push({ key, args, file, line: lineNo, when: current });
  }
}

/** Splits one config line into keyword + args; null for blank/comment lines. */
export function splitLine(line: string): { key: string; args: string[] } | { error: string } | null {
  const s = line.replace(/^[\s]+/, '');
  if (s === '' || s.startsWith('#')) return null;
  // keyword: up to whitespace or '='; then optional whitespace, optional '=', whitespace
  const m = /^([^\s=]+)\s*(?:=\s*)?(.*)$/.exec(s);
  if (!m) return { error: `cannot parse line: ${line}` };
  const key = m[1].toLowerCase();
  const words = splitArgs(m[2]);
  if ('error' in words) return words;
  return { key, args: words.args };
}

function splitArgs(s: string): { args: string[] } | { error: string } {
  const args: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i])) i++;
    if (i >= s.length) break;
    if (s[i] === '#') break; // comment to end of line
    let word = '';
    let quote: string | null = null;
    while (i < s.length) {
      const c = s[i];
      if (quote) {
        if (c === '\\' && i + 1 < s.length && (s[i + 1] === quote || s[i + 1] === '\\')) {
          word += s[i + 1];
          i += 2;
          continue;
        }
        if (c === quote) {
          quote = null;
          i++;
          continue;
        }
        word += c;
        i++;
        continue;
      }
      if (/\s/.test(c)) break;
      if (c === '"' || c === "'") {
        quote = c;
        i++;
        continue;
      }
      if (c === '\\' && i + 1 < s.length && /[\s"'\\]/.test(s[i + 1])) {
        word += s[i + 1];
        i += 2;
        continue;
      }
      word += c;
      i++;
    }
    if (quote) return { error: 'unterminated quote' };
    args.push(word);
  }
  return { args };
}

/**
 * The options that apply to a host, first value wins (IdentityFile accumulates). Paths are
 * expanded (`~`, `%d`, `%u`, `%h`, `%r`, `%p`, `%n`, `%l`, `%%`); `%h` in HostName is the alias.
 * With several aliases, a block applies when ANY alias matches it (one pass in file order, so
 * first-value-wins still holds across them); tokens use the first alias.
 */
export function lookup(config: ParsedSshConfig, alias: string | string[]): Partial<SshHostConfig> {
  const aliases = typeof alias === 'string' ? [alias] : alias;
  if (aliases.length === 0) throw new Error('lookup: no host alias');
  const hostAlias = aliases[0];
  const out: Partial<SshHostConfig> = {};
  const identity: string[] = [];
  let rawKnownHosts: string[] | undefined;
  for (const o of config.options) {
    if (o.when === null) continue;
    const when = o.when;
    if (!aliases.some((a) => when.every((pats) => matchPatternList(pats, a)))) continue;
    const a0 = o.args[0];
    if (a0 === undefined) continue;
    switch (o.key) {
      case 'hostname':
        if (out.hostName === undefined) out.hostName = expandTokens(a0, { h: hostAlias, n: hostAlias });
        break;
      case 'user':
        if (out.user === undefined) out.user = a0;
        break;
      case 'port': {
        const n = Number(a0);
        if (out.port === undefined && Number.isInteger(n) && n > 0 && n < 65536) out.port = n;
        break;
      }
      case 'identityfile':
        identity.push(a0);
        break;
      case 'identitiesonly':
        if (out.identitiesOnly === undefined) out.identitiesOnly = a0.toLowerCase() === 'yes';
        break;
      case 'proxyjump':
        if (out.proxyJump === undefined) out.proxyJump = a0;
        break;
      case 'userknownhostsfile':
        if (rawKnownHosts === undefined) rawKnownHosts = o.args;
        break;
      case 'stricthostkeychecking':
        if (out.strictHostKeyChecking === undefined) out.strictHostKeyChecking = a0.toLowerCase();
        break;
      case 'connecttimeout': {
        const n = Number(a0);
        if (out.connectTimeout === undefined && Number.isFinite(n) && n > 0) out.connectTimeout = n;
        break;
      }
      default:
        break;
    }
  }
  const tokens: Record<string, string> = {
    d: config.home,
    u: localUser(),
    h: out.hostName ?? hostAlias,
    n: hostAlias,
    l: os.hostname(),
  };
  if (out.user !== undefined) tokens.r = out.user;
  if (out.port !== undefined) tokens.p = String(out.port);
  if (identity.length) {
    const seen = new Set<string>();
    out.identityFiles = [];
    for (const f of identity) {
      const p = expandTilde(expandTokens(f, tokens), config.home);
      if (!seen.has(p)) {
        seen.add(p);
        out.identityFiles.push(p);
      }
    }
  }
  if (rawKnownHosts) out.userKnownHostsFiles = rawKnownHosts.map((f) => expandTilde(expandTokens(f, tokens), config.home));
  return out;
}

export interface JumpHop {
  user?: string;
  host: string;
  port?: number;
}

/**
 * `[user@]host[:port]` hops, comma separated (also `ssh://[user@]host[:port]` and `[v6]:port`).
 * `none` → []. Throws on a malformed hop.
 */
export function parseProxyJump(value: string): JumpHop[] {
  const v = value.trim();
  if (v === '' || v.toLowerCase() === 'none') return [];
  return v.split(',').map((raw) => {
    let s = raw.trim().replace(/^ssh:\/\//, '');
    let user: string | undefined;
    const at = s.lastIndexOf('@');
    if (at >= 0) {
      user = s.slice(0, at);
      s = s.slice(at + 1);
    }
    let host = s;
    let port: number | undefined;
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
    if (v6) {
      host = v6[1];
      if (v6[2]) port = Number(v6[2]);
    } else {
      const colon = s.lastIndexOf(':');
      if (colon >= 0 && s.indexOf(':') === colon) {
        host = s.slice(0, colon);
        port = Number(s.slice(colon + 1));
      }
    }
    if (!host || (user !== undefined && user === '') || (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))) {
      throw new Error(`invalid jump host ${JSON.stringify(raw.trim())} (expected [user@]host[:port])`);
    }
    const hop: JumpHop = { host };
    if (user !== undefined) hop.user = user;
    if (port !== undefined) hop.port = port;
    return hop;
  });
}

// ------------------------------------------------------------------ helpers

export function expandTilde(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

/** %x tokens; unknown tokens are left as they are. */
export function expandTokens(s: string, tokens: Record<string, string>): string {
  return s.replace(/%(.)/g, (m, c: string) => (c === '%' ? '%' : (tokens[c] ?? m)));
}

function localUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? '';
  }
}

function hasGlob(s: string): boolean {
  return /[*?[]/.test(s);
}

function globToRegExp(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let cls = seg.slice(i + 1, end);
        if (cls.startsWith('!')) cls = '^' + cls.slice(1);
        re += `[${cls.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Expands glob characters in any path segment; sorted; hidden files only with an explicit dot. */
export function expandGlob(p: string): string[] {
  if (!hasGlob(p)) return [p];
  const abs = path.resolve(p);
  const segs = abs.split('/').filter((s) => s !== '');
  let bases = ['/'];
  for (const seg of segs) {
    const next: string[] = [];
    for (const b of bases) {
      if (!hasGlob(seg)) {
        next.push(path.join(b, seg));
        continue;
      }
      let names: string[];
      try {
        names = fs.readdirSync(b);
      } catch {
        continue;
      }
      const re = globToRegExp(seg);
      for (const n of names.sort()) if (re.test(n) && (!n.startsWith('.') || seg.startsWith('.'))) next.push(path.join(b, n));
    }
    bases = next;
  }
  return bases;
}
