// Which sandpiper.yaml a command works with. A workspace may hold several (a monorepo such as examples/todo: one per
// service folder), so a command takes the one naming the service it acts on, else the one of the active editor's
// folder, else asks.
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { SandpiperConfig } from '../../core/config/types';
import { SandpiperError, cancelled } from '../../core/errors';
import { CONFIG_FILE, loadConfig } from '../../core/config/loader';
import { byDepth, innermostHolding } from './configChoice';

/** More than any real monorepo has at its top; findFiles stops there. */
const MAX_CONFIGS = 50;

export interface ConfigQuery {
  /** The service the command acts on: the sandpiper.yaml that declares it wins. */
  service?: string;
  /** The quick pick's title when the user has to choose. */
  title?: string;
  /** Take the shallowest file instead of asking (settings that are the same for the whole repository). */
  noPrompt?: boolean;
}

/** The workspace's sandpiper.yaml files, shallowest first. */
async function configFiles(): Promise<string[]> {
  if (!vscode.workspace.workspaceFolders?.length)
    throw new SandpiperError(
      'no-workspace',
      'Open the folder of a service first.',
      `Sandpiper reads ${CONFIG_FILE} from the workspace.`,
    );
  const found = await vscode.workspace.findFiles(`**/${CONFIG_FILE}`, '**/node_modules/**', MAX_CONFIGS);
  const files = byDepth(found.map((u) => u.fsPath));
  if (!files.length)
    throw new SandpiperError(
      'config-missing',
      `No ${CONFIG_FILE} in the workspace.`,
      `Create ${CONFIG_FILE} at the root of the service's folder.`,
    );
  return files;
}

/**
 * Loads the sandpiper.yaml a command works with; an invalid file stops the command with its problems. With several
 * in the workspace: the one declaring `query.service`, else the innermost holding the active editor's file, else
 * the user's pick (Escape cancels the command).
 */
export async function workspaceConfig(query: ConfigQuery = {}): Promise<SandpiperConfig> {
  const files = await configFiles();
  if (files.length === 1) return loadConfig(path.dirname(files[0]));
  if (query.service) {
    const declaring = (await workspaceConfigs(files)).find((c) => query.service! in c.services);
    if (declaring) return declaring;
  }
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active?.scheme === 'file') {
    const holding = innermostHolding(files, active.fsPath);
    if (holding) return loadConfig(path.dirname(holding));
  }
  if (query.noPrompt) return loadConfig(path.dirname(files[0]));
  const items = files.map((f) => ({
    label: vscode.workspace.asRelativePath(path.dirname(f), true),
    description: CONFIG_FILE,
    file: f,
  }));
  const pick = await vscode.window.showQuickPick(items, {
    title: query.title ?? 'Sandpiper: which service folder?',
    placeHolder: `The workspace has ${files.length} ${CONFIG_FILE} files`,
  });
  if (!pick) throw cancelled();
  return loadConfig(path.dirname(pick.file));
}

/** Every valid sandpiper.yaml of the workspace (an invalid one is left out: its diagnostics say why). */
export async function workspaceConfigs(files?: string[]): Promise<SandpiperConfig[]> {
  const loaded = await Promise.all(
    (files ?? (await configFiles())).map((f) => loadConfig(path.dirname(f)).catch(() => undefined)),
  );
  return loaded.filter((c): c is SandpiperConfig => !!c);
}
