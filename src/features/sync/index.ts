import * as vscode from 'vscode';
import { SandpiperError } from '../../core/errors';
import { settings, type ActiveEnvironment, type FeatureContext } from '../shared/context';
import { registerCommand, showError } from '../shared/commands';
import { bindTreeView } from '../shared/lazy';
import { WorkspaceSync } from './workspaceSync';
import type { SyncStatus, FileSyncState } from '../../core/sync/syncEngine';
import * as path from 'node:path';

/** Registers the sync feature: it starts with the active environment, its view, status bar and commands. */
export function registerSync(ctx: FeatureContext): void {
  const subs = ctx.extension.subscriptions;
  const statusBar = new SyncStatusBar();
  // The view asks for the root only when it draws, after both exist.
  const view: SyncFileView = new SyncFileView((): string | undefined => workspaceSync.root);
  const workspaceSync: WorkspaceSync = new WorkspaceSync(ctx, view, statusBar);
  subs.push(statusBar, view, workspaceSync, bindTreeView('sandpiper.sync', view));
  void vscode.commands.executeCommand('setContext', 'sandpiper.syncPaused', false);

  const startFor = (env: ActiveEnvironment, onlyAuto: boolean): Promise<void> => {
    const services = Object.values(env.config.services).filter((s) => s.sync && (!onlyAuto || s.sync.auto));
    ctx.log.info(
      `[sync] ${env.namespace}: ${services.length ? `syncing ${services.map((s) => s.name).join(', ')}` : 'no service with automatic sync'}`,
    );
    return workspaceSync.start(env, services);
  };
  subs.push(
    ctx.environments.onDidChange((env) => {
      if (!env) return workspaceSync.stop();
      if (settings.syncAutoStart) {
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
      if (!env)
        throw new SandpiperError(
          'no-environment',
          'No environment to sync into.',
          'Create or select an environment first.',
        );
      if (!workspaceSync.running) await startFor(env, false);
      else workspaceSync.resync();
      await workspaceSync.idle();
    }),
    registerCommand(ctx.log, 'sandpiper.sync.pause', () => setPaused(true)),
    registerCommand(ctx.log, 'sandpiper.sync.resume', () => setPaused(false)),
  );
}

/** One status bar item: idle / syncing N files / paused / rebuilding / error, and the last save→serving latency. */
export class SyncStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(
    'sandpiper.sync.status',
    vscode.StatusBarAlignment.Left,
    50,
  );

  constructor() {
    this.item.name = 'Sandpiper Sync';
    this.item.command = 'sandpiper.sync.focus';
  }

  show(status: SyncStatus): void {
    const latency = status.lastLatencyMs !== undefined ? ` · ${status.lastLatencyMs} ms` : '';
    switch (status.state) {
      case 'starting':
        this.item.text = '$(sync~spin) Sync starting';
        break;
      case 'syncing':
        this.item.text = status.files
          ? `$(sync~spin) Syncing ${status.files} file${status.files === 1 ? '' : 's'}`
          : '$(sync~spin) Syncing';
        break;
      case 'paused':
        this.item.text = `$(debug-pause) Sync paused${status.files ? ` (${status.files} waiting)` : ''}`;
        break;
      case 'rebuilding':
        this.item.text = '$(package) Rebuilding image';
        break;
      case 'error':
        this.item.text = `$(error) Sync error${latency}`;
        break;
      default:
        this.item.text = `$(check) Synced${latency}`;
    }
    this.item.tooltip = [
      `Sandpiper live sync: ${status.state}, ${status.pods} pod${status.pods === 1 ? '' : 's'}`,
      status.lastLatencyMs !== undefined ? `Last save → serving: ${status.lastLatencyMs} ms` : '',
      status.error ?? '',
    ]
      .filter(Boolean)
      .join('\n');
    this.item.backgroundColor =
      status.state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.item.show();
  }

  hide(): void {
    this.item.hide();
  }

  dispose(): void {
    this.item.dispose();
  }
}

interface FileEntry {
  local: string;
  remote?: string;
  state: FileSyncState;
  detail?: string;
  at: number;
}

const ICONS: Record<FileSyncState, vscode.ThemeIcon> = {
  pending: new vscode.ThemeIcon('sync~spin'),
  synced: new vscode.ThemeIcon('check', new vscode.ThemeColor('testing.iconPassed')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  excluded: new vscode.ThemeIcon('circle-slash'),
};

const MAX_ENTRIES = 200;

/** The Sync view: the most recent files, newest first, with their sync state. */
export class SyncFileView implements vscode.TreeDataProvider<FileEntry>, vscode.Disposable {
  private readonly entries = new Map<string, FileEntry>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private refreshTimer?: NodeJS.Timeout;

  constructor(private readonly root: () => string | undefined) {}

  record(local: string, remote: string | undefined, state: FileSyncState, detail?: string): void {
    this.entries.delete(local);
    this.entries.set(local, { local, remote, state, detail, at: Date.now() });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    // Coalesce: a 1,000-file batch must not redraw the tree 1,000 times.
    this.refreshTimer ??= setTimeout(() => {
      this.refreshTimer = undefined;
      this.changed.fire();
    }, 100);
  }

  stateOf(local: string): FileSyncState | undefined {
    return this.entries.get(local)?.state;
  }

  clear(): void {
    this.entries.clear();
    this.changed.fire();
  }

  getChildren(element?: FileEntry): FileEntry[] {
    return element ? [] : [...this.entries.values()].reverse();
  }

  getTreeItem(e: FileEntry): vscode.TreeItem {
    const root = this.root();
    const item = new vscode.TreeItem(root ? path.relative(root, e.local) : path.basename(e.local));
    item.description = e.state;
    item.iconPath = ICONS[e.state];
    item.resourceUri = vscode.Uri.file(e.local);
    item.tooltip = [
      `${e.state} at ${new Date(e.at).toLocaleTimeString()}`,
      e.remote ? `→ ${e.remote}` : '',
      e.detail ?? '',
    ]
      .filter(Boolean)
      .join('\n');
    item.command = { command: 'vscode.open', title: 'Open', arguments: [vscode.Uri.file(e.local)] };
    item.contextValue = `sandpiper.syncFile.${e.state}`;
    return item;
  }

  dispose(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.changed.dispose();
  }
}
