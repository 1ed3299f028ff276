import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { WatchEvent, WatchedKind, WatchedObject } from '../../workloads/model';
import { cancelled } from '../../errors';
import { clusterOf, httpCode, kubeError, markCluster } from './errors';

// The one reconnecting list+watch of Sandpiper. Every watcher (environments tree, sync pod tracker, log
// follower, rollout panel, readiness waits) runs on `ListWatcher`, with one backoff policy.
//
// Why our own and not client-node's `ListWatch`/informer: that one stops for good on any error and leaves
// retrying (and backing off) to each caller, has no periodic resync, and is tied to its concrete `Watch`
// class; here the cluster is behind the small `ListWatchSource` seam, so the branches a real API server
// will not produce on demand (a watch gap, a 410, ERROR events, failures) have fast unit tests.

/** The fields of a Kubernetes object the watch machinery reads. */
export interface KubeObjectRef {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface Listed<T> {
  items: T[];
  resourceVersion: string;
}

/** What a list+watch needs from a cluster: `apiSource` over client-node in the product, fakes in tests. */
export interface ListWatchSource<T> {
  list(): Promise<Listed<T>>;
  /** Opens a watch from `resourceVersion`; `onDone` is called once when it ends (null: closed by the server). */
  watch(
    resourceVersion: string,
    onEvent: (type: string, obj: T) => void,
    onDone: (err: unknown) => void,
  ): Promise<{ abort(): void }>;
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change<T> {
  type: ChangeType;
  object: T;
}

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/** The one backoff of every watch: 0.5 s doubling to 30 s, reset once a watch delivers an event. */
export const WATCH_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000 };

export interface ListWatcherOptions<T> {
  onChanges(changes: Change<T>[]): void;
  /** A failed list or watch after the first list; `failures` counts them since a watch last delivered an event. */
  onError?(err: unknown, failures: number): void;
  /** Called after every successful list with every object the list holds. */
  onSynced?(objects: T[]): void;
  /** A full relist this often, to heal anything a watch missed. */
  resyncMs?: number;
  backoff?: BackoffPolicy;
  /** A watch that ends sooner than this without delivering an event counts as failed, so it backs off. */
  minHealthyMs?: number;
}

type WatchEnd = { how: 'closed' | 'gone' | 'failed' | 'resync' | 'stopped'; err?: unknown; healthy: boolean };

function keyOf(o: KubeObjectRef): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/** An in-stream ERROR event (a `Status`) as an error carrying its HTTP code. */
function statusError(status: { code?: number; message?: string; reason?: string }): Error {
  const message = status.message ?? status.reason ?? 'the watch reported an error';
  return Object.assign(new Error(message), { code: status.code });
}

/**
 * List, then watch from the list's resourceVersion, informer style: a watch the server closes is resumed
 * from the last version seen; a 410 Gone (HTTP or an in-stream ERROR event: the version was compacted away)
 * relists, and the relist reports what changed meanwhile, deletions included; a failure or an ERROR event
 * relists after a backoff. A watch that ends at once without an event also backs off, so no server answer
 * makes it spin. No polling; `stop()` ends it.
 */
export class ListWatcher<T extends KubeObjectRef> {
  private readonly known = new Map<string, T>();
  private readonly policy: BackoffPolicy;
  private resourceVersion = '';
  private stopped = false;
  private failures = 0;
  private endWatch?: (end: Omit<WatchEnd, 'healthy'>) => void;
  private wake?: () => void;
  private resyncTimer?: NodeJS.Timeout;
  /** Lists and watches opened, for tests and logs. */
  relists = 0;
  watches = 0;

  constructor(
    private readonly source: ListWatchSource<T>,
    private readonly o: ListWatcherOptions<T>,
  ) {
    this.policy = o.backoff ?? WATCH_BACKOFF;
  }

