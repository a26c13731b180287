/**
 * Contracts shared by the rollout pieces (engine, locks, hooks, health gates, reporters).
 * Clocks and sleeps are injected so retry, wait and health loops are testable without waiting.
 */
import { ExecResult } from '../transport/types';

export { Clock, realClock } from '../clock';

/** Runs argv on a machine (already connected, quoted by the transport); non-zero exits are returned, not thrown. */
export type RemoteExec = (machine: string, argv: string[], opts?: { stdin?: string; timeoutMs?: number }) => Promise<ExecResult>;

/** The steps of one unit's update, in order. */
export type RolloutStep =
  | 'pending'
  | 'hooks-early'
  | 'write'
  | 'reload'
  | 'restart'
  | 'wait-active'
  | 'health'
  | 'hooks-late'
  | 'restore'
  | 'done'
  | 'prune'
  // A service with `rollout:` (apply/overlap.ts): the new slot started next to the old one, the
  // proxy switched to it, the old one drained and stopped.
  | 'start-new'
  | 'switch'
  | 'drain'
  | 'stop-old';

export type RolloutResult = 'started' | 'ok' | 'skipped' | 'failed' | 'restored' | 'restore-failed';

/** One thing that happened, for the reporters (the live task list on a terminal, plain lines, NDJSON with --json). */
export interface RolloutEvent {
  time: number;
  unit: string;
  host: string;
  step: RolloutStep;
  result: RolloutResult;
  /** ms spent in this step (on 'ok' / 'failed'). */
  durationMs?: number;
  /** Human detail: the hook's or the service manager's output, the health check's answer, ... */
  message?: string;
}

export interface Reporter {
  /** The units the rollout will go through, in order (for a task list). */
  plan(units: { unit: string; host: string }[]): void;
  event(e: RolloutEvent): void;
  /** A line that is not about one unit (lock taken, batch started, summary). */
  info(message: string): void;
  /** How far a read of the hosts is: `done` of `total` answered (a read of 200 hosts takes tens of seconds). */
  reading?(done: number, total: number): void;
  close(): Promise<void>;
}
