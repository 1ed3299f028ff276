import { readCanaryState } from '../canary/state';
import type {
  AnalysisSummary,
  CanarySummary,
  WorkloadCondition,
  WorkloadKind,
  WorkloadSummary,
  WatchedObject,
} from './model';

/** Reads typed fields out of watched objects, which are untyped JSON. */
interface DeploymentLike {
  spec?: { replicas?: number; template?: { spec?: { containers?: Array<{ name: string; image?: string }> } } };
  status?: {
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    replicas?: number;
    conditions?: WorkloadCondition[];
  };
}

interface RolloutLike extends DeploymentLike {
  spec?: DeploymentLike['spec'] & {
    paused?: boolean;
    strategy?: { canary?: { steps?: Array<Record<string, unknown>> }; blueGreen?: unknown };
  };
  status?: DeploymentLike['status'] & {
    currentStepIndex?: number;
    pauseConditions?: unknown[];
    abort?: boolean;
    phase?: string;
    message?: string;
    currentPodHash?: string;
    stableRS?: string;
    canary?: { weights?: { canary?: { weight?: number } } };
  };
}

interface AnalysisRunLike {
  status?: {
    phase?: string;
    message?: string;
    metricResults?: Array<{
      name: string;
      phase?: string;
      failed?: number;
      successful?: number;
      inconclusive?: number;
      measurements?: Array<{ value?: string }>;
    }>;
  };
}

function conditionsOf(status: DeploymentLike['status']): WorkloadCondition[] {
  return (status?.conditions ?? []).map((c) => ({
    type: c.type,
    status: c.status,
    reason: c.reason,
    message: c.message,
  }));
}

function imagesOf(spec: DeploymentLike['spec']): string[] {
  return (spec?.template?.spec?.containers ?? []).map((c) => c.image ?? '');
}

function deadlineExceeded(conditions: WorkloadCondition[]): boolean {
  return conditions.some(
    (c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded',
  );
}

/** The annotation each kind keeps its revision number in. */
const REVISION_ANNOTATION: Record<WorkloadKind, string> = {
  Deployment: 'deployment.kubernetes.io/revision',
  Rollout: 'rollout.argoproj.io/revision',
};

/**
 * Revision, replica counts, images and conditions, without the canary: an Argo Rollout reports these in a
 * Deployment's fields, so both kinds read alike here.
 */
function replicaSummary(kind: WorkloadKind, obj: WatchedObject, pods: number): WorkloadSummary {
  const w = obj as DeploymentLike;
  const conditions = conditionsOf(w.status);
  return {
    kind,
    namespace: obj.metadata?.namespace ?? '',
    name: obj.metadata?.name ?? '',
    revision: obj.metadata?.annotations?.[REVISION_ANNOTATION[kind]] ?? '',
    desired: w.spec?.replicas ?? 1,
    updated: w.status?.updatedReplicas ?? 0,
    ready: w.status?.readyReplicas ?? 0,
    available: w.status?.availableReplicas ?? 0,
    pods,
    images: imagesOf(w.spec),
    conditions,
    progressDeadlineExceeded: deadlineExceeded(conditions),
  };
}

/** The counts of a Deployment, with the built-in canary read from its annotation and its `-canary` sibling. */
export function deploymentSummary(obj: WatchedObject, pods: number, canaryDeployment?: WatchedObject): WorkloadSummary {
  const summary = replicaSummary('Deployment', obj, pods);
  let state;
  try {
    state = readCanaryState(obj.metadata?.annotations);
  } catch (err) {
    summary.canary = {
      stepIndex: 0,
      stepCount: 0,
      weight: 0,
      paused: false,
      status: 'invalid',
      trafficMode: 'replicas',
      analysis: [],
      message: (err as Error).message,
    };
    return summary;
  }
  if (state) {
    const canary = canaryDeployment as DeploymentLike | undefined;
    summary.canary = {
      stepIndex: state.stepIndex,
      stepCount: state.steps.length,
      weight: state.weight,
      paused: state.status === 'paused',
      status: state.status,
      trafficMode: state.trafficMode,
      route: state.route,
      image: state.image,
      analysis: [],
      verdict: state.lastAnalysis,
      message:
        state.reason ??
        (canary ? `canary ${canary.status?.readyReplicas ?? 0}/${canary.spec?.replicas ?? 0} ready` : undefined),
    };
  }
  return summary;
}

/** Which percentage the steps before `index` set; Argo keeps the last setWeight until the next one. */
export function argoStepWeight(steps: Array<Record<string, unknown>>, index: number): number {
  if (index >= steps.length) return 100;
  let weight = 0;
  for (let i = 0; i <= index && i < steps.length; i++) {
    const w = steps[i].setWeight;
    if (typeof w === 'number') weight = w;
  }
  return weight;
}

export function analysisSummary(obj: WatchedObject): AnalysisSummary {
  const run = obj as AnalysisRunLike;
  return {
    name: obj.metadata?.name ?? '',
    phase: run.status?.phase ?? 'Pending',
    message: run.status?.message,
    metrics: (run.status?.metricResults ?? []).map((m) => ({
      name: m.name,
      phase: m.phase ?? '',
      value: m.measurements?.at(-1)?.value,
      failed: m.failed ?? 0,
      successful: m.successful ?? 0,
      inconclusive: m.inconclusive ?? 0,
    })),
  };
}

/** An Argo Rollout read the way `kubectl argo rollouts get` shows it. */
export function rolloutSummary(obj: WatchedObject, pods: number, runs: WatchedObject[]): WorkloadSummary {
  const r = obj as RolloutLike;
  const summary = replicaSummary('Rollout', obj, pods);
  const steps = r.spec?.strategy?.canary?.steps;
  if (steps) {
    const stepIndex = r.status?.currentStepIndex ?? 0;
    const aborted = r.status?.abort === true;
    const canary: CanarySummary = {
      stepIndex,
      stepCount: steps.length,
      weight: aborted ? 0 : (r.status?.canary?.weights?.canary?.weight ?? argoStepWeight(steps, stepIndex)),
      paused: r.spec?.paused === true || (r.status?.pauseConditions?.length ?? 0) > 0,
      status: aborted ? 'aborted' : (r.status?.phase ?? 'Progressing'),
      trafficMode: 'argo',
      analysis: runs.map(analysisSummary),
      message: r.status?.message,
    };
    summary.canary = canary;
  }
  return summary;
}
