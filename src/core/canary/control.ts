import type { V1Deployment } from '@kubernetes/client-node';
import { MANAGED_BY, SANDPIPER, type Kube } from '../infra/kube/client';
import { httpCode, kubeError } from '../infra/kube/errors';
import { DEFAULT_DRAIN_SECONDS, type CanaryConfig } from '../config/types';
import { SandpiperError } from '../errors';
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
import { applyWeight, canaryServiceOf, pinStableService, hold, routeFor, serviceFor } from './traffic';
import { assertAnalysisValid } from './steps';
import { finishAbort, finishPromote, stableHash } from './finish';
import { CanaryLease, liveDriver, takeOverHint } from './lease';
import { liveController } from './presence';

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

/** Manual overrides of a built-in canary, usable at any step from the panel, the palette or the CLI. */
export type CanaryOverride = 'promote' | 'abort' | 'pause' | 'resume' | 'skip';

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

/** The state an override leads to; refuses an override that does not apply to the canary's status. */
export function overridden(s: CanaryState, action: CanaryOverride, by: string, now: Date): CanaryState {
  switch (action) {
    case 'promote':
      return withEvent(
        { ...s, status: 'promoting', autoResume: undefined, reason: `promoted by ${by}` },
        now,
        'promote-requested',
        by,
      );
    case 'abort':
      return withEvent(
        { ...s, status: 'aborting', autoResume: undefined, reason: `aborted by ${by}` },
        now,
        'abort-requested',
        by,
      );
    case 'pause':
      // A canary its driver held for unavailable metrics becomes a user's pause: it no longer resumes by itself.
      if (s.status !== 'progressing' && !(s.status === 'paused' && s.autoResume))
        throw new SandpiperError('canary-state', `The canary is ${s.status}; only a progressing canary pauses.`);
      return withEvent({ ...s, status: 'paused', autoResume: undefined }, now, 'paused', by);
    case 'resume':
      if (s.status !== 'paused')
        throw new SandpiperError('canary-state', `The canary is ${s.status}; only a paused canary resumes.`);
      // The step's interval starts again: the metrics while paused do not count.
      return withEvent(
        { ...s, status: 'progressing', autoResume: undefined, reason: undefined, stepStartedAt: now.toISOString() },
        now,
        'resumed',
        by,
      );
    case 'skip': {
      if (s.status !== 'progressing' && s.status !== 'paused')
        throw new SandpiperError(
          'canary-state',
          `The canary is ${s.status}; only a progressing or paused canary skips a step.`,
        );
      const next = s.stepIndex + 1;
      if (next >= s.steps.length)
        return withEvent(
          { ...s, status: 'promoting', autoResume: undefined, reason: `last step skipped by ${by}` },
          now,
          'step-skipped',
          `${by}: promote`,
        );
      // Without analysis: the next step's interval starts now, and its analysis decides as usual.
      return withEvent(
        { ...s, stepIndex: next, weight: s.steps[next], stepStartedAt: now.toISOString() },
        now,
        'step-skipped',
        `${by}: step ${next + 1}/${s.steps.length}: ${s.steps[next]}%`,
      );
    }
  }
}

/**
 * Records the override on the annotation (optimistic concurrency). Pause and resume only record: the driver that
 * holds the lease obeys on its next read (with no driver, `driveCanary({ resume: true })` takes over). A skipped
 * step's weight is set by the canary's driver, or here under the lease when none drives it. Promote and abort
 * change the cluster, so they do it only under the lease: while a live driver holds it (or a live controller drives
 * the canary), they wait for it to finish the job itself; once nobody does, they take the lease and finish it here.
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
  const next = await updateState(kube, namespace, deployment, (cur) =>
    overridden(active(cur, deployment), action, by, now),
  );
  const state = next!;
  if (action === 'pause' || action === 'resume') return state;
  const holder = `${by} ${action} ${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  if (action === 'skip' && state.status !== 'promoting')
    return applySkipped(kube, namespace, deployment, state, holder, leaseSeconds, signal);
  const current = async () => (await readState(kube, namespace, deployment)).state;
  const finished = async () => {
    const cur = await current();
    return !cur || TERMINAL.has(cur.status);
  };
  const lease = await CanaryLease.acquireWhenFree(
    kube,
    namespace,
    deployment,
    { holder, durationSeconds: leaseSeconds },
    async () => (await finished()) || (await controllerFinishes(kube, current, signal)),
    signal,
  );
  if (!lease) return (await current()) ?? state;
  const guarded = signal ? AbortSignal.any([signal, lease.lostSignal]) : lease.lostSignal;
  try {
    // Re-read under the lease: whoever held it before may have moved the canary on (or overridden it again).
    const cur = (await current()) ?? state;
    if (cur.status === 'promoting') return await finishPromote(kube, namespace, deployment, cur, guarded);
    if (cur.status === 'aborting') return await finishAbort(kube, namespace, deployment, cur, guarded);
    return cur;
  } finally {
    await lease.release();
  }
}

/**
 * A controller-driven canary is finished by the controller while one runs, even between two of its leases (it
 * retries after an error): waits until the canary is done (true) or no controller is left (false: finish it here).
 */
async function controllerFinishes(
  kube: Kube,
  current: () => Promise<CanaryState | undefined>,
  signal?: AbortSignal,
  pollMs = 1000,
): Promise<boolean> {
  for (;;) {
    const cur = await current();
    if (!cur || TERMINAL.has(cur.status)) return true;
    if (cur.driver !== 'controller' || !(await liveController(kube))) return false;
    await hold(pollMs, signal);
  }
}

/** The weight of a skipped step: its driver sets it; with none (or a controller between leases), set it here. */
async function applySkipped(
  kube: Kube,
  namespace: string,
  deployment: string,
  state: CanaryState,
  holder: string,
  leaseSeconds: number,
  signal?: AbortSignal,
): Promise<CanaryState> {
  if (await liveDriver(kube, namespace, deployment)) return state;
  if (state.driver === 'controller' && (await liveController(kube))) return state;
  let lease: CanaryLease;
  try {
    lease = await CanaryLease.acquire(kube, namespace, deployment, { holder, durationSeconds: leaseSeconds });
  } catch (err) {
    if (err instanceof SandpiperError && err.code === 'canary-busy') return state; // a driver just started: it sets it
    throw err;
  }
  try {
    const cur = (await readState(kube, namespace, deployment)).state ?? state;
    const guarded = signal ? AbortSignal.any([signal, lease.lostSignal]) : lease.lostSignal;
    if (cur.status === 'progressing' || cur.status === 'paused')
      await applyWeight(kube, namespace, deployment, canaryName(deployment), cur, guarded);
    return cur;
  } finally {
    await lease.release();
  }
}

export async function canaryState(kube: Kube, namespace: string, deployment: string): Promise<CanaryState | undefined> {
  return (await readState(kube, namespace, deployment)).state;
}
