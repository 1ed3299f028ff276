import { strategicMergePatch, type Kube } from '../infra/kube/client';
import { httpCode, kubeError } from '../infra/kube/errors';
import type { V1Deployment } from '@kubernetes/client-node';
import { TRACK_LABEL, canaryName, withEvent, type CanaryState, readDeployment, updateState } from './state';
import {
  applyWeight,
  drainMs,
  hold,
  pinStableService,
  routeNameOf,
  scaleDeployment,
  serviceFor,
  serviceOfRoute,
  setRouteWeight,
  waitForAvailable,
  waitForEndpoints,
} from './traffic';
import { waitForDeployment } from '../workloads/actions';

// The end of a canary, promoted or rolled back: make-before-break, then drain, then delete.

/** The pod-template-hash of the Deployment's current ReplicaSet (to pin a Service to exactly its pods). */
export async function stableHash(kube: Kube, namespace: string, deployment: V1Deployment): Promise<string | undefined> {
  const list = await kube.apps.listNamespacedReplicaSet({ namespace }).catch((err) => {
    throw kubeError(err, 'list ReplicaSets');
  });
  const revision = deployment.metadata?.annotations?.['deployment.kubernetes.io/revision'];
  const rs = list.items.find(
    (r) =>
      r.metadata?.ownerReferences?.some((o) => o.uid === deployment.metadata?.uid) &&
      r.metadata?.annotations?.['deployment.kubernetes.io/revision'] === revision,
  );
  return rs?.metadata?.labels?.['pod-template-hash'];
}

async function removeCanarySide(kube: Kube, namespace: string, deployment: string, state: CanaryState): Promise<void> {
  await kube.apps.deleteNamespacedDeployment({ namespace, name: canaryName(deployment) }).catch((err) => {
    if (httpCode(err) !== 404) throw kubeError(err, `delete the canary Deployment of ${deployment}`);
  });
  if (state.trafficMode === 'httproute') {
    await kube.core.deleteNamespacedService({ namespace, name: `${serviceOfRoute(state)}-canary` }).catch((err) => {
      if (httpCode(err) !== 404) throw kubeError(err, 'delete the canary Service');
    });
  }
}

/**
 * Unpins the stable Service once the canary's pods are gone (bounded): unpinned earlier, its selector takes in the
 * terminating canary pods, which a Gateway may still pick while they shut down (502s, hung requests).
 */
async function unpinWhenCanaryGone(
  kube: Kube,
  namespace: string,
  deployment: string,
  service: string,
  signal?: AbortSignal,
  timeoutMs = 60_000,
): Promise<void> {
  const stable = await readDeployment(kube, namespace, deployment);
  const labels = { ...(stable.spec?.selector.matchLabels ?? {}), [TRACK_LABEL]: 'canary' };
  const labelSelector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  // Past the timeout the pods are stuck terminating: not ready, so no Gateway picks them even once unpinned.
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const pods = await kube.core.listNamespacedPod({ namespace, labelSelector }).catch((err) => {
      throw kubeError(err, `list the canary pods of ${deployment}`);
    });
    if (pods.items.length === 0) break;
    await hold(500, signal);
  }
  await pinStableService(kube, namespace, service, null);
}

/**
 * Replica-ratio mode has no route to take the canary off: its pods share the stable Service. Pinning that Service to
 * the stable pods' hash takes the canary pods out of its endpoints while they still run; once the stable pods are
 * listed ready, they drain for drainSeconds. Returns the pinned Service (to unpin once the canary is gone).
 */
async function drainFromSharedService(
  kube: Kube,
  namespace: string,
  deployment: string,
  state: CanaryState,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const stable = await readDeployment(kube, namespace, deployment);
  const service = (await serviceFor(kube, namespace, stable))?.metadata?.name;
  const hash = service ? await stableHash(kube, namespace, stable) : undefined;
  if (!service || !hash) return undefined;
  await pinStableService(kube, namespace, service, hash);
  const canaryPod = `${canaryName(deployment)}-`;
  await waitForEndpoints(
    kube,
    namespace,
    service,
    Math.max(1, state.stableReplicas),
    signal,
    undefined,
    (pod) => pod.startsWith(`${deployment}-`) && !pod.startsWith(canaryPod),
  );
  await hold(drainMs(state), signal);
  return service;
}

