/**
 * Shell completion. `ggn completion bash|zsh|fish` prints a script; the script asks
 * `ggn __complete <words...> <current>` for the candidates, so completion always reflects the
 * tree as it is now (envs, services, units, commands).
 */
import { Workspace } from '../src/workspace';
import { unitNamesOf } from './grammar';
import { TOP_LEVEL, verbsAt } from './registry';

export function completionScript(shell: string): string {
  switch (shell) {
    case 'bash':
      return `# ggn bash completion: source <(ggn completion bash)
_ggn_complete() {
  local IFS=$'\\n'
  COMPREPLY=( $(ggn __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) )
}
complete -o default -F _ggn_complete ggn
`;
    case 'zsh':
      return `# ggn zsh completion: source <(ggn completion zsh)
autoload -U +X bashcompinit && bashcompinit
${completionScript('bash')}`;
    case 'fish':
      return `# ggn fish completion: ggn completion fish | source
complete -c ggn -f -a '(ggn __complete (commandline -opc)[2..-1] (commandline -ct))'
`;
    default:
      throw new Error(`unknown shell "${shell}" (use bash, zsh or fish)`);
  }
}

/** Candidates for the last word given the words before it (global flags already removed). */
export function complete(ws: Workspace, words: string[]): string[] {
  const current = words.length ? words[words.length - 1] : '';
  const before = words.slice(0, -1).filter((w) => !w.startsWith('-'));
  const candidates = safe(() => candidatesAfter(ws, before));
  return candidates.filter((c) => c.startsWith(current)).sort();
}

function candidatesAfter(ws: Workspace, before: string[]): string[] {
  if (before.length === 0) return [...ws.envNames(), ...Object.keys(TOP_LEVEL)];
  const [env, second, third] = before;
  if (before[0] === 'completion') return before.length === 1 ? ['bash', 'zsh', 'fish'] : [];
  const services = ws.serviceNames(ws.env(env));
  if (before.length === 1) return [...verbsAt('env').map((v) => v.name), ...services];
  if (services.includes(second)) {
    if (before.length === 2) return [...verbsAt('service').map((v) => v.name), ...safe(() => unitNamesOf(ws, env, second))];
    if (before.length === 3 && third) return verbsAt('unit').map((v) => v.name);
    return [];
  }
  return before.length === 2 ? verbsAt('unit').map((v) => v.name) : [];
}

function safe(f: () => string[]): string[] {
  try {
    return f();
  } catch {
    return [];
  }
}