  /**
   * Starts; resolves once the first list is in (its objects reported as ADDED). When that list fails the
   * promise rejects and the watcher keeps trying with backoff until `stop()`: callers that want to give up stop it.
   */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      void this.run({ resolve, reject });
      if (this.o.resyncMs) {
        this.resyncTimer = setInterval(() => this.endWatch?.({ how: 'resync' }), this.o.resyncMs);
        this.resyncTimer.unref?.();
      }
    });
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    this.endWatch?.({ how: 'stopped' });
    this.wake?.();
  }

  /** The objects the watcher holds now. */
  get objects(): T[] {
    return [...this.known.values()];
  }

  private async run(first?: { resolve(): void; reject(err: unknown): void }): Promise<void> {
    let relist = true;
    let delay = 0;
    while (!this.stopped) {
      if (delay) await this.pause(delay);
      if (this.stopped) break;
      if (relist) {
        try {
          await this.relist();
          relist = false;
          first?.resolve();
          first = undefined;
          // The list itself may have settled it (watchUntil stops at once): no watch is opened then.
          if (this.stopped) break;
        } catch (err) {
          delay = this.backoff();
          if (first) first.reject(err);
          else this.report(err);
          first = undefined;
          continue;
        }
      }
      const end = await this.watchOnce();
      if (end.how === 'stopped') break;
      relist = end.how !== 'closed';
      if (end.how === 'failed') delay = this.backoff();
      else if (end.how === 'resync' || end.healthy) delay = 0;
      else delay = this.backoff();
      if (end.how === 'failed') this.report(end.err);
    }
  }

  private backoff(): number {
    return Math.min(this.policy.maxMs, this.policy.initialMs * 2 ** this.failures++);
  }

  private report(err: unknown): void {
    this.o.onError?.(err, this.failures);
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => ((this.wake = undefined), resolve()), ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Lists, and reports what changed since the last list (deletions included). */
  private async relist(): Promise<void> {
    this.relists++;
    const list = await this.source.list();
    if (this.stopped) return;
    const changes: Change<T>[] = [];
    const listedKeys = new Set(list.items.map(keyOf));
    // Deletions first: what went away during a gap is gone before its replacement arrives.
    for (const [key, item] of this.known) {
      if (listedKeys.has(key)) continue;
      this.known.delete(key);
      changes.push({ type: 'DELETED', object: item });
    }
    for (const item of list.items) {
      const before = this.known.get(keyOf(item));
      if (!before) changes.push({ type: 'ADDED', object: item });
      else if (before.metadata?.resourceVersion !== item.metadata?.resourceVersion) {
        changes.push({ type: 'MODIFIED', object: item });
      }
      this.known.set(keyOf(item), item);
    }
    this.resourceVersion = list.resourceVersion;
    if (changes.length) this.deliver(changes);
    this.guard(() => this.o.onSynced?.(list.items));
  }

  /** One watch, from the last version seen, until it ends one way or another. */
  private watchOnce(): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      const opened = Date.now();
      let events = 0;
      let ended = false;
      let handle: { abort(): void } | undefined;
      const end = (e: Omit<WatchEnd, 'healthy'>) => {
        if (ended) return;
        ended = true;
        this.endWatch = undefined;
        handle?.abort();
        resolve({ ...e, healthy: events > 0 || Date.now() - opened >= (this.o.minHealthyMs ?? 1000) });
      };
      this.endWatch = end;
      this.watches++;
      const onEvent = (type: string, obj: T) => {
        if (ended) return;
        if (type === 'ERROR') {
          const status = obj as { code?: number; message?: string };
          return end(status.code === 410 ? { how: 'gone' } : { how: 'failed', err: statusError(status) });
        }
        events++;
        this.failures = 0;
        this.onWatchEvent(type, obj);
      };
      const onDone = (err: unknown) => {
        if (!err) end({ how: 'closed' });
        else end(httpCode(err) === 410 ? { how: 'gone' } : { how: 'failed', err });
      };
      this.source.watch(this.resourceVersion, onEvent, onDone).then(
        (h) => {
          handle = h;
          if (ended) h.abort();
        },
        (err: unknown) => end({ how: 'failed', err }),
      );
    });
  }

  private onWatchEvent(type: string, obj: T): void {
    if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
    if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return; // BOOKMARK: only the version
    if (type === 'DELETED') this.known.delete(keyOf(obj));
    else this.known.set(keyOf(obj), obj);
    this.deliver([{ type, object: obj }]);
  }

  private deliver(changes: Change<T>[]): void {
    this.guard(() => this.o.onChanges(changes));
  }

  /** A throwing callback is reported, never allowed to end the watcher. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.report(err);
    }
  }
}

export interface ApiSourceOptions<T> {
  /** API path of the collection, e.g. /api/v1/namespaces/ns/pods. */
  path: string;
  /** labelSelector / fieldSelector for the watch; `list` must apply the same itself. */
  query?: Record<string, string | undefined>;
  list: () => Promise<Listed<T>>;
}

