import type { SandpiperConfig, ServiceConfig } from '../config/types';
import { type Kube, FIELD_MANAGER } from '../infra/kube/client';
import { kubeError } from '../infra/kube/errors';
import type { KubeObject } from './plan';
import type { ProgressSink } from './metadata';
import { waitForWorkloads } from './readiness';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { SandpiperError, cancelled } from '../errors';
import { PatchStrategy } from '@kubernetes/client-node';
import { buildServiceImages, type ImagePipelineOptions } from '../build/pipeline';

export interface DeployOptions {
  /** How images are built (builder, registry); the signal and progress are the deploy's own. */
  build?: Omit<ImagePipelineOptions, 'signal' | 'onProgress'>;
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
export async function serviceObjectsFor(
  config: SandpiperConfig,
  service: ServiceConfig,
  namespace: string,
  labels: Record<string, string>,
  image?: string,
): Promise<KubeObject[]> {
  const raw = await readServiceManifests(config.root, service);
  return prepareServiceObjects(raw, namespace, labels, service, imageFor(service, image));
}

/** Applies a service's manifests into a namespace (server-side apply) and waits until its workloads are ready. */
export async function deployService(
  kube: Kube,
  config: SandpiperConfig,
  service: ServiceConfig,
  namespace: string,
  opts: DeployOptions = {},
): Promise<KubeObject[]> {
  const objects = await serviceObjectsFor(config, service, namespace, opts.labels ?? {}, opts.image);
  opts.progress?.({
    step: 'service',
    name: service.name,
    state: 'started',
    message: `Deploying ${service.name} into ${namespace} (${objects.length} objects)`,
  });
  const applied = await applyAll(kube, objects, opts.signal);
  await waitForWorkloads(kube, applied, opts.signal, opts.timeoutMs);
  opts.progress?.({ step: 'service', name: service.name, state: 'ready', message: `${service.name} is ready` });
  return applied;
}

/** Build progress lines as environment progress (info: they say what happens, not a step of the plan). */
export function buildProgress(progress: ProgressSink | undefined): ImagePipelineOptions['onProgress'] {
  return (service, line) => progress?.({ step: 'build', name: service, state: 'info', message: line });
}

/**
 * Deploys services into a namespace: first every image sandpiper.yaml builds is built (a failed build applies
 * nothing), then each service is applied with its image pinned by digest and waited for. `image` skips the build.
 */
export async function deployServices(
  kube: Kube,
  config: SandpiperConfig,
  services: ServiceConfig[],
  namespace: string,
  opts: DeployOptions = {},
): Promise<KubeObject[]> {
  const images = await buildServiceImages(config, opts.image ? [] : services, {
    ...opts.build,
    signal: opts.signal,
    onProgress: buildProgress(opts.progress),
  });
  const applied: KubeObject[] = [];
  for (const s of services)
    applied.push(
      ...(await deployService(kube, config, s, namespace, { ...opts, image: opts.image ?? images.get(s.name)?.ref })),
    );
  return applied;
}

const YAML_FILE = /\.ya?ml$/i;

async function filesUnder(entry: string): Promise<string[]> {
  const stat = await fs.stat(entry).catch(() => undefined);
  if (!stat)
    throw new SandpiperError(
      'manifests-missing',
      `The manifests path ${entry} does not exist.`,
      'Fix `manifests` in sandpiper.yaml.',
    );
  if (stat.isFile()) return [entry];
  const names = (await fs.readdir(entry)).sort();
  if (names.includes('kustomization.yaml') || names.includes('kustomization.yml')) {
    throw new SandpiperError(
      'manifests-kustomize',
      `${entry} is a kustomization; only plain YAML manifests are supported so far.`,
      'Point `manifests` at plain YAML files or a folder of them.',
    );
  }
  const nested = await Promise.all(
    names.map(async (n) => {
      const full = path.join(entry, n);
      const s = await fs.stat(full);
      return s.isDirectory() ? filesUnder(full) : YAML_FILE.test(n) ? [full] : [];
    }),
  );
  return nested.flat();
}

/** Reads every object of a service's manifests (files or folders of plain YAML, multi-document). */
export async function readServiceManifests(root: string, service: ServiceConfig): Promise<KubeObject[]> {
  const objects: KubeObject[] = [];
  for (const entry of service.manifests) {
    for (const file of await filesUnder(path.resolve(root, entry))) {
      const text = await fs.readFile(file, 'utf8');
      for (const doc of parseAllDocuments(text)) {
        if ('errors' in doc && doc.errors.length) {
          throw new SandpiperError(
            'manifests-invalid',
            `${path.relative(root, file)}: ${doc.errors[0].message.split('\n')[0]}`,
            'Fix the YAML of that manifest.',
          );
        }
        const obj = doc.toJS() as KubeObject | null;
        if (!obj) continue;
        if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) {
          throw new SandpiperError(
            'manifests-invalid',
            `${path.relative(root, file)}: an object without apiVersion, kind or metadata.name.`,
            'Every manifest needs apiVersion, kind and metadata.name.',
          );
        }
        objects.push(obj);
      }
    }
  }
  if (!objects.length)
    throw new SandpiperError(
      'manifests-empty',
      `The manifests of "${service.name}" hold no objects.`,
      'Add the Deployment and Service of the service.',
    );
  return objects;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Pod', 'Job']);

export function isWorkload(obj: KubeObject): boolean {
  return WORKLOAD_KINDS.has(obj.kind ?? '');
}

/**
 * Puts the objects into `namespace` with our labels and, when an image is given, runs it in the service's
 * container (see pinServiceImage).
 */
export function prepareServiceObjects(
  objects: KubeObject[],
  namespace: string,
  labels: Record<string, string>,
  service: ServiceConfig,
  image?: string,
): KubeObject[] {
  const placed = objects.map((source) => {
    const obj = structuredClone(source);
    obj.metadata = { ...obj.metadata, namespace, labels: { ...(obj.metadata?.labels ?? {}), ...labels } };
    return obj;
  });
  return image ? pinServiceImage(placed, service, image) : placed;
}

type Container = { name: string; image?: string };

function containersOf(obj: KubeObject): Container[] {
  const podSpec =
    obj.kind === 'Pod'
      ? obj.spec
      : (obj.spec as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec;
  return (podSpec?.containers ?? []) as Container[];
}

/** `registry:5000/team/tasks:1.2@sha256:…` → `team/tasks` (what the manifest names, wherever it is pulled from). */
function imageName(image: string): string {
  const noDigest = image.split('@')[0];
  const parts = noDigest.replace(/:[^:/]+$/, '').split('/');
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0])) parts.shift();
  return parts.join('/');
}

