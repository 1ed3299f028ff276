import type { Kube } from '../infra/kube/client';
import { CanarySampler, analysisTarget, type MetricSample } from '../canary/analysis';
import type { MetricsSource } from '../infra/prometheus';
import { RolloutModel, watchNamespace, type WorkloadSummary } from './model';

/** What the feed reports: every workload after a batch of changes, or a new chart sample of one live canary. */
export type FeedEvent =
  { kind: 'workloads'; workloads: WorkloadSummary[] } | { kind: 'metrics'; key: string; samples: MetricSample[] };

export interface FeedOptions {
  kube: Kube;
  namespace: string;
  metrics?: MetricsSource;
  /** Where the feed's events go (the panel turns them into its webview's messages). */
  onEvent: (event: FeedEvent) => void;
  onError?: (err: unknown) => void;
  batchMs?: number;
  sampleMs?: number;
  resyncMs?: number;
}

const LIVE = new Set(['progressing', 'paused', 'promoting', 'aborting', 'Progressing', 'Paused', 'Degraded']);

/** A canary worth charting: one in flight (finished ones keep their last chart but stop sampling). */
export function isLiveCanary(w: WorkloadSummary): boolean {
  return !!w.canary && LIVE.has(w.canary.status);
}

/**
 * The panel's data for one namespace: watches → model → batched `workloads` events, and a metrics sample
 * of every live canary every few seconds. Everything the webview needs for a full push is here.
 */
export class RolloutFeed {
  readonly model = new RolloutModel();
  private readonly batcher: UpdateBatcher;
  private readonly sampler?: CanarySampler;
  private stopWatch?: () => void;
  private sampleTimer?: NodeJS.Timeout;
  private sampling = false;
  private readonly abort = new AbortController();

  constructor(private readonly o: FeedOptions) {
    const flush = () => this.o.onEvent({ kind: 'workloads', workloads: this.model.summaries() });
    this.batcher = new UpdateBatcher(flush, o.batchMs ?? 100);
    this.sampler = o.metrics ? new CanarySampler(o.metrics) : undefined;
  }

  async start(): Promise<void> {
    const w = await watchNamespace(this.o.kube, this.o.namespace, this.model, {
      onChange: (keys) => this.batcher.add(keys),
      onError: this.o.onError,
      resyncMs: this.o.resyncMs,
    });
    this.stopWatch = w.dispose;
    if (this.sampler) {
      this.sampleTimer = setInterval(() => void this.sample(), this.o.sampleMs ?? 2000);
      this.sampleTimer.unref?.();
    }
  }

  workloads(): WorkloadSummary[] {
    return this.model.summaries();
  }

  metrics(): Record<string, MetricSample[]> {
    return this.sampler?.all() ?? {};
  }

  private async sample(): Promise<void> {
    if (this.sampling || !this.sampler) return;
    this.sampling = true;
    try {
      for (const w of this.model.summaries().filter(isLiveCanary)) {
        const key = `${w.namespace}/${w.name}`;
        const spec = w.kind === 'Deployment' ? this.model.canaryState(key)?.spec : undefined;
        const samples = await this.sampler.sample(
          key,
          // The canary's own spec says where its metrics are (the app's series or the Gateway's).
          spec ? analysisTarget(w.namespace, spec) : { namespace: w.namespace, service: w.name, window: '10s' },
          new Date(),
          this.abort.signal,
        );
        this.o.onEvent({ kind: 'metrics', key, samples: samples.slice(-1) });
      }
    } catch (err) {
      this.o.onError?.(err);
    } finally {
      this.sampling = false;
    }
  }

  dispose(): void {
    this.abort.abort();
    clearInterval(this.sampleTimer);
    this.batcher.dispose();
    this.stopWatch?.();
  }
}

/**
 * Coalesces changed workload keys and flushes them at most every `intervalMs` (≤ 10/s by default): a burst of
 * 500 pod events becomes one update of the panel, and the first change after a quiet spell goes out at once.
 */
export class UpdateBatcher {
  private pending = new Set<string>();
  private timer?: NodeJS.Timeout;
  private lastFlush = 0;

  constructor(
    private readonly flush: (keys: Set<string>) => void,
    private readonly intervalMs = 100,
    private readonly now: () => number = Date.now,
  ) {}

  add(keys: Iterable<string>): void {
    for (const k of keys) this.pending.add(k);
    if (this.timer || this.pending.size === 0) return;
    const wait = Math.max(0, this.lastFlush + this.intervalMs - this.now());
    if (wait === 0) {
      // Flush on the next turn, so the events of one watch chunk go out together.
      this.timer = setTimeout(() => this.fire(), 0);
    } else {
      this.timer = setTimeout(() => this.fire(), wait);
    }
  }

  private fire(): void {
    this.timer = undefined;
    if (!this.pending.size) return;
    const keys = this.pending;
    this.pending = new Set();
    this.lastFlush = this.now();
    this.flush(keys);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.pending.clear();
  }
}
