import * as vscode from 'vscode';
import type { SyncStatus } from '../../core/sync/syncEngine';

/** One status bar item: idle / syncing N files / paused / rebuilding / error, and the last save→serving latency. */
export class SyncStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('sandpiper.sync.status', vscode.StatusBarAlignment.Left, 50);

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
        this.item.text = status.files ? `$(sync~spin) Syncing ${status.files} file${status.files === 1 ? '' : 's'}` : '$(sync~spin) Syncing';
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
    ].filter(Boolean).join('\n');
    this.item.backgroundColor = status.state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.item.show();
  }

  hide(): void {
    this.item.hide();
  }

  dispose(): void {
    this.item.dispose();
  }
}
