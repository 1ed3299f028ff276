import type { V1Namespace } from '@kubernetes/client-node';
import { formatDuration } from '../config/duration';
import type { DependencyMode } from '../config/types';
import type { BaselineDependency } from './baseline';
import { cloneForEnvironment, sharedServiceFor, type KubeObject } from './clone';
import {
  ANNOTATION_BASELINE, ANNOTATION_BRANCH, ANNOTATION_DEPENDENCIES, ANNOTATION_LAST_ACTIVITY, ANNOTATION_OWNER, ANNOTATION_TTL,
  LABEL_BRANCH, LABEL_MANAGED_BY, LABEL_OWNER, LABEL_SERVICE, MANAGED_BY_VALUE, labelValue,
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
  return { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, [LABEL_OWNER]: labelValue(ownerHandle(input.owner)), [LABEL_BRANCH]: labelValue(input.branch) };
}

export function namespaceObject(input: Omit<PlanInput, 'dependencies' | 'serviceObjects'> & { modes: Record<string, DependencyMode> }): V1Namespace & KubeObject {
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
  const steps: PlanStep[] = [{ kind: 'namespace', name: input.namespace, objects: [namespaceObject({ ...input, modes })] }];
  const warnings: string[] = [];
  for (const { mode, baseline } of input.dependencies) {
    if (mode === 'shared') {
      steps.push({ kind: 'dependency', name: baseline.name, mode, objects: [sharedServiceFor(baseline.service, input.baseline, input.namespace, input.clusterDomain, labels) as KubeObject] });
      continue;
    }
    const copyLabels = { ...labels, 'sandpiper.dev/dependency': baseline.name, 'sandpiper.dev/mode': 'copy' };
    const sources: KubeObject[] = [
      ...baseline.configMaps.map((c) => ({ ...c, apiVersion: 'v1', kind: 'ConfigMap' }) as KubeObject),
      ...baseline.secrets.map((s) => ({ ...s, apiVersion: 'v1', kind: 'Secret' }) as KubeObject),
      { ...baseline.service, apiVersion: 'v1', kind: 'Service' } as KubeObject,
      ...baseline.workloads,
    ];
    steps.push({ kind: 'dependency', name: baseline.name, mode, objects: sources.map((o) => cloneForEnvironment(o, input.namespace, copyLabels)) });
    if (baseline.skippedSecrets.length) {
      warnings.push(`"${baseline.name}" uses Secret(s) ${baseline.skippedSecrets.join(', ')} that were not copied (set copySecrets: true to copy them).`);
    }
  }
  steps.push({ kind: 'service', name: input.service, objects: input.serviceObjects });
  return { namespace: input.namespace, steps, warnings };
}
