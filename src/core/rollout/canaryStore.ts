import type { V1Deployment } from '@kubernetes/client-node';
import { mergePatch } from '../kube/patch';
import { SandpiperError } from '../errors';
import { httpCode, kubeError, type Kube } from '../kube/client';
import { CANARY_STATE_ANNOTATION, readCanaryState, writeCanaryState, type CanaryState } from './canaryState';

const ATTEMPTS = 5;

export async function readDeployment(kube: Kube, namespace: string, name: string): Promise<V1Deployment> {
  try {
    return await kube.apps.readNamespacedDeployment({ namespace, name });
  } catch (err) {
    throw kubeError(err, `read Deployment ${namespace}/${name}`);
  }
}

export async function readState(kube: Kube, namespace: string, name: string): Promise<{ deployment: V1Deployment; state?: CanaryState }> {
  const deployment = await readDeployment(kube, namespace, name);
  return { deployment, state: readCanaryState(deployment.metadata?.annotations) };
}

/**
 * Rewrites the canary annotation with optimistic concurrency: the patch carries the resourceVersion it was computed
 * from, so a write by another window or CLI in between makes ours fail with 409 and we recompute from theirs.
 * `change` returns the new state, or throws to refuse (e.g. the canary was promoted meanwhile).
 */
export async function updateState(
  kube: Kube,
  namespace: string,
  name: string,
  change: (state: CanaryState | undefined, deployment: V1Deployment) => CanaryState | null,
): Promise<CanaryState | null> {
  for (let attempt = 0; ; attempt++) {
    const { deployment, state } = await readState(kube, namespace, name);
    const next = change(state, deployment);
    const body = { metadata: { resourceVersion: deployment.metadata?.resourceVersion, annotations: { [CANARY_STATE_ANNOTATION]: next ? writeCanaryState(next) : null } } };
    try {
      await kube.apps.patchNamespacedDeployment({ namespace, name, body }, mergePatch());
      return next;
    } catch (err) {
      if (httpCode(err) === 409 && attempt < ATTEMPTS) continue;
      if (httpCode(err) === 409) throw new SandpiperError('conflict', `Deployment ${name} keeps changing under us; another Sandpiper is driving this canary.`, 'Wait for it, or stop the other window/CLI.');
      throw kubeError(err, `record the canary state on Deployment ${namespace}/${name}`);
    }
  }
}
