/**
 * `npm run demo`: the main job on the bundled example tree (envs/), against real local hosts.
 * It brings up three test hosts with the project's harness (each a systemd --user manager behind
 * its own sshd on a loopback address; root needed), points a scratch copy of envs/ at them, and
 * runs what an operator would: diff, update -y, change an attribute, diff, update -y, check.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { up, Cluster } from '../test/harness';
import { envConfigFor } from '../test/support/cluster-tree';

const ROOT = path.resolve(__dirname, '..', '..');

function say(text: string): void {
  process.stdout.write(`\n\x1b[1m# ${text}\x1b[0m\n`);
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('npm run demo starts local test hosts (users, sshd, systemd --user managers): run it as root.\n');
    return 1;
  }
  const deps = spawnSync('bash', [path.join(ROOT, 'test/harness/install-deps.sh')], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, GGN_SKIP_SYSTEM_ROOTFS: '1' }, // the demo runs scope user only
  });
  if (deps.status !== 0) return 1;

  say('starting 3 local test hosts (node1..node3)');
  const cluster: Cluster = await up(3, { dir: '/tmp/ggn-demo-cluster', namePrefix: 'node' });
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ggn-demo-'));
  let failed = 0;
  try {
    const work = path.join(scratch, 'work');
    const home = path.join(scratch, 'home');
    fs.cpSync(path.join(ROOT, 'envs'), work, { recursive: true, filter: (src) => !src.includes(`${path.sep}units`) });
    // The example env, pointed at the local hosts (scope user: each host's own systemd --user).
    fs.writeFileSync(path.join(work, 'env/prod/config.yml'), envConfigFor(cluster));
    fs.mkdirSync(home);
    fs.writeFileSync(path.join(home, 'config.yml'), `workPath: ${work}\nuser: demo\n`);
    process.stdout.write(`work tree: ${work}\n`);

    const ggn = (...args: string[]): number => {
      process.stdout.write(`\n$ ggn ${args.join(' ')}\n`);
      return spawnSync(process.execPath, [path.join(ROOT, 'bin', 'ggn.js'), '-H', home, ...args], { stdio: ['ignore', 'inherit', 'inherit'] }).status ?? 1;
    };
    const expect = (code: number, wanted: number[]) => {
      if (!wanted.includes(code)) failed++;
    };

    say('what would change? everything is new');
    expect(ggn('prod', 'diff', '--exit-code'), [2]);
    say('roll it out, host by host');
    expect(ggn('prod', 'update', '-y'), [0]);
    say('change an attribute: cassandra jvm.heap 8g -> 12g');
    const attrs = path.join(work, 'env/prod/services/cassandra/attributes/cassandra.yml');
    fs.writeFileSync(attrs, fs.readFileSync(attrs, 'utf8').replace('heap: 8g', 'heap: 12g'));
    expect(ggn('prod', 'cassandra', 'diff', '--exit-code'), [2]);
    say('a second update touches only what changed');
    expect(ggn('prod', 'update', '-y'), [0]);
    say('every unit on its machine, up to date and running?');
    expect(ggn('prod', 'check'), [0]);
    expect(ggn('prod', 'cassandra', 'history', '-n', '6'), [0]);
  } finally {
    say('tearing the test hosts down');
    await cluster.down();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  process.stdout.write(failed ? `\ndemo: ${failed} step(s) did not end as expected\n` : '\ndemo: done\n');
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
