import * as vscode from 'vscode';
import * as k8s from '@kubernetes/client-node';
import { loadKube, type Kube } from '../../core/kube/client';
import { SandpiperError } from '../../core/errors';

const CONTEXT_KEY = 'sandpiper.context';

/** Which cluster the editor talks to: the kubeconfig's current context unless the user picked another. */
export class ClusterAccess implements vscode.Disposable {
  private cached?: { key: string; kube: Kube };
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly state: vscode.Memento) {}

  private kubeconfigPath(): string | undefined {
    const setting = vscode.workspace.getConfiguration('sandpiper').get<string>('kubeconfig');
    return setting || undefined;
  }

  /** The clients for the chosen context; throws a coded error that names the fix when there is none. */
  kube(): Kube {
    // `npm start -- --context X` hands the context over through the environment.
    const context = this.state.get<string>(CONTEXT_KEY) ?? (process.env.SANDPIPER_KUBE_CONTEXT || undefined);
    const kubeconfig = this.kubeconfigPath();
    const key = `${kubeconfig ?? process.env.KUBECONFIG ?? ''}|${context ?? ''}`;
    if (this.cached?.key === key) return this.cached.kube;
    const kube = loadKube({ kubeconfig, context });
    this.cached = { key, kube };
    return kube;
  }

  /** A reachable cluster, or an error naming the context and the server it tried. */
  async reachableKube(): Promise<Kube> {
    const kube = this.kube();
    await kube.checkReachable();
    return kube;
  }

  async selectContext(): Promise<void> {
    const kc = new k8s.KubeConfig();
    try {
      const file = this.kubeconfigPath();
      if (file) kc.loadFromFile(file);
      else kc.loadFromDefault();
    } catch {
      // An unreadable kubeconfig lists no contexts; said below.
    }
    const contexts = kc.getContexts();
    if (!contexts.length) {
      throw new SandpiperError('no-cluster', 'The kubeconfig has no contexts.', 'Set KUBECONFIG or the sandpiper.kubeconfig setting to a kubeconfig file.');
    }
    const current = this.state.get<string>(CONTEXT_KEY) ?? kc.getCurrentContext();
    const pick = await vscode.window.showQuickPick(
      contexts.map((c) => ({ label: c.name, description: c.name === current ? 'current' : undefined, detail: kc.getCluster(c.cluster)?.server })),
      { title: 'Sandpiper: Kubernetes context', placeHolder: 'Pick the context Sandpiper uses' },
    );
    if (!pick) return;
    await this.state.update(CONTEXT_KEY, pick.label);
    this.cached = undefined;
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
  }
}
