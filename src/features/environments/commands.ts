import * as vscode from 'vscode';
import {
  formatDuration,
  parseDuration,
  type DependencyMode,
  type SandpiperConfig,
  type ServiceConfig,
} from '../../core/config/types';
import { createEnvironment, EnvironmentCreateError } from '../../core/env/create';
import { identityFor, environmentName } from '../../core/env/naming';
import { deleteEnvironment, extendEnvironment } from '../../core/env/lifecycle';
import { isCancellation } from '../../core/errors';
import type { Kube } from '../../core/infra/kube/client';
import { showError } from '../shared/commands';
import { type FeatureContext, pickService, workspaceConfig } from '../shared/context';
import { reachableClusterOrExplain } from './index';
import type { EnvironmentsTree } from './tree';
import { describeExpiry, type EnvironmentInfo } from '../../core/env/metadata';

const KEEP = 'Keep for Inspection';
const DELETE = 'Delete';

/** Multi-select of the dependencies to copy; the ones left unchecked are shared from the baseline. */
async function pickModes(
  config: SandpiperConfig,
  service: ServiceConfig,
): Promise<Record<string, DependencyMode> | undefined> {
  const deps = Object.entries(service.dependencies);
  if (!deps.length) return {};
  const picks = await vscode.window.showQuickPick(
    deps.map(([name, mode]) => ({
      label: name,
      picked: mode === 'copy',
      description: mode === 'copy' ? 'copy (sandpiper.yaml)' : 'shared (sandpiper.yaml)',
    })),
    {
      title: `Dependencies to copy into the environment (unchecked: shared from "${config.baseline}")`,
      canPickMany: true,
      placeHolder: 'Check the dependencies to copy',
    },
  );
  if (!picks) return undefined;
  const copied = new Set(picks.map((p) => p.label));
  return Object.fromEntries(deps.map(([name]) => [name, copied.has(name) ? 'copy' : 'shared']));
}

async function pickTtl(config: SandpiperConfig): Promise<number | undefined> {
  const choices = [...new Set([formatDuration(config.ttlMs), '1h', '2h', '8h', '1d'])];
  const pick = await vscode.window.showQuickPick(
    choices.map((c, i) => ({ label: c, description: i === 0 ? 'from sandpiper.yaml' : undefined })),
    {
      title: 'Time to live (counted from the last activity)',
      placeHolder: 'How long may it sit idle before it is cleaned up?',
    },
  );
  return pick ? parseDuration(pick.label) : undefined;
}

/** The palette flow: ask only what cannot be inferred, create with cancellable progress, then work on it. */
export async function createEnvironmentCommand(
  ctx: FeatureContext,
  tree: EnvironmentsTree,
): Promise<string | undefined> {
  const config = await workspaceConfig({ title: 'Create Ephemeral Environment: which service folder?' });
  const kube = await reachableClusterOrExplain(ctx, 'create an ephemeral environment');
  if (!kube) return undefined;
  const service = await pickService(config, 'Create Ephemeral Environment: service');
  if (!service) return undefined;
  const modes = await pickModes(config, service);
  if (!modes) return undefined;
  const ttlMs = await pickTtl(config);
  if (!ttlMs) return undefined;
  const who = await identityFor(config.root);
  const namespace = environmentName(who.owner, who.branch);
  ctx.log.info(
    `Creating environment ${namespace} for ${service.name} (${JSON.stringify(modes)}) on context ${kube.contextName}`,
  );
  try {
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Creating environment ${namespace}`, cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        await createEnvironment(kube, config, {
          service: service.name,
          owner: who.owner,
          branch: who.branch,
          modes,
          ttlMs,
          namespace,
          signal: abort.signal,
          progress: (p) => {
            ctx.log.info(p.step === 'build' ? `[build ${p.name}] ${p.message}` : p.message);
            // Build lines go by fast: the notification shows the latest, the log keeps them all.
            if (p.state !== 'info' || p.step === 'build') progress.report({ message: oneLine(p.message) });
          },
        });
      },
    );
  } catch (err) {
    await handleFailure(ctx, kube, err, namespace);
    void tree.refresh();
    return undefined;
  }
  ctx.environments.activate(namespace, kube, config);
  ctx.environments.touch('create');
  void tree.refresh();
  void vscode.window
    .showInformationMessage(
      `Environment ${namespace} is ready: ${service.name} with ${describeModes(modes)}.`,
      OPEN_IN_BROWSER,
      'Open Logs',
      'Copy Namespace',
    )
    .then((choice) => {
      if (choice === OPEN_IN_BROWSER)
        void vscode.commands.executeCommand('sandpiper.openInBrowser', { env: namespace });
      if (choice === 'Open Logs') void vscode.commands.executeCommand('sandpiper.env.openLogs', namespace);
      if (choice === 'Copy Namespace') void vscode.env.clipboard.writeText(namespace);
    });
  return namespace;
}

const OPEN_IN_BROWSER = 'Open in Browser';

/** A progress line as one short line (build output carries long lines and ANSI-free but wide text). */
function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 120 ? `${line.slice(0, 117)}…` : line;
}

function describeModes(modes: Record<string, DependencyMode>): string {
  const entries = Object.entries(modes);
  return entries.length ? entries.map(([d, m]) => `${d} ${m}`).join(', ') : 'no dependencies';
}

/** After a failure or cancel, the user decides whether the half-made environment stays. */
async function handleFailure(ctx: FeatureContext, kube: Kube, err: unknown, namespace: string): Promise<void> {
  const created = err instanceof EnvironmentCreateError ? err.namespaceCreated : true;
  const wasCancelled = isCancellation(err);
  if (!created) {
    if (!wasCancelled) await showError(ctx.log, err);
    return;
  }
  const choice = wasCancelled
    ? await vscode.window.showWarningMessage(
        `Creating ${namespace} was cancelled. Keep what was made for inspection, or delete it?`,
        { modal: true },
        KEEP,
        DELETE,
      )
    : await showError(ctx.log, err, KEEP, DELETE, { lead: `Creating ${namespace} failed:` });
  if (choice === KEEP) {
    ctx.log.info(`Kept ${namespace} for inspection.`);
    return;
  }
  if (choice !== KEEP) {
    // Dismissing the question (or only reading the log) deletes too: nothing half-made stays unless the user asked to keep it.
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Deleting ${namespace}` },
      () => deleteEnvironment(kube, namespace),
    );
  }
}

