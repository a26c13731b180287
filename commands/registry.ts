/** Every verb ggn knows, with the levels it exists at. Add new commands here. */
import type { CommandClass, Level } from './base';

const LOADERS: Record<string, () => CommandClass> = {
  generate: () => require('./generate').default,
  diff: () => require('./diff').default,
  check: () => require('./check').default,
  'list-units': () => require('./list-units').default,
  'list-machines': () => require('./list-machines').default,
  status: () => require('./unit-inspect').Status,
  journal: () => require('./unit-inspect').Journal,
  ssh: () => require('./unit-inspect').Ssh,
  load: () => require('./unit-actions').Load,
  start: () => require('./unit-actions').Start,
  stop: () => require('./unit-actions').Stop,
  restart: () => require('./unit-actions').Restart,
  unload: () => require('./unit-actions').Unload,
  destroy: () => require('./unit-actions').Destroy,
  update: () => require('./update').Update,
  rollback: () => require('./update').Rollback,
  lock: () => require('./lock').Lock,
  unlock: () => require('./lock').Unlock,
  history: () => require('./lock').History,
};

export function verbNames(): string[] {
  return Object.keys(LOADERS).sort();
}

export function loadVerb(name: string): CommandClass | undefined {
  return LOADERS[name]?.();
}

export function verbsAt(level: Level): { name: string; summary: string }[] {
  return verbNames()
    .map((n) => ({ name: n, cls: loadVerb(n)! }))
    .filter((v) => v.cls.levels.includes(level))
    .map((v) => ({ name: v.name, summary: v.cls.summary }));
}

/** Commands that take no env. */
export const TOP_LEVEL: Record<string, string> = {
  version: 'print the ggn version',
  help: 'show this help',
  completion: 'print a shell completion script: ggn completion bash|zsh|fish',
};
