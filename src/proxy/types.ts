/**
 * The proxy port of zero-downtime rollouts (src/apply/overlap.ts): what the rollout asks of
 * whatever sends traffic to a node's two slots. It only moves servers between ready, drain and
 * maint and reads their sessions; the proxy's own configuration is the operator's. HAProxy
 * (./haproxy) is one implementation, the tests' fake another; nginx or a shared load balancer
 * would be others, without a change to the rollout.
 */

/** ready: takes new connections; drain: keeps its sessions, takes no new ones; maint: none at all. */
export type ServerState = 'ready' | 'drain' | 'maint';

export interface SlotServer {
  state: ServerState;
  /** Current sessions (connections being served). */
  sessions: number;
  /** The proxy's own words (HAProxy's status column: UP, DRAIN, MAINT, no check, DOWN ...). */
  status: string;
}

/** One slot of one node: which machine's proxy, which server. */
export interface SlotTarget {
  /** The node's machine (the proxy may live on another one, its settings say). */
  machine: string;
  hostname: string;
  slot: string;
  port: number;
}

export interface TrafficProxy {
  /** For messages: `haproxy web` */
  describe(): string;
  /** The servers of the given slots of a node, by slot name. Throws when the proxy cannot be asked or lacks one. */
  servers(machine: string, hostname: string, slots: string[]): Promise<Map<string, SlotServer>>;
  /** Sets a slot's server state (ready also points the server at the slot, when the proxy is told to). */
  setState(target: SlotTarget, state: ServerState): Promise<void>;
}