/** A client-node list result as `Listed`. */
export function listed<T>(list: { items: T[]; metadata?: { resourceVersion?: string } }): Listed<T> {
  return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
}

/** The production source: a list call and client-node's `Watch` (the only one in Sandpiper). */
export function apiSource<T>(config: KubeConfig, o: ApiSourceOptions<T>): ListWatchSource<T> {
  const watch = new Watch(config);
  // Streams do not go through `Kube`'s requests: their connection failures are marked with the cluster here.
  const mark = <E>(err: E): E => markCluster(err, clusterOf(config));
  return {
    list: () =>
      o.list().catch((err: unknown) => {
        throw mark(err);
      }),
    watch: (resourceVersion, onEvent, onDone) =>
      watch
        .watch(
          o.path,
          { ...o.query, resourceVersion: resourceVersion || undefined, allowWatchBookmarks: true },
          onEvent,
          (err) => onDone(err && mark(err)),
        )
        .catch((err: unknown) => {
          throw mark(err);
        }),
  };
}

export type ListResult = Listed<WatchedObject>;

export interface ResourceWatchOptions {
  kind: WatchedKind;
  /** API path of the collection, e.g. /apis/apps/v1/namespaces/ns/deployments. */
  path: string;
  list: () => Promise<ListResult>;
  onEvents: (events: WatchEvent[]) => void;
  onError?: (err: unknown) => void;
  resyncMs?: number;
}

/** A `ListWatcher` that tags its changes with a kind, as the rollout model takes them. */
export class ResourceWatch extends ListWatcher<WatchedObject> {
  constructor(config: KubeConfig, o: ResourceWatchOptions) {
    super(apiSource(config, { path: o.path, list: o.list }), {
      resyncMs: o.resyncMs,
      onError: o.onError && ((err) => o.onError?.(err)),
      onChanges: (changes) =>
        o.onEvents(
          changes.map((c) => ({ kind: o.kind, type: c.type === 'DELETED' ? 'delete' : 'upsert', object: c.object })),
        ),
    });
  }
}

export type WatchVerdict<T> = { done: true; value: T } | { done: false };

export interface WatchUntilOptions<T> {
  signal?: AbortSignal;
  /** Decides after a list that found no object (e.g. "it is gone"). */
  whenNone?: () => WatchVerdict<T>;
}

/**
 * Watches until `decide` returns a verdict or throws. Gives up, through `kubeError`, when the cluster
 * refuses (401/403/404) or four lists/watches in a row fail; ends with `cancelled()` on abort.
 */
export function watchUntil<T, O extends KubeObjectRef>(
  source: ListWatchSource<O>,
  what: string,
  decide: (type: ChangeType, obj: O) => WatchVerdict<T>,
  o: WatchUntilOptions<T> = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (o.signal?.aborted) return reject(cancelled());
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      watcher.stop();
      o.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const judge = (verdict: () => WatchVerdict<T>) => {
      if (settled) return;
      try {
        const v = verdict();
        if (v.done) finish(() => resolve(v.value));
      } catch (err) {
        finish(() => reject(err));
      }
    };
    const watcher = new ListWatcher<O>(source, {
      onChanges: (changes) => changes.forEach((c) => judge(() => decide(c.type, c.object))),
      onSynced: (objects) => o.whenNone && !objects.length && judge(o.whenNone),
      onError: (err, failures) => {
        const refused = [401, 403, 404].includes(httpCode(err) ?? 0);
        if (failures > 3 || refused) finish(() => reject(kubeError(err, `watch ${what}`)));
      },
    });
    const onAbort = () => finish(() => reject(cancelled()));
    o.signal?.addEventListener('abort', onAbort, { once: true });
    watcher.start().catch((err: unknown) => finish(() => reject(kubeError(err, `watch ${what}`))));
  });
}
