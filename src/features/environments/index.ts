import * as vscode from 'vscode';
import { ActivityRecorder, recordActivity } from '../../core/env/activity';
import { describeExpiry } from '../../core/env/metadata';
import { presentError } from '../../core/errors';
import { registerCommand } from '../shared/commands';
import type { FeatureContext } from '../shared/featureContext';
import { createEnvironmentCommand } from './createCommand';
import { ExpiryWarning } from './expiryWarning';
import { deleteEnvironmentCommand, extendEnvironmentCommand, selectEnvironmentCommand, targetEnvironment } from './manageCommands';
import { EnvironmentsTree } from './tree';

/** Registers the environments feature: its commands, the Environments view, activity and expiry. */
export function registerEnvironments(ctx: FeatureContext): void {
  const { extension, log } = ctx;
  const tree = new EnvironmentsTree(ctx);
  const view = vscode.window.createTreeView('sandpiper.environments', { treeDataProvider: tree, showCollapseAll: false });
  const status = vscode.window.createStatusBarItem('sandpiper.environment', vscode.StatusBarAlignment.Left, 50);
  status.name = 'Sandpiper Environment';
  status.command = 'sandpiper.env.select';
  const expiry = new ExpiryWarning((ns) => vscode.commands.executeCommand('sandpiper.env.extend', ns));
  extension.subscriptions.push(tree, view, status, expiry);

  // Activity from sync, debug, logs and commands reaches the cluster at most once a minute per env.
  const recorder = new ActivityRecorder(
    (ns, reason, at) => recordActivity(ctx.environments.current?.kube ?? ctx.cluster.kube(), ns, reason, at),
    60_000, Date.now,
    (err) => log.warn(`Could not record activity: ${presentError(err).message}`),
  );
  ctx.environments.activityRecorder = (ns, reason) => void recorder.record(ns, reason);

  const showActive = () => {
    const current = ctx.environments.current;
    const info = current && tree.environments.find((e) => e.name === current.namespace);
    if (!current) {
      status.hide();
      expiry.arm(undefined);
      return;
    }
    status.text = `$(vm-active) ${current.namespace}`;
    status.tooltip = `Sandpiper environment ${current.namespace} (${current.kube.contextName})${info ? ` — ${describeExpiry(info.expiresAt)}` : ''}`;
    status.show();
    expiry.arm(info);
  };
  extension.subscriptions.push(
    ctx.environments.onDidChange(showActive),
    tree.onDidLoad(showActive),
    ctx.cluster.onDidChange(() => {
      ctx.environments.clear();
      tree.restartWatch();
    }),
    registerCommand(log, 'sandpiper.env.create', () => createEnvironmentCommand(ctx, tree)),
    registerCommand(log, 'sandpiper.env.delete', (target) => deleteEnvironmentCommand(ctx, tree, target)),
    registerCommand(log, 'sandpiper.env.extend', (target) => extendEnvironmentCommand(ctx, tree, target)),
    registerCommand(log, 'sandpiper.env.select', (target) => selectEnvironmentCommand(ctx, tree, target)),
    registerCommand(log, 'sandpiper.env.refresh', () => tree.refresh()),
    registerCommand(log, 'sandpiper.env.copyName', async (target) => {
      const env = await targetEnvironment(tree, target, 'Copy Namespace');
      if (env) await vscode.env.clipboard.writeText(env.name);
    }),
  );
}
