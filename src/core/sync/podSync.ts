import { EventEmitter } from 'node:events';
import type { SyncConfig } from '../config/types';
import { SandpiperError } from '../errors';
import type { Kube } from '../kube/client';
import type { ArchiveFile } from './syncArchive';
import { applyBatchToPod, differingFiles, readLocalFiles, remoteHashes, type Batch, type PodRef } from './podTransfer';
import type { FileSyncState, PendingChange } from './syncEngine';
import type { SyncPathMapper } from './syncPaths';

interface PodSyncEvents {
  file: [change: PendingChange, state: FileSyncState, detail?: string];
  /** A batch reached the pod and the reload ran; oldestAt is the earliest save it carried. */
  applied: [oldestAt: number | undefined, fileCount: number];
  failed: [err: unknown, attempt: number, retryInMs: number];
  log: [line: string];
  /** Nothing owed any more (or given up): the status can say so. */
  idle: [];
}

const MAX_BACKOFF_MS = 10_000;

/**
 * What one pod owes: changes not yet applied there, and whether it needs a full sync. One exec at a time per
 * pod; changes that arrive meanwhile are coalesced into the next batch. A failed batch stays owed and is
 * retried with backoff until it lands or the pod goes away (a replacement pod gets a full sync instead).
 */
export class PodSync extends EventEmitter<PodSyncEvents> {
  private readonly owed = new Map<string, PendingChange>();
  private needsFull = false;
  private reloadOwed = false;
  private stopped = false;
  private readonly abort = new AbortController();
  busy = false;
  failing = false;

  constructor(
    private readonly kube: Kube,
    readonly pod: PodRef,
    private readonly sync: SyncConfig,
    private readonly mapper: SyncPathMapper,
    parent: AbortSignal,
    /** Tries before giving up (the changes stay owed); the CLI's --once gives up, a live session never does. */
    private readonly maxAttempts = Infinity,
  ) {
    super();
    parent.addEventListener('abort', () => this.stop(), { once: true });
  }

  enqueue(changes: PendingChange[]): void {
    for (const c of changes) {
      const cur = this.owed.get(c.remote);
      if (!cur || cur.version < c.version) this.owed.set(c.remote, cur ? { ...c, at: Math.min(cur.at, c.at) } : c);
    }
    void this.pump();
  }

  /** reload: run the reload even when nothing differs (an earlier sync may have been cut off between files and reload). */
  requestFullSync(reload = false): void {
    this.needsFull = true;
    this.reloadOwed ||= reload;
    void this.pump();
  }

  owes(remote: string): boolean {
    return this.owed.has(remote);
  }

  owedPaths(): string[] {
    return [...this.owed.keys()];
  }

  private async pump(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    let attempt = 0;
    try {
      while (!this.stopped && (this.needsFull || this.owed.size)) {
        const full = this.needsFull;
        this.needsFull = false;
        const snapshot = [...this.owed.values()];
        try {
          const batch = await this.buildBatch(snapshot, full);
          if (batch.files.length || batch.deletions.length || this.reloadOwed) {
            this.reloadOwed = false;
            await applyBatchToPod(this.kube, this.pod, batch, { target: this.sync.target, reload: this.sync.reload, signal: this.abort.signal });
          }
          for (const c of snapshot) {
            if (this.owed.get(c.remote)?.version === c.version) this.owed.delete(c.remote);
            this.emit('file', c, 'synced');
          }
          if (full) this.emit('log', `full sync sent ${batch.files.length} file(s), ${batch.deletions.length} deletion(s)`);
          attempt = 0;
          this.failing = false;
          this.emit('applied', snapshot.length ? Math.min(...snapshot.map((c) => c.at)) : undefined, batch.files.length + batch.deletions.length);
        } catch (err) {
          if (this.stopped) return;
          if (err instanceof SandpiperError && err.code === 'sync-path-refused') {
            // Refused for its path: sending it again would be refused again. Reported, not retried.
            for (const c of snapshot) {
              this.owed.delete(c.remote);
              this.emit('file', c, 'failed', err.message);
            }
            this.emit('failed', err, attempt + 1, 0);
            continue;
          }
          if (full) this.needsFull = true;
          // A failed exec may have placed the files without reloading: the retry reloads whatever it finds.
          this.reloadOwed = true;
          this.failing = true;
          attempt++;
          const delay = Math.min(250 * 2 ** (attempt - 1), MAX_BACKOFF_MS);
          for (const c of snapshot) this.emit('file', c, 'failed', (err as Error).message);
          if (attempt >= this.maxAttempts) {
            this.emit('failed', err, attempt, -1);
            return;
          }
          this.emit('failed', err, attempt, delay);
          await sleep(delay, this.abort.signal);
        }
      }
    } finally {
      this.busy = false;
      if (!this.stopped) this.emit('idle');
    }
  }

  private async buildBatch(snapshot: PendingChange[], full: boolean): Promise<Batch> {
    const deletions = new Set<string>();
    const toRead = [];
    for (const c of snapshot) {
      if (c.kind === 'delete') deletions.add(c.remote);
      else toRead.push({ local: c.local, remote: c.remote });
    }
    const { files, missing } = await readLocalFiles(toRead);
    for (const m of missing) deletions.add(m.remote);
    const byPath = new Map<string, ArchiveFile>(files.map((f) => [f.path, f]));
    if (full) {
      const remote = await remoteHashes(this.kube, this.pod, this.sync.target, this.abort.signal);
      const local = this.mapper.listLocalFiles().filter((p) => !byPath.has(p.remote) && !deletions.has(p.remote));
      for (const f of await differingFiles(local, remote)) byPath.set(f.path, f);
    }
    return { files: [...byPath.values()], deletions: [...deletions] };
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
