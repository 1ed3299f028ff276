import type * as k8s from '@kubernetes/client-node';
import { SandpiperError } from '../../errors';
import { type Kube } from './client';
import { httpCode, kubeError } from './errors';
import { apiSource, listed, type ListWatchSource } from './watch';

/**
 * The label selector of a service's pods: the selector of the Kubernetes Service of that name, else the
 * conventional `app.kubernetes.io/name` / `app` labels (a headless workload may have no Service).
 */
export async function podSelectorFor(kube: Kube, namespace: string, service: string): Promise<string> {
  try {
    const svc = await kube.core.readNamespacedService({ name: service, namespace });
    const selector = svc.spec?.selector;
    if (selector && Object.keys(selector).length)
      return Object.entries(selector)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
  } catch (err) {
    if (httpCode(err) !== 404) throw kubeError(err, `read the Service "${service}" in "${namespace}"`);
  }
  const pods = await listPods(kube, namespace, `app.kubernetes.io/name=${service}`);
  return pods.length ? `app.kubernetes.io/name=${service}` : `app=${service}`;
}

export async function listPods(kube: Kube, namespace: string, labelSelector?: string): Promise<k8s.V1Pod[]> {
  try {
    return (await kube.core.listNamespacedPod({ namespace, labelSelector })).items;
  } catch (err) {
    throw kubeError(err, `list the pods of "${namespace}"`);
  }
}

/** The pods (of a selector, if given) of one namespace, listed and watched through client-node. */
export function podSource(kube: Kube, namespace: string, labelSelector?: string): ListWatchSource<k8s.V1Pod> {
  return apiSource(kube.config, {
    path: `/api/v1/namespaces/${namespace}/pods`,
    query: { labelSelector },
    list: async () => {
      try {
        return listed(await kube.core.listNamespacedPod({ namespace, labelSelector }));
      } catch (err) {
        throw kubeError(err, `list the pods of "${namespace}"`);
      }
    },
  });
}

export function isPodReady(pod: k8s.V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  if (pod.status?.phase !== 'Running') return false;
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The newest ready pod: after a rollout the new pods are the ones that carry the current code. */
export function newestReadyPod(pods: k8s.V1Pod[], exclude: ReadonlySet<string> = new Set()): k8s.V1Pod | undefined {
  return pods
    .filter((p) => isPodReady(p) && !exclude.has(p.metadata?.name ?? ''))
    .sort((a, b) => creationTime(b) - creationTime(a))[0];
}

function creationTime(pod: k8s.V1Pod): number {
  const t = pod.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

/** A ready pod of the service, or an error saying what was found instead. */
export async function readyPodOf(
  kube: Kube,
  namespace: string,
  service: string,
  exclude?: ReadonlySet<string>,
): Promise<string> {
  const selector = await podSelectorFor(kube, namespace, service);
  const pods = await listPods(kube, namespace, selector);
  const pod = newestReadyPod(pods, exclude) ?? newestReadyPod(pods);
  if (!pod?.metadata?.name) {
    const seen = pods.map((p) => `${p.metadata?.name} (${p.status?.phase ?? 'unknown'})`).join(', ');
    throw new SandpiperError(
      'no-ready-pod',
      `No ready pod of service "${service}" in "${namespace}"${seen ? `: found ${seen}` : ` (selector ${selector})`}.`,
      'Deploy the service into the environment, or wait until its pod is ready.',
    );
  }
  return pod.metadata.name;
}
