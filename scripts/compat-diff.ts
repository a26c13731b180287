/**
 * Differential runs against a locally built real GGN (never committed, never run by CI; see
 * test/fixtures/compat/README.md for how to build it). Two modes:
 *
 *   node dist/scripts/compat-diff.js record <caseDir>...
 *       runs GGN on each case's tree/ + command.txt and writes expected/, exit-code.txt and
 *       stderr.txt (normalised like the committed cases).
 *   node dist/scripts/compat-diff.js check <caseDir>...
 *       compares GGN and ggn on saved trees (e.g. the ones a random run kept).
 *   node dist/scripts/compat-diff.js random <count> [seed] [keepDir]
 *       generates random work trees (YAML 1.1 scalars, merges, includes, nodes, templates over
 *       the function set), runs GGN and ggn on each, and reports the trees whose units or exit
 *       status differ. Differences ggn makes on purpose (README "Migrating from GGN") are
 *       counted apart. Differing trees are saved under keepDir as case directories.
 *
 * Environment: GGN_BIN (default /tmp/ggn-bin/ggn), FAKE_FLEETCTL_DIR (a directory whose
 * `fleetctl` answers GGN's version check; default /tmp/fakebin).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const GGN_BIN = process.env.GGN_BIN ?? '/tmp/ggn-bin/ggn';
const FLEETCTL_DIR = process.env.FAKE_FLEETCTL_DIR ?? '/tmp/fakebin';

interface Outcome {
  code: number;
  stderr: string;
  units: Map<string, Buffer>;
}

function listFiles(dir: string, base = dir, out: string[] = []): string[] {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const f = path.join(dir, e.name);
    if (e.isDirectory()) listFiles(f, base, out);
    else out.push(path.relative(base, f));
  }
  return out.sort();
}

/** Runs GGN or ggn on a copy of `tree` the way the oracle did. */
function run(which: 'ggn' | 'ours', tree: string, args: string[], cwd: string): Outcome {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-diff-'));
  const work = path.join(scratch, 'work');
  const home = path.join(scratch, 'home');
  fs.cpSync(tree, work, { recursive: true });
  fs.mkdirSync(home);
  fs.writeFileSync(path.join(home, 'config.yml'), `workPath: ${work}\n`);
  const env = { ...process.env, PATH: `${FLEETCTL_DIR}:${process.env.PATH}`, NO_COLOR: '1' };
  const r =
    which === 'ggn'
      ? spawnSync(GGN_BIN, ['-H', home, ...args], { cwd, env, encoding: 'utf8', timeout: 30000 })
      : spawnSync(process.execPath, [path.join(ROOT, 'bin', 'ggn.js'), '-H', home, ...args], { cwd, env, encoding: 'utf8', timeout: 30000 });
  const units = new Map<string, Buffer>();
  for (const f of listFiles(work)) if (f.split(path.sep).includes('units')) units.set(f, fs.readFileSync(path.join(work, f)));
  const stderr = normalise(r.stderr ?? '', work);
  fs.rmSync(scratch, { recursive: true, force: true });
  return { code: r.status ?? -1, stderr, units };
}

