import { jsonPatch, mergePatch, type Kube } from '../infra/kube/client';
import { httpCode, kubeError } from '../infra/kube/errors';
import { SandpiperError, cancelled } from '../errors';
import { readDeployment } from '../canary/state';
import type { V1Deployment } from '@kubernetes/client-node';

export const ARGO = {
  group: 'argoproj.io',
  version: 'v1alpha1',
  rollouts: 'rollouts',
  analysisRuns: 'analysisruns',
} as const;

/** The coordinates of a namespace's Rollouts for CustomObjectsApi calls. */
export function argoRollouts(namespace: string) {
  return { group: ARGO.group, version: ARGO.version, namespace, plural: ARGO.rollouts };
}

/** The coordinates of one Rollout. */
export function argoRollout(namespace: string, name: string) {
  return { ...argoRollouts(namespace), name };
}

export type ArgoAction = 'promote' | 'promote-full' | 'abort' | 'retry' | 'pause' | 'resume' | 'undo';

async function getRollout(
  kube: Kube,
  namespace: string,
  name: string,
): Promise<ArgoRolloutView & { metadata?: { uid?: string } }> {
  try {
    return (await kube.custom.getNamespacedCustomObject(argoRollout(namespace, name))) as ArgoRolloutView;
  } catch (err) {
    throw kubeError(err, `read Rollout ${namespace}/${name}`);
  }
}

/** Status first, as the plugin does; a 404 there means a controller without the status subresource, so the unified patch goes to the object. */
async function applyPatches(kube: Kube, namespace: string, name: string, patches: ArgoPatches): Promise<void> {
  const target = argoRollout(namespace, name);
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
      return applyPatches(
        kube,
        namespace,
        name,
        promotePatches(await getRollout(kube, namespace, name), action === 'promote-full'),
      );
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
  const patch = undoPatch(
    list.items as ReplicaSetView[],
    uid,
    'rollout.argoproj.io/revision',
    'rollouts-pod-template-hash',
  );
  if (!patch) throw new SandpiperError('no-revision', `Rollout ${name} has no previous revision to go back to.`);
  try {
    await kube.custom.patchNamespacedCustomObject({ ...argoRollout(namespace, name), body: patch }, jsonPatch());
  } catch (err) {
    throw kubeError(err, `restore the previous revision of Rollout ${namespace}/${name}`);
  }
}

/** Whether the cluster serves Argo Rollouts' CRDs (the panel watches Rollouts only then). */
export async function hasArgoRollouts(kube: Kube, namespace: string): Promise<boolean> {
  try {
    await kube.custom.listNamespacedCustomObject({ ...argoRollouts(namespace), limit: 1 });
    return true;
  } catch (err) {
    if (httpCode(err) === 404) return false;
    throw kubeError(err, 'look for Argo Rollouts');
  }
}

/**
 * The object changes `kubectl argo rollouts` makes (pkg/kubectl-argo-rollouts/cmd/{promote,abort,retry,undo,pause}),
 * so a cluster running the Argo Rollouts controller is steered by it, not bypassed. Pure: the shapes are unit-tested.
 */
export interface ArgoRolloutView {
  spec?: { paused?: boolean; strategy?: { canary?: { steps?: unknown[] }; blueGreen?: unknown } };
  status?: { pauseConditions?: unknown[]; currentStepIndex?: number; currentPodHash?: string; stableRS?: string };
}

/** A merge patch on the object, one on its status subresource, and the unified one for controllers without it (v0.9). */
export interface ArgoPatches {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  unified?: Record<string, unknown>;
}

export function promotePatches(ro: ArgoRolloutView, full: boolean): ArgoPatches {
  if (full) {
    return ro.status?.currentPodHash !== ro.status?.stableRS ? { status: { status: { promoteFull: true } } } : {};
  }
  const patches: ArgoPatches = { unified: { spec: { paused: false }, status: { pauseConditions: null } } };
  if (ro.spec?.paused) patches.spec = { spec: { paused: false } };
  if ((ro.status?.pauseConditions?.length ?? 0) > 0) {
    patches.status = { status: { pauseConditions: null } };
  } else if (ro.spec?.strategy?.canary) {
    // In the middle of an analysis or experiment step: move to the next step, never both clear and step.
    const steps = ro.spec.strategy.canary.steps?.length ?? 0;
    let index = ro.status?.currentStepIndex ?? 0;
    if (steps > 0) {
      if (index < steps) index++;
      patches.status = { status: { pauseConditions: null, currentStepIndex: index } };
      patches.unified = { spec: { paused: false }, status: { pauseConditions: null, currentStepIndex: index } };
    }
  }
  return patches;
}

