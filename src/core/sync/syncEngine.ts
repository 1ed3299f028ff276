import { EventEmitter } from 'node:events';
import type { ServiceConfig, SyncConfig } from '../config/types';
import { SandpiperError, presentError } from '../errors';
import type { Kube } from '../infra/kube/client';
import { PodSync } from './podSync';
import { PodTracker, type ReadyPod } from './podTracker';
import { RebuildTrigger } from './redeploy';
import { findServiceWorkload, type ServiceWorkload } from './syncSession';
import { SyncPathMapper } from './syncPaths';

/** How long the first change after a quiet period waits for its siblings (editors save several files within a few ms). */
const LEADING_GATHER_MS = 8;

export type FileSyncState = 'pending' | 'synced' | 'failed' | 'excluded';
export type ChangeKind = 'change' | 'delete';

export interface FileChange {
  local: string;
  kind: ChangeKind;
  /** When the user saved (ms since epoch); the latency is counted from here. */
  at?: number;
}

export interface SyncStatus {
  state: 'starting' | 'idle' | 'syncing' | 'paused' | 'rebuilding' | 'error';
  /** Files in flight or waiting. */
  files: number;
  pods: number;
  lastLatencyMs?: number;
  error?: string;
}

interface SyncEngineEvents {
  status: [status: SyncStatus];
  file: [local: string, remote: string | undefined, state: FileSyncState, detail?: string];
  /** A change the sync cannot carry: the owner rebuilds the image and rolls the Deployment out. */
  rebuild: [local: string];
  log: [line: string];
}

export interface SyncEngineOptions {
  kube: Kube;
  namespace: string;
  configRoot: string;
  service: ServiceConfig;
  /** Tries per batch before a pod gives up (default: never). */
  maxAttempts?: number;
}

/** A pending change, with the time of its first save not yet carried. */
export interface PendingChange {
  local: string;
  remote: string;
  kind: ChangeKind;
  at: number;
  version: number;
}

/**
 * Live sync of one service into every ready pod of its Deployment: debounces change events, filters and
 * maps them, hands each pod its batch (one exec per pod per batch), and gives new or restarted pods a full sync.
 */
export class SyncEngine extends EventEmitter<SyncEngineEvents> {
  readonly sync: SyncConfig;
  readonly mapper: SyncPathMapper;
  readonly rebuild: RebuildTrigger;
  private workload?: ServiceWorkload;
  private tracker?: PodTracker;
  private readonly pods = new Map<string, PodSync>();
  private readonly pending = new Map<string, PendingChange>();
  /** Pods whose sync was cut off mid-exec: their next full sync reloads even if every file is in place. */
  private readonly interrupted = new Set<string>();
  private timer?: NodeJS.Timeout;
  private lastChangeAt = 0;
  private version = 0;
  private paused = false;
  private holdForRebuild = false;
  private lastLatencyMs?: number;
  private lastError?: string;
  private readonly abort = new AbortController();

  constructor(private readonly opts: SyncEngineOptions) {
    super();
    if (!opts.service.sync)
      throw new SandpiperError(
        'sync-not-configured',
        `Service "${opts.service.name}" has no sync section.`,
        'Add sync: { paths, target } to the service in sandpiper.yaml.',
      );
    this.sync = opts.service.sync;
    this.mapper = new SyncPathMapper(opts.configRoot, this.sync);
    this.rebuild = new RebuildTrigger(opts.configRoot, opts.service);
  }

  /** Finds the Deployment, starts watching its pods; each ready pod gets a full sync. */
  async start(): Promise<ServiceWorkload> {
    this.emitStatus('starting');
    this.workload = await findServiceWorkload(this.opts.kube, this.opts.namespace, this.opts.service);
    this.tracker = new PodTracker(this.opts.kube, this.opts.namespace, this.workload.selector);
    this.tracker.on('ready', (pod) => this.podReady(pod));
    this.tracker.on('gone', (name) => this.podGone(name));
    this.tracker.on('error', (err) => this.emit('log', `pod watch: ${presentError(err).message}`));
    await this.tracker.start();
    this.emitStatus();
    return this.workload;
  }

  /** The Deployment synced into (found again if start() has not run). */
  async resolveWorkload(): Promise<ServiceWorkload> {
    return this.workload ?? findServiceWorkload(this.opts.kube, this.opts.namespace, this.opts.service);
  }

  /** Feeds one file event (from an editor save or a watcher). */
  notify(change: FileChange): void {
    const at = change.at ?? Date.now();
    const remote = this.mapper.toRemote(change.local);
    if (remote === undefined) {
      if (this.rebuild.matches(change.local)) this.emit('rebuild', change.local);
      return;
    }
    if (this.mapper.isExcluded(change.local)) {
      this.emit('file', change.local, remote, 'excluded');
      return;
    }
    const prev = this.pending.get(remote);
    this.pending.set(remote, {
      local: change.local,
      remote,
      kind: change.kind,
      at: prev?.at ?? at,
      version: ++this.version,
    });
    this.emit('file', change.local, remote, 'pending');
    this.schedule(at);
    this.emitStatus();
  }