function normalise(s: string, work: string): string {
  return s
    .replace(/\x1b\[[0-9;]*m/g, '')
    .replace(/^\d\d:\d\d:\d\d/gm, 'HH:MM:SS')
    .split(work)
    .join('<workPath>')
    .replace(/\/tmp\/prefix\d+/g, '/tmp/prefixNNNNNN');
}

function readArgs(caseDir: string): string[] {
  return fs
    .readFileSync(path.join(caseDir, 'command.txt'), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

function record(caseDir: string): void {
  const out = run('ggn', path.join(caseDir, 'tree'), readArgs(caseDir), caseDir);
  const again = run('ggn', path.join(caseDir, 'tree'), readArgs(caseDir), caseDir);
  const stable = out.code === again.code && [...out.units].every(([f, b]) => again.units.get(f)?.equals(b)) && out.units.size === again.units.size;
  fs.rmSync(path.join(caseDir, 'expected'), { recursive: true, force: true });
  fs.mkdirSync(path.join(caseDir, 'expected'), { recursive: true });
  for (const [f, b] of out.units) {
    fs.mkdirSync(path.dirname(path.join(caseDir, 'expected', f)), { recursive: true });
    fs.writeFileSync(path.join(caseDir, 'expected', f), b);
  }
  fs.writeFileSync(path.join(caseDir, 'exit-code.txt'), `${out.code}\n`);
  const logged = out.stderr.split('\n').filter((l) => !/ INFO /.test(l) && l.trim() !== '');
  if (out.code !== 0 || logged.some((l) => / (WARN|ERROR|FATAL|PANIC) /.test(l))) fs.writeFileSync(path.join(caseDir, 'stderr.txt'), logged.join('\n') + '\n');
  else fs.rmSync(path.join(caseDir, 'stderr.txt'), { force: true });
  process.stdout.write(`${path.basename(caseDir)}: exit ${out.code}, ${out.units.size} unit(s)${stable ? '' : ' (NOT STABLE between two runs)'}\n`);
}

// --- random trees --------------------------------------------------------------------------

let seed = 1;
const rnd = (n: number): number => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return Math.floor((seed / 2147483648) * n);
};
const pick = <T>(a: readonly T[]): T => a[rnd(a.length)];

const SCALARS = [
  'a',
  'hello world',
  'yes',
  'No',
  'on',
  'OFF',
  'y',
  '~',
  'null',
  '',
  '0',
  '-0',
  '+12',
  '0644',
  '08',
  '0648',
  '0x1F',
  '0X1F',
  '0B11',
  '0o17',
  '0O17',
  '0b101',
  '1_000',
  '9007199254740993',
  '-9223372036854775808',
  '9223372036854775808',
  '18446744073709551615',
  '18446744073709551616',
  '1.5',
  '2.0',
  '1e3',
  '1e400',
  '1.5e-7',
  '.5',
  '1.',
  '.',
  '0x1p4',
  '12:30',
  '2016-03-01',
  'été',
  'a#b',
  "'it''s'",
  '"quo\\"ted\\n\\u00e9"',
  '"tab\\there"',
  '"x\\u2028"',
  '123456789.123',
  '5e-324',
  '0.1',
  '100',
  '-1',
  '3',
  '"<b>&</b>"',
  "'single'",
  '[1, two, "3"]',
  '[]',
  '{}',
  '{a: 1, b: [x, y]}',
  '[a, [b, c]]',
  'C:\\data',
  '-Xss256k',
  '!!str 0x1F',
  '!!int "12"',
  '"it\\\'s"',
  '"\\x41\\u00e9"',
  "'a''b'",
  '0x1.8p1',
  '+.5',
  '1__0',
  '"\\u2029"',
  '{10: a, 9: b}',
  '[0X1F, 08, 1e400]',
];

function scalar(): string {
  return pick(SCALARS);
}

function yamlValue(indent: string, depth: number): string {
  const k = depth > 2 ? 0 : rnd(6);
  if (k === 4) {
    const lines = [];
    for (let i = 0; i < 1 + rnd(3); i++) lines.push(`${indent}  - ${scalar()}`);
    return '\n' + lines.join('\n');
  }
  if (k === 5) {
    const lines = [];
    for (let i = 0; i < 1 + rnd(3); i++) lines.push(`${indent}  ${pick(['x', 'y', 'z', 'w', '10', '9', 'B'])}:${yamlValue(indent + '  ', depth + 1)}`);
    return '\n' + lines.join('\n');
  }
  if (k === 3 && rnd(3) === 0) return ` |${pick(['', '-', '+'])}\n${indent}  l1\n${indent}  l2`;
  return ' ' + scalar();
}

function attributeFile(keys: string[]): string {
  const out: string[] = [];
  if (rnd(6) === 0) out.push(`anchors:\n  base: &base\n    ${pick(['x', 'z', 'w'])}: ${scalar()}\n    q: ${scalar()}`);
  for (const section of ['default', 'override']) {
    if (section === 'override' && rnd(3) !== 0) continue;
    if (rnd(25) === 0) {
      out.push(`${section}:`);
      continue;
    }
    out.push(`${section}:`);
    for (let i = 0; i < 1 + rnd(4); i++) out.push(`  ${pick(keys)}:${yamlValue('  ', 1)}`);
    if (out[0].startsWith('anchors:') && rnd(2) === 0) out.push(`  ${pick(keys)}:\n    ${rnd(2) ? 'q: 1\n    ' : ''}<<: *base${rnd(2) ? '\n    w: 2' : ''}`);
  }
  return out.join('\n') + (rnd(8) === 0 ? '' : '\n');
}

const FUNCS = [
  (k: string) => `{{${k}}}`,
  (k: string) => `{{printf "%T:%v" ${k} ${k}}}`,
  (k: string) => `{{printf "%#v|%q|%d" ${k} ${k} ${k}}}`,
  (k: string) => `{{printf "%x|%b|%e|%.2f|%g" ${k} ${k} ${k} ${k} ${k}}}`,
  (k: string) => `{{toYaml ${k}}}`,
  (k: string) => `{{toJson ${k}}}`,
  (k: string) => `{{range $i, $v := ${k}}}{{$i}}={{$v}};{{else}}empty{{end}}`,
  (k: string) => `{{if ${k}}}T{{else}}F{{end}}`,
  (k: string) => `{{len ${k}}}`,
  (k: string) => `{{isMap ${k}}}{{isArray ${k}}}{{isString ${k}}}{{isNil ${k}}}`,
  (k: string) => `{{default "d" ${k}}}`,
  (k: string) => `{{upper ${k}}}|{{lower ${k}}}|{{capfirst ${k}}}`,
  (k: string) => `{{$c := cell ${k}}}{{$c}}{{$c.Get}}`,
  (k: string) => `{{eq ${k} 1}}`,
  (k: string) => `{{range $k, $v := ${k}}}{{range $.missing}}{{else}}{{if eq $k "x"}}{{continue}}{{end}}{{end}}[{{$k}}]{{end}}`,
  (k: string) => `{{truncatechars 3 ${k}}}|{{wordcount ${k}}}|{{urlencode ${k}}}|{{trim ${k}}}|{{striptags ${k}}}`,
  (k: string) => `{{length ${k}}}|{{first ${k}}}|{{last ${k}}}|{{lengthis 2 ${k}}}|{{slice 0 1 ${k}}}`,
  (k: string) => `{{filesizeformat ${k}}}|{{intcomma ${k}}}|{{apnumber ${k}}}|{{ordinal ${k}}}|{{divisibleby 2 ${k}}}`,
  (k: string) => `{{pluralize "y,ies" ${k}}}|{{yesno "a" "b" ${k}}}|{{rjust 6 ${k}}}|{{ljust 6 ${k}}}|{{center 7 ${k}}}`,
  (k: string) => `{{add ${k} 1}}|{{sub ${k} 1}}|{{mul ${k} 2}}|{{div ${k} 2}}|{{mod ${k} 2}}`,
  (k: string) => `{{split ${k} "," | join "-"}}|{{base ${k}}}|{{dir ${k}}}|{{contains ${k} "a"}}|{{hasPrefix ${k} "1"}}|{{repeat 2 ${k}}}`,
  (k: string) => `{{toUpper ${k}}}|{{toLower ${k}}}|{{replace "a" ${k}}}`,
  (k: string) => `{{isKind "map" ${k}}}|{{isType "string" ${k}}}|{{orDef ${k} "z"}}|{{ifOrDef ${k} "y" "n"}}`,
  (k: string) => `{{range $i, $v := ${k}}}{{isMapFirst $i ${k}}}{{isMapLast $i ${k}}}{{end}}`,
  (k: string) => `{{json ${k}}}|{{jsonArray ${k}}}`,
  (k: string) => `{{index ${k} 0}}|{{index ${k} "x"}}`,
  (k: string) => `{{with ${k}}}{{.}}{{else}}none{{end}}|{{and ${k} 1}}|{{or ${k} 0}}|{{not ${k}}}`,
  (k: string) => `{{lt ${k} 2}}|{{ge ${k} 1.5}}|{{ne ${k} "a"}}`,
  () => `{{.attributes}}`,
  () => `{{.attributesBase64}}`,
];

function template(keys: string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < 1 + rnd(2); i++) parts.push(`L${i}=` + pick(FUNCS)('.' + pick(keys)));
  return parts.join('\n') + '\n';
}

/** A random tree: one env, 3 services with attributes, includes and nodes, `ggn prod generate`. */
function randomTree(dir: string): void {
  const w = (f: string, c: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), c);
  };
  const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
  for (let i = 0; i < 1 + rnd(3); i++) w(`env/prod/attributes/${pick(['a', 'b', 'c', 'd'])}${i}.yml`, attributeFile(keys));
  if (rnd(3) === 0) {
    w('common-attributes/inc/x.yml', attributeFile(keys));
    w('env/prod/attributes/inc.yml', `include:\n  - inc.x\n${attributeFile(keys)}`);
  }
  for (const svc of ['s1', 's2', 's3']) {
    if (rnd(2) === 0) w(`env/prod/services/${svc}/attributes/${svc}.yml`, attributeFile(keys));
    const nodes = ['  - hostname: n1', `    ${pick(keys)}: ${scalar()}`];
    if (rnd(2) === 0) nodes.push('  - hostname: n2');
    w(`env/prod/services/${svc}/service-manifest.yml`, `nodes:\n${nodes.join('\n')}\n`);
    w(`env/prod/services/${svc}/unit.tmpl`, template(keys));
  }
}

