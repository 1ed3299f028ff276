import type { V1Deployment } from '@kubernetes/client-node';
import { strategicMergePatch, MANAGED_BY, SANDPIPER, type Kube } from '../infra/kube/client';
import { httpCode, kubeError } from '../infra/kube/errors';
import { DEFAULT_DRAIN_SECONDS, type CanaryConfig } from '../config/types';
import { SandpiperError, sleep } from '../errors';
import {
  CANARY_OF_ANNOTATION,
  TERMINAL,
  TRACK_LABEL,
  canaryName,
  withEvent,
  type CanaryState,
  type CanaryDriverKind,
  readDeployment,
  updateState,
  readState,
} from './state';
import {
  applyWeight,
  canaryServiceOf,
  pinStableService,
  routeFor,
  ROUTE_DRAIN_MS,
  routeNameOf,
  scaleDeployment,
  serviceFor,
  serviceOfRoute,
  setRouteWeight,
  waitForEndpoints,
} from './traffic';
import { waitForDeployment } from '../workloads/actions';
import { assertAnalysisValid } from './driver';
import { CanaryLease, liveDriver, takeOverHint } from './lease';

export interface StartOptions {
  namespace: string;
  deployment: string;
  image: string;
  container?: string;
  canary: CanaryConfig;
  /** The `service` label of app metrics (default: the deployment); gateway analysis uses the routed Service. */
  service?: string;
  /** PromQL rate window (default '10s'). */
  window?: string;
  /** Who drives the canary (default 'client'). */
  driver?: CanaryDriverKind;
  now?: Date;
}

/** The canary Deployment: the stable one's template with the new image and a track label, beside it. */
export function canaryDeploymentOf(
  stable: V1Deployment,
  container: string,
  image: string,
  replicas: number,
): V1Deployment {
  const name = stable.metadata?.name ?? '';
  const template = structuredClone(stable.spec!.template);
  template.metadata = {
    ...template.metadata,
    labels: { ...(template.metadata?.labels ?? {}), [TRACK_LABEL]: 'canary' },
  };
  template.spec!.containers = template.spec!.containers.map((c) => (c.name === container ? { ...c, image } : c));
  return {
    metadata: {
      name: canaryName(name),
      labels: { ...(stable.metadata?.labels ?? {}), [TRACK_LABEL]: 'canary', [MANAGED_BY]: SANDPIPER },
      annotations: { [CANARY_OF_ANNOTATION]: name },
    },
    spec: {
      replicas,
      selector: { matchLabels: { ...(stable.spec?.selector.matchLabels ?? {}), [TRACK_LABEL]: 'canary' } },
      template,
    },
  };
}

