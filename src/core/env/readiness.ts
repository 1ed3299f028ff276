import type { V1Pod } from '@kubernetes/client-node';
import { formatDuration } from '../config/types';
import { SandpiperError, cancelled, podFailureCode } from '../errors';
import type { Kube } from '../infra/kube/client';
import type { KubeObject } from './plan';
import { kubeError } from '../infra/kube/errors';
import { podSource } from '../infra/kube/pods';
import { apiSource, watchUntil, type ListWatchSource } from '../infra/kube/watch';
import { namespaceSource } from './lifecycle';

const WAITED_KINDS: Record<string, string> = { Deployment: 'deployments', StatefulSet: 'statefulsets' };
export const DEFAULT_READY_TIMEOUT_MS = 180_000;

export async function waitForNamespace(kube: Kube, name: string, signal?: AbortSignal): Promise<void> {
  const what = `namespace "${name}"`;
  const source = namespaceSource(kube, { fieldSelector: `metadata.name=${name}` }, `watch ${what}`);
  await watchUntil(
    source,
    what,
    (_type, ns) => (ns.status?.phase === 'Active' ? { done: true, value: undefined } : { done: false }),
    { signal },
  );
}

/** One workload (by kind and name) or every pod of a namespace, listed and watched through client-node. */
function workloadSource(kube: Kube, namespace: string, plural: string, name: string): ListWatchSource<KubeObject> {
  const fieldSelector = `metadata.name=${name}`;
  return apiSource(kube.config, {
    path: `/apis/apps/v1/namespaces/${namespace}/${plural}`,
    query: { fieldSelector },
    list: async () => {
      try {
        const list =
          plural === 'statefulsets'
            ? await kube.apps.listNamespacedStatefulSet({ namespace, fieldSelector })
            : await kube.apps.listNamespacedDeployment({ namespace, fieldSelector });
        return { items: list.items as KubeObject[], resourceVersion: list.metadata?.resourceVersion ?? '' };
      } catch (err) {
        throw kubeError(err, `list ${plural} "${name}" in "${namespace}"`);
      }
    },
  });
}

interface WorkloadStatus {
  replicas?: number;
  readyReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
}

/** Ready when the controller saw the latest spec and every wanted replica is updated and ready. */
export function workloadReady(obj: KubeObject): boolean {
  const spec = obj.spec as { replicas?: number } | undefined;
  const status = (obj.status ?? {}) as WorkloadStatus;
  const wanted = spec?.replicas ?? 1;
  if ((status.observedGeneration ?? 0) < (obj.metadata?.generation ?? 1)) return false;
  if (wanted === 0) return true;
  // Available (ready for minReadySeconds), as `kubectl rollout status` waits for.
  return (
    (status.readyReplicas ?? 0) >= wanted &&
    (status.updatedReplicas ?? 0) >= wanted &&
    (status.availableReplicas ?? 0) >= wanted
  );
}

function failureError(f: PodFailure, workload: KubeObject, namespace: string, logs?: string): SandpiperError {
  const owner = `${workload.kind} "${workload.metadata?.name}"`;
  const hint =
    f.reason.includes('Image') || f.reason === 'ErrImagePull'
      ? `Check that the image "${f.image}" exists and the cluster can pull it (registry, tag, pull secret).`
      : f.reason === 'CrashLoopBackOff'
        ? 'Read the log lines above; fix the crash and deploy again.'
        : f.reason === 'Unschedulable'
          ? 'Lower the resource requests or node selectors, or add capacity to the cluster.'
          : undefined;
  const tail = logs ? `\nLast log lines:\n${logs}` : '';
  return new SandpiperError(
    podFailureCode(f.reason),
    `${owner} in "${namespace}" is not ready: pod "${f.pod}" ${f.reason}: ${f.message}${tail}`,
    hint,
  );
}

async function lastLogLines(kube: Kube, namespace: string, f: PodFailure): Promise<string | undefined> {
  for (const previous of [true, false]) {
    try {
      const text = await kube.core.readNamespacedPodLog({
        name: f.pod,
        namespace,
        container: f.container,
        previous,
        tailLines: 20,
      });
      if (text?.trim()) return text.trimEnd();
    } catch {
      // No logs from this container instance; try the next, else report without them.
    }
  }
  return undefined;
}

/**
 * Waits with watches until the workload is ready; a pod of it that cannot start (image pull, crash loop,
 * unschedulable, missing config) ends the wait with an error naming the workload, the pod and the reason.
 */
