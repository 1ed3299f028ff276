// Deployments (real containers on the testbed's real node) and bare pods on its KWOK nodes, made with client-node's
// object-style APIs.
import { AppsV1Api, type V1Deployment, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';
import { coreApi, kubeConfig } from '../../support/testbed';
import { eventually } from '../../support/wait';

export function appsApi(): AppsV1Api {
  return kubeConfig().makeApiClient(AppsV1Api);
}

export function deployment(name: string, image: string, replicas: number): V1Deployment {
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      // Quick and predictable surge/unavailable so a rollout is a few steps, not one pod at a time forever.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: name } },
        // A shell that idles and ends at once on TERM (busybox sh as PID 1 would ignore it).
        spec: {
          containers: [
            { name: 'app', image, command: ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 1; done"] },
          ],
          terminationGracePeriodSeconds: 1,
        },
      },
    },
  };
}

/** A fresh namespace gets its `default` ServiceAccount a moment after creation; pods are refused until then. */
export async function waitForDefaultServiceAccount(namespace: string): Promise<void> {
  await eventually(
    `ServiceAccount default in ${namespace}`,
    async () => Boolean(await coreApi().readNamespacedServiceAccount({ namespace, name: 'default' })),
    30_000,
  );
}

export async function createDeployment(namespace: string, body: V1Deployment): Promise<void> {
  await appsApi().createNamespacedDeployment({ namespace, body });
}

export function isReady(pod: V1Pod): boolean {
  return (
    pod.status?.phase === 'Running' &&
    (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/** Pods of the deployment that are not being deleted. */
export async function podsOf(namespace: string, app: string): Promise<V1Pod[]> {
  const list = await coreApi().listNamespacedPod({ namespace, labelSelector: `app=${app}` });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp);
}

export async function replicaSetsOf(namespace: string, app: string): Promise<V1ReplicaSet[]> {
  return (await appsApi().listNamespacedReplicaSet({ namespace, labelSelector: `app=${app}` })).items;
}

/** What `kubectl rollout status` waits for on a Deployment, as one predicate. */
export function rolloutComplete(d: V1Deployment): boolean {
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  return (
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
    s.updatedReplicas === want &&
    s.replicas === want &&
    s.availableReplicas === want
  );
}

/** A bare pod with one container `app` on a KWOK node: kwok reports it Running and Ready without running anything. */
export async function createReadyPod(namespace: string, name: string, nodeName: string): Promise<void> {
  await waitForDefaultServiceAccount(namespace);
  await coreApi().createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels: { app: name } },
      spec: { nodeName, containers: [{ name: 'app', image: 'sandpiper/busybox:latest' }] },
    },
  });
  await eventually(
    `pod ${name} Ready`,
    async () => isReady(await coreApi().readNamespacedPod({ namespace, name })),
    30_000,
  );
}
