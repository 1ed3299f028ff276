import { Command, CommanderError } from 'commander';
import { presentError, isCancellation, SandpiperError } from '../core/errors';
import { version } from '../../package.json';
import { registerDebugCommands } from './commands/debug';
import { registerDeployCommands, registerEnvCommands, registerJanitorCommands } from './commands/env';
import { registerLogsCommands } from './commands/logs';
import { registerPullRequestCommands } from './commands/pr';
import { registerRolloutCommands } from './commands/rollout';
import { registerSyncCommands } from './commands/sync';
import { findConfigRoot, loadConfig } from '../core/config/loader';
import type { SandpiperConfig } from '../core/config/types';
import { loadKube, type Kube } from '../core/infra/kube/client';

/** The `sandpiper` CLI: one verb per flow, each in its own module under commands/. */
export function buildProgram(): Command {
  const program = new Command('sandpiper')
    .description('Sandpiper: ephemeral environments, live sync, debugging, logs, canaries and draft PRs on Kubernetes.')
    .version(version)
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (default: its current context)')
    .option('-C, --dir <folder>', 'folder holding sandpiper.yaml (default: nearest above the current folder)')
    .showHelpAfterError()
    .exitOverride();
  registerEnvCommands(program);
  registerDeployCommands(program);
  registerSyncCommands(program);
  registerLogsCommands(program);
  registerDebugCommands(program);
  registerRolloutCommands(program);
  registerJanitorCommands(program);
  registerPullRequestCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (isCancellation(err)) {
      process.stderr.write('sandpiper: cancelled\n');
      return 130;
    }
    const { message, hint } = presentError(err);
    process.stderr.write(`sandpiper: ${message.split('\n').join('\n  ')}${hint ? `\n  ${hint}` : ''}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
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
  if (!root) throw new SandpiperError('config-missing', 'No sandpiper.yaml in this folder or above it.', 'Run from the service folder or pass --dir.');
  return loadConfig(root);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