/**
 * The container of a workload that runs the service's image: the one sandpiper.yaml names; else the one whose
 * image has the name being built (`tasks` matches `example/tasks:latest`); else, when this is the service's only
 * workload, its first container. A second workload of other images (a cache, a sidecar Deployment) is left alone.
 */
export function serviceContainer(
  obj: KubeObject,
  service: ServiceConfig,
  onlyWorkload: boolean,
): Container | undefined {
  const containers = containersOf(obj);
  const named = containers.find((c) => c.name === service.container);
  if (named) return named;
  const wanted = service.image?.build?.name ?? service.image?.ref ?? service.name;
  const want = imageName(wanted);
  const matching = containers.find((c) => {
    const have = c.image ? imageName(c.image) : '';
    return have === want || have.endsWith(`/${want}`) || want.endsWith(`/${have}`);
  });
  return matching ?? (onlyWorkload ? containers[0] : undefined);
}

/** Sets `image` (a digest ref, once built) on the service's container of each workload; returns the objects. */
export function pinServiceImage(objects: KubeObject[], service: ServiceConfig, image: string): KubeObject[] {
  const workloads = objects.filter(isWorkload);
  let pinned = 0;
  for (const obj of workloads) {
    const target = serviceContainer(obj, service, workloads.length === 1);
    if (target) {
      target.image = image;
      pinned++;
    }
  }
  if (workloads.length && !pinned)
    throw new SandpiperError(
      'invalid',
      `Cannot tell which of the ${workloads.length} workloads in the manifests of "${service.name}" runs its image: ` +
        `no container is named "${service.container ?? service.name}" or runs an image of that name.`,
      'Set `container` for the service in sandpiper.yaml: the container that runs its image.',
    );
  return objects;
}

export function describeObject(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  return `${obj.kind} "${obj.metadata?.name}"${ns ? ` in namespace "${ns}"` : ''}`;
}

/** Server-side apply under our field manager; `force` takes over fields another manager set (we own the env). */
export async function applyObject(kube: Kube, obj: KubeObject, signal?: AbortSignal): Promise<KubeObject> {
  if (signal?.aborted) throw cancelled();
  const doing = `apply ${describeObject(obj)}`;
  try {
    // Managed fields must not be sent with an apply patch; clones have them stripped already.
    return (await kube.objects.patch(
      obj,
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    )) as KubeObject;
  } catch (err) {
    throw kubeError(err, doing);
  }
}

export async function applyAll(kube: Kube, objects: KubeObject[], signal?: AbortSignal): Promise<KubeObject[]> {
  // Config first so workloads that mount it do not start without it.
  const order = (o: KubeObject) =>
    ['ConfigMap', 'Secret', 'ServiceAccount'].includes(o.kind ?? '') ? 0 : o.kind === 'Service' ? 1 : 2;
  const sorted = [...objects].sort((a, b) => order(a) - order(b));
  const applied: KubeObject[] = [];
  for (const group of [0, 1, 2]) {
    const batch = sorted.filter((o) => order(o) === group);
    applied.push(...(await Promise.all(batch.map((o) => applyObject(kube, o, signal)))));
  }
  return applied;
}