  /**
   * Leading and trailing debounce: a change after a quiet period goes almost at once (a few ms gather a
   * multi-file save), so a single save does not wait the debounce; changes that follow within the debounce are
   * gathered until it passes with no new change. While a pod's exec is under way, its next batch coalesces anyway.
   */
  private schedule(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    const quiet = at - this.lastChangeAt > this.sync.debounceMs;
    this.lastChangeAt = at;
    this.timer = setTimeout(
      () => this.flush(),
      quiet ? Math.min(LEADING_GATHER_MS, this.sync.debounceMs) : this.sync.debounceMs,
    );
  }

  /** Hands the waiting changes to every ready pod (unless paused or a rebuild is under way). */
  flush(): void {
    this.timer = undefined;
    if (this.paused || this.holdForRebuild || !this.pending.size) return;
    const batch = [...this.pending.values()];
    this.pending.clear();
    if (!this.pods.size) {
      this.emit(
        'log',
        `no ready pod of ${this.workload?.deployment ?? this.opts.service.name}: ${batch.length} change(s) go with the next full sync`,
      );
      for (const c of batch) this.emit('file', c.local, c.remote, 'pending', 'waiting for a ready pod');
    }
    for (const pod of this.pods.values()) pod.enqueue(batch);
    this.emitStatus();
  }

  /** Sends every file again where it differs from the container. */
  resync(): void {
    for (const pod of this.pods.values()) pod.requestFullSync();
  }

  pause(): void {
    this.paused = true;
    this.emitStatus();
  }

  resume(): void {
    this.paused = false;
    this.flush();
    this.emitStatus();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Holds batches while the image is rebuilt and rolled out; new pods get a full sync when they are ready. */
  async duringRebuild<T>(work: () => Promise<T>): Promise<T> {
    this.holdForRebuild = true;
    this.emitStatus();
    try {
      return await work();
    } finally {
      this.holdForRebuild = false;
      this.flush();
      this.emitStatus();
    }
  }

  /** Resolves when no pod owes anything (for the CLI's --once and for tests). */
  async idle(): Promise<void> {
    while (this.timer || this.pending.size || [...this.pods.values()].some((p) => p.busy)) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  get status(): SyncStatus {
    const owed = new Set<string>(this.pending.keys());
    for (const p of this.pods.values()) for (const k of p.owedPaths()) owed.add(k);
    const busy = [...this.pods.values()].some((p) => p.busy);
    const failing = [...this.pods.values()].some((p) => p.failing);
    const state = this.paused
      ? 'paused'
      : this.holdForRebuild
        ? 'rebuilding'
        : failing
          ? 'error'
          : busy || owed.size
            ? 'syncing'
            : 'idle';
    return {
      state,
      files: owed.size,
      pods: this.pods.size,
      lastLatencyMs: this.lastLatencyMs,
      error: failing ? this.lastError : undefined,
    };
  }

  private podReady(pod: ReadyPod): void {
    if (!this.workload) return;
    const previous = this.pods.get(pod.name);
    previous?.stop();
    const ps = new PodSync(
      this.opts.kube,
      { namespace: this.opts.namespace, name: pod.name, container: this.workload.container },
      this.sync,
      this.mapper,
      this.abort.signal,
      this.opts.maxAttempts,
    );
    ps.on('file', (c, state, detail) => {
      // A file is synced once no pod owes it any more.
      if (state === 'synced' && [...this.pods.values()].some((p) => p !== ps && p.owes(c.remote))) return;
      this.emit('file', c.local, c.remote, state, detail);
    });
    ps.on('applied', (oldestAt) => {
      if (oldestAt !== undefined && ![...this.pods.values()].some((p) => p.busy && p !== ps))
        this.lastLatencyMs = Date.now() - oldestAt;
      this.lastError = undefined;
      this.emitStatus();
    });
    ps.on('failed', (err, attempt, retryInMs) => {
      this.lastError = presentError(err).message;
      this.emit(
        'log',
        `${pod.name}: ${this.lastError} (attempt ${attempt}${retryInMs >= 0 ? `, retrying in ${retryInMs} ms` : ', giving up'})`,
      );
      this.emitStatus();
    });
    ps.on('log', (line) => this.emit('log', `${pod.name}: ${line}`));
    ps.on('idle', () => this.emitStatus());
    this.pods.set(pod.name, ps);
    this.emit('log', `pod ${pod.name} is ready: full sync`);
    ps.requestFullSync(this.interrupted.delete(pod.name) || (previous?.busy ?? false));
    this.emitStatus();
  }

  private podGone(name: string): void {
    const ps = this.pods.get(name);
    if (ps) this.emit('log', `pod ${name} is no longer ready`);
    if (ps?.busy) this.interrupted.add(name);
    ps?.stop();
    this.pods.delete(name);
    this.emitStatus();
  }

  private emitStatus(state?: SyncStatus['state']): void {
    const s = this.status;
    this.emit('status', state ? { ...s, state } : s);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    this.tracker?.stop();
    for (const p of this.pods.values()) p.stop();
    this.pods.clear();
    this.removeAllListeners();
  }
}
