import { ApiException } from '@kubernetes/client-node';
import { Command, CommanderError } from 'commander';
import { presentError, isCancellation, SandpiperError } from '../core/errors';
import { version } from '../../package.json';
import { registerCompletionCommands } from './commands/completion';
import { registerControllerCommands } from './commands/controller';
import { registerDebugCommands } from './commands/debug';
import { registerDeployCommands, registerEnvCommands, registerJanitorCommands } from './commands/env';
import { registerInitCommands } from './commands/init';
import { registerLogsCommands } from './commands/logs';
import { registerOpenCommands } from './commands/open';
import { registerPullRequestCommands } from './commands/pr';
import { registerRolloutCommands } from './commands/rollout';
import { registerSyncCommands } from './commands/sync';
import { findConfigRoot, loadConfig } from '../core/config/loader';
import type { SandpiperConfig } from '../core/config/types';
import { loadKube, type Kube } from '../core/infra/kube/client';
import { isConnectionFailure, kubeError } from '../core/infra/kube/errors';
import { Interrupt } from './interrupt';

/** What every command gets from main. */
export interface CliContext {
  /**
   * The one Ctrl+C / SIGTERM as an AbortSignal. A long-running command takes it and, when it fires, stops
   * and cleans up; a command that never takes it is ended at once by the signal (see Interrupt).
   */
  interruptSignal(): AbortSignal;
}

/** The `sandpiper` CLI: one verb per flow, each in its own module under commands/. */
export function buildProgram(cli: CliContext): Command {
  const program = new Command('sandpiper')
    .description('Sandpiper: ephemeral environments, live sync, debugging, logs, canaries and draft PRs on Kubernetes.')
    .version(version)
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (default: its current context)')
    .option('-C, --dir <folder>', 'folder holding sandpiper.yaml (default: nearest above the current folder)')
    .showHelpAfterError()
    .exitOverride();
  registerInitCommands(program);
  registerEnvCommands(program, cli);
  registerDeployCommands(program, cli);
  registerSyncCommands(program, cli);
  registerLogsCommands(program, cli);
  registerDebugCommands(program, cli);
  registerOpenCommands(program, cli);
  registerRolloutCommands(program, cli);
  registerControllerCommands(program, cli);
  registerJanitorCommands(program);
  registerPullRequestCommands(program, cli);
  registerCompletionCommands(program);
  return program;
}

/** Runs one command line; resolves to the exit code (130/143 after Ctrl+C/SIGTERM, 2 for usage, 1 for failure). */
export async function main(argv: string[]): Promise<number> {
  const interrupt = new Interrupt();
  const program = buildProgram({ interruptSignal: () => interrupt.take() });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return interrupt.exitCode ?? 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (interrupt.exitCode !== undefined || isCancellation(err)) {
      process.stderr.write('sandpiper: cancelled\n');
      return interrupt.exitCode ?? 130;
    }
    // client-node's own message is a dump of status, body and headers, a network error's a bare URL: the one
    // translator says it plainly, naming the context and server.
    const plain = err instanceof ApiException || isConnectionFailure(err) ? kubeError(err, 'talk to the cluster') : err;
    const { message, hint } = presentError(plain);
    process.stderr.write(`sandpiper: ${message.split('\n').join('\n  ')}${hint ? `\n  ${hint}` : ''}\n`);
    return 1;
  } finally {
    interrupt.dispose();
  }
}

export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  dir?: string;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function kubeFor(cmd: Command): Kube {
  const o = globals(cmd);
  return loadKube({ kubeconfig: o.kubeconfig, context: o.context });
}

export async function configFor(cmd: Command): Promise<SandpiperConfig> {
  const o = globals(cmd);
  const root = o.dir ?? (await findConfigRoot(process.cwd()));
  if (!root)
    throw new SandpiperError(
      'config-missing',
      'No sandpiper.yaml in this folder or above it.',
      'Run from the service folder or pass --dir.',
    );
  return loadConfig(root);
}

/** sandpiper.yaml when there is one; for verbs that also work without it (their defaults apply). */
export async function optionalConfigFor(cmd: Command): Promise<SandpiperConfig | undefined> {
  try {
    return await configFor(cmd);
  } catch (err) {
    if (err instanceof SandpiperError && err.code === 'config-missing') return undefined;
    throw err;
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
