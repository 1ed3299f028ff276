// `sandpiper completion bash|zsh`: generated from the commander program, checked by running the bash one in bash.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { commandLevels, completionScript, registerCompletionCommands } from '../../../src/cli/commands/completion';
import { buildProgram } from '../../../src/cli/main';

const program = () => buildProgram({ interruptSignal: () => new AbortController().signal });

/** What the bash completion offers for a command line whose last word is being typed. */
function complete(script: string, words: string[]): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sp-completion-'));
  try {
    const file = path.join(dir, 'c.bash');
    writeFileSync(file, script);
    const out = execFileSync(
      'bash',
      [
        '-c',
        `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _sandpiper; printf '%s\\n' "\${COMPREPLY[@]}"`,
        'bash',
        file,
        ...words,
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    return out.split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('sandpiper completion', () => {
  it('offers every command of the program, with its own options and the global ones', () => {
    const p = program();
    const levels = commandLevels(p);
    const root = levels.find((l) => l.path === '')!;
    for (const cmd of p.commands)
      assert.ok(
        root.words.some((w) => w.word === cmd.name()),
        cmd.name(),
      );
    const open = levels.find((l) => l.path === ' open')!;
    const words = open.words.map((w) => w.word);
    for (const flag of ['--service', '-s', '--port', '--local-port', '--json', '--context', '--kubeconfig'])
      assert.ok(words.includes(flag), `${flag} in ${words.join(' ')}`);
    assert.deepEqual(
      levels
        .find((l) => l.path === ' rollout')!
        .words.filter((w) => !w.word.startsWith('-'))
        .map((w) => w.word)
        .sort(),
      [...p.commands.find((c) => c.name() === 'rollout')!.commands.map((c) => c.name()), 'help'].sort(),
    );
  });

  it('follows a command added to the program, with no list to keep', () => {
    const p = program();
    p.command('frobnicate').description('Frob: it: nicates').option('--wobble <n>', "it's wobbly");
    const bash = completionScript(p, 'bash');
    assert.deepEqual(complete(bash, ['sandpiper', 'frob']), ['frobnicate']);
    assert.ok(complete(bash, ['sandpiper', 'frobnicate', '--w']).includes('--wobble'));
    assert.match(completionScript(p, 'zsh'), /'frobnicate:Frob: it: nicates'/);
    assert.match(completionScript(p, 'zsh'), /'--wobble:it'\\''s wobbly'/, 'a quote in a description is escaped');
  });

  it('bash: completes subcommands and flags after global options and their values', () => {
    const bash = completionScript(program(), 'bash');
    execFileSync('bash', ['-n'], { input: bash });
    assert.deepEqual(complete(bash, ['sandpiper', 'op']), ['open']);
    assert.deepEqual(complete(bash, ['sandpiper', '--context', 'env', 'env', 'l']), ['list']);
    assert.deepEqual(complete(bash, ['sandpiper', 'rollout', 'pro']), ['promote']);
    const flags = complete(bash, ['sandpiper', 'open', 'my-env', '--']);
    assert.ok(flags.includes('--service') && flags.includes('--port') && !flags.includes('--once'), flags.join(' '));
  });

  it('bash: a value-taking flag completes a file name, and its value is not taken for a command', () => {
    const bash = completionScript(program(), 'bash');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sp-kubeconfigs-'));
    try {
      writeFileSync(path.join(dir, 'kubeconfig.yaml'), '');
      assert.deepEqual(complete(bash, ['sandpiper', '--kubeconfig', path.join(dir, 'kube')]), [
        path.join(dir, 'kubeconfig.yaml'),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // "logs" is the value of --service here, not the logs command.
    const words = complete(bash, ['sandpiper', 'open', '--service', 'logs', '--t']);
    assert.deepEqual(words, [], `open has no --t… flag, logs has --tail: ${words.join(' ')}`);
  });

  it('zsh: a compdef function with the same command paths, described', () => {
    const zsh = completionScript(program(), 'zsh');
    assert.match(zsh, /^#compdef sandpiper\n/);
    assert.match(zsh, /" rollout promote"\) items=\(/);
    assert.match(zsh, /'open:Forward a service'\\''s HTTP port/);
    assert.match(zsh, /compdef _sandpiper sandpiper/);
    assert.doesNotMatch(zsh, /local path\b/, 'zsh ties $path to $PATH');
  });

  it('refuses a shell it cannot write for', () => {
    const p = new Command('x').exitOverride().configureOutput({ writeErr: () => undefined });
    registerCompletionCommands(p);
    assert.throws(() => p.parse(['completion', 'fish'], { from: 'user' }), /Use bash or zsh/);
  });
});
