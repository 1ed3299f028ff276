import { serviceNamed } from '../config/loader';
import type { SandpiperConfig, DependencyMode } from '../config/types';
import { SandpiperError, isCancellation } from '../errors';
import { type Kube } from '../infra/kube/client';
import { httpCode } from '../infra/kube/errors';
import { applyAll, applyObject, buildProgress, pinServiceImage, serviceObjectsFor, type DeployOptions } from './deploy';
import { buildServiceImage } from '../build/pipeline';
import { kubeError } from '../infra/kube/errors';
import { isManaged, type ProgressSink } from './metadata';
import { environmentName } from './naming';
import { objectLabels, planEnvironment, type EnvironmentPlan, type KubeObject } from './plan';
import { waitForNamespace, waitForWorkloads } from './readiness';
import type { V1ConfigMap, V1PodTemplateSpec, V1Secret, V1Service } from '@kubernetes/client-node';

export interface CreateEnvironmentOptions {
  service: string;
  owner: string;
  branch: string;
  /** Overrides of the config's dependency modes; dependencies not named keep the config's. */
  modes?: Record<string, DependencyMode>;
  ttlMs?: number;
  /** A namespace name instead of the one derived from owner and branch. */
  namespace?: string;
  /** An image to run instead of building (or of the manifests' image). */
  image?: string;
  /** How the service's image is built when it has `image.build` (builder, registry); see src/core/build. */
  build?: DeployOptions['build'];
  signal?: AbortSignal;
  progress?: ProgressSink;
  timeoutMs?: number;
  now?: () => Date;
}

export interface CreatedEnvironment {
  namespace: string;
  plan: EnvironmentPlan;
  /** The image built (or found already built) for the service, pinned by digest; none with `image` or a fixed ref. */
  image?: string;
}

/**
 * A creation that failed or was cancelled. `namespaceCreated` tells whether this call made the
 * namespace, so the caller can offer keep-for-inspection or delete (deleteEnvironment removes it all).
 */
export class EnvironmentCreateError extends SandpiperError {
  constructor(
    readonly failure: SandpiperError,
    readonly namespace: string,
    readonly namespaceCreated: boolean,
  ) {
    super(failure.code, failure.message, failure.hint, failure.details);
  }
}

export function dependencyModes(
  config: SandpiperConfig,
  service: string,
  overrides: Record<string, DependencyMode> = {},
): Record<string, DependencyMode> {
  const declared = config.services[service]?.dependencies ?? {};
  const unknown = Object.keys(overrides).filter((d) => !(d in declared));
  if (unknown.length)
    throw new SandpiperError(
      'unknown-dependency',
      `"${service}" has no dependency ${unknown.map((d) => `"${d}"`).join(', ')} (it has: ${Object.keys(declared).join(', ') || 'none'}).`,
      'Name dependencies listed in sandpiper.yaml.',
    );
  return { ...declared, ...overrides };
}

/** Reads the baseline and the service's manifests and plans the objects; applies nothing. */
export async function planEnvironmentFor(
  kube: Kube,
  config: SandpiperConfig,
  opts: CreateEnvironmentOptions,
): Promise<EnvironmentPlan> {
  const service = serviceNamed(config, opts.service, 'Pass one of those with --service.');
  const namespace = opts.namespace ?? environmentName(opts.owner, opts.branch);
  const modes = dependencyModes(config, opts.service, opts.modes);
  opts.progress?.({
    step: 'note',
    name: config.baseline,
    state: 'info',
    message: `Reading ${Object.keys(modes).length} dependencies from baseline "${config.baseline}"`,
  });
  const dependencies = await Promise.all(
    Object.entries(modes).map(async ([name, mode]) => ({
      mode,
      baseline: await readBaselineDependency(kube, config.baseline, name, {
        withWorkloads: mode === 'copy',
        copySecrets: config.copySecrets,
      }),
    })),
  );
  const serviceObjects = await serviceObjectsFor(config, service, namespace, objectLabels(opts), opts.image);
  return planEnvironment({
    namespace,
    owner: opts.owner,
    branch: opts.branch,
    service: opts.service,
    baseline: config.baseline,
    clusterDomain: config.clusterDomain,
    ttlMs: opts.ttlMs ?? config.ttlMs,
    now: (opts.now ?? (() => new Date()))(),
    dependencies,
    serviceObjects,
  });
}

