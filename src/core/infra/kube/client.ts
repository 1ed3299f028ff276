import * as k8s from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { SandpiperError } from '../../errors';
import { kubeError } from './errors';

export interface KubeTarget {
  /** A kubeconfig file; default: $KUBECONFIG or ~/.kube/config. */
  kubeconfig?: string;
  /** A context of that kubeconfig; default: its current context. */
  context?: string;
}

/** The API clients of one kubeconfig context, made once and shared by the features. */
export class Kube {
  readonly core: k8s.CoreV1Api;
  readonly apps: k8s.AppsV1Api;
  readonly custom: k8s.CustomObjectsApi;
  readonly objects: k8s.KubernetesObjectApi;
  readonly coordination: k8s.CoordinationV1Api;
  readonly batch: k8s.BatchV1Api;

  constructor(readonly config: k8s.KubeConfig) {
    this.core = config.makeApiClient(k8s.CoreV1Api);
    this.apps = config.makeApiClient(k8s.AppsV1Api);
    this.custom = config.makeApiClient(k8s.CustomObjectsApi);
    this.objects = k8s.KubernetesObjectApi.makeApiClient(config);
    this.coordination = config.makeApiClient(k8s.CoordinationV1Api);
    this.batch = config.makeApiClient(k8s.BatchV1Api);
  }

  get contextName(): string {
    return this.config.getCurrentContext();
  }

  get server(): string {
    return this.config.getCurrentCluster()?.server ?? '';
  }

  /** The namespace the context names, or `default`. */
  get defaultNamespace(): string {
    return this.config.getContextObject(this.contextName)?.namespace ?? 'default';
  }

  /** Fails with a coded error when the cluster does not answer or refuses our credentials. */
  async checkReachable(timeoutMs = 5000): Promise<string> {
    const version = this.config.makeApiClient(k8s.VersionApi);
    const timer = new Promise<never>((_, reject) => setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), timeoutMs).unref());
    try {
      const info = await Promise.race([version.getCode(), timer]);
      return info.gitVersion;
    } catch (err) {
      throw kubeError(err, `reach the cluster of context "${this.contextName}" (${this.server})`);
    }
  }
}

/** Loads the kubeconfig and picks the context; says plainly when there is none. */
export function loadKube(target: KubeTarget = {}): Kube {
  const kc = new k8s.KubeConfig();
  try {
    if (target.kubeconfig) kc.loadFromFile(target.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new SandpiperError('no-cluster', `Cannot read the kubeconfig: ${(err as Error).message}`, 'Set KUBECONFIG or pick a context.');
  }
  if (target.context) {
    if (!kc.getContextObject(target.context)) {
      throw new SandpiperError('no-cluster', `The kubeconfig has no context "${target.context}" (it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'}).`, 'Pick one of its contexts.');
    }
    kc.setCurrentContext(target.context);
  }
  if (!kc.getCurrentContext() || !kc.getContextObject(kc.getCurrentContext()) || !kc.getCurrentCluster()) {
    throw new SandpiperError('no-cluster', 'No Kubernetes cluster is configured: the kubeconfig has no current context.', 'Set KUBECONFIG to a kubeconfig, or pick a context.');
  }
  return new Kube(kc);
}

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const SANDPIPER = 'sandpiper';
export const FIELD_MANAGER = 'sandpiper';

// client-node 1.x sends JSON Patch by default; other patch types need their content type set per call.
// Functions, not constants: the extension loads client-node on first use, never at module load.

export function mergePatch() {
  return setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
}

export function strategicMergePatch() {
  return setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
}

export function jsonPatch() {
  return setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
}
