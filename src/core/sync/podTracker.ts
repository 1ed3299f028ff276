import { EventEmitter } from 'node:events';
import type { V1Pod } from '@kubernetes/client-node';
import type { Kube } from '../infra/kube/client';
import { isPodReady, podSource } from '../infra/kube/pods';
import { ListWatcher, type Change, type ListWatchSource } from '../infra/kube/watch';

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
  private readonly watcher: ListWatcher<V1Pod>;

  constructor(
    kube: Kube,
    namespace: string,
    selector: string,
    source: ListWatchSource<V1Pod> = podSource(kube, namespace, selector),
  ) {
    super();
    this.watcher = new ListWatcher(source, {
      onChanges: (changes) => changes.forEach((c) => this.apply(c)),
      onError: (err) => this.emit('error', err),
    });
  }

  get readyPods(): string[] {
    return [...this.ready.keys()];
  }

  /** Lists the pods (so the caller knows the ready ones at once), then watches from there. */
  async start(): Promise<void> {
    try {
      await this.watcher.start();
    } catch (err) {
      this.watcher.stop();
      throw err;
    }
  }

  private apply(change: Change<V1Pod>): void {
    if (change.type === 'DELETED') this.forget(change.object.metadata?.name ?? '');
    else this.observe(change.object);
  }

  private observe(pod: V1Pod): void {
    const name = pod.metadata?.name;
    if (!name) return;
    if (!isPodReady(pod)) {
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
    this.watcher.stop();
    this.removeAllListeners();
  }
}
