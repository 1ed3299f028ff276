import * as vscode from 'vscode';
import { SandpiperError } from '../../core/errors';
import type { ActiveEnvironment } from '../shared/activeEnvironment';
import type { FeatureContext } from '../shared/featureContext';
import { registerCommand, showError } from '../shared/commands';
import { SyncFileView } from './syncFileView';
import { SyncStatusBar } from './syncStatusBar';
import { WorkspaceSync } from './workspaceSync';

/** Registers the sync feature: it starts with the active environment, its view, status bar and commands. */
export function registerSync(ctx: FeatureContext): void {
  const subs = ctx.extension.subscriptions;
  const statusBar = new SyncStatusBar();
  // The view asks for the root only when it draws, after both exist.
  const view: SyncFileView = new SyncFileView((): string | undefined => workspaceSync.root);
  const workspaceSync: WorkspaceSync = new WorkspaceSync(ctx, view, statusBar);
  subs.push(statusBar, view, workspaceSync, vscode.window.createTreeView('sandpiper.sync', { treeDataProvider: view }));
  void vscode.commands.executeCommand('setContext', 'sandpiper.syncPaused', false);

  const startFor = (env: ActiveEnvironment, onlyAuto: boolean): Promise<void> => {
    const services = Object.values(env.config.services).filter((s) => s.sync && (!onlyAuto || s.sync.auto));
    ctx.log.info(`[sync] ${env.namespace}: ${services.length ? `syncing ${services.map((s) => s.name).join(', ')}` : 'no service with automatic sync'}`);
    return workspaceSync.start(env, services);
  };
  subs.push(
    ctx.environments.onDidChange((env) => {
      if (!env) return workspaceSync.stop();
      if (vscode.workspace.getConfiguration('sandpiper').get<boolean>('sync.autoStart', true)) {
        startFor(env, true).catch((err: unknown) => void showError(ctx.log, err));
      }
    }),
  );

  const setPaused = async (paused: boolean): Promise<void> => {
    workspaceSync.setPaused(paused);
    await vscode.commands.executeCommand('setContext', 'sandpiper.syncPaused', paused);
  };
  subs.push(
    registerCommand(ctx.log, 'sandpiper.sync.resync', async () => {
      const env = ctx.environments.current;
      if (!env) throw new SandpiperError('no-environment', 'No environment to sync into.', 'Create or select an environment first.');
      if (!workspaceSync.running) await startFor(env, false);
      else workspaceSync.resync();
      await workspaceSync.idle();
    }),
    registerCommand(ctx.log, 'sandpiper.sync.pause', () => setPaused(true)),
    registerCommand(ctx.log, 'sandpiper.sync.resume', () => setPaused(false)),
  );
}
