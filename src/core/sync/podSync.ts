import { EventEmitter } from 'node:events';
import type { SyncConfig, ReloadAction } from '../config/types';
import { SandpiperError, sleep } from '../errors';
import type { Kube } from '../infra/kube/client';
import { type ArchiveFile, buildSyncArchive, carryProblem, printablePath } from '../infra/tar';
import type { FileSyncState, PendingChange } from './syncEngine';
import type { SyncPathMapper, MappedPath } from './syncPaths';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { execInPod } from '../infra/kube/exec';
import {
  EXIT_REFUSED,
  EXIT_RELOAD_FAILED,
  type Refusal,
  applyCommand,
  hashCommand,
  parseRefusals,
  scriptFailure,
  scriptSaid,
} from './containerScript';

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
 * A file the sync cannot carry (its name) or the container refuses (a link on its way) is reported and dropped,
 * the rest of its batch lands. A container without the tools the sync needs fails once, for good.
 */
export class PodSync extends EventEmitter<PodSyncEvents> {
  private readonly owed = new Map<string, PendingChange>();
  private needsFull = false;
  private reloadOwed = false;
  private stopped = false;
  private readonly abort = new AbortController();
  busy = false;
  failing = false;
  /** Set when retrying cannot help (the container has no shell or tools): nothing more is sent to this pod. */
  private fatal?: SandpiperError;

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
    if (this.fatal) {
      for (const c of changes) this.emit('file', c, 'failed', this.fatal.message);
      return;
    }
    for (const c of changes) {
      const cur = this.owed.get(c.remote);
      if (!cur || cur.version < c.version) this.owed.set(c.remote, cur ? { ...c, at: Math.min(cur.at, c.at) } : c);
    }
    void this.pump();
  }

  /** reload: run the reload even when nothing differs (an earlier sync may have been cut off between files and reload). */
  requestFullSync(reload = false): void {
    if (this.fatal) return;
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
          let refused: Refusal[] = [];
          if (batch.files.length || batch.deletions.length || this.reloadOwed) {
            this.reloadOwed = false;
            ({ refused } = await applyBatchToPod(this.kube, this.pod, batch, {
              target: this.sync.target,
              reload: this.sync.reload,
              signal: this.abort.signal,
            }));
          }
          const notSynced = new Map(batch.skipped.map((k) => [k.remote, k.reason]));
          for (const r of refused) notSynced.set(r.path, `the container refused it: ${r.reason}`);
          for (const c of snapshot) {
            if (this.owed.get(c.remote)?.version === c.version) this.owed.delete(c.remote);
            const why = notSynced.get(c.remote);
            this.emit('file', c, why ? 'failed' : 'synced', why && `not synced: ${why}`);
            notSynced.delete(c.remote);
          }
          // Files a full sync found that were not asked for by a change: reported all the same.
          for (const [remote, why] of notSynced) {
            const local = batch.locals.get(remote);
            this.emit('log', `not synced "${printablePath(remote)}": ${why}`);
            if (local)
              this.emit(
                'file',
                { local, remote, kind: 'change', at: Date.now(), version: 0 },
                'failed',
                `not synced: ${why}`,
              );
          }
          if (full)
            this.emit('log', `full sync sent ${batch.files.length} file(s), ${batch.deletions.length} deletion(s)`);
          attempt = 0;
          this.failing = false;
          this.emit(
            'applied',
            snapshot.length ? Math.min(...snapshot.map((c) => c.at)) : undefined,
            batch.files.length + batch.deletions.length,
          );
        } catch (err) {
          if (this.stopped) return;
          if (err instanceof SandpiperError && err.code === 'sync-path-refused') {
            // Refused for its path: sending it again would be refused again. Reported, not retried.
            for (const c of snapshot) {
              this.owed.delete(c.remote);
              this.emit('file', c, 'failed', err.message);
            }
            this.emit('failed', err, attempt + 1, -1);
            continue;
          }
          if (err instanceof SandpiperError && err.code === 'sync-tools-missing') {
            // The image lacks a shell or tools: every try would fail the same way until the pod is replaced.
            this.fatal = err;
            this.failing = true;
            for (const c of snapshot) {
              this.owed.delete(c.remote);
              this.emit('file', c, 'failed', err.message);
            }
            this.owed.clear();
            this.emit('failed', err, attempt + 1, -1);
            return;
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
    const skipped: Batch['skipped'] = [];
    const locals = new Map<string, string>();
    const toRead = [];
    for (const c of snapshot) {
      const problem = carryProblem(c.remote);
      if (problem) skipped.push({ remote: c.remote, reason: problem });
      else if (c.kind === 'delete') deletions.add(c.remote);
      else toRead.push({ local: c.local, remote: c.remote });
    }
    const { files, missing } = await readLocalFiles(toRead);
    for (const m of missing) deletions.add(m.remote);
    const byPath = new Map<string, ArchiveFile>(files.map((f) => [f.path, f]));
    if (full) {
      const remote = await remoteHashes(this.kube, this.pod, this.sync.target, this.abort.signal);
      const local = [];
      const asked = new Set(snapshot.map((c) => c.remote));
      for (const p of this.mapper.listLocalFiles()) {
        if (byPath.has(p.remote) || deletions.has(p.remote) || asked.has(p.remote)) continue;
        const problem = carryProblem(p.remote);
        if (problem) skipped.push({ remote: p.remote, reason: problem });
        else local.push(p);
        locals.set(p.remote, p.local);
      }
      for (const f of await differingFiles(local, remote)) byPath.set(f.path, f);
    }
    return { files: [...byPath.values()], deletions: [...deletions], skipped, locals };
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
  }
}

