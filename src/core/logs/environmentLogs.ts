import type * as k8s from '@kubernetes/client-node';
import type { Kube } from '../infra/kube/client';
import { presentError } from '../errors';
import { listPods, podSelectorFor, podSource } from '../infra/kube/pods';
import { ListWatcher } from '../infra/kube/watch';
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

  if (!o.follow) {
    (await listPods(o.kube, o.namespace, labelSelector)).forEach((pod) => startPod(pod, o.tailLines));
    await Promise.all([...streams.values()].map((s) => s.done));
    return;
  }
  // The pods listed at the start show their last `tailLines`; pods that appear later, all their lines.
  let listedFirst = false;
  const watcher = new ListWatcher<k8s.V1Pod>(podSource(o.kube, o.namespace, labelSelector), {
    onChanges: (changes) => {
      for (const c of changes) {
        if (c.type === 'DELETED') stopPod(c.object.metadata?.name ?? '');
        else startPod(c.object, listedFirst ? undefined : o.tailLines);
      }
    },
    onError: (err) => o.onNotice?.(`pod watch: ${presentError(err).message}`),
  });
  const aborted = new Promise<void>((resolve) =>
    o.signal.aborted ? resolve() : o.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  try {
    await watcher.start();
    listedFirst = true;
    await aborted;
  } finally {
    watcher.stop();
  }
  await Promise.all([...streams.values()].map((s) => s.done));
}
