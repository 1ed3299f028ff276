import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { WatchEvent, WatchedKind, WatchedObject } from '../../workloads/model';
import { SandpiperError, cancelled } from '../../errors';
import { type Kube } from './client';
import { kubeError } from './errors';

export interface ListResult {
  items: WatchedObject[];
  resourceVersion: string;
}

export interface ResourceWatchOptions {
  kind: WatchedKind;
  /** API path of the collection, e.g. /apis/apps/v1/namespaces/ns/deployments. */
  path: string;
  list: () => Promise<ListResult>;
  onEvents: (events: WatchEvent[]) => void;
  onError?: (err: unknown) => void;
  /** A full relist this often, to heal anything a watch missed. */
  resyncMs?: number;
}

function keyOf(o: WatchedObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/**
 * List + watch from the list's resourceVersion, informer style: a watch that ends is resumed from the last
 * version seen, `410 Gone` (the version was compacted away) relists, a failure relists after a backoff,
 * and a periodic relist reconciles deletions the watch may have missed. No polling.
 */
export class ResourceWatch {
  private readonly known = new Map<string, WatchedObject>();
  private resourceVersion = '';
  private request?: AbortController;
  private stopped = false;
  private backoffMs = 500;
  /** Bumped whenever a watch is replaced, so the end of an old one never starts a second. */
  private generation = 0;
  private resyncTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  /** Relists done, for tests and logs. */
  relists = 0;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly o: ResourceWatchOptions,
  ) {}

  async start(): Promise<void> {
    await this.relist();
    if (this.o.resyncMs) {
      this.resyncTimer = setInterval(() => void this.restart(), this.o.resyncMs);
      this.resyncTimer.unref?.();
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    clearTimeout(this.retryTimer);
    this.request?.abort();
  }

  private async restart(): Promise<void> {
    this.generation++;
    this.request?.abort();
    this.request = undefined;
    await this.relist().catch(() => undefined);
  }

  /** Lists, tells the caller about what changed since the last list (deletions included), then watches on. */
  private async relist(): Promise<void> {
    if (this.stopped) return;
    this.relists++;
    const list = await this.o.list();
    const events: WatchEvent[] = [];
    const seen = new Set<string>();
    for (const item of list.items) {
      const key = keyOf(item);
      seen.add(key);
      if (this.known.get(key)?.metadata?.resourceVersion !== item.metadata?.resourceVersion) events.push({ kind: this.o.kind, type: 'upsert', object: item });
      this.known.set(key, item);
    }
    for (const [key, item] of this.known) {
      if (!seen.has(key)) {
        this.known.delete(key);
        events.push({ kind: this.o.kind, type: 'delete', object: item });
      }
    }
    this.resourceVersion = list.resourceVersion;
    if (events.length) this.o.onEvents(events);
    await this.watch();
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    const generation = ++this.generation;
    const watch = new Watch(this.kubeConfig);
    const request = await watch.watch(
      this.o.path,
      { resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
      (phase: string, obj: WatchedObject & { code?: number }) => {
        if (generation === this.generation) this.onWatchEvent(phase, obj);
      },
      (err: unknown) => void this.onDone(generation, err),
    );
    if (generation === this.generation) this.request = request;
    else request.abort();
  }

  private onWatchEvent(phase: string, obj: WatchedObject & { code?: number }): void {
    if (phase === 'ERROR') {
      if (obj.code === 410) this.resourceVersion = '';
      return;
    }
    if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
    if (phase === 'BOOKMARK') return;
    const key = keyOf(obj);
    if (phase === 'DELETED') {
      this.known.delete(key);
      this.o.onEvents([{ kind: this.o.kind, type: 'delete', object: obj }]);
    } else {
      this.known.set(key, obj);
      this.o.onEvents([{ kind: this.o.kind, type: 'upsert', object: obj }]);
    }
    this.backoffMs = 500;
  }

  private async onDone(generation: number, err: unknown): Promise<void> {
    if (this.stopped || generation !== this.generation) return;
    const gone = (err as { statusCode?: number; code?: number })?.statusCode === 410 || (err as { code?: number })?.code === 410;
    if (err && !gone) this.o.onError?.(err);
    try {
      if (err || !this.resourceVersion) {
        if (err && !gone) await new Promise<void>((r) => (this.retryTimer = setTimeout(r, this.backoffMs)));
        this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
        await this.relist();
      } else {
        await this.watch();
      }
    } catch (e) {
      this.o.onError?.(e);
      this.retryTimer = setTimeout(() => void this.onDone(this.generation, e), this.backoffMs);
    }
  }
}

export type WatchVerdict<T> = { done: true; value: T } | { done: false };

/**
 * Watches `path` until `decide` returns a verdict or throws; a closed watch is reopened (the first
 * events of a watch replay the current objects, so no separate list is needed). Ends on abort.
 */
export function watchUntil<T>(
  kube: Kube,
  path: string,
  query: Record<string, string>,
  decide: (type: string, obj: unknown) => WatchVerdict<T>,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const watch = new Watch(kube.config);
    let current: AbortController | undefined;
    let settled = false;
    let failures = 0;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      current?.abort();
      fn();
    };
    const onAbort = () => finish(() => reject(cancelled()));
    signal?.addEventListener('abort', onAbort, { once: true });
    const open = () => {
      if (settled) return;
      watch
        .watch(path, { ...query, allowWatchBookmarks: 'false' }, (type, obj) => {
          if (settled) return;
          failures = 0;
          try {
            const verdict = decide(type, obj);
            if (verdict.done) finish(() => resolve(verdict.value));
          } catch (err) {
            finish(() => reject(err));
          }
        }, (err) => {
          if (settled) return;
          if (err && (++failures > 3 || isFatal(err))) return finish(() => reject(kubeError(err, `watch ${path}`)));
          setTimeout(open, err ? 500 * failures : 0);
        })
        .then((controller) => {
          current = controller;
          if (settled) controller.abort();
        })
        .catch((err) => finish(() => reject(err instanceof SandpiperError ? err : kubeError(err, `watch ${path}`))));
    };
    open();
  });
}

function isFatal(err: unknown): boolean {
  const code = (err as { statusCode?: number; code?: number })?.statusCode ?? (err as { code?: number })?.code;
  return code === 401 || code === 403 || code === 404;
}
