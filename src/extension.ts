import * as vscode from 'vscode';
import { registerConfigDiagnostics } from './features/config/diagnostics';
import { ActiveEnvironmentState } from './features/shared/activeEnvironment';
import { ClusterAccess } from './features/shared/cluster';
import { registerCommand } from './features/shared/commands';
import type { FeatureContext } from './features/shared/featureContext';

/** Wires the features; each owns its commands, views and cleanup. */
export function activate(extension: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Sandpiper', { log: true });
  const cluster = new ClusterAccess(extension.workspaceState);
  const environments = new ActiveEnvironmentState();
  extension.subscriptions.push(log, cluster, environments, registerConfigDiagnostics());
  const ctx: FeatureContext = { extension, log, cluster, environments };

  extension.subscriptions.push(registerCommand(log, 'sandpiper.selectContext', () => cluster.selectContext()));
  void ctx;
}

export function deactivate(): void {
  // Subscriptions are disposed by VS Code.
}
