import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Kube } from '../../core/kube/client';
import { presentError } from '../../core/errors';
import type { FeatureContext } from '../shared/featureContext';

const SELECT_CONTEXT = 'Select Kubernetes Context';

function kubeconfigPath(): string {
  const setting = vscode.workspace.getConfiguration('sandpiper').get<string>('kubeconfig');
  return setting || process.env.KUBECONFIG || path.join(os.homedir(), '.kube', 'config');
}

/**
 * The reachable cluster, or undefined after telling the user plainly which kubeconfig and context were
 * tried and offering to pick another context.
 */
export async function reachableClusterOrExplain(ctx: FeatureContext, doing: string): Promise<Kube | undefined> {
  let contextName: string | undefined;
  try {
    const kube = ctx.cluster.kube();
    contextName = kube.contextName;
    await kube.checkReachable();
    return kube;
  } catch (err) {
    const { message, hint } = presentError(err);
    const where = `kubeconfig ${kubeconfigPath()}${contextName ? `, context "${contextName}"` : ''}`;
    const text = `Cannot ${doing}: no Kubernetes cluster is reachable (${where}). ${message}${hint ? ` ${hint}` : ''}`;
    ctx.log.error(text);
    const choice = await vscode.window.showErrorMessage(text, SELECT_CONTEXT, 'Show Log');
    if (choice === SELECT_CONTEXT) await vscode.commands.executeCommand('sandpiper.selectContext');
    if (choice === 'Show Log') ctx.log.show(true);
    return undefined;
  }
}
