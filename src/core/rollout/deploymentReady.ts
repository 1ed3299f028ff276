import type { V1Deployment } from '@kubernetes/client-node';
import { SandpiperError, cancelled } from '../errors';
import type { Kube } from '../kube/client';
import { readDeployment } from './canaryStore';

/** Done as `kubectl rollout status` judges it: observed, every replica updated and available, no old ones left. */
export function deploymentDone(d: V1Deployment): boolean {
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  return (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) && (s.updatedReplicas ?? 0) >= want && (s.replicas ?? 0) <= want && (s.availableReplicas ?? 0) >= want;
}

/** Waits for the Deployment's rollout to finish, re-reading it; a deadline exceeded or the timeout is an error. */
export async function waitForDeployment(kube: Kube, namespace: string, name: string, signal?: AbortSignal, timeoutMs = 180_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw cancelled();
    const d = await readDeployment(kube, namespace, name);
    if (deploymentDone(d)) return;
    const stuck = d.status?.conditions?.find((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
    if (stuck) throw new SandpiperError('rollout-stuck', `Deployment ${name} did not progress: ${stuck.message ?? ''}`, 'Look at its pods and events.');
    if (Date.now() > until) throw new SandpiperError('rollout-timeout', `Deployment ${name} did not finish rolling out in ${timeoutMs / 1000} s.`, 'Look at its pods and events.');
    await new Promise((r) => setTimeout(r, 500));
  }
}
