/**
 * `npm run demo`: the main job on the bundled example environment (envs/), in a scratch copy so
 * the repository stays clean: generate every unit of env prod, show what was written, then
 * change an attribute and generate again.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-demo-'));
const work = path.join(scratch, 'work');
const home = path.join(scratch, 'home');
fs.cpSync(path.join(ROOT, 'envs'), work, { recursive: true, filter: (src) => !src.includes(`${path.sep}units`) });
fs.mkdirSync(home);
fs.writeFileSync(path.join(home, 'config.yml'), `workPath: ${work}\n`);

function ggn(...args: string[]): number {
  process.stdout.write(`\n$ ggn ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'ggn.js'), '-H', home, ...args], { stdio: 'inherit' });
  return r.status ?? 1;
}

let failed = 0;
failed += ggn('prod', 'generate');
const unit = path.join(work, 'env/prod/services/cassandra/units/prod_cassandra_cass1.service');
process.stdout.write(`\n--- ${path.relative(work, unit)}\n${fs.readFileSync(unit, 'utf8')}\n---\n`);
const attrs = path.join(work, 'env/prod/services/cassandra/attributes/cassandra.yml');
fs.writeFileSync(attrs, fs.readFileSync(attrs, 'utf8').replace('heap: 8g', 'heap: 12g'));
process.stdout.write('\n# changed cassandra jvm.heap from 8g to 12g\n');
failed += ggn('prod', 'cassandra', 'generate');
failed += ggn('prod', 'cassandra', 'cass2', 'generate');
fs.rmSync(scratch, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
