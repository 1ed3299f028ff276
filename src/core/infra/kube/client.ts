import * as k8s from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { SandpiperError } from '../../errors';

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

interface Status {
  message?: string;
  reason?: string;
  details?: { kind?: string; name?: string; group?: string };
}

function statusOf(err: k8s.ApiException<unknown>): Status {
  const body = err.body;
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as Status;
    } catch {
      return { message: body };
    }
  }
  return (body ?? {}) as Status;
}

export function httpCode(err: unknown): number | undefined {
  if (err instanceof k8s.ApiException) return err.code;
  const code = (err as { code?: unknown; statusCode?: unknown })?.statusCode ?? (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Turns a client-node failure into an error that says what we tried and what to do. */
export function kubeError(err: unknown, doing: string): SandpiperError {
  if (err instanceof SandpiperError) return err;
  if (err instanceof k8s.ApiException) {
    const status = statusOf(err);
    const message = status.message ?? err.message.split('\n')[0];
    switch (err.code) {
      case 401:
        return new SandpiperError('unauthenticated', `The cluster refused our credentials while trying to ${doing}.`, 'Log in again or refresh the kubeconfig credentials.', message);
      case 403:
        return new SandpiperError('forbidden', `Forbidden: ${message}`, 'Ask for the RBAC permission named above, or use another context.', message);
      case 404:
        return new SandpiperError('not-found', `Not found while trying to ${doing}: ${message}`, undefined, message);
      case 409:
        return new SandpiperError('conflict', `Conflict while trying to ${doing}: ${message}`, undefined, message);
      case 422:
        return new SandpiperError('invalid', `The cluster rejected an object while trying to ${doing}: ${message}`, undefined, message);
      default:
        return new SandpiperError('api', `Could not ${doing}: HTTP ${err.code}: ${message}`, undefined, message);
    }
  }
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e?.code ?? e?.cause?.code;
  if (code && ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'UND_ERR_CONNECT_TIMEOUT'].includes(String(code))) {
    return new SandpiperError('unreachable', `Cannot ${doing}: the cluster does not answer (${code}).`, 'Check that the cluster is running and the kubeconfig points at it, or pick another context.');
  }
  if (e?.name === 'AbortError') return new SandpiperError('cancelled', 'Cancelled.');
  return new SandpiperError('api', `Could not ${doing}: ${e?.message ?? String(err)}`);
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
