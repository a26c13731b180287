/**
 * Every verb ggn knows: the levels it exists at and its one-line summary (for help, completion and
 * the grammar), and how to load its command. Command modules are loaded only when that command
 * runs or its help is shown: loading them all would cost every invocation ~0.1 s.
 */
import type { CommandClass, Level } from './base';

interface Verb {
  levels: Level[];
  summary: string;
  load: () => CommandClass;
}

const ALL: Level[] = ['env', 'service', 'unit'];

const VERBS: Record<string, Verb> = {
  generate: { levels: ALL, summary: 'render unit files into services/<svc>/units/, as GGN did', load: () => require('./generate').default },
  validate: {
    levels: ALL,
    summary: 'check the configs, manifests, attributes and templates offline, listing every problem (--strict: missing attributes too)',
    load: () => require('./validate').default,
  },
  diff: { levels: ALL, summary: 'show what would change on the hosts, unit by unit and host by host', load: () => require('./diff').default },
  check: { levels: ALL, summary: 'verify every unit is on its host, up to date, and active/running', load: () => require('./check').default },
  update: {
    levels: ALL,
    summary: 'roll the tree out host by host: write, reload, restart, wait, health gate; restore on failure',
    load: () => require('./update').Update,
  },
  rollback: {
    levels: ALL,
    summary: 'put back the previous revision of every unit (kept on each host), with the same gates',
    load: () => require('./update').Rollback,
  },
  prune: {
    levels: ['env', 'service'],
    summary: 'remove the units that are live but no longer in the tree (stop, remove keeping a revision, reload), under the lock',
    load: () => require('./update').Prune,
  },
  'list-units': {
    levels: ['env', 'service'],
    summary: 'list the units with their machine, diff status and systemd state',
    load: () => require('./list-units').default,
  },
  'list-machines': {
    levels: ['env'],
    summary: "print the env's machine inventory (the SSH driver's `machines:`)",
    load: () => require('./list-machines').default,
  },
  lock: {
    levels: ['service'],
    summary:
      "lock the service by hand for a while (others' update, rollback, start, stop, restart and destroy refuse to run; yours run under it): lock -t 1h <message>",
    load: () => require('./lock').Lock,
  },
  unlock: {
    levels: ['service'],
    summary: "release your lock taken by hand (--force: any lock, also a running command's or a half-written one)",
    load: () => require('./lock').Unlock,
  },
  history: {
    levels: ['env', 'service'],
    summary: 'the audit log of the env or service, from every host: who did what, when, and how it ended',
    load: () => require('./lock').History,
  },
  status: { levels: ['unit'], summary: "systemd's status of the unit on its machine(s)", load: () => require('./unit-inspect').Status },
  journal: { levels: ['unit'], summary: "the unit's journal on its machine (-f to follow, -l N lines)", load: () => require('./unit-inspect').Journal },
  ssh: { levels: ['unit'], summary: "open a shell on the unit's machine (or run the command given after --)", load: () => require('./unit-inspect').Ssh },
  load: {
    levels: ['unit'],
    summary: 'write the unit (and its timer) to its machine where missing or different, then daemon-reload',
    load: () => require('./unit-actions').Load,
  },
  start: {
    levels: ['unit'],
    summary: 'start the unit (its timer when it has one), writing it to its machine first if missing',
    load: () => require('./unit-actions').Start,
  },
  stop: { levels: ['unit'], summary: 'stop the unit and its timer (disabled: it stays stopped after a reboot)', load: () => require('./unit-actions').Stop },
  restart: { levels: ['unit'], summary: 'restart the unit', load: () => require('./unit-actions').Restart },
  unload: { levels: ['unit'], summary: 'stop the unit and its timer (disabled), keeping the files', load: () => require('./unit-actions').Unload },
  destroy: {
    levels: ['unit'],
    summary: 'stop the unit and remove its files from the machine (asks first on a terminal; -y in scripts)',
    load: () => require('./unit-actions').Destroy,
  },
};

export function verbNames(): string[] {
  return Object.keys(VERBS).sort();
}

export function loadVerb(name: string): CommandClass | undefined {
  return VERBS[name]?.load();
}

export function verbSummary(name: string): string {
  return VERBS[name]?.summary ?? '';
}

export function verbsAt(level: Level): { name: string; summary: string }[] {
  return verbNames()
    .filter((n) => VERBS[n].levels.includes(level))
    .map((n) => ({ name: n, summary: VERBS[n].summary }));
}

/** Commands that take no env. */
export const TOP_LEVEL: Record<string, string> = {
  version: 'print the ggn version',
  help: 'show this help',
  completion: 'print a shell completion script: ggn completion bash|zsh|fish',
  show: 'print a plan saved by `ggn <env> diff --out <file>`, for review: ggn show <file>',
  secrets: 'encrypted attribute files (SOPS, age): ggn secrets keygen|encrypt|edit|rotate',
};
