import { jsonPatch, mergePatch } from '../kube/patch';
import { SandpiperError } from '../errors';
import { httpCode, kubeError, type Kube } from '../kube/client';
import { abortPatches, pausePatches, promotePatches, resumePatches, retryPatches, undoPatch, type ArgoPatches, type ArgoRolloutView, type ReplicaSetView } from './argoPatches';

export const ARGO = { group: 'argoproj.io', version: 'v1alpha1', rollouts: 'rollouts', analysisRuns: 'analysisruns' } as const;

export type ArgoAction = 'promote' | 'promote-full' | 'abort' | 'retry' | 'pause' | 'resume' | 'undo';

async function getRollout(kube: Kube, namespace: string, name: string): Promise<ArgoRolloutView & { metadata?: { uid?: string } }> {
  try {
    return (await kube.custom.getNamespacedCustomObject({ group: ARGO.group, version: ARGO.version, namespace, plural: ARGO.rollouts, name })) as ArgoRolloutView;
  } catch (err) {
    throw kubeError(err, `read Rollout ${namespace}/${name}`);
  }
}

/** Status first, as the plugin does; a 404 there means a controller without the status subresource, so the unified patch goes to the object. */
async function applyPatches(kube: Kube, namespace: string, name: string, patches: ArgoPatches): Promise<void> {
  const target = { group: ARGO.group, version: ARGO.version, namespace, plural: ARGO.rollouts, name };
  let spec = patches.spec;
  if (patches.status) {
    try {
      await kube.custom.patchNamespacedCustomObjectStatus({ ...target, body: patches.status }, mergePatch());
    } catch (err) {
      if (httpCode(err) !== 404) throw kubeError(err, `patch the status of Rollout ${namespace}/${name}`);
      spec = patches.unified;
    }
  }
  if (spec) {
    try {
      await kube.custom.patchNamespacedCustomObject({ ...target, body: spec }, mergePatch());
    } catch (err) {
      throw kubeError(err, `patch Rollout ${namespace}/${name}`);
    }
  }
}

/** Steers an Argo Rollout the way `kubectl argo rollouts <action>` does. */
export async function runArgoAction(kube: Kube, namespace: string, name: string, action: ArgoAction): Promise<void> {
  switch (action) {
    case 'promote':
    case 'promote-full':
      return applyPatches(kube, namespace, name, promotePatches(await getRollout(kube, namespace, name), action === 'promote-full'));
    case 'abort':
      return applyPatches(kube, namespace, name, abortPatches());
    case 'retry':
      return applyPatches(kube, namespace, name, retryPatches());
    case 'pause':
      return applyPatches(kube, namespace, name, pausePatches());
    case 'resume':
      return applyPatches(kube, namespace, name, resumePatches());
    case 'undo':
      return undoRollout(kube, namespace, name);
  }
}

async function undoRollout(kube: Kube, namespace: string, name: string): Promise<void> {
  const ro = await getRollout(kube, namespace, name);
  const uid = ro.metadata?.uid ?? '';
  const list = await kube.apps.listNamespacedReplicaSet({ namespace }).catch((err) => {
    throw kubeError(err, `list the ReplicaSets of Rollout ${namespace}/${name}`);
  });
  const patch = undoPatch(list.items as ReplicaSetView[], uid, 'rollout.argoproj.io/revision', 'rollouts-pod-template-hash');
  if (!patch) throw new SandpiperError('no-revision', `Rollout ${name} has no previous revision to go back to.`);
  try {
    await kube.custom.patchNamespacedCustomObject({ group: ARGO.group, version: ARGO.version, namespace, plural: ARGO.rollouts, name, body: patch }, jsonPatch());
  } catch (err) {
    throw kubeError(err, `restore the previous revision of Rollout ${namespace}/${name}`);
  }
}

/** Whether the cluster serves Argo Rollouts' CRDs (the panel watches Rollouts only then). */
export async function hasArgoRollouts(kube: Kube, namespace: string): Promise<boolean> {
  try {
    await kube.custom.listNamespacedCustomObject({ group: ARGO.group, version: ARGO.version, namespace, plural: ARGO.rollouts, limit: 1 });
    return true;
  } catch (err) {
    if (httpCode(err) === 404) return false;
    throw kubeError(err, 'look for Argo Rollouts');
  }
}
