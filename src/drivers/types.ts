/**
 * What every driver offers (ssh-systemd now, fleet later): read the live state of units on
 * machines, and act on single units. Everything below returns GgnErrors that name the host.
 */
import { GgnError } from '../errors';
import { Machine } from '../plan/placement';

/** What systemd says of a unit (`systemctl show`). Missing fields are ''. */
export interface UnitState {
  loadState: string;
  activeState: string;
  subState: string;
  unitFileState: string;
  result: string;
  mainPid: number;
  nRestarts: number;
  activeEnterTimestamp: string;
  /** Service Type= (simple, exec, forking, oneshot, notify, ...); '' for other unit kinds. */
  type: string;
  /** systemd's id of the unit's current (or last) activation; a restart makes a new one. */
  invocationId: string;
}

export interface LiveUnit {
  name: string;
  machine: string;
  /** Bytes of the unit file in the unit directory; null when there is no file. */
  content: string | null;
  state?: UnitState;
}

export interface HostSnapshot {
  machine: string;
  /** Units whose names start with one of the prefixes read. */
  units: LiveUnit[];
  /** Set when the host could not be read; `units` is then empty. */
  error?: GgnError;
}

export interface Driver {
  readonly name: string;
  machines(): Machine[];
  /** Reads, in a fixed number of round trips per host, every unit whose name starts with a prefix. */
  read(machines: string[], prefixes: string[]): Promise<HostSnapshot[]>;
  close(): Promise<void>;
}