async function stableHash(kube: Kube, namespace: string, deployment: V1Deployment): Promise<string | undefined> {
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

/** Starts a canary: claims the Deployment's annotation first (so two starts cannot both win), then creates the canary side. */
export async function startCanary(kube: Kube, o: StartOptions): Promise<CanaryState> {
  const now = o.now ?? new Date();
  const stable = await readDeployment(kube, o.namespace, o.deployment);
  const container = o.container ?? stable.spec?.template.spec?.containers[0]?.name;
  if (!container || !stable.spec?.template.spec?.containers.some((c) => c.name === container)) {
    throw new SandpiperError(
      'canary-container',
      `Deployment ${o.deployment} has no container "${container ?? ''}".`,
      'Set `container` for the service in sandpiper.yaml.',
    );
  }
  if (!o.canary.steps.length)
    throw new SandpiperError(
      'canary-steps',
      'The canary has no steps.',
      'Add canary.steps to sandpiper.yaml, e.g. [10, 50, 100].',
    );
  if (!(o.canary.intervalMs > 0))
    throw new SandpiperError(
      'invalid',
      `The canary interval ${o.canary.intervalMs} ms is not a positive duration.`,
      'Set canary.interval, e.g. 30s.',
    );
  assertAnalysisValid(o.canary.analysis);
  const driver = await liveDriver(kube, o.namespace, o.deployment);
  const service = await serviceFor(kube, o.namespace, stable);
  const route = service?.metadata?.name
    ? await routeFor(kube, o.namespace, service.metadata.name, o.canary.route)
    : undefined;
  const mode = route && service ? 'httproute' : 'replicas';
  const source = o.canary.analysis.source ?? 'app';
  if (source === 'gateway' && mode !== 'httproute')
    throw new SandpiperError(
      'config-invalid',
      `Deployment ${o.deployment} has no HTTPRoute in front of its Service, so the Gateway has no canary metrics.`,
      'Set canary.route in sandpiper.yaml to the HTTPRoute that serves it, or use analysis.source: app.',
    );
  const hash = mode === 'httproute' ? await stableHash(kube, o.namespace, stable) : undefined;
  const state = await updateState(kube, o.namespace, o.deployment, (current) => {
    if (current && !TERMINAL.has(current.status)) {
      const hint = driver
        ? `${driver} drives it: promote or abort it first.`
        : `Nobody drives it any more. ${takeOverHint(o.deployment)}`;
      throw new SandpiperError(
        'canary-active',
        `Deployment ${o.deployment} already has a canary (${current.status}, step ${current.stepIndex + 1}/${current.steps.length}).`,
        hint,
      );
    }
    const fresh: CanaryState = {
      version: 1,
      status: 'progressing',
      image: o.image,
      container,
      steps: o.canary.steps,
      stepIndex: 0,
      weight: o.canary.steps[0],
      intervalMs: o.canary.intervalMs,
      stepStartedAt: now.toISOString(),
      failures: 0,
      trafficMode: mode,
      route: mode === 'httproute' ? `${route!.metadata!.name}/${service!.metadata!.name}` : undefined,
      stableReplicas: stable.spec?.replicas ?? 1,
      pinnedHash: hash,
      spec: {
        // Gateway series name the backend Service, which need not be named like the deployment.
        service: source === 'gateway' ? service!.metadata!.name! : (o.service ?? o.deployment),
        analysis: o.canary.analysis,
        window: o.window ?? '10s',
        warmupMs: o.canary.warmupMs ?? 0,
        drainSeconds: o.canary.drainSeconds ?? DEFAULT_DRAIN_SECONDS,
        ...(o.canary.notify ? { notify: o.canary.notify } : {}),
      },
      driver: o.driver ?? 'client',
      history: [],
    };
    return withEvent(
      fresh,
      now,
      `started: ${o.image}`,
      mode === 'httproute' ? `traffic by HTTPRoute ${route!.metadata!.name}` : 'traffic by replica ratio',
    );
  });
  const s = state!;
  const canary = canaryDeploymentOf(stable, container, o.image, 0);
  await createOrReplace(
    () => kube.apps.createNamespacedDeployment({ namespace: o.namespace, body: canary }),
    () => kube.apps.replaceNamespacedDeployment({ namespace: o.namespace, name: canary.metadata!.name!, body: canary }),
    `create Deployment ${canary.metadata!.name}`,
  );
  if (mode === 'httproute') {
    const svc = canaryServiceOf(service!, o.deployment);
    await createOrReplace(
      () => kube.core.createNamespacedService({ namespace: o.namespace, body: svc }),
      async () => undefined,
      `create Service ${svc.metadata!.name}`,
    );
    if (hash) await pinStableService(kube, o.namespace, service!.metadata!.name!, hash);
  }
  await applyWeight(kube, o.namespace, o.deployment, canaryName(o.deployment), s);
  return s;
}

async function createOrReplace(
  create: () => Promise<unknown>,
  replace: () => Promise<unknown>,
  doing: string,
): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (httpCode(err) !== 409) throw kubeError(err, doing);
    await replace().catch((e) => {
      throw kubeError(e, doing);
    });
  }
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
  state: CanaryState,
  signal?: AbortSignal,
  timeoutMs = 60_000,
): Promise<void> {
  const stable = await readDeployment(kube, namespace, deployment);
  const labels = { ...(stable.spec?.selector.matchLabels ?? {}), [TRACK_LABEL]: 'canary' };
  const labelSelector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && !signal?.aborted) {
    const pods = await kube.core.listNamespacedPod({ namespace, labelSelector }).catch((err) => {
      throw kubeError(err, `list the canary pods of ${deployment}`);
    });
    if (pods.items.length === 0) break;
    await sleep(500, signal);
  }
  await pinStableService(kube, namespace, serviceOfRoute(state), null);
}

/** Traffic back to stable and the canary removed; safe to repeat when a previous abort was interrupted. */
export async function finishAbort(
  kube: Kube,
  namespace: string,
  deployment: string,
  state: CanaryState,
  now = new Date(),
): Promise<CanaryState> {
  if (state.trafficMode === 'httproute') {
    // All traffic to the (still pinned) stable pods, and the canary's pods kept until the Gateway stops using them.
    await setRouteWeight(kube, namespace, routeNameOf(state), serviceOfRoute(state), 0);
    await sleep(ROUTE_DRAIN_MS);
    await removeCanarySide(kube, namespace, deployment, state);
    await unpinWhenCanaryGone(kube, namespace, deployment, state);
  } else {
    await scaleDeployment(kube, namespace, deployment, state.stableReplicas);
    await removeCanarySide(kube, namespace, deployment, state);
  }
  const done = await updateState(kube, namespace, deployment, (cur) =>
    cur ? withEvent({ ...cur, status: 'aborted', weight: 0 }, now, 'aborted', cur.reason) : null,
  );
  return done ?? state;
}

