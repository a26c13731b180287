/**
 * The driver port: what a rollout, a diff and the unit commands need from a backend, in their
 * words (modelled on fleet's client API: one interface of intents, several implementations).
 * The systemd-over-SSH driver is one implementation, the in-memory driver of the tests another;
 * what "up" means, how a unit file is written and how a manager is told about it live inside
 * each driver. Everything returns GgnErrors that name the host.
 */
import { GgnError } from '../errors';
import { Clock } from '../clock';
import { ExecResult } from '../transport/types';
import type { LockStore } from './lock-store';

export interface Machine {
  name: string;
  metadata: Record<string, string>;
}

/** A unit's state, normalised (systemd's words, which fleet's /state also uses). Missing fields are ''. */
export interface FailureDetail {
  /** systemd's Result= (exit-code, signal, timeout, ...). */
  result: string;
  /** active/sub state when asked. */
  state: string;
  exitStatus?: number;
  signal?: number;
  journal?: string[];
}

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
  /** The id of the unit's current (or last) activation; a restart makes a new one. */
  invocationId: string;
}

export interface LiveUnit {
  name: string;
  machine: string;
  /** Bytes of the unit file; null when there is no file. */
  content: string | null;
  /** Only its owner can read the file (ggn wrote it holding a secret): printed with its values hidden. */
  private?: boolean;
  state?: UnitState;
}

export interface HostSnapshot {
  machine: string;
  /** Units whose names start with one of the prefixes read. */
  units: LiveUnit[];
  /** Set when the host could not be read; `units` is then empty. */
  error?: GgnError;
}

/** A start that was asked for and can be waited for (what the driver needs to tell the new instance). */
export interface StartTicket {
  unit: string;
  /** Driver-specific: systemd's invocation id before the restart. */
  before?: string;
  /**
   * Looks at the unit taken by the start's own round trip (a driver that can watch a start from
   * the host, asked to by `watch`), oldest first: waitUp judges them before it looks itself.
   */
  looks?: UnitState[];
}

/**
 * Asks a driver to watch a start from the host, in the start's own round trip: for up to
 * `budgetMs` until the service has started, then `settleMs` more (StartTicket.looks).
 */
export interface StartWatch {
  settleMs: number;
  budgetMs: number;
}

export interface WaitUpOptions {
  /** Epoch ms (on `clock`) by which the unit must be up. */
  deadline: number;
  timeoutMs: number;
  /** How long a started service must stay up (same process, no restart) to count. */
  settleMs: number;
  pollMs: number;
  clock: Clock;
  /** Aborts the wait: it then throws `interrupted`. */
  signal: AbortSignal;
}

export interface InstallOptions {
  keepRevision: boolean;
  dropRevision?: string;
  secret?: boolean;
}

/** What `installAndStart` was asked to do. */
export interface InstallAndStart {
  unit: string;
  content: string;
  keepRevision: boolean;
  dropRevision?: string;
  /** The content holds a secret: the file is written 0600 (see InstallOptions). */
  secret?: boolean;
  /** The unit to (re)start: the service, or its timer. */
  start: string;
  /**
   * An audit line (its fields) appended before anything changes, in the same round trip. One
   * that cannot be written does not stop the rest: `auditError` then says why.
   */
  auditFirst?: string[];
  watch?: StartWatch;
}

/** What `installAndStart` did. */
export interface InstallAndStartResult {
  revision?: string;
  ticket: StartTicket;
  auditError?: string;
  /**
   * How long the host spent on the steps after the write, by its own clock (10 ms resolution),
   * when it can say: systemd's reload, the restart's request, the watch of the start (looks and
   * settle). The round trip's events report these instead of 0 ms for reload and restart.
   */
  hostMs?: { reload: number; restart: number; watch: number };
}

/**
 * installAndStart stopped at `step`. `mayHaveChanged`: the unit file may be installed (it was,
 * or the driver cannot tell: a connection lost mid-way), so the caller restores it; `revision`
 * is the revision kept, when known.
 */
export class InstallAndStartError extends GgnError {
  constructor(
    message: string,
    readonly step: 'write' | 'reload' | 'restart',
    readonly mayHaveChanged: boolean,
    readonly revision: string | undefined,
    ctx: ConstructorParameters<typeof GgnError>[1] = {},
    /** Why `auditFirst` could not be written, when it could not. */
    readonly auditError?: string,
  ) {
    super(message, ctx);
  }
}

export interface Driver {
  readonly name: string;
  machines(): Machine[];
  /** Reads, in a fixed number of round trips per host, every unit whose name starts with a prefix. */
  read(machines: string[], prefixes: string[]): Promise<HostSnapshot[]>;
  /** The units' states right now. */
  unitStates(machine: string, units: string[]): Promise<Map<string, UnitState>>;