/** Creates an environment step by step: namespace, each dependency (shared or copied), then the service. */
export async function createEnvironment(
  kube: Kube,
  config: SandpiperConfig,
  opts: CreateEnvironmentOptions,
): Promise<CreatedEnvironment> {
  const namespace = opts.namespace ?? environmentName(opts.owner, opts.branch);
  const progress = opts.progress ?? (() => undefined);
  let namespaceCreated = false;
  try {
    // The baseline is read first: a missing dependency is reported before anything is made.
    const plan = await planEnvironmentFor(kube, config, { ...opts, namespace, progress });
    for (const w of plan.warnings) progress({ step: 'note', name: namespace, state: 'info', message: w });
    // Then the image, before anything is applied: a failed or cancelled build leaves nothing on the cluster.
    const image = await buildFor(config, opts);
    if (image) {
      const step = plan.steps.find((s) => s.kind === 'service');
      if (step) pinServiceImage(step.objects, config.services[opts.service], image);
    }
    for (const step of plan.steps) {
      const label =
        step.kind === 'namespace'
          ? `namespace ${step.name}`
          : step.kind === 'dependency'
            ? `dependency ${step.name} (${step.mode})`
            : `service ${step.name}`;
      progress({ step: step.kind, name: step.name, state: 'started', message: `Creating ${label}` });
      if (step.kind === 'namespace') {
        // Applying over a namespace we do not own would label it ours, and so hand it to the janitor.
        const existing = await kube.core.readNamespace({ name: namespace }).catch((err: unknown) => {
          // Not found: ours to make. Not allowed to look (403): stop, for we cannot tell whether it is someone
          // else's, and an apply would label it ours.
          if (httpCode(err) === 404) return undefined;
          throw kubeError(err, `read namespace "${namespace}"`);
        });
        if (existing && !isManaged(existing)) {
          throw new SandpiperError(
            'not-ours',
            `Namespace "${namespace}" exists and is not a Sandpiper environment; Sandpiper leaves it alone.`,
            'Pick another name with --namespace, or let Sandpiper name the environment.',
          );
        }
        await applyObject(kube, step.objects[0], opts.signal);
        // An environment that existed before (created again to update it) is not ours to clean up on failure.
        namespaceCreated = !existing;
        await waitForNamespace(kube, namespace, opts.signal);
      } else {
        const applied = await applyAll(kube, step.objects, opts.signal);
        await waitForWorkloads(kube, applied, opts.signal, opts.timeoutMs);
      }
      progress({ step: step.kind, name: step.name, state: 'ready', message: `Ready: ${label}` });
    }
    return { namespace, plan, image };
  } catch (err) {
    const cause =
      err instanceof SandpiperError
        ? err
        : isCancellation(err)
          ? new SandpiperError('cancelled', 'Cancelled.')
          : new SandpiperError('api', (err as Error).message ?? String(err));
    throw new EnvironmentCreateError(cause, namespace, namespaceCreated);
  }
}

/** Builds the service's image when sandpiper.yaml says how and no image was given; its digest ref. */
async function buildFor(config: SandpiperConfig, opts: CreateEnvironmentOptions): Promise<string | undefined> {
  const service = config.services[opts.service];
  if (opts.image || !service?.image?.build) return undefined;
  opts.progress?.({
    step: 'build',
    name: service.name,
    state: 'info',
    message: `Building the image of ${service.name}`,
  });
  const built = await buildServiceImage(config, service, {
    ...opts.build,
    signal: opts.signal,
    onProgress: buildProgress(opts.progress),
  });
  return built.ref;
}

