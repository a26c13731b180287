/**
 * settle benchmark (root only): how long typical broken services look up before they die, which
 * is what `--settle` must outlast to catch them (a service counts as started when it is still
 * active/running, same PID, `--settle` after systemd first says so). Each kind of failure is
 * started 5 times, 5 at once on 5 test hosts (as a rollout at concurrency 5 does), and its time
 * up is systemd's own: ExecMainExitTimestamp - ExecMainStartTimestamp (monotonic).
 */
import * as fs from 'node:fs';
import { up, Cluster, TestHost } from '../test/harness';
import { addRow, median } from './table';

const HOSTS = 5;
const ROUNDS = 5;

/** Failures seen right after a deploy, as ExecStart lines; the kinds whose interpreter is absent are left out. */
function kinds(): { name: string; exec: string }[] {
  const all = [
    { name: 'binary missing (203/EXEC)', exec: '/nonexistent/bin/app', needs: '' },
    { name: 'shell script exits 1 (config missing)', exec: "/bin/sh -c 'test -r /nonexistent/app.conf || exit 1'", needs: '/bin/sh' },
    { name: 'Python: import error', exec: "/usr/bin/python3 -c 'import nonexistent_module'", needs: '/usr/bin/python3' },
    { name: 'Node.js: module not found', exec: '/usr/bin/node -e \'require("/nonexistent/app.js")\'', needs: '/usr/bin/node' },
    {
      name: 'Node.js: port already in use',
      exec: '/usr/bin/node -e \'const s=require("net").createServer();s.listen(0,()=>require("net").createServer().listen(s.address().port))\'',
      needs: '/usr/bin/node',
    },
    { name: 'Java: main class not found', exec: '/usr/bin/java -Xshare:auto -cp /nonexistent NoSuchMain', needs: '/usr/bin/java' },
  ];
  return all.filter((k) => !k.needs || fs.existsSync(k.needs));
}

export async function benchSettle(settleDefaultMs: number): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('settle: skipped (the test cluster needs root)');
    return;
  }
  const cluster = await up(HOSTS, { dir: '/tmp/ggn-bench-settle' });
  try {
    const ks = kinds();
    await Promise.all(cluster.hosts.map((h) => install(cluster, h, ks)));
    const lives = new Map<string, number[]>(ks.map((k) => [k.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, k] of ks.entries()) {
        const unit = `ggn-settle-${i}.service`;
        const rs = await Promise.all(cluster.hosts.map((h) => upTime(cluster, h, unit)));
        lives.get(k.name)!.push(...rs);
      }
    }
    console.log(`settle: ${ks.length} kinds of broken service, ${ROUNDS} rounds of ${HOSTS} at once; time up (ms) from systemd's timestamps`);
    let worst = 0;
    for (const k of ks) {
      const xs = lives.get(k.name)!;
      const max = Math.max(...xs);
      worst = Math.max(worst, max);
      addRow({
        what: `  up before dying: ${k.name}`,
        measured: `median ${median(xs).toFixed(0)} ms, max ${max.toFixed(0)} ms`,
        yardstick: '',
        target: `< --settle (${settleDefaultMs} ms)`,
        ok: max < settleDefaultMs,
      });
    }
    console.log(`  the longest-lived: ${worst.toFixed(0)} ms`);
  } finally {
    await cluster.down();
  }
}

async function install(cluster: Cluster, h: TestHost, ks: { exec: string }[]): Promise<void> {
  const script = ks.map((k, i) => `printf '%s\\n' '[Service]' ${shq(`ExecStart=${k.exec}`)} > "$d/ggn-settle-${i}.service"`).join('\n');
  const r = await cluster.exec(h, ['sh', '-c', `d=$HOME/.config/systemd/user; mkdir -p "$d"\n${script}\nsystemctl --user daemon-reload`]);
  if (r.code !== 0) throw new Error(`${h.name}: ${r.stderr}`);
}

/** Starts the unit, waits until it is no longer running, returns how long its main process lived (ms). */
async function upTime(cluster: Cluster, h: TestHost, unit: string): Promise<number> {
  const r = await cluster.exec(h, [
    'sh',
    '-c',
    `systemctl --user reset-failed "$1" 2>/dev/null; systemctl --user start "$1"
i=0; while [ $i -lt 200 ]; do
  s=$(systemctl --user show -p ActiveState --value "$1"); [ "$s" = failed ] || [ "$s" = inactive ] && break
  sleep 0.05; i=$((i + 1))
done
systemctl --user show -p ExecMainStartTimestampMonotonic -p ExecMainExitTimestampMonotonic "$1"`,
    'sh',
    unit,
  ]);
  const f = Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('=')),
  );
  const start = Number(f.ExecMainStartTimestampMonotonic);
  const exit = Number(f.ExecMainExitTimestampMonotonic);
  if (!start || !exit) throw new Error(`${h.name}: ${unit} did not die: ${r.stdout} ${r.stderr}`);
  return (exit - start) / 1000;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
