import type { V1Pod } from '@kubernetes/client-node';

/** Why a pod cannot become ready, read from its status; undefined while it may still get there. */
export interface PodFailure {
  pod: string;
  container?: string;
  reason: string;
  message: string;
  image?: string;
}

const PULL_FAILURES = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull']);
const CONFIG_FAILURES = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

export function podFailure(pod: V1Pod): PodFailure | undefined {
  const name = pod.metadata?.name ?? '?';
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const s of statuses) {
    const waiting = s.state?.waiting;
    if (!waiting?.reason) continue;
    if (PULL_FAILURES.has(waiting.reason)) {
      return { pod: name, container: s.name, reason: waiting.reason, image: s.image, message: `cannot pull image "${s.image}"${waiting.message ? `: ${waiting.message}` : ''}` };
    }
    if (waiting.reason === 'CrashLoopBackOff') {
      const last = s.lastState?.terminated;
      const exit = last ? ` (last exit code ${last.exitCode}${last.reason ? `, ${last.reason}` : ''})` : '';
      return { pod: name, container: s.name, reason: 'CrashLoopBackOff', message: `container "${s.name}" keeps crashing${exit}`, image: s.image };
    }
    if (CONFIG_FAILURES.has(waiting.reason)) {
      return { pod: name, container: s.name, reason: waiting.reason, message: waiting.message ?? waiting.reason };
    }
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { pod: name, reason: 'Unschedulable', message: scheduled.message ?? 'no node can run it' };
  }
  if (pod.status?.phase === 'Failed') {
    return { pod: name, reason: pod.status.reason ?? 'Failed', message: pod.status.message ?? 'the pod failed' };
  }
  return undefined;
}

/** Does the workload's selector (matchLabels) select these pod labels? */
export function matchesSelector(matchLabels: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!matchLabels || !Object.keys(matchLabels).length) return false;
  return Object.entries(matchLabels).every(([k, v]) => labels?.[k] === v);
}