  /**
   * Writes a unit atomically; keepRevision keeps the replaced bytes as a revision (returned).
   * `secret`: the content holds a secret, so the file is readable by its owner only (root's in
   * scope system); revisions and ggn's state on the host are always private.
   */
  install(machine: string, unit: string, content: string, opts: InstallOptions): Promise<{ revision?: string }>;
  /** Removes unit files (not an error when absent); keepRevision keeps each removed file as a revision first (`prune`). */
  uninstall(machine: string, units: string[], opts?: { keepRevision?: boolean }): Promise<void>;
  /** Makes the machine's manager see what was installed or removed. */
  reload(machine: string): Promise<void>;

  start(machine: string, units: string[]): Promise<void>;
  /**
   * Stops units; `quiet`: units that are not loaded are not an error; `disable`: they do not come
   * back at the next boot either (a slot taken out of service).
   */
  stop(machine: string, units: string[], opts?: { quiet?: boolean; disable?: boolean }): Promise<void>;
  restart(machine: string, units: string[]): Promise<void>;
  /** Forgets units' failed state (after a restore or a destroy). */
  resetFailed(machine: string, units: string[]): Promise<void>;
  /** (Re)starts a unit without waiting for it to come up: `waitUp` does that, bounded. */
  beginStart(machine: string, unit: string, opts?: { watch?: StartWatch }): Promise<StartTicket>;
  /**
   * Waits until the started unit is up by the driver's rules; throws an Error saying why not. A
   * backend that placed the unit itself (fleet) says where in `note`.
   */
  waitUp(machine: string, ticket: StartTicket, opts: WaitUpOptions): Promise<{ note?: string } | undefined>;

  /**
   * Optional: install, reload, beginStart in that order, in one round trip where the driver can.
   * Stops at the first step that fails (a failed write reloads and restarts nothing) and throws
   * an InstallAndStartError naming it.
   */
  installAndStart?(machine: string, req: InstallAndStart): Promise<InstallAndStartResult>;

  /** The revisions kept of a unit on its machine (the last few), oldest first. */
  readRevisions(machine: string, unit: string): Promise<{ revision: string; content: string }[]>;
  /** Optional: readRevisions of several units of one machine, in one round trip (each unit named is in the map). */
  readRevisionsOf?(machine: string, units: string[]): Promise<Map<string, { revision: string; content: string }[]>>;
  dropRevision(machine: string, unit: string, revision: string): Promise<void>;

  /** Refuses, naming host and place, when the machine's audit log cannot be appended to. */
  checkAudit(machine: string): Promise<void>;
  /** Appends one line (its fields, in the order `apply/audit.ts` defines). */
  appendAudit(machine: string, fields: string[]): Promise<void>;
  readAudit(machine: string): Promise<string>;

  /**
   * Set by a backend that places units itself (fleet): the plan then puts each unit where read()
   * found it, and addresses a unit the backend has not placed (yet) by `pending`.
   */
  readonly scheduler?: { pending: string };
  /** The form in which the backend stores a unit (fleet: its options re-serialized); the plan compares and shows units in this form. */
  canonical?(unit: string, content: string): string;

  // Optional capabilities (a backend without them says so when they are asked for).
  /** Runs argv on the machine (exec health checks, the ssh lock). */
  exec?(machine: string, argv: string[], opts?: { stdin?: string; timeoutMs?: number }): Promise<ExecResult>;
  /** The machine's network address (`$HOST` in health checks). */
  address?(machine: string): string;
  /** A human status of the unit (`systemctl status`). */
  status?(machine: string, unit: string): Promise<string>;
  /** Why a unit is not up: systemd's result, exit status or signal, its last journal lines (undefined: no journal on the host). */
  failureDetail?(machine: string, unit: string, lines: number): Promise<FailureDetail>;
  /** The unit's last journal lines, and the journal's own notes when it shows nothing (e.g. no right to read it). */
  journal?(machine: string, unit: string, lines: number): Promise<{ text: string; notes?: string }>;
  /** A local command that follows the unit's journal, or opens a shell (or runs `remote`) on the machine. */
  followJournalCommand?(machine: string, unit: string, lines: number): string[];
  shellCommand?(machine: string, remote: string[], tty: boolean): string[];
  /** The backend's own machine list (fleet's /machines), when the env config does not hold it. */
  inventory?(): Promise<{ name: string; id?: string; address: string; metadata: Record<string, string> }[]>;
  /** The machines' own lock store (the `ssh` lock backend: a directory on the env's first machine). */
  lockStore?(envName: string): LockStore;

  close(): Promise<void>;
}

/** A capability the env's driver does not have: one clear line. */
export function missingCapability(driver: Driver, what: string): GgnError {
  return new GgnError(`the ${driver.name} driver cannot ${what}`);
}
