import type { V1Namespace, KubernetesObject, V1Service, V1ServicePort } from '@kubernetes/client-node';
import { formatDuration, type DependencyMode } from '../config/types';
import type { BaselineDependency } from './create';
import {
  ANNOTATION_BASELINE,
  ANNOTATION_BRANCH,
  ANNOTATION_DEPENDENCIES,
  ANNOTATION_LAST_ACTIVITY,
  ANNOTATION_OWNER,
  ANNOTATION_TTL,
  LABEL_BRANCH,
  LABEL_MANAGED_BY,
  LABEL_OWNER,
  LABEL_SERVICE,
  MANAGED_BY_VALUE,
  labelValue,
} from './metadata';
import { ownerHandle } from './naming';

/** One step of creating an environment: what is applied, and what is waited for before the next. */
export interface PlanStep {
  /** "namespace", "dependency", "service". */
  kind: 'namespace' | 'dependency' | 'service';
  /** What the progress line names: the namespace, the dependency, or the service. */
  name: string;
  mode?: DependencyMode;
  objects: KubeObject[];
}

export interface EnvironmentPlan {
  namespace: string;
  steps: PlanStep[];
  /** Things the user should know that do not stop the creation (e.g. Secrets not copied). */
  warnings: string[];
}

export interface PlanInput {
  namespace: string;
  owner: string;
  branch: string;
  service: string;
  baseline: string;
  clusterDomain: string;
  ttlMs: number;
  now: Date;
  dependencies: Array<{ mode: DependencyMode; baseline: BaselineDependency }>;
  /** The service's own objects, already namespaced and labelled (see prepareServiceObjects). */
  serviceObjects: KubeObject[];
}

export function objectLabels(input: Pick<PlanInput, 'owner' | 'branch'>): Record<string, string> {
  return {
    [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
    [LABEL_OWNER]: labelValue(ownerHandle(input.owner)),
    [LABEL_BRANCH]: labelValue(input.branch),
  };
}

export function namespaceObject(
  input: Omit<PlanInput, 'dependencies' | 'serviceObjects'> & { modes: Record<string, DependencyMode> },
): V1Namespace & KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: input.namespace,
      labels: { ...objectLabels(input), [LABEL_SERVICE]: labelValue(input.service) },
      annotations: {
        [ANNOTATION_TTL]: formatDuration(input.ttlMs),
        [ANNOTATION_LAST_ACTIVITY]: input.now.toISOString(),
        [ANNOTATION_OWNER]: input.owner,
        [ANNOTATION_BRANCH]: input.branch,
        [ANNOTATION_BASELINE]: input.baseline,
        [ANNOTATION_DEPENDENCIES]: JSON.stringify(input.modes),
      },
    },
  };
}

/** The objects to apply, in order: the namespace, each dependency (shared Service or copies), then the service. */
export function planEnvironment(input: PlanInput): EnvironmentPlan {
  const labels = objectLabels(input);
  const modes = Object.fromEntries(input.dependencies.map((d) => [d.baseline.name, d.mode]));
  const steps: PlanStep[] = [
    { kind: 'namespace', name: input.namespace, objects: [namespaceObject({ ...input, modes })] },
  ];
  const warnings: string[] = [];
  for (const { mode, baseline } of input.dependencies) {
    if (mode === 'shared') {
      steps.push({
        kind: 'dependency',
        name: baseline.name,
        mode,
        objects: [
          sharedServiceFor(
            baseline.service,
            input.baseline,
            input.namespace,
            input.clusterDomain,
            labels,
          ) as KubeObject,
        ],
      });
      continue;
    }
    const copyLabels = { ...labels, 'sandpiper.dev/dependency': baseline.name, 'sandpiper.dev/mode': 'copy' };
    const sources: KubeObject[] = [
      ...baseline.configMaps.map((c) => ({ ...c, apiVersion: 'v1', kind: 'ConfigMap' }) as KubeObject),
      ...baseline.secrets.map((s) => ({ ...s, apiVersion: 'v1', kind: 'Secret' }) as KubeObject),
      { ...baseline.service, apiVersion: 'v1', kind: 'Service' } as KubeObject,
      ...baseline.workloads,
    ];
    steps.push({
      kind: 'dependency',
      name: baseline.name,
      mode,
      objects: sources.map((o) => cloneForEnvironment(o, input.namespace, copyLabels)),
    });
    if (baseline.skippedSecrets.length) {
      warnings.push(
        `"${baseline.name}" uses Secret(s) ${baseline.skippedSecrets.join(', ')} that were not copied (set copySecrets: true to copy them).`,
      );
    }
  }
  steps.push({ kind: 'service', name: input.service, objects: input.serviceObjects });
  return { namespace: input.namespace, steps, warnings };
}