/**
 * Traffic back to stable and the canary removed; safe to repeat when a previous abort was interrupted. Nothing is
 * deleted while it still gets traffic: the stable side is back (available, listed as endpoints) first, and the
 * canary's pods drain for drainSeconds once no route or Service sends them anything.
 */
export async function finishAbort(
  kube: Kube,
  namespace: string,
  deployment: string,
  state: CanaryState,
  signal?: AbortSignal,
  now = new Date(),
): Promise<CanaryState> {
  if (state.trafficMode === 'httproute') {
    // All traffic to the (still pinned) stable pods, and the canary's pods kept until the Gateway stops using them.
    await setRouteWeight(kube, namespace, routeNameOf(state), serviceOfRoute(state), 0);
    await hold(drainMs(state), signal);
    await removeCanarySide(kube, namespace, deployment, state);
    await unpinWhenCanaryGone(kube, namespace, deployment, serviceOfRoute(state), signal);
  } else {
    await scaleDeployment(kube, namespace, deployment, state.stableReplicas);
    await waitForAvailable(kube, namespace, deployment, state.stableReplicas, deployment, signal);
    const pinned = await drainFromSharedService(kube, namespace, deployment, state, signal);
    await removeCanarySide(kube, namespace, deployment, state);
    if (pinned) await unpinWhenCanaryGone(kube, namespace, deployment, pinned, signal);
  }
  const done = await updateState(kube, namespace, deployment, (cur) =>
    cur ? withEvent({ ...cur, status: 'aborted', weight: 0 }, now, 'aborted', cur.reason) : null,
  );
  return done ?? state;
}

/** The stable Deployment takes the canary's image; then the canary drains and goes. Safe to repeat. */
export async function finishPromote(
  kube: Kube,
  namespace: string,
  deployment: string,
  state: CanaryState,
  signal?: AbortSignal,
  now = new Date(),
): Promise<CanaryState> {
  const routed = state.trafficMode === 'httproute';
  if (routed && state.weight < 100) {
    // The stable pods are about to be replaced: all traffic to the canary first, at full size, until it is done.
    await applyWeight(kube, namespace, deployment, canaryName(deployment), { ...state, weight: 100 }, signal);
    await hold(drainMs(state), signal);
  }
  const stable = await readDeployment(kube, namespace, deployment);
  const containers = stable.spec!.template.spec!.containers.map((c) =>
    c.name === state.container ? { name: c.name, image: state.image } : { name: c.name },
  );
  await kube.apps
    .patchNamespacedDeployment(
      {
        namespace,
        name: deployment,
        body: { spec: { replicas: state.stableReplicas, template: { spec: { containers } } } },
      },
      strategicMergePatch(),
    )
    .catch((err) => {
      throw kubeError(err, `update Deployment ${deployment} to ${state.image}`);
    });
  await waitForDeployment(kube, namespace, deployment, signal);
  let pinned: string | undefined;
  if (routed) {
    // Back to the stable Service, pinned to the new stable pods (not the canary's, which go next), drained.
    const hash = await stableHash(kube, namespace, await readDeployment(kube, namespace, deployment));
    if (hash) await pinStableService(kube, namespace, serviceOfRoute(state), hash);
    // Pinned to the new pods, the Service has no endpoints until the EndpointSlices follow: traffic waits for them.
    await waitForEndpoints(kube, namespace, serviceOfRoute(state), Math.max(1, state.stableReplicas), signal);
    await setRouteWeight(kube, namespace, routeNameOf(state), serviceOfRoute(state), 0);
    await hold(drainMs(state), signal);
    pinned = serviceOfRoute(state);
  } else pinned = await drainFromSharedService(kube, namespace, deployment, state, signal);
  await removeCanarySide(kube, namespace, deployment, state);
  if (pinned) await unpinWhenCanaryGone(kube, namespace, deployment, pinned, signal);
  const done = await updateState(kube, namespace, deployment, (cur) =>
    cur
      ? withEvent(
          { ...cur, status: 'promoted', weight: 100, stepIndex: cur.steps.length, reason: cur.reason },
          now,
          'promoted',
          state.image,
        )
      : null,
  );
  return done ?? state;
}
