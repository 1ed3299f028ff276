import type { V1ConfigMap, V1PodTemplateSpec, V1Secret, V1Service } from '@kubernetes/client-node';
import { SandpiperError } from '../errors';
import { httpCode, type Kube } from '../kube/client';
import { kubeFailure as kubeError } from './apply';
import type { KubeObject } from './clone';

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
export function referencedConfig(template: V1PodTemplateSpec | undefined): { configMaps: Set<string>; secrets: Set<string> } {
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
export async function readBaselineDependency(kube: Kube, baseline: string, name: string, opts: { withWorkloads: boolean; copySecrets: boolean }): Promise<BaselineDependency> {
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
      result.configMaps.push({ ...(await kube.core.readNamespacedConfigMap({ name: cm, namespace: baseline })), apiVersion: 'v1', kind: 'ConfigMap' });
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
      result.secrets.push({ ...(await kube.core.readNamespacedSecret({ name: s, namespace: baseline })), apiVersion: 'v1', kind: 'Secret' });
    } catch (err) {
      if (httpCode(err) === 404) throw missing('Secret', s, baseline, name);
      throw kubeError(err, `read Secret "${s}" in "${baseline}"`);
    }
  }
  return result;
}
