import { Command, CommanderError } from 'commander';
import { presentError, isCancellation } from '../core/errors';
import { version } from '../../package.json';
import { registerDebugCommands } from './commands/debug';
import { registerDeployCommands } from './commands/deploy';
import { registerEnvCommands } from './commands/env';
import { registerJanitorCommands } from './commands/janitor';
import { registerLogsCommands } from './commands/logs';
import { registerPullRequestCommands } from './commands/pr';
import { registerRolloutCommands } from './commands/rollout';
import { registerSyncCommands } from './commands/sync';

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
