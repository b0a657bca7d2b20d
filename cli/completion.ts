import type { Command, Option } from 'commander';

// commander has no shell completion of its own: this writes a small, static
// bash script from its tree of commands and options (zsh runs the same
// script through its bashcompinit). It completes command and subcommand
// names, each command's options, an option's choices, and file names for
// options that take a path; anything else falls back to file names.

/** Option values that are paths, by the placeholder their flag shows. */
const PATH_VALUE = /<(module|path|file)>/;

interface Entry {
  /** The command path: '' for the program, 'channel stop' for a subcommand. */
  path: string;
  commands: string[];
  options: string[];
}

function entries(command: Command, path = ''): Entry[] {
  const visible = command.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
  const options = [...command.options.filter((o) => !o.hidden).flatMap((o) => [o.long, o.short]), '--help'].filter((o): o is string => Boolean(o));
  const entry = { path, commands: visible.map((c) => c.name()), options: [...new Set(options)] };
  return [entry, ...visible.flatMap((c) => entries(c, path ? `${path} ${c.name()}` : c.name()))];
}

function allOptions(command: Command): Option[] {
  return [...command.options, ...command.commands.flatMap(allOptions)];
}

const quote = (path: string): string => `"${path}"`;

/** The completion script for `sluice`, for bash or zsh. */
export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const tree = entries(program);
  const options = allOptions(program);
  const pathOptions = [...new Set(options.filter((o) => PATH_VALUE.test(o.flags) && o.long).map((o) => o.long as string))].sort();
  const choiceOptions = new Map<string, string[]>();
  for (const o of options) if (o.long && o.argChoices) choiceOptions.set(o.long, o.argChoices);
  const commandPaths = tree.filter((e) => e.path !== '').map((e) => quote(e.path));

  const bash = `# Tab completion for sluice, written by \`sluice completion ${shell}\` from its commands.
_sluice_completion() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" word i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${path:+$path }\${COMP_WORDS[i]}"
    case "$word" in
      ${commandPaths.join('|')}) path="$word" ;;
    esac
  done
  COMPREPLY=()
  case "$prev" in
${[...choiceOptions].map(([flag, choices]) => `    ${flag}) COMPREPLY=($(compgen -W "${choices.join(' ')}" -- "$cur")); return ;;`).join('\n')}
    ${pathOptions.join('|')}) return ;;
  esac
  local commands="" options=""
  case "$path" in
${tree.map((e) => `    ${quote(e.path)}) commands="${e.commands.join(' ')}"; options="${e.options.join(' ')}" ;;`).join('\n')}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
  elif [[ -n "$commands" ]]; then
    COMPREPLY=($(compgen -W "$commands" -- "$cur"))
  fi
}
complete -o default -F _sluice_completion sluice
`;
  if (shell === 'bash') return bash;
  return `# zsh: the bash script below, through zsh's bashcompinit.
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bash}`;
}