export type KubeObject = KubernetesObject & { spec?: Record<string, unknown>; data?: unknown; [key: string]: unknown };

/** Metadata the API server owns; a copy carrying it would be rejected or would point back at the baseline. */
const SERVER_METADATA = [
  'uid',
  'resourceVersion',
  'managedFields',
  'creationTimestamp',
  'ownerReferences',
  'generation',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
] as const;
const BASELINE_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration', 'deployment.kubernetes.io/revision'];

/**
 * A copy of a baseline object for the environment namespace: same spec, no status and nothing the
 * API server assigned (uid, resourceVersion, clusterIP(s), ...), with the environment's labels added.
 */
export function cloneForEnvironment<T extends KubeObject>(
  source: T,
  namespace: string,
  labels: Record<string, string>,
): T {
  const copy = structuredClone(source) as T & { status?: unknown };
  delete copy.status;
  const meta = { ...(copy.metadata ?? {}) } as Record<string, unknown>;
  for (const key of SERVER_METADATA) delete meta[key];
  const annotations = { ...((meta.annotations as Record<string, string>) ?? {}) };
  for (const key of BASELINE_ANNOTATIONS) delete annotations[key];
  meta.annotations = Object.keys(annotations).length ? annotations : undefined;
  if (meta.annotations === undefined) delete meta.annotations;
  meta.labels = { ...((meta.labels as Record<string, string>) ?? {}), ...labels };
  meta.namespace = namespace;
  copy.metadata = meta as T['metadata'];
  if (copy.kind === 'Service' && copy.spec) {
    const spec = copy.spec as Record<string, unknown>;
    // Cluster IPs are allocated per Service; "None" marks a headless Service and must stay.
    if (spec.clusterIP !== 'None') {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    } else spec.clusterIPs = ['None'];
    delete spec.healthCheckNodePort;
    if (Array.isArray(spec.ports))
      spec.ports = (spec.ports as V1ServicePort[]).map(({ nodePort: _nodePort, ...port }) => port);
  }
  return copy;
}

/**
 * The env's stand-in for a shared dependency: a Service of the same name and ports whose DNS name
 * resolves to the baseline copy, so the service calls `http://<dep>` unchanged.
 */
export function sharedServiceFor(
  baselineService: V1Service,
  baseline: string,
  namespace: string,
  clusterDomain: string,
  labels: Record<string, string>,
): V1Service {
  const name = baselineService.metadata?.name ?? '';
  const ports = (baselineService.spec?.ports ?? []).map((p) => ({
    name: p.name,
    port: p.port,
    protocol: p.protocol ?? 'TCP',
    // ExternalName Services do no port mapping: the client connects to the baseline Service's port itself.
    targetPort: p.port,
  }));
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace,
      labels: { ...labels, 'sandpiper.dev/dependency': name, 'sandpiper.dev/mode': 'shared' },
      annotations: { 'sandpiper.dev/target': `${name}.${baseline}` },
    },
    spec: { type: 'ExternalName', externalName: `${name}.${baseline}.svc.${clusterDomain}`, ports },
  };
}
