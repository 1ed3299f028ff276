import * as k8s from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { SandpiperError } from '../../errors';
import { clusterOf, kubeError, markCluster } from './errors';

export interface KubeTarget {
  /** A kubeconfig file; default: $KUBECONFIG or ~/.kube/config. */
  kubeconfig?: string;
  /** A context of that kubeconfig; default: its current context. */
  context?: string;
  /** How long a request (not a watch, log follow, exec or port-forward) may wait for its answer. */
  requestTimeoutMs?: number;
  /** The name the API server's certificate is checked against, when the server is dialled by another address. */
  tlsServerName?: string;
}

export interface KubeOptions {
  requestTimeoutMs?: number;
}

/** Long enough for a slow API server under load; short enough that a silent one is reported. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** The API clients of one kubeconfig context, made once and shared by the features. */
export class Kube {
  readonly core: k8s.CoreV1Api;
  readonly apps: k8s.AppsV1Api;
  readonly custom: k8s.CustomObjectsApi;
  readonly objects: k8s.KubernetesObjectApi;
  readonly coordination: k8s.CoordinationV1Api;
  readonly batch: k8s.BatchV1Api;

  private readonly configuration: k8s.Configuration;

  constructor(
    readonly config: k8s.KubeConfig,
    options: KubeOptions = {},
  ) {
    // As `KubeConfig.makeApiClient` builds it, with every request of these clients under one timeout.
    // Watches, log follows, exec and port-forward do not go through these clients: they stay open.
    const base = k8s.createConfiguration({
      baseServer: new k8s.ServerConfiguration(this.server, {}),
      authMethods: { default: config },
    });
    const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.configuration = { ...base, httpApi: withTimeout(base.httpApi, timeoutMs, this.cluster) };
    this.core = new k8s.CoreV1Api(this.configuration);
    this.apps = new k8s.AppsV1Api(this.configuration);
    this.custom = new k8s.CustomObjectsApi(this.configuration);
    this.objects = objectApi(this.configuration, config);
    this.coordination = new k8s.CoordinationV1Api(this.configuration);
    this.batch = new k8s.BatchV1Api(this.configuration);
  }

  get contextName(): string {
    return this.config.getCurrentContext();
  }

  get server(): string {
    return this.config.getCurrentCluster()?.server ?? '';
  }

  /** Which cluster, for messages: `of context "x" (https://server:6443)`. */
  get cluster(): string {
    return clusterOf(this.config);
  }

  /** The namespace the context names, or `default`. */
  get defaultNamespace(): string {
    return this.config.getContextObject(this.contextName)?.namespace ?? 'default';
  }

  /** Fails with a coded error when the cluster does not answer or refuses our credentials. */
  async checkReachable(timeoutMs = 5000): Promise<string> {
    const version = new k8s.VersionApi(this.configuration);
    const timer = new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT', timeoutMs, cluster: this.cluster })),
        timeoutMs,
      ).unref(),
    );
    try {
      const info = await Promise.race([version.getCode(), timer]);
      return info.gitVersion;
    } catch (err) {
      // A refusal or 401 says nothing of the cluster by itself: it is named here as well.
      const named = markCluster(err, this.cluster) as { cluster?: string };
      throw kubeError(named, named.cluster ? 'reach the cluster' : `reach the cluster ${this.cluster}`);
    }
  }
}

/** `KubernetesObjectApi` on our configuration, with the context's default namespace as `makeApiClient` sets it. */
function objectApi(configuration: k8s.Configuration, kc: k8s.KubeConfig): k8s.KubernetesObjectApi {
  // Declared here, not at module level: extending client-node's class there would load client-node (a lazy vendor
  // bundle) whenever this module is evaluated, e.g. for the editor's first command even when it needs no cluster.
  class ObjectApi extends k8s.KubernetesObjectApi {
    constructor() {
      super(configuration);
      this.setDefaultNamespace(kc);
    }
  }
  return new ObjectApi();
}

/** A request that gets no answer in time fails with an error `kubeError` reports as "does not answer". */
function withTimeout(inner: k8s.HttpLibrary, timeoutMs: number, cluster: string): k8s.HttpLibrary {
  return k8s.wrapHttpLibrary({
    async send(request) {
      const timer = AbortSignal.timeout(timeoutMs);
      const own = request.getSignal();
      request.setSignal(own ? AbortSignal.any([own, timer]) : timer);
      const timedOut = (err: unknown): never => {
        if (!timer.aborted || own?.aborted) throw err;
        const seconds = timeoutMs / 1000;
        const message = `The cluster ${cluster} does not answer (timed out after ${seconds} s).`;
        throw Object.assign(new Error(message), { code: 'ETIMEDOUT', timeoutMs, cluster });
      };
      const response = await inner
        .send(request)
        .toPromise()
        .catch(timedOut)
        .catch((err: unknown) => {
          throw markCluster(err, cluster);
        });
      // The body is read after the headers came, under the same signal: a stall there is the same timeout.
      const body = response.body;
      response.body = { text: () => body.text().catch(timedOut), binary: () => body.binary().catch(timedOut) };
      return response;
    },
  });
}

/** Loads the kubeconfig and picks the context; says plainly when there is none. */
export function loadKube(target: KubeTarget = {}): Kube {
  const kc = new k8s.KubeConfig();
  try {
    if (target.kubeconfig) kc.loadFromFile(target.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new SandpiperError(
      'no-cluster',
      `Cannot read the kubeconfig: ${(err as Error).message}`,
      'Set KUBECONFIG or pick a context.',
    );
  }
  if (target.context) {
    if (!kc.getContextObject(target.context)) {
      throw new SandpiperError(
        'no-cluster',
        `The kubeconfig has no context "${target.context}" (it has: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(', ') || 'none'
        }).`,
        'Pick one of its contexts.',
      );
    }
    kc.setCurrentContext(target.context);
  }
  if (!kc.getCurrentContext() || !kc.getContextObject(kc.getCurrentContext()) || !kc.getCurrentCluster()) {
    throw new SandpiperError(
      'no-cluster',
      'No Kubernetes cluster is configured: the kubeconfig has no current context.',
      'Set KUBECONFIG to a kubeconfig, or pick a context.',
    );
  }
  if (target.tlsServerName) {
    const current = kc.getCurrentCluster()!;
    kc.clusters = kc.clusters.map((c) => (c === current ? { ...c, tlsServerName: target.tlsServerName } : c));
  }
  return new Kube(kc, { requestTimeoutMs: target.requestTimeoutMs });
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
