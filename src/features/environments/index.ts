import * as vscode from 'vscode';
import { ActivityRecorder, recordActivity } from '../../core/env/lifecycle';
import { describeExpiry, type EnvironmentInfo } from '../../core/env/metadata';
import { presentError } from '../../core/errors';
import { registerCommand, showError } from '../shared/commands';
import { bindTreeView, contributedTreeView } from '../shared/lazy';
import { registerOpenInBrowser } from '../open';
import { settings, type FeatureContext } from '../shared/context';
import {
  createEnvironmentCommand,
  deleteEnvironmentCommand,
  extendEnvironmentCommand,
  selectEnvironmentCommand,
  targetEnvironment,
} from './commands';
import { EnvironmentsTree } from './tree';
import type { Kube } from '../../core/infra/kube/client';
import { parseDuration } from '../../core/config/types';

/** Registers the environments feature: its commands, the Environments view, activity and expiry. */
export function registerEnvironments(ctx: FeatureContext): void {
  const { extension, log } = ctx;
  const tree = new EnvironmentsTree(ctx);
  const view = bindTreeView('sandpiper.environments', tree);
  const status = vscode.window.createStatusBarItem('sandpiper.environment', vscode.StatusBarAlignment.Left, 50);
  status.name = 'Sandpiper Environment';
  status.command = 'sandpiper.env.select';
  const expiry = new ExpiryWarning((ns) => vscode.commands.executeCommand('sandpiper.env.extend', ns));
  extension.subscriptions.push(tree, view, status, expiry);
  registerOpenInBrowser(ctx, tree);

  // Activity from sync, debug, logs and commands reaches the cluster at most once a minute per env.
  const recorder = new ActivityRecorder(
    (ns, reason, at) => recordActivity(ctx.environments.current?.kube ?? ctx.cluster.kube(), ns, reason, at),
    60_000,
    Date.now,
    (err) => log.warn(`Could not record activity: ${presentError(err).message}`),
  );
  ctx.environments.activityRecorder = (ns, reason) => void recorder.record(ns, reason);

  const showActive = () => {
    const current = ctx.environments.current;
    const info = current && tree.environments.find((e) => e.name === current.namespace);
    void vscode.commands.executeCommand('setContext', 'sandpiper.activeEnvironment', Boolean(current));
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
  // The view's title says which cluster it lists: the context, as the user picked it or the kubeconfig names it.
  const treeView =
    contributedTreeView('sandpiper.environments') ??
    ('reveal' in view ? (view as vscode.TreeView<unknown>) : undefined);
  const showContext = () => {
    let context: string;
    try {
      context = ctx.cluster.kube().contextName;
    } catch {
      context = 'no context';
    }
    if (treeView) treeView.description = context;
  };
  // Not now: reading the kubeconfig loads the Kubernetes client, which the first command may not need. The view
  // shows its description once it has listed (or failed to list) the environments.
  extension.subscriptions.push(
    ctx.environments.onDidChange(showActive),
    tree.onDidLoad(showActive),
    tree.onDidLoad(showContext),
    ctx.cluster.onDidChange(() => {
      showContext();
      ctx.environments.clear();
      tree.restartWatch();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('sandpiper.kubeconfig')) showContext();
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

const SELECT_CONTEXT = 'Select Kubernetes Context';

/**
 * The reachable cluster, or undefined after telling the user plainly which kubeconfig and context were
 * tried and offering to pick another context.
 */
export async function reachableClusterOrExplain(ctx: FeatureContext, doing: string): Promise<Kube | undefined> {
  let contextName: string | undefined;
  try {
    const kube = ctx.cluster.kube();
    contextName = kube.contextName;
    await kube.checkReachable();
    return kube;
  } catch (err) {
    const where = `kubeconfig ${ctx.cluster.kubeconfigFile}${contextName ? `, context "${contextName}"` : ''}`;
    const choice = await showError(ctx.log, err, SELECT_CONTEXT, {
      lead: `Cannot ${doing}: no Kubernetes cluster is reachable (${where}).`,
    });
    if (choice === SELECT_CONTEXT) await vscode.commands.executeCommand('sandpiper.selectContext');
    return undefined;
  }
}

const TIMER_MAX = 2 ** 31 - 1;

/**
 * Warns shortly before the active environment expires (setting sandpiper.expiryWarning), with an
 * Extend action; re-armed whenever the environments are reloaded (activity moves the expiry).
 */
export class ExpiryWarning implements vscode.Disposable {
  private timer?: NodeJS.Timeout;
  private warned = new Set<string>();

  constructor(private readonly extend: (namespace: string) => Thenable<unknown>) {}

  arm(env: EnvironmentInfo | undefined): void {
    clearTimeout(this.timer);
    if (!env?.expiresAt) return;
    const lead = parseDuration(settings.expiryWarning) ?? 15 * 60_000;
    const key = `${env.name}@${env.expiresAt.toISOString()}`;
    if (this.warned.has(key)) return;
    const delay = env.expiresAt.getTime() - lead - Date.now();
    this.timer = setTimeout(
      () => {
        this.warned.add(key);
        void vscode.window
          .showWarningMessage(
            `Environment ${env.name} ${describeExpiry(env.expiresAt)} and will then be deleted.`,
            'Extend',
          )
          .then((choice) => {
            if (choice === 'Extend') void this.extend(env.name);
          });
      },
      Math.min(Math.max(delay, 0), TIMER_MAX),
    );
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}
