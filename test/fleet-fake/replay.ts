/**
 * Replays the recorded exchanges of the fleet transcripts against the fake, on the fake's clock
 * set to each exchange's recorded time, and compares status codes and JSON shapes (error bodies
 * exactly). Scenario steps that were not recorded as HTTP (a host killed, etcd frozen, units
 * created straight through another endpoint) are re-enacted from the transcripts' notes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_MACHINES, FakeFleet } from './fake';

export const TRANSCRIPTS_DIR = [
  process.env.GGN_FLEET_TRANSCRIPTS,
  '/work/shared/fleet/transcripts',
  path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'fleet', 'transcripts'),
  path.resolve(__dirname, '..', '..', '..', '..', '..', 'shared', 'fleet', 'transcripts'),
].find((d): d is string => !!d && fs.existsSync(path.join(d, 'README.md')));

interface Exchange {
  kind: 'exchange';
  seq: number;
  elapsedMs: number;
  note: string;
  method: string;
  path: string;
  requestHeaders: [string, string][] | null;
  requestBody: string | null;
  status: number | null;
  responseBody?: string | null;
  responseJson?: unknown;
  upstream?: string;
}

type Rec = Exchange | { kind: 'note'; note: unknown };

export interface Mismatch {
  file: string;
  seq: number;
  note: string;
  request: string;
  expected: string;
  got: string;
}

/** The JSON skeleton: keys and value types; an array is the set of its elements' shapes. */
export function shape(v: unknown): unknown {
  if (Array.isArray(v)) return [...new Set(v.map((x) => JSON.stringify(shape(x))))].sort();
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, shape((v as Record<string, unknown>)[k])]),
    );
  return v === null ? 'null' : typeof v;
}

function parse(body: string | null | undefined): unknown {
  if (body === null || body === undefined || body === '') return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return 'non-json';
  }
}

const FLEET3 = DEFAULT_MACHINES[2].id;

/** How far (ms) from the recorded time an answer of the real cluster still counts. */
export const WINDOW_MS = 5000;

/** Status and body as compared: error bodies exactly, others by JSON shape (discovery and metrics by status). */
function outcome(status: number | null, body: string | null | undefined, p: string): string {
  if (status === null) return 'dropped';
  if (status >= 400) return `${status} ${JSON.stringify(parse(body))}`;
  if (p.startsWith('/metrics') || p.includes('/discovery')) return String(status);
  return `${status} ${JSON.stringify(shape(parse(body)))}`;
}

export interface ReplayResult {
  exchanges: number;
  /** Recorded at etcd, not at fleet (11). */
  skipped: number;
  /** Same status and shape as recorded at that very moment. */
  exact: number;
  /** Answers fleet never gave to that request in the scenario. */
  mismatches: Mismatch[];
  /** Answers fleet gave to that request, but more than WINDOW_MS away (a transition faster or slower than this run). */
  timing: Mismatch[];
}