export interface PodRef {
  namespace: string;
  name: string;
  container: string;
}

export interface Batch {
  files: ArchiveFile[];
  deletions: string[];
  /** Files left out because their names cannot be carried (reported, never sent). */
  skipped: Array<{ remote: string; reason: string }>;
  /** Local file of each path a full sync listed (to report a refusal against it). */
  locals: Map<string, string>;
}

export interface TransferOptions {
  target: string;
  reload: ReloadAction;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * Sends one batch to one pod in one exec: extract, rename into place, delete, reload. Resolves with the files the
 * container refused one by one (the rest landed); throws when the batch as a whole failed.
 */
export async function applyBatchToPod(
  kube: Kube,
  pod: PodRef,
  batch: Pick<Batch, 'files' | 'deletions'>,
  opts: TransferOptions,
): Promise<{ refused: Refusal[] }> {
  const archive = await buildSyncArchive(batch.files, batch.deletions);
  const result = await execInPod(kube, {
    namespace: pod.namespace,
    pod: pod.name,
    container: pod.container,
    command: applyCommand(opts.target, archive.length, opts.reload),
    stdin: archive,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? 120_000,
  });
  const refused = parseRefusals(result.stderr);
  if (result.exitCode === 0) return { refused };
  if (result.exitCode === EXIT_REFUSED) {
    const named = refused.map((r) => `"${printablePath(r.path)}" (${r.reason})`).join(', ');
    throw new SandpiperError(
      'sync-path-refused',
      `Pod ${pod.name} refused the batch: ${scriptSaid(result)}${named ? `: ${named}` : ''}`,
      'Sync only files inside the sync paths.',
    );
  }
  if (result.exitCode === EXIT_RELOAD_FAILED)
    throw new SandpiperError(
      'sync-reload-failed',
      `The files reached pod ${pod.name}, but the reload failed: ${scriptSaid(result)}`,
      'Check sync.reload in sandpiper.yaml.',
    );
  throw scriptFailure(result, pod.name, pod.container, 'Sync into pod');
}

/** md5 of every file under the target in the container, by target-relative path. */
export async function remoteHashes(
  kube: Kube,
  pod: PodRef,
  target: string,
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  const result = await execInPod(kube, {
    namespace: pod.namespace,
    pod: pod.name,
    container: pod.container,
    command: hashCommand(target),
    signal,
    timeoutMs: 120_000,
  });
  if (result.exitCode !== 0) throw scriptFailure(result, pod.name, pod.container, 'Listing the files in pod');
  return parseHashList(result.stdout);
}

export function parseHashList(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{32})\s+\*?\.\/(.+)$/.exec(line);
    if (m) map.set(m[2], m[1]);
  }
  return map;
}

export function md5(content: Buffer): string {
  return createHash('md5').update(content).digest('hex');
}

/** Reads local files into archive entries; a file that vanished since the event is dropped here (its delete event follows). */
export async function readLocalFiles(paths: MappedPath[]): Promise<{ files: ArchiveFile[]; missing: MappedPath[] }> {
  const files: ArchiveFile[] = [];
  const missing: MappedPath[] = [];
  // In slices, so a 10,000-file initial sync does not run out of file handles.
  for (let i = 0; i < paths.length; i += 128) {
    await Promise.all(
      paths.slice(i, i + 128).map(async (p) => {
        try {
          const [content, st] = await Promise.all([fs.readFile(p.local), fs.stat(p.local)]);
          files.push({ path: p.remote, content, mode: st.mode & 0o777, mtime: st.mtime });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EISDIR')
            missing.push(p);
          else throw err;
        }
      }),
    );
  }
  return { files, missing };
}

/** The files whose content differs from the container's (by md5), for an initial or repeated full sync. */
export async function differingFiles(local: MappedPath[], remote: Map<string, string>): Promise<ArchiveFile[]> {
  const { files } = await readLocalFiles(local);
  return files.filter((f) => remote.get(f.path) !== md5(f.content));
}
