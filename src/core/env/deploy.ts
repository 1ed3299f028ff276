import type { SandpiperConfig, ServiceConfig } from '../config/types';
import type { Kube } from '../kube/client';
import { applyAll } from './apply';
import type { KubeObject } from './clone';
import { prepareServiceObjects, readServiceManifests } from './manifests';
import type { ProgressSink } from './progress';
import { waitForWorkloads } from './readiness';

export interface DeployOptions {
  /** An image reference to run instead of the manifests' (e.g. one just built); default: config's `image` ref, else the manifests'. */
  image?: string;
  labels?: Record<string, string>;
  signal?: AbortSignal;
  progress?: ProgressSink;
  timeoutMs?: number;
}

/** The image a service runs: the caller's override, else a fixed ref from sandpiper.yaml, else the manifests' own. */
export function imageFor(service: ServiceConfig, override?: string): string | undefined {
  return override ?? service.image?.ref;
}

/** The service's objects as they will be applied into `namespace`. */
export async function serviceObjectsFor(config: SandpiperConfig, service: ServiceConfig, namespace: string, labels: Record<string, string>, image?: string): Promise<KubeObject[]> {
  const raw = await readServiceManifests(config.root, service);
  return prepareServiceObjects(raw, namespace, labels, service, imageFor(service, image));
}

/** Applies a service's manifests into a namespace (server-side apply) and waits until its workloads are ready. */
export async function deployService(kube: Kube, config: SandpiperConfig, service: ServiceConfig, namespace: string, opts: DeployOptions = {}): Promise<KubeObject[]> {
  const objects = await serviceObjectsFor(config, service, namespace, opts.labels ?? {}, opts.image);
  opts.progress?.({ step: 'service', name: service.name, state: 'started', message: `Deploying ${service.name} into ${namespace} (${objects.length} objects)` });
  const applied = await applyAll(kube, objects, opts.signal);
  await waitForWorkloads(kube, applied, opts.signal, opts.timeoutMs);
  opts.progress?.({ step: 'service', name: service.name, state: 'ready', message: `${service.name} is ready` });
  return applied;
}
