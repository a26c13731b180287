/**
 * HAProxy driven through its runtime API on the proxy's machine: `socat stdio
 * unix-connect:<socket>` run through the driver's exec (argv quoted by the transport), the
 * command on stdin. One command per round trip, so each answer is that command's.
 */
import { GgnError } from '../../errors';
import { HaproxySettings, serverName, socketPath } from '../../render/rollout-config';
import { RemoteExec } from '../../apply/types';
import { ServerState, SlotServer, SlotTarget, TrafficProxy } from '../types';
import { checkAddrReply, checkStateReply, parseShowStat, setAddrCommand, setStateCommand, SHOW_STAT } from './commands';

const TIMEOUT_MS = 10_000;

export class HaproxyProxy implements TrafficProxy {
  constructor(
    private readonly settings: HaproxySettings,
    private readonly exec: RemoteExec,
  ) {}

  describe(): string {
    return `haproxy backend ${this.settings.backend}`;
  }

  private async send(machine: string, hostname: string, command: string): Promise<string> {
    const on = this.settings.host ?? machine;
    const socket = socketPath(this.settings, hostname);
    const r = await this.exec(on, ['socat', '-t', '5', 'stdio', `unix-connect:${socket}`], { stdin: command + '\n', timeoutMs: TIMEOUT_MS });
    if (r.code !== 0) {
      const why = (r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`).split('\n').slice(-1)[0];
      throw new GgnError(`haproxy on ${on}: cannot reach ${socket}: ${why}`, { host: on });
    }
    return r.stdout;
  }

  async servers(machine: string, hostname: string, slots: string[]): Promise<Map<string, SlotServer>> {
    const all = parseShowStat(await this.send(machine, hostname, SHOW_STAT));
    const out = new Map<string, SlotServer>();
    for (const slot of slots) {
      const key = `${this.settings.backend}/${serverName(this.settings, hostname, slot)}`;
      const s = all.get(key);
      if (!s) throw new GgnError(`haproxy on ${this.settings.host ?? machine}: no server ${key} (declare one per slot in the backend)`);
      out.set(slot, s);
    }
    return out;
  }

  async setState(t: SlotTarget, state: ServerState): Promise<void> {
    const server = serverName(this.settings, t.hostname, t.slot);
    if (state === 'ready' && this.settings.address) {
      const cmd = setAddrCommand(this.settings.backend, server, this.settings.address, t.port);
      checkAddrReply(await this.send(t.machine, t.hostname, cmd), cmd);
    }
    const cmd = setStateCommand(this.settings.backend, server, state);
    checkStateReply(await this.send(t.machine, t.hostname, cmd), cmd);
  }
}