/** The environment a command acts on: the tree row it was run from, a namespace name, else one the user picks. */
export async function targetEnvironment(
  tree: EnvironmentsTree,
  target: unknown,
  title: string,
): Promise<EnvironmentInfo | undefined> {
  const envs = tree.environments.length ? tree.environments : await tree.refresh();
  if (target && typeof target === 'object' && 'env' in target) return (target as { env: EnvironmentInfo }).env;
  if (typeof target === 'string')
    return (
      envs.find((e) => e.name === target) ?? { name: target, owner: '', branch: '', dependencies: {}, phase: 'Unknown' }
    );
  if (!envs.length) {
    void vscode.window
      .showInformationMessage('There are no Sandpiper environments on this cluster.', 'Create Ephemeral Environment')
      .then((c) => {
        if (c) void vscode.commands.executeCommand('sandpiper.env.create');
      });
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    envs.map((env) => ({
      label: env.name,
      description: `${env.owner} · ${env.branch}`,
      detail: describeExpiry(env.expiresAt),
      env,
    })),
    { title, placeHolder: 'Environment' },
  );
  return pick?.env;
}

export async function deleteEnvironmentCommand(
  ctx: FeatureContext,
  tree: EnvironmentsTree,
  target: unknown,
): Promise<boolean> {
  const env = await targetEnvironment(tree, target, 'Delete Environment');
  if (!env) return false;
  const ok = await vscode.window.showWarningMessage(
    `Delete environment ${env.name} and everything in it?`,
    { modal: true, detail: 'The namespace and all its objects are deleted. Other namespaces are not touched.' },
    'Delete',
  );
  if (ok !== 'Delete') return false;
  const kube = await reachableClusterOrExplain(ctx, `delete ${env.name}`);
  if (!kube) return false;
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Deleting ${env.name}` },
    () => deleteEnvironment(kube, env.name),
  );
  ctx.environments.clear(env.name);
  ctx.log.info(`Deleted environment ${env.name}`);
  void tree.refresh();
  void vscode.window.showInformationMessage(`Deleted environment ${env.name}.`);
  return true;
}

export async function extendEnvironmentCommand(
  ctx: FeatureContext,
  tree: EnvironmentsTree,
  target: unknown,
): Promise<boolean> {
  const env = await targetEnvironment(tree, target, 'Extend Environment');
  if (!env) return false;
  const pick = await vscode.window.showQuickPick(['1h', '2h', '4h', '8h', '1d'], {
    title: `Extend ${env.name} by`,
    placeHolder: describeExpiry(env.expiresAt),
  });
  const byMs = pick ? parseDuration(pick) : undefined;
  if (!byMs) return false;
  const info = await extendEnvironment(ctx.cluster.kube(), env.name, byMs);
  void tree.refresh();
  void vscode.window.showInformationMessage(`${env.name} now ${describeExpiry(info.expiresAt)}.`);
  return true;
}

/** Makes an existing environment the one the editor works on (sync, debug and logs follow it). */
export async function selectEnvironmentCommand(
  ctx: FeatureContext,
  tree: EnvironmentsTree,
  target: unknown,
): Promise<string | undefined> {
  const env = await targetEnvironment(tree, target, 'Work on Environment');
  if (!env) return undefined;
  const config = await workspaceConfig({ service: env.service, title: 'Work on Environment: which service folder?' });
  ctx.environments.activate(env.name, ctx.cluster.kube(), config);
  ctx.environments.touch('select');
  void tree.refresh();
  return env.name;
}
