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
export function undoPatch(replicaSets: ReplicaSetView[], ownerUid: string, revisionAnnotation: string, hashLabel: string, toRevision = 0): Array<{ op: 'replace'; path: string; value: unknown }> | undefined {
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