/** The stable Deployment takes the canary's image; then the canary goes. Safe to repeat. */
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
    await sleep(ROUTE_DRAIN_MS, signal);
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
  if (routed) {
    // Back to the stable Service, pinned to the new stable pods (not the canary's, which go next), drained.
    const hash = await stableHash(kube, namespace, await readDeployment(kube, namespace, deployment));
    if (hash) await pinStableService(kube, namespace, serviceOfRoute(state), hash);
    // Pinned to the new pods, the Service has no endpoints until the EndpointSlices follow: traffic waits for them.
    await waitForEndpoints(kube, namespace, serviceOfRoute(state), Math.max(1, state.stableReplicas), signal);
    await setRouteWeight(kube, namespace, routeNameOf(state), serviceOfRoute(state), 0);
    await sleep(ROUTE_DRAIN_MS, signal);
  }
  await removeCanarySide(kube, namespace, deployment, state);
  if (routed) await unpinWhenCanaryGone(kube, namespace, deployment, state, signal);
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

/** Manual overrides of a built-in canary, usable at any step from the panel, the palette or the CLI. */
export type CanaryOverride = 'promote' | 'abort' | 'pause' | 'resume';

function active(state: CanaryState | undefined, deployment: string): CanaryState {
  if (!state || TERMINAL.has(state.status)) {
    throw new SandpiperError(
      'no-canary',
      `Deployment ${deployment} has no canary in progress.`,
      'Start one with "Sandpiper: Start Canary Rollout" or `sandpiper rollout start`.',
    );
  }
  return state;
}

/**
 * Records the override on the annotation (optimistic concurrency). Pause and resume only record: the driver that
 * holds the lease obeys on its next read (with no driver, `driveCanary({ resume: true })` takes over). Promote and
 * abort change the cluster, so they do it only under the lease: while a live driver holds it, they wait for it to
 * finish the job itself; once the lease is free or expired they take it and finish it here. Never two at once.
 */
export async function overrideCanary(
  kube: Kube,
  namespace: string,
  deployment: string,
  action: CanaryOverride,
  signal?: AbortSignal,
  by = 'user',
  leaseSeconds = 15,
): Promise<CanaryState> {
  const now = new Date();
  const next = await updateState(kube, namespace, deployment, (cur) => {
    const s = active(cur, deployment);
    switch (action) {
      case 'promote':
        return withEvent({ ...s, status: 'promoting', reason: `promoted by ${by}` }, now, 'promote-requested', by);
      case 'abort':
        return withEvent({ ...s, status: 'aborting', reason: `aborted by ${by}` }, now, 'abort-requested', by);
      case 'pause':
        if (s.status !== 'progressing')
          throw new SandpiperError('canary-state', `The canary is ${s.status}; only a progressing canary pauses.`);
        return withEvent({ ...s, status: 'paused' }, now, 'paused', by);
      case 'resume':
        if (s.status !== 'paused')
          throw new SandpiperError('canary-state', `The canary is ${s.status}; only a paused canary resumes.`);
        // The step's interval starts again: the metrics while paused do not count.
        return withEvent({ ...s, status: 'progressing', stepStartedAt: now.toISOString() }, now, 'resumed', by);
    }
  });
  const state = next!;
  if (action === 'pause' || action === 'resume') return state;
  const current = async () => (await readState(kube, namespace, deployment)).state;
  const holder = `${by} ${action} ${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const lease = await CanaryLease.acquireWhenFree(
    kube,
    namespace,
    deployment,
    { holder, durationSeconds: leaseSeconds },
    async () => {
      const cur = await current();
      return !cur || TERMINAL.has(cur.status);
    },
    signal,
  );
  if (!lease) return (await current()) ?? state;
  const guarded = signal ? AbortSignal.any([signal, lease.lostSignal]) : lease.lostSignal;
  try {
    // Re-read under the lease: whoever held it before may have moved the canary on (or overridden it again).
    const cur = (await current()) ?? state;
    if (cur.status === 'promoting') return await finishPromote(kube, namespace, deployment, cur, guarded);
    if (cur.status === 'aborting') return await finishAbort(kube, namespace, deployment, cur);
    return cur;
  } finally {
    await lease.release();
  }
}

export async function canaryState(kube: Kube, namespace: string, deployment: string): Promise<CanaryState | undefined> {
  return (await readState(kube, namespace, deployment)).state;
}
