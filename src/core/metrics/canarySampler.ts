import type { MetricSample, TrackSample } from '../../protocol/rollout';
import { errorRateQuery, p99LatencyMsQuery, requestRateQuery, type QueryTarget, type Track } from './canaryQueries';
import type { MetricsSource } from './prometheus';

const KEEP = 120;

/** Samples requests/s, error rate and p99 of canary and stable for the panel's charts, keeping the last few minutes. */
export class CanarySampler {
  private readonly series = new Map<string, MetricSample[]>();

  constructor(private readonly source: MetricsSource) {}

  private async track(t: QueryTarget, track: Track, signal?: AbortSignal): Promise<TrackSample> {
    const safe = (q: string) => this.source.scalar(q, signal).catch(() => undefined);
    const [rps, errorRate, p99Ms] = await Promise.all([safe(requestRateQuery(t, track)), safe(errorRateQuery(t, track)), safe(p99LatencyMsQuery(t, track))]);
    return { rps, errorRate, p99Ms };
  }

  /** Takes one sample for a workload and returns its whole series. */
  async sample(key: string, target: QueryTarget, now: Date, signal?: AbortSignal): Promise<MetricSample[]> {
    const [canary, stable] = await Promise.all([this.track(target, 'canary', signal), this.track(target, 'stable', signal)]);
    const list = this.series.get(key) ?? [];
    list.push({ t: Math.floor(now.getTime() / 1000), canary, stable });
    if (list.length > KEEP) list.splice(0, list.length - KEEP);
    this.series.set(key, list);
    return list;
  }

  all(): Record<string, MetricSample[]> {
    return Object.fromEntries(this.series);
  }

  forget(key: string): void {
    this.series.delete(key);
  }
}
