import type { Kube } from '../kube/client';
import { ARGO, hasArgoRollouts } from './argoActions';
import { ResourceWatch, type ListResult } from './resourceWatch';
import type { RolloutModel } from './rolloutModel';
import type { WatchEvent, WatchedObject } from './watchEvent';

export interface NamespaceWatchOptions {
  resyncMs?: number;
  onChange: (keys: Set<string>) => void;
  onError?: (err: unknown) => void;
}

function listed(list: { items: unknown[]; metadata?: { resourceVersion?: string } }): ListResult {
  return { items: list.items as WatchedObject[], resourceVersion: list.metadata?.resourceVersion ?? '' };
}

/** Watches Deployments, ReplicaSets, Pods and, when the CRDs exist, Argo Rollouts and AnalysisRuns of one namespace into a model. */
export async function watchNamespace(kube: Kube, namespace: string, model: RolloutModel, o: NamespaceWatchOptions): Promise<{ dispose(): void; watches: ResourceWatch[] }> {
  const onEvents = (events: WatchEvent[]) => {
    const keys = new Set<string>();
    for (const e of events) for (const k of model.apply(e)) keys.add(k);
    if (keys.size) o.onChange(keys);
  };
  const common = { onEvents, onError: o.onError, resyncMs: o.resyncMs ?? 300_000 };
  const watches = [
    new ResourceWatch(kube.config, { ...common, kind: 'Deployment', path: `/apis/apps/v1/namespaces/${namespace}/deployments`, list: async () => listed(await kube.apps.listNamespacedDeployment({ namespace })) }),
    new ResourceWatch(kube.config, { ...common, kind: 'ReplicaSet', path: `/apis/apps/v1/namespaces/${namespace}/replicasets`, list: async () => listed(await kube.apps.listNamespacedReplicaSet({ namespace })) }),
    new ResourceWatch(kube.config, { ...common, kind: 'Pod', path: `/api/v1/namespaces/${namespace}/pods`, list: async () => listed(await kube.core.listNamespacedPod({ namespace })) }),
  ];
  if (await hasArgoRollouts(kube, namespace).catch(() => false)) {
    const custom = (plural: string) => async () => listed((await kube.custom.listNamespacedCustomObject({ group: ARGO.group, version: ARGO.version, namespace, plural })) as { items: unknown[] });
    watches.push(
      new ResourceWatch(kube.config, { ...common, kind: 'Rollout', path: `/apis/${ARGO.group}/${ARGO.version}/namespaces/${namespace}/${ARGO.rollouts}`, list: custom(ARGO.rollouts) }),
      new ResourceWatch(kube.config, { ...common, kind: 'AnalysisRun', path: `/apis/${ARGO.group}/${ARGO.version}/namespaces/${namespace}/${ARGO.analysisRuns}`, list: custom(ARGO.analysisRuns) }),
    );
  }
  const started = await Promise.allSettled(watches.map((w) => w.start()));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    for (const w of watches) w.stop();
    throw (failed as PromiseRejectedResult).reason;
  }
  return { watches, dispose: () => watches.forEach((w) => w.stop()) };
}
