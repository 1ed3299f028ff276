import * as vscode from 'vscode';
import * as os from 'node:os';
import { DisposableList } from '../../core/disposable';
import type { SandpiperConfig, ServiceConfig } from '../../core/config/types';
import { type Kube, loadKube } from '../../core/infra/kube/client';
import * as k8s from '@kubernetes/client-node';
import { SandpiperError } from '../../core/errors';
import * as path from 'node:path';

/** What every feature gets from activation: the extension's lifetime, its log, the cluster and the active env. */
export interface FeatureContext {
  extension: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  cluster: ClusterAccess;
  environments: ActiveEnvironmentState;
}

/** The environment the editor works on, with the session that owns its watches, streams and forwards. */
export interface ActiveEnvironment {
  namespace: string;
  kube: Kube;
  config: SandpiperConfig;
  /** Disposed when another environment becomes active or this one is deleted. */
  session: DisposableList;
}

export class ActiveEnvironmentState implements vscode.Disposable {
  private env?: ActiveEnvironment;
  private readonly changed = new vscode.EventEmitter<ActiveEnvironment | undefined>();
  readonly onDidChange = this.changed.event;
  /** Set by the environments feature: records activity so a busy environment is not cleaned up. */
  activityRecorder?: (namespace: string, reason: string) => void;

  get current(): ActiveEnvironment | undefined {
    return this.env;
  }

  activate(namespace: string, kube: Kube, config: SandpiperConfig): ActiveEnvironment {
    if (this.env?.namespace === namespace && this.env.kube === kube) {
      this.env.config = config;
      return this.env;
    }
    this.env?.session.dispose();
    this.env = { namespace, kube, config, session: new DisposableList() };
    this.changed.fire(this.env);
    return this.env;
  }

  clear(namespace?: string): void {
    if (!this.env || (namespace && this.env.namespace !== namespace)) return;
    this.env.session.dispose();
    this.env = undefined;
    this.changed.fire(undefined);
  }

  touch(reason: string): void {
    if (this.env) this.activityRecorder?.(this.env.namespace, reason);
  }

  dispose(): void {
    this.env?.session.dispose();
    this.changed.dispose();
  }
}

/** Every `sandpiper.*` setting, read in one place with its default. */
export const settings = {
  get kubeconfig(): string | undefined {
    return read<string>('kubeconfig') || undefined;
  },
  get syncAutoStart(): boolean {
    return read<boolean>('sync.autoStart') ?? true;
  },
  get expiryWarning(): string {
    return read<string>('expiryWarning') || '15m';
  },
  get gitHubBaseUrl(): string | undefined {
    return read<string>('github.baseUrl') || undefined;
  },
  get prometheusUrl(): string | undefined {
    return read<string>('prometheusUrl') || undefined;
  },
};

function read<T>(key: string): T | undefined {
  return vscode.workspace.getConfiguration('sandpiper').get<T>(key);
}

const CONTEXT_KEY = 'sandpiper.context';

/** Which cluster the editor talks to: the kubeconfig's current context unless the user picked another. */
export class ClusterAccess implements vscode.Disposable {
  private cached?: { key: string; kube: Kube };
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly state: vscode.Memento) {}

  /** The kubeconfig file in use, for messages: the setting, else $KUBECONFIG, else ~/.kube/config. */
  get kubeconfigFile(): string {
    return settings.kubeconfig || process.env.KUBECONFIG || path.join(os.homedir(), '.kube', 'config');
  }

  /** The clients for the chosen context; throws a coded error that names the fix when there is none. */
  kube(): Kube {
    // `npm start -- --context X` hands the context over through the environment.
    const context = this.state.get<string>(CONTEXT_KEY) ?? (process.env.SANDPIPER_KUBE_CONTEXT || undefined);
    const kubeconfig = settings.kubeconfig;
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
      const file = settings.kubeconfig;
      if (file) kc.loadFromFile(file);
      else kc.loadFromDefault();
    } catch {
      // An unreadable kubeconfig lists no contexts; said below.
    }
    const contexts = kc.getContexts();
    if (!contexts.length) {
      throw new SandpiperError(
        'no-cluster',
        'The kubeconfig has no contexts.',
        'Set KUBECONFIG or the sandpiper.kubeconfig setting to a kubeconfig file.',
      );
    }
    const current = this.state.get<string>(CONTEXT_KEY) ?? kc.getCurrentContext();
    const pick = await vscode.window.showQuickPick(
      contexts.map((c) => ({
        label: c.name,
        description: c.name === current ? 'current' : undefined,
        detail: kc.getCluster(c.cluster)?.server,
      })),
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

export { workspaceConfig, workspaceConfigs } from './workspaceConfig';

/** The service to act on: the only one, or the one the user picks. */
export async function pickService(config: SandpiperConfig, title: string): Promise<ServiceConfig | undefined> {
  const services = Object.values(config.services);
  if (services.length === 1) return services[0];
  const pick = await vscode.window.showQuickPick(
    services.map((s) => ({ label: s.name, service: s })),
    { title, placeHolder: 'Service' },
  );
  return pick?.service;
}
