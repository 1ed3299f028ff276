import * as path from 'node:path';
import * as vscode from 'vscode';
import { CONFIG_FILE, loadConfig } from '../../core/config/loader';
import type { SandpiperConfig, ServiceConfig } from '../../core/config/types';
import { SandpiperError } from '../../core/errors';

/** Finds and loads the workspace's sandpiper.yaml; an invalid file stops the command with its problems. */
export async function workspaceConfig(): Promise<SandpiperConfig> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (!folders.length) throw new SandpiperError('no-workspace', 'Open the folder of a service first.', `Sandpiper reads ${CONFIG_FILE} from the workspace.`);
  const found = await vscode.workspace.findFiles(`**/${CONFIG_FILE}`, '**/node_modules/**', 10);
  const files = found.map((u) => u.fsPath).sort((a, b) => a.split(path.sep).length - b.split(path.sep).length);
  if (!files.length) throw new SandpiperError('config-missing', `No ${CONFIG_FILE} in the workspace.`, `Create ${CONFIG_FILE} at the root of the service's folder.`);
  return loadConfig(path.dirname(files[0]));
}

/** The service to act on: the only one, or the one the user picks. */
export async function pickService(config: SandpiperConfig, title: string): Promise<ServiceConfig | undefined> {
  const services = Object.values(config.services);
  if (services.length === 1) return services[0];
  const pick = await vscode.window.showQuickPick(services.map((s) => ({ label: s.name, service: s })), { title, placeHolder: 'Service' });
  return pick?.service;
}
