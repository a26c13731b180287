/**
 * HAProxy's runtime API, faked for unit tests: an `exec` (the driver capability) that answers
 * `socat stdio unix-connect:<socket>` with the command on stdin the way HAProxy 2.6 does
 * (`set server <b>/<s> state|addr`, `show stat` CSV). Servers' sessions are set by the test;
 * `drainPerPoll` takes one session off a draining server per `show stat` (clients finishing).
 */
import type { ExecResult } from '../../src/transport/types';
import type { ServerState } from '../../src/proxy/types';

interface Server {
  state: ServerState;
  sessions: number;
  addr: string;
}

export class FakeHaproxy {
  readonly servers = new Map<string, Server>();
  /** Commands received, `machine: command`. */
  readonly calls: string[] = [];
  /** Return an answer to make a command fail as HAProxy would (e.g. "No such server."). */
  failWhen?: (machine: string, command: string) => string | undefined;
  /** Called before a command is answered (a test aborts a run in a given phase here). */
  before?: (machine: string, command: string) => void;
  drainPerPoll = 0;

  constructor(readonly socket = '/run/haproxy/admin.sock') {}

  add(machine: string, backend: string, server: string, state: ServerState, sessions = 0): void {
    this.servers.set(`${machine}/${backend}/${server}`, { state, sessions, addr: '' });
  }

  get(machine: string, backend: string, server: string): Server {
    return this.servers.get(`${machine}/${backend}/${server}`)!;
  }

  readonly exec = async (machine: string, argv: string[], opts: { stdin?: string } = {}): Promise<ExecResult> => {
    if (argv[0] !== 'socat' || argv.at(-1) !== `unix-connect:${this.socket}`) return { code: 1, stdout: '', stderr: `unexpected argv ${argv.join(' ')}` };
    const command = (opts.stdin ?? '').trim();
    this.calls.push(`${machine}: ${command}`);
    this.before?.(machine, command);
    const fail = this.failWhen?.(machine, command);
    if (fail !== undefined) return { code: 0, stdout: fail + '\n\n', stderr: '' };
    let m = /^set server ([^/\s]+)\/(\S+) state (ready|drain|maint)$/.exec(command);
    if (m) {
      const s = this.servers.get(`${machine}/${m[1]}/${m[2]}`);
      if (!s) return { code: 0, stdout: 'No such server.\n\n', stderr: '' };
      s.state = m[3] as ServerState;
      return { code: 0, stdout: '\n', stderr: '' };
    }
    m = /^set server ([^/\s]+)\/(\S+) addr (\S+) port (\d+)$/.exec(command);
    if (m) {
      const s = this.servers.get(`${machine}/${m[1]}/${m[2]}`);
      if (!s) return { code: 0, stdout: 'No such server.\n\n', stderr: '' };
      s.addr = `${m[3]}:${m[4]}`;
      return { code: 0, stdout: `IP changed from '127.0.0.1' to '${m[3]}', port changed from '0' to '${m[4]}' by 'stats socket command'\n\n`, stderr: '' };
    }
    if (command === 'show stat') {
      const rows = ['# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,weight'];
      const backends = new Set<string>();
      for (const [k, s] of this.servers) {
        const [mach, backend, server] = k.split('/');
        if (mach !== machine) continue;
        backends.add(backend);
        if (s.state === 'drain' && this.drainPerPoll) s.sessions = Math.max(0, s.sessions - this.drainPerPoll);
        const status = s.state === 'maint' ? 'MAINT' : s.state === 'drain' ? 'DRAIN' : 'no check';
        rows.push(`${backend},${server},0,0,${s.sessions},0,,0,${status},1`);
      }
      for (const b of backends) rows.push(`${b},BACKEND,0,0,0,0,,0,UP,1`);
      return { code: 0, stdout: rows.join('\n') + '\n\n', stderr: '' };
    }
    return { code: 0, stdout: 'Unknown command.\n\n', stderr: '' };
  };

  /** The slots that take new connections on a machine's backend. */
  ready(machine: string, backend: string): string[] {
    return [...this.servers.entries()].filter(([k, s]) => k.startsWith(`${machine}/${backend}/`) && s.state === 'ready').map(([k]) => k.split('/')[2]);
  }
}
