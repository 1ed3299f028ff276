import type { Kube } from '../infra/kube/client';
import { CanarySampler } from '../canary/analysis';
import type { MetricsSource } from '../infra/prometheus';
import type { HostMessage, MetricSample } from '../../protocol/rollout';
import { RolloutModel, type WorkloadSummary, type WatchEvent, type WatchedObject } from './model';
import { ARGO, hasArgoRollouts } from './actions';
import { ResourceWatch, type ListResult } from '../infra/kube/watch';

export interface FeedOptions {
  kube: Kube;
  namespace: string;
  metrics?: MetricsSource;
  /** Where the panel's messages go. */
  post: (message: HostMessage) => void;
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
 * The panel's data for one namespace: watches → model → batched `workloads` messages, and a metrics sample
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
    this.batcher = new UpdateBatcher(() => this.o.post({ type: 'workloads', workloads: this.model.summaries() }), o.batchMs ?? 100);
    this.sampler = o.metrics ? new CanarySampler(o.metrics) : undefined;
  }

  async start(): Promise<void> {
    const w = await watchNamespace(this.o.kube, this.o.namespace, this.model, { onChange: (keys) => this.batcher.add(keys), onError: this.o.onError, resyncMs: this.o.resyncMs });
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
        const samples = await this.sampler.sample(key, { namespace: w.namespace, service: w.name, window: '10s' }, new Date(), this.abort.signal);
        this.o.post({ type: 'metrics', key, samples: samples.slice(-1) });
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
 * 500 pod events becomes one message to the webview, and the first change after a quiet spell goes out at once.
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

export interface NamespaceWatchOptions {
  resyncMs?: number;
  onChange: (keys: Set<string>) => void;
  onError?: (err: unknown) => void;
}

function listed(list: { items: unknown[]; metadata?: { resourceVersion?: string } }): ListResult {
  return { items: list.items as WatchedObject[], resourceVersion: list.metadata?.resourceVersion ?? '' };
}

/** Watches Deployments, ReplicaSets, Pods and, when the CRDs exist, Argo Rollouts and AnalysisRuns of one namespace into a model. */
export async function watchNamespace(kube: Kube, namespace: string, model: RolloutModel, o: NamespaceWatchOptions): Promise<{ dispose(): void; watches: ResourceWatch[] }> {
  const onEvents = (events: WatchEvent[]) => {
    const keys = new Set<string>();
    for (const e of events) for (const k of model.apply(e)) keys.add(k);
    if (keys.size) o.onChange(keys);
  };
  const common = { onEvents, onError: o.onError, resyncMs: o.resyncMs ?? 300_000 };
  const watches = [
    new ResourceWatch(kube.config, { ...common, kind: 'Deployment', path: `/apis/apps/v1/namespaces/${namespace}/deployments`, list: async () => listed(await kube.apps.listNamespacedDeployment({ namespace })) }),
    new ResourceWatch(kube.config, { ...common, kind: 'ReplicaSet', path: `/apis/apps/v1/namespaces/${namespace}/replicasets`, list: async () => listed(await kube.apps.listNamespacedReplicaSet({ namespace })) }),
    new ResourceWatch(kube.config, { ...common, kind: 'Pod', path: `/api/v1/namespaces/${namespace}/pods`, list: async () => listed(await kube.core.listNamespacedPod({ namespace })) }),
  ];
  if (await hasArgoRollouts(kube, namespace).catch(() => false)) {
    const custom = (plural: string) => async () => listed((await kube.custom.listNamespacedCustomObject({ group: ARGO.group, version: ARGO.version, namespace, plural })) as { items: unknown[] });
    watches.push(
      new ResourceWatch(kube.config, { ...common, kind: 'Rollout', path: `/apis/${ARGO.group}/${ARGO.version}/namespaces/${namespace}/${ARGO.rollouts}`, list: custom(ARGO.rollouts) }),
      new ResourceWatch(kube.config, { ...common, kind: 'AnalysisRun', path: `/apis/${ARGO.group}/${ARGO.version}/namespaces/${namespace}/${ARGO.analysisRuns}`, list: custom(ARGO.analysisRuns) }),
    );
  }
  const started = await Promise.allSettled(watches.map((w) => w.start()));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    for (const w of watches) w.stop();
    throw (failed as PromiseRejectedResult).reason;
  }
  return { watches, dispose: () => watches.forEach((w) => w.stop()) };
}
