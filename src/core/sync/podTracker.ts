import { EventEmitter } from 'node:events';
import { Watch, type V1Pod } from '@kubernetes/client-node';
import type { Kube } from '../infra/kube/client';

/** A ready pod at one life: a new uid or a container restart makes a new life, which needs a full sync. */
export interface ReadyPod {
  name: string;
  life: string;
}

interface PodTrackerEvents {
  ready: [pod: ReadyPod];
  gone: [name: string];
  error: [err: unknown];
}

/** Watches the pods of a selector and says when one becomes ready (again) or stops being ready. */
export class PodTracker extends EventEmitter<PodTrackerEvents> {
  private readonly ready = new Map<string, string>();
  private abort?: AbortController;
  private stopped = false;
  private resourceVersion?: string;

  constructor(
    private readonly kube: Kube,
    private readonly namespace: string,
    private readonly selector: string,
  ) {
    super();
  }

  get readyPods(): string[] {
    return [...this.ready.keys()];
  }

  /** Lists the pods (so the caller knows the ready ones at once), then watches from there. */
  async start(): Promise<void> {
    const list = await this.kube.core.listNamespacedPod({ namespace: this.namespace, labelSelector: this.selector });
    this.resourceVersion = list.metadata?.resourceVersion;
    for (const pod of list.items) this.observe(pod);
    void this.watch();
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    const w = new Watch(this.kube.config);
    try {
      this.abort = await w.watch(
        `/api/v1/namespaces/${this.namespace}/pods`,
        { labelSelector: this.selector, resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
        (phase: string, pod: V1Pod) => {
          if (pod.metadata?.resourceVersion) this.resourceVersion = pod.metadata.resourceVersion;
          if (phase === 'DELETED') this.forget(pod.metadata?.name ?? '');
          else if (phase !== 'BOOKMARK') this.observe(pod);
        },
        (err: unknown) => this.rewatch(err),
      );
    } catch (err) {
      this.rewatch(err);
    }
  }

  private rewatch(err: unknown): void {
    if (this.stopped) return;
    if (err && (err as { code?: number }).code === 410) this.resourceVersion = undefined; // too old: relist
    if (err) this.emit('error', err);
    setTimeout(() => {
      if (this.stopped) return;
      if (this.resourceVersion === undefined) void this.start().catch((e: unknown) => this.rewatch(e));
      else void this.watch();
    }, err ? 1000 : 0).unref();
  }

  private observe(pod: V1Pod): void {
    const name = pod.metadata?.name;
    if (!name) return;
    if (!isReady(pod)) {
      this.forget(name);
      return;
    }
    const restarts = (pod.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
    const life = `${pod.metadata?.uid ?? ''}/${restarts}`;
    if (this.ready.get(name) === life) return;
    this.ready.set(name, life);
    this.emit('ready', { name, life });
  }

  private forget(name: string): void {
    if (this.ready.delete(name)) this.emit('gone', name);
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.removeAllListeners();
  }
}

export function isReady(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  return pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}
