import type { SandpiperConfig, ServiceConfig } from '../config/types';
import { presentError, SandpiperError } from '../errors';
import { DockerImageBuilder, type ImageBuilder } from '../infra/docker';
import { type Kube } from '../infra/kube/client';
import { httpCode, kubeError } from '../infra/kube/errors';
import { rebuildAndRollOut } from './redeploy';
import { SyncEngine } from './syncEngine';
import type { V1Deployment } from '@kubernetes/client-node';

export interface SyncSessionOptions {
  kube: Kube;
  namespace: string;
  config: SandpiperConfig;
  service: ServiceConfig;
  builder?: ImageBuilder;
  maxAttempts?: number;
  log?: (line: string) => void;
  /** Told when a rebuild starts, ends (ok or not). */
  onRebuild?: (phase: 'start' | 'done' | 'failed', detail?: string) => void;
}

/**
 * A sync engine plus its fallback: a change the sync cannot carry rebuilds the image, pushes it and rolls the
 * Deployment out, holding file batches meanwhile; the new pods get a full sync as they become ready.
 */
export class SyncSession {
  readonly engine: SyncEngine;
  private rebuildTimer?: NodeJS.Timeout;
  private rebuilding?: Promise<void>;
  private rebuildAgain = false;
  private readonly abort = new AbortController();
  private readonly builder: ImageBuilder;

  constructor(private readonly opts: SyncSessionOptions) {
    this.engine = new SyncEngine({
      kube: opts.kube,
      namespace: opts.namespace,
      configRoot: opts.config.root,
      service: opts.service,
      maxAttempts: opts.maxAttempts,
    });
    this.builder = opts.builder ?? new DockerImageBuilder();
    const log = opts.log ?? (() => undefined);
    this.engine.on('log', log);
    this.engine.on('rebuild', (file) => {
      log(`${file} changed: the image is rebuilt`);
      if (this.rebuildTimer) clearTimeout(this.rebuildTimer);
      // A save of several dependency files at once (package.json + lockfile) makes one rebuild.
      this.rebuildTimer = setTimeout(() => this.rebuild(), 300);
    });
  }

  start(): ReturnType<SyncEngine['start']> {
    return this.engine.start();
  }

  /** Resolves when the rebuild (if any) and the sync are done. */
  async idle(): Promise<void> {
    while (this.rebuildTimer || this.rebuilding) {
      await (this.rebuilding ?? new Promise((r) => setTimeout(r, 20)));
    }
    await this.engine.idle();
  }

  private rebuild(): void {
    this.rebuildTimer = undefined;
    if (this.rebuilding) {
      this.rebuildAgain = true;
      return;
    }
    const log = this.opts.log ?? (() => undefined);
    this.opts.onRebuild?.('start');
    this.rebuilding = this.engine
      .duringRebuild(async () => {
        const workload = await this.engine.resolveWorkload();
        return rebuildAndRollOut({
          kube: this.opts.kube,
          config: this.opts.config,
          service: this.opts.service,
          workload,
          builder: this.builder,
          signal: this.abort.signal,
          onProgress: log,
        });
      })
      .then((image) => {
        log(`rolled out ${image}`);
        this.opts.onRebuild?.('done', image);
      })
      .catch((err: unknown) => {
        const { message } = presentError(err);
        log(`rebuild failed: ${message}`);
        this.opts.onRebuild?.('failed', message);
      })
      .finally(() => {
        this.rebuilding = undefined;
        if (this.rebuildAgain) {
          this.rebuildAgain = false;
          this.rebuild();
        }
      });
  }

  dispose(): void {
    if (this.rebuildTimer) clearTimeout(this.rebuildTimer);
    this.abort.abort();
    this.engine.dispose();
  }
}

/** The Deployment that runs a service in an environment, and the container the sync writes into. */
export interface ServiceWorkload {
  namespace: string;
  deployment: string;
  selector: string;
  container: string;
}

/** Finds the service's Deployment: named after the service, else labelled app.kubernetes.io/name or app with its name. */
export async function findServiceWorkload(
  kube: Kube,
  namespace: string,
  service: ServiceConfig,
): Promise<ServiceWorkload> {
  let deployment: V1Deployment | undefined;
  try {
    deployment = await kube.apps.readNamespacedDeployment({ name: service.name, namespace });
  } catch (err) {
    if (httpCode(err) !== 404) throw kubeError(err, `read Deployment ${namespace}/${service.name}`);
  }
  for (const label of ['app.kubernetes.io/name', 'app']) {
    if (deployment) break;
    try {
      const list = await kube.apps.listNamespacedDeployment({ namespace, labelSelector: `${label}=${service.name}` });
      deployment = list.items[0];
    } catch (err) {
      throw kubeError(err, `list Deployments in ${namespace}`);
    }
  }
  if (!deployment?.metadata?.name) {
    throw new SandpiperError(
      'sync-no-workload',
      `No Deployment of service "${service.name}" in namespace ${namespace}.`,
      'Deploy the service into the environment first (sandpiper deploy).',
    );
  }
  const labels = deployment.spec?.selector?.matchLabels ?? {};
  const selector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  if (!selector)
    throw new SandpiperError(
      'sync-no-workload',
      `Deployment ${deployment.metadata.name} has no matchLabels selector.`,
      'Give the Deployment a spec.selector.matchLabels.',
    );
  const containers = deployment.spec?.template?.spec?.containers ?? [];
  const container = service.container ?? containers[0]?.name;
  if (!container || !containers.some((c) => c.name === container)) {
    throw new SandpiperError(
      'sync-no-container',
      `Deployment ${deployment.metadata.name} has no container "${container ?? ''}".`,
      `Set "container" of service ${service.name} in sandpiper.yaml to one of: ${containers.map((c) => c.name).join(', ')}.`,
    );
  }
  return { namespace, deployment: deployment.metadata.name, selector, container };
}