export async function waitForWorkload(
  kube: Kube,
  workload: KubeObject,
  signal?: AbortSignal,
  timeoutMs = DEFAULT_READY_TIMEOUT_MS,
): Promise<void> {
  const plural = WAITED_KINDS[workload.kind ?? ''];
  if (!plural) return;
  const namespace = workload.metadata?.namespace ?? '';
  const name = workload.metadata?.name ?? '';
  const selector = (workload.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector
    ?.matchLabels;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  // Aborted before we listened (Ctrl+C during the apply): 'abort' will not fire again.
  if (signal?.aborted) stop.abort();
  const timer = setTimeout(() => stop.abort(), timeoutMs);
  let latest: KubeObject = workload;
  try {
    const what = `${workload.kind} "${name}" in "${namespace}"`;
    const ready = watchUntil(
      workloadSource(kube, namespace, plural, name),
      what,
      (type, obj) => {
        if (type === 'DELETED')
          throw new SandpiperError(
            'deleted',
            `${workload.kind} "${name}" in "${namespace}" was deleted while waiting for it.`,
          );
        latest = { ...(obj as KubeObject), kind: workload.kind };
        const stuck = ((latest.status ?? {}) as WorkloadStatus).conditions?.find(
          (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
        );
        if (stuck)
          throw new SandpiperError(
            'not-ready',
            `${workload.kind} "${name}" in "${namespace}" did not progress: ${stuck.message ?? stuck.reason}`,
          );
        return workloadReady(latest) ? { done: true, value: undefined } : { done: false };
      },
      { signal: stop.signal },
    );
    const failing = watchUntil<PodFailure, V1Pod>(
      podSource(kube, namespace),
      `the pods of "${namespace}"`,
      (type, pod) => {
        if (type === 'DELETED' || !matchesSelector(selector, pod.metadata?.labels)) return { done: false };
        const f = podFailure(pod);
        return f ? { done: true, value: f } : { done: false };
      },
      { signal: stop.signal },
    );
    const outcome = await Promise.race([ready.then(() => undefined), failing]);
    if (outcome)
      throw failureError(
        outcome,
        workload,
        namespace,
        outcome.reason === 'CrashLoopBackOff' ? await lastLogLines(kube, namespace, outcome) : undefined,
      );
  } catch (err) {
    if (signal?.aborted) throw cancelled();
    if (stop.signal.aborted && err instanceof SandpiperError && err.code === 'cancelled') {
      const s = (latest.status ?? {}) as WorkloadStatus;
      throw new SandpiperError(
        'not-ready',
        `${workload.kind} "${name}" in "${namespace}" was not ready after ${formatDuration(timeoutMs)} (${s.readyReplicas ?? 0}/${(latest.spec as { replicas?: number })?.replicas ?? 1} ready).`,
        `Look at its pods: kubectl -n ${namespace} describe ${workload.kind?.toLowerCase()} ${name}`,
      );
    }
    throw err;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

/** Waits for all workloads; the first failure stops the other waits. */
export async function waitForWorkloads(
  kube: Kube,
  objects: KubeObject[],
  signal?: AbortSignal,
  timeoutMs?: number,
): Promise<void> {
  const group = new AbortController();
  const onAbort = () => group.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) group.abort();
  try {
    await Promise.all(
      objects
        .filter((o) => WAITED_KINDS[o.kind ?? ''])
        .map((o) =>
          waitForWorkload(kube, o, group.signal, timeoutMs).catch((err: unknown) => {
            group.abort();
            throw err;
          }),
        ),
    );
  } catch (err) {
    if (signal?.aborted) throw cancelled();
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

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
      return {
        pod: name,
        container: s.name,
        reason: waiting.reason,
        image: s.image,
        message: `cannot pull image "${s.image}"${waiting.message ? `: ${waiting.message}` : ''}`,
      };
    }
    if (waiting.reason === 'CrashLoopBackOff') {
      const last = s.lastState?.terminated;
      const exit = last ? ` (last exit code ${last.exitCode}${last.reason ? `, ${last.reason}` : ''})` : '';
      return {
        pod: name,
        container: s.name,
        reason: 'CrashLoopBackOff',
        message: `container "${s.name}" keeps crashing${exit}`,
        image: s.image,
      };
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
export function matchesSelector(
  matchLabels: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!matchLabels || !Object.keys(matchLabels).length) return false;
  return Object.entries(matchLabels).every(([k, v]) => labels?.[k] === v);
}
