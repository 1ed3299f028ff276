import * as vscode from 'vscode';
import { formatDuration, parseDuration } from '../../core/config/duration';
import type { DependencyMode, SandpiperConfig, ServiceConfig } from '../../core/config/types';
import { createEnvironment, EnvironmentCreateError } from '../../core/env/create';
import { identityFor } from '../../core/env/identity';
import { deleteEnvironment } from '../../core/env/lifecycle';
import { environmentName } from '../../core/env/naming';
import { isCancellation, presentError } from '../../core/errors';
import type { Kube } from '../../core/kube/client';
import { showError } from '../shared/commands';
import type { FeatureContext } from '../shared/featureContext';
import { pickService, workspaceConfig } from '../shared/workspaceConfig';
import { reachableClusterOrExplain } from './clusterCheck';
import type { EnvironmentsTree } from './tree';

const KEEP = 'Keep for Inspection';
const DELETE = 'Delete';

/** Multi-select of the dependencies to copy; the ones left unchecked are shared from the baseline. */
async function pickModes(config: SandpiperConfig, service: ServiceConfig): Promise<Record<string, DependencyMode> | undefined> {
  const deps = Object.entries(service.dependencies);
  if (!deps.length) return {};
  const picks = await vscode.window.showQuickPick(
    deps.map(([name, mode]) => ({ label: name, picked: mode === 'copy', description: mode === 'copy' ? 'copy (sandpiper.yaml)' : 'shared (sandpiper.yaml)' })),
    { title: `Dependencies to copy into the environment (unchecked: shared from "${config.baseline}")`, canPickMany: true, placeHolder: 'Check the dependencies to copy' },
  );
  if (!picks) return undefined;
  const copied = new Set(picks.map((p) => p.label));
  return Object.fromEntries(deps.map(([name]) => [name, copied.has(name) ? 'copy' : 'shared']));
}

async function pickTtl(config: SandpiperConfig): Promise<number | undefined> {
  const choices = [...new Set([formatDuration(config.ttlMs), '1h', '2h', '8h', '1d'])];
  const pick = await vscode.window.showQuickPick(
    choices.map((c, i) => ({ label: c, description: i === 0 ? 'from sandpiper.yaml' : undefined })),
    { title: 'Time to live (counted from the last activity)', placeHolder: 'How long may it sit idle before it is cleaned up?' },
  );
  return pick ? parseDuration(pick.label) : undefined;
}

/** The palette flow: ask only what cannot be inferred, create with cancellable progress, then work on it. */
export async function createEnvironmentCommand(ctx: FeatureContext, tree: EnvironmentsTree): Promise<string | undefined> {
  const config = await workspaceConfig();
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
  ctx.log.info(`Creating environment ${namespace} for ${service.name} (${JSON.stringify(modes)}) on context ${kube.contextName}`);
  try {
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Creating environment ${namespace}`, cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        await createEnvironment(kube, config, {
          service: service.name, owner: who.owner, branch: who.branch, modes, ttlMs, namespace, signal: abort.signal,
          progress: (p) => {
            ctx.log.info(p.message);
            if (p.state !== 'info') progress.report({ message: p.message });
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
  void vscode.window.showInformationMessage(`Environment ${namespace} is ready: ${service.name} with ${describeModes(modes)}.`, 'Open Logs', 'Copy Namespace').then((choice) => {
    if (choice === 'Open Logs') void vscode.commands.executeCommand('sandpiper.env.openLogs', namespace);
    if (choice === 'Copy Namespace') void vscode.env.clipboard.writeText(namespace);
  });
  return namespace;
}

function describeModes(modes: Record<string, DependencyMode>): string {
  const entries = Object.entries(modes);
  return entries.length ? entries.map(([d, m]) => `${d} ${m}`).join(', ') : 'no dependencies';
}

/** After a failure or cancel, the user decides whether the half-made environment stays. */
async function handleFailure(ctx: FeatureContext, kube: Kube, err: unknown, namespace: string): Promise<void> {
  const created = err instanceof EnvironmentCreateError ? err.namespaceCreated : true;
  const wasCancelled = isCancellation(err);
  if (!wasCancelled) ctx.log.error(`Creating ${namespace} failed: ${presentError(err).message}`);
  if (!created) {
    if (!wasCancelled) await showError(ctx.log, err);
    return;
  }
  const { message, hint } = presentError(err);
  const text = wasCancelled ? `Creating ${namespace} was cancelled. Keep what was made for inspection, or delete it?` : `Creating ${namespace} failed: ${message}${hint ? ` ${hint}` : ''}`;
  const choice = wasCancelled
    ? await vscode.window.showWarningMessage(text, { modal: true }, KEEP, DELETE)
    : await vscode.window.showErrorMessage(text, KEEP, DELETE);
  if (choice === KEEP) {
    ctx.log.info(`Kept ${namespace} for inspection.`);
    return;
  }
  if (choice === DELETE || choice === undefined) {
    // Dismissing the question deletes too: nothing half-made stays unless the user asked to keep it.
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Deleting ${namespace}` }, () => deleteEnvironment(kube, namespace));
  }
}
