import type { CanaryConfig, Threshold } from '../config/types';
import { isCancellation, SandpiperError } from '../errors';
import type { MetricsSource } from '../infra/prometheus';
import {
  customQuery,
  errorRateQuery,
  hasRequestSeries,
  p99LatencyMsQuery,
  presenceQuery,
  requestRateQuery,
  successRateQuery,
  type QueryTarget,
  type Track,
} from './queries';

export * from './queries';

/** no-data: the canary has no series (never a pass); unavailable: Prometheus could not be asked (no judgement). */
export type MetricVerdict = 'pass' | 'fail' | 'no-data' | 'unavailable';

export interface MetricResult {
  name: string;
  query: string;
  canary?: number;
  stable?: number;
  threshold: string;
  verdict: MetricVerdict;
}

export interface AnalysisResult {
  /** pass only when every metric passed; no-data is never a pass. */
  verdict: MetricVerdict;
  metrics: MetricResult[];
  at: string;
  summary: string;
}

export function meets(value: number, t: Threshold): boolean {
  switch (t.op) {
    case '>=':
      return value >= t.value;
    case '<=':
      return value <= t.value;
    case '>':
      return value > t.value;
    case '<':
      return value < t.value;
  }
}

export function formatThreshold(t: Threshold): string {
  return `${t.op} ${t.value}`;
}

/** The verdict of one metric: missing canary data is its own verdict, and it fails the analysis like a bad value. */
export function judge(canary: number | undefined, t: Threshold): MetricVerdict {
  if (canary === undefined || Number.isNaN(canary)) return 'no-data';
  return meets(canary, t) ? 'pass' : 'fail';
}

/** Unavailable outweighs everything: with Prometheus unreachable nothing is judged, neither promoted nor failed. */
export function combine(results: MetricResult[]): MetricVerdict {
  if (results.length === 0) return 'no-data';
  if (results.some((r) => r.verdict === 'unavailable')) return 'unavailable';
  if (results.some((r) => r.verdict === 'fail')) return 'fail';
  if (results.some((r) => r.verdict === 'no-data')) return 'no-data';
  return 'pass';
}

interface Check {
  name: string;
  threshold: Threshold;
  query: (track: 'canary' | 'stable') => string;
}

/** Default success-rate check when the config names none: the canary must not serve errors the stable does not. */
const DEFAULT_SUCCESS: Threshold = { op: '>=', value: 0.99 };

function checksOf(analysis: CanaryConfig['analysis'], target: QueryTarget): Check[] {
  const checks: Check[] = [];
  // promql reads only the custom queries: with no request series there is no built-in check.
  if (hasRequestSeries(target))
    checks.push({
      name: 'success rate',
      threshold: analysis.successRate ?? DEFAULT_SUCCESS,
      query: (track) => successRateQuery(target, track),
    });
  if (analysis.p99LatencyMs && hasRequestSeries(target))
    checks.push({
      name: 'p99 latency (ms)',
      threshold: analysis.p99LatencyMs,
      query: (track) => p99LatencyMsQuery(target, track),
    });
  for (const q of analysis.queries)
    checks.push({ name: q.name, threshold: q.threshold, query: (track) => customQuery(q.query, target, track) });
  return checks;
}

/** Prometheus did not answer at all (down, 5xx, timeout), as opposed to answering without data. */
export function isUnavailable(err: unknown): err is SandpiperError {
  return err instanceof SandpiperError && err.code === 'metrics-unreachable';
}

/**
 * Asks Prometheus for every check, canary beside stable, and judges the canary against the thresholds.
 * The metrics source is the target's: the app's series, the Gateway's, or (promql) only the custom queries.
 */
export async function analyseCanary(
  source: MetricsSource,
  analysis: CanaryConfig['analysis'],
  target: QueryTarget,
  now: Date,
  signal?: AbortSignal,
): Promise<AnalysisResult> {
  const at = now.toISOString();
  const metrics: MetricResult[] = [];
  // Vanished canary metrics must read as no data at once, not as the last window's good numbers.
  const presence = presenceQuery(target, 'canary');
  if (presence) {
    let unavailable: SandpiperError | undefined;
    const present = await source.scalar(presence, signal).catch((err) => {
      if (isCancellation(err)) throw err;
      if (isUnavailable(err)) unavailable = err;
      return undefined;
    });
    if (unavailable) {
      metrics.push({ name: 'canary reporting', query: presence, threshold: '> 0 series', verdict: 'unavailable' });
      return { verdict: 'unavailable', metrics, at, summary: unavailable.message };
    }
    if (!present) {
      metrics.push({ name: 'canary reporting', query: presence, threshold: '> 0 series', verdict: 'no-data' });
      return { verdict: 'no-data', metrics, at, summary: 'the canary reports no request metrics' };
    }
  }
  let unavailable: SandpiperError | undefined;
  for (const check of checksOf(analysis, target)) {
    const query = check.query('canary');
    let canary: number | undefined;
    let stable: number | undefined;
    let verdict: MetricVerdict;
    try {
      [canary, stable] = await Promise.all([
        source.scalar(query, signal),
        source.scalar(check.query('stable'), signal),
      ]);
      verdict = judge(canary, check.threshold);
    } catch (err) {
      // A query that cannot be answered gives no data, which rolls back: it never promotes. An unreachable
      // Prometheus is not the canary's fault: that is unavailable, which holds the canary instead.
      if (isCancellation(err)) throw err;
      if (isUnavailable(err)) unavailable ??= err;
      canary = undefined;
      verdict = isUnavailable(err) ? 'unavailable' : 'no-data';
    }
    metrics.push({ name: check.name, query, canary, stable, threshold: formatThreshold(check.threshold), verdict });
  }
  const verdict = combine(metrics);
  if (unavailable) return { verdict, metrics, at, summary: unavailable.message };
  const summary = metrics
    .map((m) => `${m.name} ${m.canary === undefined ? 'no data' : round(m.canary)} (${m.threshold}): ${m.verdict}`)
    .join('; ');
  return { verdict, metrics, at, summary: summary || 'no checks to run' };
}

function round(n: number): string {
  return String(Math.round(n * 10000) / 10000);
}

const KEEP = 120;

/** One track's figures at one moment; undefined values are gaps (no data). */
export interface TrackSample {
  rps?: number;
  errorRate?: number;
  p99Ms?: number;
}

/** One sample of canary versus stable, as the panel charts it. */
export interface MetricSample {
  t: number; // unix seconds
  canary: TrackSample;
  stable: TrackSample;
}

/** Samples requests/s, error rate and p99 of canary and stable for the panel's charts, keeping the last few minutes. */
export class CanarySampler {
  private readonly series = new Map<string, MetricSample[]>();

  constructor(private readonly source: MetricsSource) {}

  private async track(t: QueryTarget, track: Track, signal?: AbortSignal): Promise<TrackSample> {
    // promql names no request series: nothing to chart.
    if (!hasRequestSeries(t)) return {};
    const safe = (q: string) => this.source.scalar(q, signal).catch(() => undefined);
    const [rps, errorRate, p99Ms] = await Promise.all([
      safe(requestRateQuery(t, track)),
      safe(errorRateQuery(t, track)),
      safe(p99LatencyMsQuery(t, track)),
    ]);
    return { rps, errorRate, p99Ms };
  }

  /** Takes one sample for a workload (from the target's source) and returns its whole series. */
  async sample(key: string, target: QueryTarget, now: Date, signal?: AbortSignal): Promise<MetricSample[]> {
    const [canary, stable] = await Promise.all([
      this.track(target, 'canary', signal),
      this.track(target, 'stable', signal),
    ]);
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