/** The objects of one dependency as they run in the baseline namespace. */
export interface BaselineDependency {
  name: string;
  service: V1Service;
  workloads: KubeObject[];
  configMaps: V1ConfigMap[];
  secrets: V1Secret[];
  /** Secrets the workloads use that were not copied (no copySecrets): the copy may not start without them. */
  skippedSecrets: string[];
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || !Object.keys(selector).length) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Names of the ConfigMaps and Secrets a pod template reads (volumes, envFrom, env valueFrom). */
export function referencedConfig(template: V1PodTemplateSpec | undefined): {
  configMaps: Set<string>;
  secrets: Set<string>;
} {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const spec = template?.spec;
  for (const v of spec?.volumes ?? []) {
    if (v.configMap?.name) configMaps.add(v.configMap.name);
    if (v.secret?.secretName) secrets.add(v.secret.secretName);
    for (const s of v.projected?.sources ?? []) {
      if (s.configMap?.name) configMaps.add(s.configMap.name);
      if (s.secret?.name) secrets.add(s.secret.name);
    }
  }
  for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    for (const f of c.envFrom ?? []) {
      if (f.configMapRef?.name) configMaps.add(f.configMapRef.name);
      if (f.secretRef?.name) secrets.add(f.secretRef.name);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
      if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
    }
  }
  for (const s of spec?.imagePullSecrets ?? []) if (s.name) secrets.add(s.name);
  return { configMaps, secrets };
}

function missing(kind: string, name: string, baseline: string, dependency: string): SandpiperError {
  return new SandpiperError(
    'baseline-missing',
    `The baseline namespace "${baseline}" has no ${kind} "${name}" (needed by dependency "${dependency}").`,
    `Deploy "${dependency}" to "${baseline}", fix the dependency name in sandpiper.yaml, or check the baseline setting.`,
  );
}

/**
 * Reads a dependency from the baseline: its Service (by the dependency's name), the Deployments and
 * StatefulSets that Service selects, and the ConfigMaps (and, with copySecrets, Secrets) they use.
 * `withWorkloads` is false for shared dependencies, which only need the Service's ports.
 */
export async function readBaselineDependency(
  kube: Kube,
  baseline: string,
  name: string,
  opts: { withWorkloads: boolean; copySecrets: boolean },
): Promise<BaselineDependency> {
  let service: V1Service;
  try {
    service = await kube.core.readNamespacedService({ name, namespace: baseline });
  } catch (err) {
    if (httpCode(err) === 404) throw missing('Service', name, baseline, name);
    throw kubeError(err, `read Service "${name}" in the baseline namespace "${baseline}"`);
  }
  const result: BaselineDependency = { name, service, workloads: [], configMaps: [], secrets: [], skippedSecrets: [] };
  if (!opts.withWorkloads) return result;
  let workloads: KubeObject[];
  try {
    const [deployments, statefulSets] = await Promise.all([
      kube.apps.listNamespacedDeployment({ namespace: baseline }),
      kube.apps.listNamespacedStatefulSet({ namespace: baseline }),
    ]);
    workloads = [
      ...deployments.items.map((d) => ({ ...d, apiVersion: 'apps/v1', kind: 'Deployment' })),
      ...statefulSets.items.map((s) => ({ ...s, apiVersion: 'apps/v1', kind: 'StatefulSet' })),
    ].filter((w) => selects(service.spec?.selector, w.spec?.template?.metadata?.labels)) as KubeObject[];
  } catch (err) {
    throw kubeError(err, `list the workloads of "${name}" in the baseline namespace "${baseline}"`);
  }
  if (!workloads.length) throw missing('Deployment or StatefulSet selected by Service', name, baseline, name);
  result.workloads = workloads;
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const w of workloads) {
    const refs = referencedConfig((w.spec as { template?: V1PodTemplateSpec }).template);
    refs.configMaps.forEach((c) => configMaps.add(c));
    refs.secrets.forEach((s) => secrets.add(s));
  }
  for (const cm of configMaps) {
    try {
      result.configMaps.push({
        ...(await kube.core.readNamespacedConfigMap({ name: cm, namespace: baseline })),
        apiVersion: 'v1',
        kind: 'ConfigMap',
      });
    } catch (err) {
      if (httpCode(err) === 404) throw missing('ConfigMap', cm, baseline, name);
      throw kubeError(err, `read ConfigMap "${cm}" in "${baseline}"`);
    }
  }
  if (!opts.copySecrets) {
    result.skippedSecrets = [...secrets];
    return result;
  }
  for (const s of secrets) {
    try {
      result.secrets.push({
        ...(await kube.core.readNamespacedSecret({ name: s, namespace: baseline })),
        apiVersion: 'v1',
        kind: 'Secret',
      });
    } catch (err) {
      if (httpCode(err) === 404) throw missing('Secret', s, baseline, name);
      throw kubeError(err, `read Secret "${s}" in "${baseline}"`);
    }
  }
  return result;
}
