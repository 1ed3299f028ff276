import type * as k8s from '@kubernetes/client-node';
import { Watch } from '@kubernetes/client-node';
import type { Kube } from '../infra/kube/client';
import { listPods, podSelectorFor } from '../infra/kube/pods';
import { followContainerLog, type LogRecord } from './follow';

export interface EnvLogOptions {
  kube: Kube;
  namespace: string;
  /** Only this service's pods; default: every pod of the namespace. */
  service?: string;
  follow: boolean;
  /** Lines of history per container before following. */
  tailLines?: number;
  signal: AbortSignal;
  onLine(record: LogRecord): void;
  onNotice?(message: string): void;
}

const LOGGABLE_PHASES = new Set(['Running', 'Succeeded', 'Failed']);

/**
 * Follows every container of every pod of an environment. Pods that start later are picked up by a pod
 * watch; each container stream resumes on its own after drops and restarts. Resolves when the signal
 * aborts (follow) or when every log has been read (no follow).
 */
export async function followEnvironmentLogs(o: EnvLogOptions): Promise<void> {
  const labelSelector = o.service ? await podSelectorFor(o.kube, o.namespace, o.service) : undefined;
  const streams = new Map<string, { abort: AbortController; done: Promise<void> }>();

  // Pods that appear after the follow started show their whole log: none of it has been seen.
  const startPod = (pod: k8s.V1Pod, tailLines?: number) => {
    const name = pod.metadata?.name;
    if (!name || pod.metadata?.deletionTimestamp || !LOGGABLE_PHASES.has(pod.status?.phase ?? '')) return;
    for (const container of pod.spec?.containers ?? []) {
      const key = `${name}/${container.name}`;
      if (streams.has(key)) continue;
      const abort = new AbortController();
      const signal = AbortSignal.any([o.signal, abort.signal]);
      const done = followContainerLog({
        kc: o.kube.config,
        namespace: o.namespace,
        pod: name,
        container: container.name,
        follow: o.follow,
        tailLines,
        signal,
        onLine: o.onLine,
        onNotice: o.onNotice,
      });
      streams.set(key, { abort, done });
    }
  };

  const stopPod = (name: string) => {
    for (const [key, stream] of streams) {
      // Give the stream a moment to deliver the pod's last lines before it is cut.
      if (key.startsWith(`${name}/`)) setTimeout(() => stream.abort.abort(), 2000).unref();
    }
  };

  const initial = await listPods(o.kube, o.namespace, labelSelector);
  initial.forEach((pod) => startPod(pod, o.tailLines));
  if (!o.follow) {
    await Promise.all([...streams.values()].map((s) => s.done));
    return;
  }
  await watchPods(o, labelSelector, (pod) => startPod(pod), stopPod);
  await Promise.all([...streams.values()].map((s) => s.done));
}

/** Watches pods until the signal aborts, re-opening the watch whenever the server ends it. */
async function watchPods(o: EnvLogOptions, labelSelector: string | undefined, onPod: (pod: k8s.V1Pod) => void, onGone: (name: string) => void): Promise<void> {
  const watch = new Watch(o.kube.config);
  while (!o.signal.aborted) {
    await new Promise<void>((resolve) => {
      let request: AbortController | undefined;
      const onAbort = () => request?.abort();
      o.signal.addEventListener('abort', onAbort, { once: true });
      const finish = (err?: unknown) => {
        o.signal.removeEventListener('abort', onAbort);
        if (err && !o.signal.aborted) o.onNotice?.(`pod watch ended: ${(err as Error).message ?? String(err)}`);
        resolve();
      };
      watch
        .watch(
          `/api/v1/namespaces/${o.namespace}/pods`,
          labelSelector ? { labelSelector } : {},
          (phase: string, pod: k8s.V1Pod) => {
            if (phase === 'DELETED') onGone(pod.metadata?.name ?? '');
            else onPod(pod);
          },
          finish,
        )
        .then((req) => {
          request = req;
          if (o.signal.aborted) req.abort();
        }, finish);
    });
    if (!o.signal.aborted) await new Promise((r) => setTimeout(r, 1000));
  }
}
