import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FileSyncState } from '../../core/sync/syncEngine';

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
    item.tooltip = [`${e.state} at ${new Date(e.at).toLocaleTimeString()}`, e.remote ? `→ ${e.remote}` : '', e.detail ?? ''].filter(Boolean).join('\n');
    item.command = { command: 'vscode.open', title: 'Open', arguments: [vscode.Uri.file(e.local)] };
    item.contextValue = `sandpiper.syncFile.${e.state}`;
    return item;
  }

  dispose(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.changed.dispose();
  }
}
