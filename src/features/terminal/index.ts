import * as path from 'node:path';
import type * as vscode from 'vscode';
import { writeLaunchers } from './launcher';

/**
 * Puts the `sandpiper` CLI on the PATH of the integrated terminal: a launcher folder in the extension's global
 * storage, checked (and rewritten if it differs) at every activation, prepended through the environment collection.
 *
 * The .vsix holds `dist/cli.js` (the bundled CLI) but not `bin/`, so the launcher is written here, pointing into
 * the installed extension folder. It runs the CLI with `process.execPath`, the runtime of this extension host:
 * in code-server and VS Code Server that is their own Node (always there, and the version the bundles target),
 * in desktop VS Code it is Electron, which runs as plain Node with ELECTRON_RUN_AS_NODE=1. A `node` from PATH
 * may be missing or too old on the user's machine, and the launcher must not depend on it.
 */
export function registerCliOnTerminalPath(extension: vscode.ExtensionContext, log?: vscode.LogOutputChannel): void {
  // A convenience: whatever goes wrong here is logged and must not stop the activation.
  try {
    const cli = path.join(extension.extensionPath, 'dist', 'cli.js');
    const folder = path.join(extension.globalStorageUri.fsPath, 'bin');
    const env = extension.environmentVariableCollection;
    env.description = 'Puts the Sandpiper CLI (`sandpiper`) on the PATH.';
    env.prepend('PATH', folder + path.delimiter);
    void writeLaunchers(folder, cli, process.execPath).catch((err: unknown) =>
      log?.warn(`Could not write the sandpiper launcher into ${folder}: ${(err as Error).message}`),
    );
  } catch (err) {
    log?.warn(`The sandpiper CLI is not on the terminal's PATH: ${(err as Error).message}`);
  }
}
