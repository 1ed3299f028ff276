import * as vscode from 'vscode';
import { CONFIG_FILE } from '../../core/config/types';

/**
 * The `sandpiper.configured` context key: true while the workspace holds a sandpiper.yaml. The welcome views offer
 * Initialize while it is not set, which is also the case before activation (a workspace without the file does not
 * activate Sandpiper), so the button shows without loading anything.
 */
const KEY = 'sandpiper.configured';

export function markConfigured(configured: boolean): void {
  void vscode.commands.executeCommand('setContext', KEY, configured);
}

/** Sets the key now and keeps it in step as sandpiper.yaml files come and go (cheap: vscode API only). */
export function trackConfigured(): vscode.Disposable {
  const pattern = `**/${CONFIG_FILE}`;
  const refresh = async () => {
    try {
      markConfigured((await vscode.workspace.findFiles(pattern, '**/node_modules/**', 1)).length > 0);
    } catch {
      // No search in this window (no folder): the key stays unset, which reads as "not configured".
    }
  };
  void refresh();
  const watcher = vscode.workspace.createFileSystemWatcher(pattern, false, true, false);
  return vscode.Disposable.from(
    watcher,
    watcher.onDidCreate(() => void refresh()),
    watcher.onDidDelete(() => void refresh()),
  );
}