export function abortPatches(): ArgoPatches {
  return { status: { status: { abort: true } }, unified: { status: { abort: true } } };
}

export function retryPatches(): ArgoPatches {
  return { status: { status: { abort: false } }, unified: { status: { abort: false } } };
}

export function pausePatches(): ArgoPatches {
  return { spec: { spec: { paused: true } } };
}

export function resumePatches(): ArgoPatches {
  return { spec: { spec: { paused: false } } };
}

export interface ReplicaSetView {
  metadata?: { annotations?: Record<string, string>; ownerReferences?: Array<{ uid?: string; controller?: boolean }> };
  spec?: { template?: { metadata?: { labels?: Record<string, string> } } & Record<string, unknown> };
}

/** `undo`: a JSON patch putting the previous (or the given) revision's pod template back, without its hash label. */
export function undoPatch(
  replicaSets: ReplicaSetView[],
  ownerUid: string,
  revisionAnnotation: string,
  hashLabel: string,
  toRevision = 0,
): Array<{ op: 'replace'; path: string; value: unknown }> | undefined {
  const owned = replicaSets
    .filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.uid === ownerUid && o.controller))
    .map((rs) => ({ rs, revision: Number(rs.metadata?.annotations?.[revisionAnnotation] ?? 0) }))
    .sort((a, b) => b.revision - a.revision);
  const target = toRevision > 0 ? owned.find((o) => o.revision === toRevision) : owned[1];
  if (!target?.rs.spec?.template) return undefined;
  const template = structuredClone(target.rs.spec.template);
  if (template.metadata?.labels) delete template.metadata.labels[hashLabel];
  return [{ op: 'replace', path: '/spec/template', value: template }];
}

/** `kubectl rollout undo` for a Deployment: the previous revision's pod template goes back in. */
export async function undoDeployment(kube: Kube, namespace: string, name: string, toRevision = 0): Promise<void> {
  const d = await readDeployment(kube, namespace, name);
  const list = await kube.apps.listNamespacedReplicaSet({ namespace }).catch((err) => {
    throw kubeError(err, `list the ReplicaSets of ${name}`);
  });
  const patch = undoPatch(
    list.items as ReplicaSetView[],
    d.metadata?.uid ?? '',
    'deployment.kubernetes.io/revision',
    'pod-template-hash',
    toRevision,
  );
  if (!patch)
    throw new SandpiperError(
      'no-revision',
      `Deployment ${name} has no ${toRevision ? `revision ${toRevision}` : 'previous revision'} to go back to.`,
    );
  await kube.apps.patchNamespacedDeployment({ namespace, name, body: patch }, jsonPatch()).catch((err) => {
    throw kubeError(err, `restore the previous revision of ${name}`);
  });
}

/** Done as `kubectl rollout status` judges it: observed, every replica updated and available, no old ones left. */
export function deploymentDone(d: V1Deployment): boolean {
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  return (
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    (s.updatedReplicas ?? 0) >= want &&
    (s.replicas ?? 0) <= want &&
    (s.availableReplicas ?? 0) >= want
  );
}

/** Waits for the Deployment's rollout to finish, re-reading it; a deadline exceeded or the timeout is an error. */
export async function waitForDeployment(
  kube: Kube,
  namespace: string,
  name: string,
  signal?: AbortSignal,
  timeoutMs = 180_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw cancelled();
    const d = await readDeployment(kube, namespace, name);
    if (deploymentDone(d)) return;
    const stuck = d.status?.conditions?.find(
      (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
    );
    if (stuck)
      throw new SandpiperError(
        'rollout-stuck',
        `Deployment ${name} did not progress: ${stuck.message ?? ''}`,
        'Look at its pods and events.',
      );
    if (Date.now() > until)
      throw new SandpiperError(
        'rollout-timeout',
        `Deployment ${name} did not finish rolling out in ${timeoutMs / 1000} s.`,
        'Look at its pods and events.',
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}
