import type { KubeObjectRef, Listed, ListWatchSource } from '../../../src/core/infra/kube/watch';

// An in-memory collection behind the `ListWatchSource` seam: it keeps a change log like etcd does, so a
// watch resumed from a version replays what it missed, and it can compact that log, refuse, fail or
// close a watch on demand — the branches a real API server will not produce when a test wants them.

export interface FakeObject extends KubeObjectRef {
  metadata: { name: string; namespace?: string; resourceVersion: string; uid?: string };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string }> };
}

interface Entry {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: FakeObject;
}

export interface FakeWatch {
  fromVersion: string;
  onEvent(type: string, obj: FakeObject): void;
  onDone(err: unknown): void;
  aborted: boolean;
}

/** What the next watch calls get; `open` (the default) streams the log from the version asked. */
export type WatchAnswer = 'open' | 'close' | 'error410' | 'http410' | 'error500' | 'fail';

export class FakeCluster {
  private readonly objects = new Map<string, FakeObject>();
  private readonly log: Entry[] = [];
  private rv = 100;
  /** Versions below this were compacted away: a watch from one gets 410 Gone (from the newest one is fine). */
  private compactedBelow = 0;
  readonly open: FakeWatch[] = [];
  readonly watchCalls: Array<{ at: number; fromVersion: string }> = [];
  lists = 0;
  /** Answers for the next watch calls, in order; then `always` (default 'open'). */
  answers: WatchAnswer[] = [];
  always: WatchAnswer = 'open';
  /** The next list calls that throw. */
  listFailures = 0;

  put(name: string, extra: Partial<FakeObject> = {}): FakeObject {
    const type = this.objects.has(name) ? 'MODIFIED' : 'ADDED';
    const object: FakeObject = { ...extra, metadata: { name, uid: `uid-${name}`, resourceVersion: String(++this.rv) } };
    this.objects.set(name, object);
    this.record({ rv: this.rv, type, object });
    return object;
  }

  remove(name: string): void {
    const gone = this.objects.get(name);
    if (!gone) return;
    this.objects.delete(name);
    const object = { ...gone, metadata: { ...gone.metadata, resourceVersion: String(++this.rv) } };
    this.record({ rv: this.rv, type: 'DELETED', object });
  }

  /** Forgets the change log up to now, as etcd compaction does. */
  compact(): void {
    this.compactedBelow = this.rv;
  }

  /** Ends every open watch the way a server ends one at its timeout. */
  closeAll(): void {
    for (const w of this.open.splice(0)) w.onDone(null);
  }

  private record(entry: Entry): void {
    this.log.push(entry);
    for (const w of this.open) w.onEvent(entry.type, entry.object);
  }

  readonly source: ListWatchSource<FakeObject> = {
    list: async (): Promise<Listed<FakeObject>> => {
      this.lists++;
      await Promise.resolve();
      if (this.listFailures > 0) {
        this.listFailures--;
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      }
      return { items: [...this.objects.values()], resourceVersion: String(this.rv) };
    },
    watch: async (fromVersion, onEvent, onDone) => {
      this.watchCalls.push({ at: Date.now(), fromVersion });
      // A macrotask, as a network answer is: a watcher that loops hot then shows as many calls, not a hang.
      await new Promise((r) => setImmediate(r));
      const w: FakeWatch = { fromVersion, onEvent, onDone, aborted: false };
      const answer = this.answers.shift() ?? this.always;
      const stale = Number(fromVersion) < this.compactedBelow;
      if (answer === 'error410' || (answer === 'open' && stale)) {
        onEvent('ERROR', {
          kind: 'Status',
          code: 410,
          reason: 'Expired',
          message: 'too old resource version',
        } as never);
        onDone(null);
      } else if (answer === 'http410') {
        onDone(Object.assign(new Error('Gone'), { statusCode: 410 }));
      } else if (answer === 'error500') {
        onEvent('ERROR', { kind: 'Status', code: 500, message: 'etcd is unhappy' } as never);
        onDone(null);
      } else if (answer === 'fail') {
        onDone(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
      } else if (answer === 'close') {
        onDone(null);
      } else {
        for (const e of this.log) if (e.rv > Number(fromVersion)) onEvent(e.type, e.object);
        this.open.push(w);
      }
      return {
        abort: () => {
          w.aborted = true;
          const i = this.open.indexOf(w);
          if (i >= 0) this.open.splice(i, 1);
        },
      };
    },
  };
}

/** Polls until `check` holds; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