type Verdict = 'same' | 'intended' | 'differs';

function validUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

/** Compares one tree's outcomes; GGN's partial units after a run-time error are ggn's intended difference. */
function compare(g: Outcome, o: Outcome): { verdict: Verdict; why: string } {
  if (g.code === 2) {
    const cause = /json: unsupported value/.test(g.stderr)
      ? 'NaN/Inf'
      : /interface \{\} is nil, not map/.test(g.stderr)
        ? 'empty last section'
        : g.stderr.split('\n').find((l) => l.startsWith('panic:'));
    return { verdict: 'intended', why: `GGN panicked (${cause})` };
  }
  if ((g.code === 0) !== (o.code === 0) || (g.code !== 0 && o.code !== 0)) {
    if (g.code !== 0 && o.code !== 0) return { verdict: 'same', why: 'both failed' };
    const runtime = /Failed to run templating/.test(g.stderr) && o.code === 1;
    if (!runtime)
      return { verdict: 'differs', why: `exit ${g.code} vs ${o.code}: ${o.stderr.split('\n').find((l) => l.startsWith('error:')) ?? g.stderr.slice(0, 300)}` };
  }
  let invalid = false;
  for (const [f, b] of o.units) {
    const gb = g.units.get(f);
    if (gb === undefined) return { verdict: 'differs', why: `only ggn wrote ${f}` };
    if (!gb.equals(b)) {
      // capfirst of a non-ASCII character, or a chunk cut inside one: GGN wrote invalid UTF-8.
      if (!validUtf8(gb) && validUtf8(b)) {
        invalid = true;
        continue;
      }
      return { verdict: 'differs', why: `${f} differs` };
    }
  }
  for (const f of g.units.keys()) {
    if (!o.units.has(f) && !(o.code === 1 && o.stderr.includes(path.basename(f)))) return { verdict: 'differs', why: `only GGN wrote ${f}` };
  }
  if (invalid) return { verdict: 'intended', why: 'GGN wrote invalid UTF-8' };
  return { verdict: o.code === g.code ? 'same' : 'intended', why: 'run-time template error' };
}

