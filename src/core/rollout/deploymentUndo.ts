import { jsonPatch } from '../kube/patch';
import { SandpiperError } from '../errors';
import { kubeError, type Kube } from '../kube/client';
import { undoPatch, type ReplicaSetView } from './argoPatches';
import { readDeployment } from './canaryStore';

/** `kubectl rollout undo` for a Deployment: the previous revision's pod template goes back in. */
export async function undoDeployment(kube: Kube, namespace: string, name: string, toRevision = 0): Promise<void> {
  const d = await readDeployment(kube, namespace, name);
  const list = await kube.apps.listNamespacedReplicaSet({ namespace }).catch((err) => {
    throw kubeError(err, `list the ReplicaSets of ${name}`);
  });
  const patch = undoPatch(list.items as ReplicaSetView[], d.metadata?.uid ?? '', 'deployment.kubernetes.io/revision', 'pod-template-hash', toRevision);
  if (!patch) throw new SandpiperError('no-revision', `Deployment ${name} has no ${toRevision ? `revision ${toRevision}` : 'previous revision'} to go back to.`);
  await kube.apps.patchNamespacedDeployment({ namespace, name, body: patch }, jsonPatch()).catch((err) => {
    throw kubeError(err, `restore the previous revision of ${name}`);
  });
}
