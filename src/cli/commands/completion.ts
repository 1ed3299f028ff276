import { type Command, type Option, InvalidArgumentError } from 'commander';

// Completion scripts generated from the program itself, so a new command or option completes without a list to keep.

/** One level of the command tree: its words to offer and the options that take a value (file completion after). */
interface Level {
  /** Space-separated subcommand path from the root, e.g. " env list" ("" for the root). */
  path: string;
  words: Array<{ word: string; description: string }>;
  valueOptions: string[];
}

export type Shell = 'bash' | 'zsh';

/** Adds `completion bash|zsh`: prints a completion script to source from the shell's startup file. */
export function registerCompletionCommands(program: Command): void {
  program
    .command('completion')
    .description('Print a shell completion script: `source <(sandpiper completion bash)` (or zsh) in your shell rc.')
    .argument('<shell>', 'bash or zsh', (text: string): Shell => {
      if (text === 'bash' || text === 'zsh') return text;
      throw new InvalidArgumentError('Use bash or zsh.');
    })
    .action((shell: Shell) => {
      process.stdout.write(completionScript(program, shell));
    });
}

export function completionScript(program: Command, shell: Shell): string {
  const levels = commandLevels(program);
  return shell === 'bash' ? bashScript(program.name(), levels) : zshScript(program.name(), levels);
}

/** Every command path with what can follow it; the root's options (kubeconfig, context…) are offered at every level. */
export function commandLevels(program: Command): Level[] {
  const levels: Level[] = [];
  const globalOptions = program.createHelp().visibleOptions(program);
  const walk = (cmd: Command, path: string, inherited: readonly Option[]): void => {
    const help = cmd.createHelp();
    const own = help.visibleOptions(cmd);
    const options = [...own, ...inherited.filter((g) => !own.some((o) => o.long === g.long))];
    const subcommands = help.visibleCommands(cmd);
    levels.push({
      path,
      words: [
        ...subcommands.flatMap((c) =>
          [c.name(), ...c.aliases()].map((word) => ({ word, description: firstLine(c.description()) })),
        ),
        ...options.flatMap((o) =>
          [o.long, o.short]
            .filter((f): f is string => Boolean(f))
            .map((word) => ({ word, description: firstLine(o.description) })),
        ),
      ],
      valueOptions: options
        .filter((o) => o.required || o.optional)
        .flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f))),
    });
    for (const sub of cmd.commands) {
      const passed = cmd === program ? globalOptions : inherited;
      for (const name of [sub.name(), ...sub.aliases()]) walk(sub, `${path} ${name}`, passed);
    }
  };
  walk(program, '', []);
  return levels;
}

function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}

/** A word fit for a shell case pattern or word list: command names and flags are plain [A-Za-z0-9-]. */
function plain(word: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(word)) throw new Error(`Cannot complete the word "${word}".`);
  return word;
}

function fn(name: string): string {
  return `_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** A shell function naming the options that take a value at a command path (the same text works in bash and zsh). */
function valuesFunction(f: string, levels: Level[]): string {
  return [
    `${f}_values() {`,
    `  case "$1" in`,
    ...levels
      .filter((l) => l.valueOptions.length)
      .map((l) => `    "${l.path}") echo "${l.valueOptions.map(plain).join(' ')}" ;;`),
    `  esac`,
    `}`,
  ].join('\n');
}

/** The shared walk: the subcommand path typed so far, skipping flags and the values of value-taking flags. */
function pathWalk(f: string, levels: Level[], wordsVar: string, first: string, end: string): string {
  const known = levels
    .filter((l) => l.path)
    .map((l) => `"${l.path}"`)
    .join('|');
  return [
    `  local cmdpath="" i w skip=0`,
    `  for ((i=${first}; i<${end}; i++)); do`,
    `    w="${wordsVar}[i]}"`,
    `    if ((skip)); then skip=0; continue; fi`,
    `    if [[ "$w" == -* ]]; then`,
    `      [[ " $(${f}_values "$cmdpath") " == *" $w "* ]] && skip=1`,
    `      continue`,
    `    fi`,
    `    case "$cmdpath $w" in`,
    ...(known ? [`      ${known}) cmdpath="$cmdpath $w" ;;`] : []),
    `    esac`,
    `  done`,
  ].join('\n');
}

function bashScript(name: string, levels: Level[]): string {
  const f = fn(name);
  const cases = levels.map((l) => `    "${l.path}") words="${l.words.map((w) => plain(w.word)).join(' ')}" ;;`);
  return [
    `# ${name} completion for bash: source <(${name} completion bash)`,
    valuesFunction(f, levels),
    `${f}() {`,
    `  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" words=""`,
    pathWalk(f, levels, '${COMP_WORDS', '1', 'COMP_CWORD'),
    `  if [[ " $(${f}_values "$cmdpath") " == *" $prev "* ]]; then`,
    `    COMPREPLY=($(compgen -f -- "$cur"))`,
    `    return`,
    `  fi`,
    `  case "$cmdpath" in`,
    ...cases,
    `  esac`,
    `  COMPREPLY=($(compgen -W "$words" -- "$cur"))`,
    `}`,
    `complete -o default -F ${f} ${name}`,
    '',
  ].join('\n');
}

function zshScript(name: string, levels: Level[]): string {
  const f = fn(name);
  // _describe items are "word:description"; a colon in the word would split it, quotes close the literal.
  const item = (w: { word: string; description: string }) =>
    `'${plain(w.word)}:${w.description.replace(/'/g, "'\\''")}'`;
  const cases = levels.map((l) => `    "${l.path}") items=(${l.words.map(item).join(' ')}) ;;`);
  return [
    `#compdef ${name}`,
    `# ${name} completion for zsh: source <(${name} completion zsh), or save as _${name} in a folder of $fpath`,
    valuesFunction(f, levels),
    `${f}() {`,
    `  local -a items`,
    // zsh arrays are 1-based and words[1] is the command itself.
    pathWalk(f, levels, '${words', '2', 'CURRENT'),
    `  if [[ " $(${f}_values "$cmdpath") " == *" \${words[CURRENT-1]} "* ]]; then`,
    `    _files`,
    `    return`,
    `  fi`,
    `  case "$cmdpath" in`,
    ...cases,
    `  esac`,
    `  _describe -t commands '${name}' items`,
    `}`,
    `if [ "$funcstack[1]" = "${f}" ]; then`,
    `  ${f} "$@"`,
    `else`,
    `  compdef ${f} ${name}`,
    `fi`,
    '',
  ].join('\n');
}
