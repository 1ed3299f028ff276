import * as vscode from 'vscode';
import { initConfig } from '../../core/config/init';
import { CONFIG_FILE } from '../../core/config/types';
import { SandpiperError } from '../../core/errors';
import { registerCommand, showError } from '../shared/commands';
import type { FeatureContext } from '../shared/context';
import { markConfigured } from './configured';

const OPEN = `Open ${CONFIG_FILE}`;
const CREATE = 'Create Ephemeral Environment';

/** "Sandpiper: Initialize": writes sandpiper.yaml into a workspace folder and opens it. */
export function registerInit(ctx: FeatureContext): void {
  ctx.extension.subscriptions.push(registerCommand(ctx.log, 'sandpiper.init', (folder) => initialize(ctx, folder)));
}

/** Resolves to the file written, or undefined when nothing was (no folder picked, or the file exists). */
async function initialize(ctx: FeatureContext, folder?: vscode.Uri): Promise<string | undefined> {
  const target = folder ?? (await pickFolder());
  if (!target) return undefined;
  const file = vscode.Uri.joinPath(target, CONFIG_FILE);
  let written: Awaited<ReturnType<typeof initConfig>>;
  try {
    written = await initConfig(target.fsPath, { existsHint: 'Initialize leaves it as it is.' });
  } catch (err) {
    if (!(err instanceof SandpiperError && err.code === 'conflict')) throw err;
    // Not a dead end either: the file the user asked for is there, so offer it (the command does not wait).
    void showError(ctx.log, err, OPEN).then(async (choice) => {
      if (choice === OPEN) await vscode.window.showTextDocument(file);
    });
    return undefined;
  }
  ctx.log.info(`Initialize wrote ${written.file} (services ${written.services.join(', ')})`);
  markConfigured(true);
  await vscode.window.showTextDocument(file);
  void vscode.window
    .showInformationMessage(
      `Sandpiper: wrote ${CONFIG_FILE} for ${written.services.join(', ')}. Check it, then create an environment.`,
      CREATE,
    )
    .then((choice) => choice === CREATE && vscode.commands.executeCommand('sandpiper.env.create'));
  return written.file;
}

async function pickFolder(): Promise<vscode.Uri | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (!folders.length)
    throw new SandpiperError(
      'no-workspace',
      'Open the folder of a service first.',
      `Initialize writes ${CONFIG_FILE} into a workspace folder.`,
    );
  if (folders.length === 1) return folders[0].uri;
  const pick = await vscode.window.showWorkspaceFolderPick({ placeHolder: `Folder to write ${CONFIG_FILE} into` });
  return pick?.uri;
}
