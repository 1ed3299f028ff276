import * as vscode from 'vscode';
import { registerConfigDiagnostics } from './features/config/diagnostics';
import { trackConfigured } from './features/init/configured';
import { type ContributionManifest, contributedTreeView, deferContributions } from './features/shared/lazy';
import { registerCliOnTerminalPath } from './features/terminal';

/**
 * Wires the features. Activation only registers what package.json contributes, as stand-ins, and the
 * sandpiper.yaml diagnostics; the features load on the first use of any of them (see features/shared/lazy).
 */
/** What Sandpiper exports (to its extension-host tests, and any extension that wants it). */
export interface SandpiperApi {
  /** What a Sandpiper tree view shows beside its title: for the Environments view, the Kubernetes context. */
  viewDescription(viewId: string): string | undefined;
}

export function activate(extension: vscode.ExtensionContext): SandpiperApi {
  const log = vscode.window.createOutputChannel('Sandpiper', { log: true });
  const manifest = extension.extension.packageJSON as ContributionManifest;
  extension.subscriptions.push(
    log,
    registerConfigDiagnostics(),
    trackConfigured(),
    deferContributions(manifest, () => registerFeatures(extension, log)),
  );
  // At activation, not with the features: a terminal opened before any command already finds `sandpiper`.
  registerCliOnTerminalPath(extension, log);
  return { viewDescription: (id) => contributedTreeView(id)?.description };
}

/** All features at once, so each sees the others' events from the start; each owns its commands, views, cleanup. */
async function registerFeatures(extension: vscode.ExtensionContext, log: vscode.LogOutputChannel): Promise<void> {
  // import() keeps each module, and all it imports, unevaluated in the bundle until now.
  const [
    { ActiveEnvironmentState, ClusterAccess },
    { registerCommand },
    environments,
    sync,
    debug,
    logs,
    rollout,
    pr,
    init,
  ] = await Promise.all([
    import('./features/shared/context'),
    import('./features/shared/commands'),
    import('./features/environments'),
    import('./features/sync'),
    import('./features/debug'),
    import('./features/logs'),
    import('./features/rollout'),
    import('./features/pr'),
    import('./features/init'),
  ]);
  const cluster = new ClusterAccess(extension.workspaceState);
  const ctx = { extension, log, cluster, environments: new ActiveEnvironmentState() };
  extension.subscriptions.push(
    cluster,
    ctx.environments,
    registerCommand(log, 'sandpiper.selectContext', () => cluster.selectContext()),
  );
  environments.registerEnvironments(ctx);
  sync.registerSync(ctx);
  debug.registerDebug(ctx);
  logs.registerLogs(ctx);
  rollout.registerRollout(ctx);
  pr.registerPullRequest(ctx);
  init.registerInit(ctx);
}

export function deactivate(): void {
  // Subscriptions are disposed by VS Code.
}
