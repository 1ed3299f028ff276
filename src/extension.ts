import * as vscode from 'vscode';
import { registerConfigDiagnostics } from './features/config/diagnostics';
import { registerDebug } from './features/debug';
import { registerEnvironments } from './features/environments';
import { registerLogs } from './features/logs';
import { registerPullRequest } from './features/pr';
import { registerRollout } from './features/rollout';
import { registerSync } from './features/sync';
import { ActiveEnvironmentState, ClusterAccess, type FeatureContext } from './features/shared/context';
import { registerCommand } from './features/shared/commands';

/** Wires the features; each owns its commands, views and cleanup. */
export function activate(extension: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Sandpiper', { log: true });
  const cluster = new ClusterAccess(extension.workspaceState);
  const environments = new ActiveEnvironmentState();
  extension.subscriptions.push(log, cluster, environments, registerConfigDiagnostics());
  const ctx: FeatureContext = { extension, log, cluster, environments };

  extension.subscriptions.push(registerCommand(log, 'sandpiper.selectContext', () => cluster.selectContext()));
  registerEnvironments(ctx);
  registerSync(ctx);
  registerDebug(ctx);
  registerLogs(ctx);
  registerRollout(ctx);
  registerPullRequest(ctx);
}

export function deactivate(): void {
  // Subscriptions are disposed by VS Code.
}