export function replayFile(file: string): ReplayResult {
  const recs = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Rec);
  let clock = 0;
  const fake = new FakeFleet({ now: () => clock });
  const base = path.basename(file);
  const mismatches: Mismatch[] = [];
  const json = [['Content-Type', 'application/json']] as [string, string][];

  // Units that exist in the responses before any PUT of them were created unrecorded: create
  // them at the start with what the responses show.
  const put = new Set<string>();
  const seeded = new Set<string>();
  for (const r of recs) {
    if (r.kind !== 'exchange') continue;
    if (r.method === 'PUT' && /\/units\//.test(r.path)) put.add(decodeURIComponent(r.path.split('/units/')[1].split('?')[0]));
    const j = r.responseJson as { units?: { name: string; options: unknown; desiredState: string }[] } | undefined;
    for (const u of j?.units ?? []) {
      if (put.has(u.name) || seeded.has(u.name)) continue;
      seeded.add(u.name);
      fake.handle({
        method: 'PUT',
        path: `/fleet/v1/units/${u.name}`,
        headers: json,
        body: JSON.stringify({ desiredState: u.desiredState, options: u.options }),
      });
    }
  }
  clock = 0;

  const exchanges = recs.filter((r): r is Exchange => r.kind === 'exchange');
  const recorded = new Map(exchanges.map((o) => [o, outcome(o.status, o.responseBody, o.path)]));
  let exact = 0;
  let skipped = 0;
  const timing: Mismatch[] = [];
  for (const r of recs) {
    if (r.kind === 'note') {
      const n = typeof r.note === 'string' ? r.note : JSON.stringify(r.note);
      clock += 1;
      if (/hard-killed/.test(n)) fake.killMachine(FLEET3);
      else if (/booted again|fleetd on fleet3 started again/.test(n)) fake.bootMachine(FLEET3);
      else if (/stopped gracefully/.test(n)) fake.stopFleetd(FLEET3);
      else if (/etcd SIGSTOP/.test(n)) fake.etcdDown();
      else if (/etcd SIGCONT/.test(n)) fake.etcdUp();
      else if (/repaired outside the API/.test(n)) fake.repair('err-a.service', 'inactive');
      else if (/105 PUTs desiredState loaded/.test(n)) {
        for (const name of seeded) fake.handle({ method: 'PUT', path: `/fleet/v1/units/${name}`, headers: json, body: '{"desiredState":"loaded"}' });
      } else if (/rack=r3 put back on fleet3/.test(n)) {
        for (const op of ['{"op":"remove","path":"/ID/metadata/role"}', '{"op":"add","path":"/ID/metadata/rack","value":{"value":"r3"}}'])
          for (const m of DEFAULT_MACHINES)
            fake.handle({
              method: 'PATCH',
              path: '/fleet/v1/machines',
              headers: json,
              body: `[${op.replace('ID', m.id)}]`.replace(m.id === FLEET3 ? 'x' : '"add"', m.id === FLEET3 ? 'x' : '"remove"'),
            });
      }
      continue;
    }
    if (r.upstream && /etcd|2379|14379/.test(r.upstream)) {
      skipped++;
      continue;
    }
    clock = Math.max(clock, r.elapsedMs);
    const res = fake.handle({ method: r.method, path: r.path, headers: r.requestHeaders ?? [], body: r.requestBody });
    const request = `${r.method} ${r.path}`;
    const got = outcome(res.status, res.body, r.path);
    exact += got === recorded.get(r) ? 1 : 0;
    // Timings vary from run to run by up to fleet's 5 s agent pass (README: 2-5 s for the same transition), so the
    // fake's answer must be one the real cluster gave to the same request within WINDOW_MS.
    const near = exchanges.filter((o) => o.method === r.method && o.path === r.path && Math.abs(o.elapsedMs - r.elapsedMs) <= WINDOW_MS);
    const allowed = new Set(near.map((o) => recorded.get(o)!));
    if (allowed.has(got)) continue;
    // An answer the real cluster gave to this request at another moment of the scenario: the
    // fake went through the same states, only faster or slower than this run of fleet.
    // (`GET /state/NAME` drops the connection while the unit has no state: fleet was faster there.)
    const seen =
      exchanges.some((o) => o.method === r.method && o.path === r.path && recorded.get(o) === got) || (got === 'dropped' && /\/state\/[^/?]+/.test(r.path));
    (seen ? timing : mismatches).push({
      file: base,
      seq: r.seq,
      note: r.note,
      request,
      expected: [...allowed].join(' OR ').slice(0, 400),
      got: got.slice(0, 400),
    });
  }
  return { exchanges: exchanges.length - skipped, skipped, exact, mismatches, timing };
}

export function transcriptFiles(): string[] {
  if (!TRANSCRIPTS_DIR) return [];
  return fs
    .readdirSync(TRANSCRIPTS_DIR)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((f) => path.join(TRANSCRIPTS_DIR!, f));
}

if (require.main === module) {
  for (const f of process.argv.length > 2 ? process.argv.slice(2) : transcriptFiles()) {
    const r = replayFile(f);
    console.log(
      `${path.basename(f)}: ${r.exchanges} exchanges (${r.skipped} at etcd skipped), ${r.exact} exact, ${r.timing.length} timing outliers, ${r.mismatches.length} mismatches`,
    );
    for (const m of [...r.mismatches, ...r.timing].slice(0, Number(process.env.SHOW ?? 5)))
      console.log(`  #${m.seq} ${m.note} | ${m.request}\n    want ${m.expected}\n    got  ${m.got}`);
  }
}
