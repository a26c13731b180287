/**
 * HAProxy's runtime API, the pure part: the commands ggn sends (one per line, names checked so a
 * value can never add a command) and a parser of `show stat`'s CSV. See
 * https://docs.haproxy.org/2.6/management.html#9.3
 */
import { GgnError } from '../../errors';
import { ServerState, SlotServer } from '../types';

const NAME = /^[A-Za-z0-9_.:-]+$/;
const ADDRESS = /^[0-9A-Fa-f.:]+$/;

function checkName(v: string, what: string): string {
  if (!NAME.test(v)) throw new GgnError(`haproxy: ${what} ${JSON.stringify(v)} has characters the runtime API does not take`);
  return v;
}

export function setStateCommand(backend: string, server: string, state: ServerState): string {
  return `set server ${checkName(backend, 'backend')}/${checkName(server, 'server')} state ${state}`;
}

export function setAddrCommand(backend: string, server: string, address: string, port: number): string {
  if (!ADDRESS.test(address)) throw new GgnError(`haproxy: address ${JSON.stringify(address)} is not an IP address`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new GgnError(`haproxy: port ${port} is not a TCP port`);
  return `set server ${checkName(backend, 'backend')}/${checkName(server, 'server')} addr ${address} port ${port}`;
}

export const SHOW_STAT = 'show stat';

/** `set server ... state` answers nothing when it worked; anything else is the reason it did not. */
export function checkStateReply(reply: string, command: string): void {
  const text = reply.trim();
  if (text !== '') throw new GgnError(`haproxy: "${command}": ${oneLine(text)}`);
}

/** `set server ... addr` says what changed (or that nothing needed to). */
export function checkAddrReply(reply: string, command: string): void {
  const text = reply.trim();
  if (!/changed|no need to change/i.test(text)) throw new GgnError(`haproxy: "${command}": ${oneLine(text) || 'no answer'}`);
}

/** The state HAProxy's status column means for ggn: MAINT..., DRAIN..., anything else (UP, no check, DOWN) takes traffic when healthy. */
export function stateOfStatus(status: string): ServerState {
  if (/^MAINT/.test(status)) return 'maint';
  if (/^DRAIN/.test(status)) return 'drain';
  return 'ready';
}

/** `show stat` CSV -> `<backend>/<server>` -> its state and current sessions (scur). */
export function parseShowStat(csv: string): Map<string, SlotServer> {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) throw new GgnError(`haproxy: "show stat" answered without its CSV header: ${oneLine(csv) || 'nothing'}`);
  const cols = header.slice(2).split(',');
  const at = (name: string) => {
    const i = cols.indexOf(name);
    if (i < 0) throw new GgnError(`haproxy: "show stat" has no ${name} column`);
    return i;
  };
  const [px, sv, scur, status] = [at('pxname'), at('svname'), at('scur'), at('status')];
  const out = new Map<string, SlotServer>();
  for (const l of lines) {
    if (l.startsWith('#')) continue;
    const f = l.split(',');
    if (f[sv] === 'FRONTEND' || f[sv] === 'BACKEND') continue;
    out.set(`${f[px]}/${f[sv]}`, { state: stateOfStatus(f[status] ?? ''), sessions: Number(f[scur]) || 0, status: f[status] ?? '' });
  }
  return out;
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim().slice(0, 300);
