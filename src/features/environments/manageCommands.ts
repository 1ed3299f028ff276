import * as vscode from 'vscode';
import { parseDuration } from '../../core/config/duration';
import { deleteEnvironment, extendEnvironment } from '../../core/env/lifecycle';
import { describeExpiry, type EnvironmentInfo } from '../../core/env/metadata';
import type { FeatureContext } from '../shared/featureContext';
import { workspaceConfig } from '../shared/workspaceConfig';
import { reachableClusterOrExplain } from './clusterCheck';
import type { EnvironmentsTree } from './tree';

/** The environment a command acts on: the tree row it was run from, a namespace name, else one the user picks. */
export async function targetEnvironment(tree: EnvironmentsTree, target: unknown, title: string): Promise<EnvironmentInfo | undefined> {
  const envs = tree.environments.length ? tree.environments : await tree.refresh();
  if (target && typeof target === 'object' && 'env' in target) return (target as { env: EnvironmentInfo }).env;
  if (typeof target === 'string') return envs.find((e) => e.name === target) ?? { name: target, owner: '', branch: '', dependencies: {}, phase: 'Unknown' };
  if (!envs.length) {
    void vscode.window.showInformationMessage('There are no Sandpiper environments on this cluster.', 'Create Ephemeral Environment').then((c) => {
      if (c) void vscode.commands.executeCommand('sandpiper.env.create');
    });
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    envs.map((env) => ({ label: env.name, description: `${env.owner} · ${env.branch}`, detail: describeExpiry(env.expiresAt), env })),
    { title, placeHolder: 'Environment' },
  );
  return pick?.env;
}

export async function deleteEnvironmentCommand(ctx: FeatureContext, tree: EnvironmentsTree, target: unknown): Promise<boolean> {
  const env = await targetEnvironment(tree, target, 'Delete Environment');
  if (!env) return false;
  const ok = await vscode.window.showWarningMessage(`Delete environment ${env.name} and everything in it?`, { modal: true, detail: 'The namespace and all its objects are deleted. Other namespaces are not touched.' }, 'Delete');
  if (ok !== 'Delete') return false;
  const kube = await reachableClusterOrExplain(ctx, `delete ${env.name}`);
  if (!kube) return false;
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Deleting ${env.name}` }, () => deleteEnvironment(kube, env.name));
  ctx.environments.clear(env.name);
  ctx.log.info(`Deleted environment ${env.name}`);
  void tree.refresh();
  void vscode.window.showInformationMessage(`Deleted environment ${env.name}.`);
  return true;
}

export async function extendEnvironmentCommand(ctx: FeatureContext, tree: EnvironmentsTree, target: unknown): Promise<boolean> {
  const env = await targetEnvironment(tree, target, 'Extend Environment');
  if (!env) return false;
  const pick = await vscode.window.showQuickPick(['1h', '2h', '4h', '8h', '1d'], { title: `Extend ${env.name} by`, placeHolder: describeExpiry(env.expiresAt) });
  const byMs = pick ? parseDuration(pick) : undefined;
  if (!byMs) return false;
  const info = await extendEnvironment(ctx.cluster.kube(), env.name, byMs);
  void tree.refresh();
  void vscode.window.showInformationMessage(`${env.name} now ${describeExpiry(info.expiresAt)}.`);
  return true;
}

/** Makes an existing environment the one the editor works on (sync, debug and logs follow it). */
export async function selectEnvironmentCommand(ctx: FeatureContext, tree: EnvironmentsTree, target: unknown): Promise<string | undefined> {
  const env = await targetEnvironment(tree, target, 'Work on Environment');
  if (!env) return undefined;
  const config = await workspaceConfig();
  ctx.environments.activate(env.name, ctx.cluster.kube(), config);
  ctx.environments.touch('select');
  void tree.refresh();
  return env.name;
}