function random(count: number, keep?: string): void {
  const tally: Record<Verdict, number> = { same: 0, intended: 0, differs: 0 };
  const reasons: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-rnd-'));
    const tree = path.join(dir, 'tree');
    randomTree(tree);
    const args = ['prod', 'generate'];
    const g = run('ggn', tree, args, dir);
    const o = run('ours', tree, args, dir);
    const { verdict, why } = compare(g, o);
    tally[verdict]++;
    if (verdict === 'intended') reasons[why] = (reasons[why] ?? 0) + 1;
    if (verdict === 'differs') {
      process.stdout.write(`#${i}: ${why}\n`);
      if (keep) {
        const dest = path.join(keep, `random-${seed}-${i}`);
        fs.cpSync(dir, dest, { recursive: true });
        fs.writeFileSync(path.join(dest, 'command.txt'), args.join('\n') + '\n');
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const why = Object.entries(reasons)
    .map(([r, n]) => `${n} ${r}`)
    .join(', ');
  process.stdout.write(`${count} trees: ${tally.same} same, ${tally.intended} intended differences (${why}), ${tally.differs} differ\n`);
}

/** Compares GGN and ggn on saved case directories (tree/ + command.txt). */
function check(caseDir: string): void {
  const g = run('ggn', path.join(caseDir, 'tree'), readArgs(caseDir), caseDir);
  const o = run('ours', path.join(caseDir, 'tree'), readArgs(caseDir), caseDir);
  const { verdict, why } = compare(g, o);
  process.stdout.write(`${path.basename(caseDir)}: ${verdict} (${why}; exit ${g.code} vs ${o.code})\n`);
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'record') for (const c of rest) record(path.resolve(c));
else if (mode === 'check') for (const c of rest) check(path.resolve(c));
else if (mode === 'random') {
  seed = Number(rest[1] ?? Date.now() % 100000) || 1;
  random(Number(rest[0] ?? 50), rest[2]);
} else {
  process.stderr.write('usage: compat-diff record <caseDir>... | check <caseDir>... | random <count> [seed] [keepDir]\n');
  process.exitCode = 2;
}
