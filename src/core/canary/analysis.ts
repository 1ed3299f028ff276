import type { CanaryConfig, Threshold } from '../config/types';
import { isCancellation } from '../errors';
import type { MetricsSource } from '../infra/prometheus';

export type MetricVerdict = 'pass' | 'fail' | 'no-data';

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

export function combine(results: MetricResult[]): MetricVerdict {
  if (results.length === 0) return 'no-data';
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
  const checks: Check[] = [
    {
      name: 'success rate',
      threshold: analysis.successRate ?? DEFAULT_SUCCESS,
      query: (track) => successRateQuery(target, track),
    },
  ];
  if (analysis.p99LatencyMs)
    checks.push({
      name: 'p99 latency (ms)',
      threshold: analysis.p99LatencyMs,
      query: (track) => p99LatencyMsQuery(target, track),
    });
  for (const q of analysis.queries)
    checks.push({ name: q.name, threshold: q.threshold, query: (track) => customQuery(q.query, target, track) });
  return checks;
}

/** Asks Prometheus for every check, canary beside stable, and judges the canary against the thresholds. */
export async function analyseCanary(
  source: MetricsSource,
  analysis: CanaryConfig['analysis'],
  target: QueryTarget,
  now: Date,
  signal?: AbortSignal,
): Promise<AnalysisResult> {
  const metrics: MetricResult[] = [];
  // Vanished canary metrics must read as no data at once, not as the last window's good numbers.
  const presence = presenceQuery(target, 'canary');
  const present = await source.scalar(presence, signal).catch((err) => {
    if (isCancellation(err)) throw err;
    return undefined;
  });
  if (!present) {
    metrics.push({ name: 'canary reporting', query: presence, threshold: '> 0 series', verdict: 'no-data' });
    return { verdict: 'no-data', metrics, at: now.toISOString(), summary: 'the canary reports no request metrics' };
  }
  for (const check of checksOf(analysis, target)) {
    const query = check.query('canary');
    let canary: number | undefined;
    let stable: number | undefined;
    try {
      [canary, stable] = await Promise.all([
        source.scalar(query, signal),
        source.scalar(check.query('stable'), signal),
      ]);
    } catch (err) {
      // A query that cannot be answered gives no data, which rolls back: it never promotes.
      if (isCancellation(err)) throw err;
      canary = undefined;
    }
    metrics.push({
      name: check.name,
      query,
      canary,
      stable,
      threshold: formatThreshold(check.threshold),
      verdict: judge(canary, check.threshold),
    });
  }
  const verdict = combine(metrics);
  const summary = metrics
    .map((m) => `${m.name} ${m.canary === undefined ? 'no data' : round(m.canary)} (${m.threshold}): ${m.verdict}`)
    .join('; ');
  return { verdict, metrics, at: now.toISOString(), summary };
}

function round(n: number): string {
  return String(Math.round(n * 10000) / 10000);
}

/** PromQL comparing the canary's and the stable pods' requests; series carry `namespace`, `service` and `track` labels. */
export type Track = 'canary' | 'stable';

export interface QueryTarget {
  namespace: string;
  service: string;
  /** The rate window; a few scrape intervals. */
  window: string;
}

function selector(t: QueryTarget, track: Track, extra = ''): string {
  return `{namespace="${t.namespace}",service="${t.service}",track="${track}"${extra}}`;
}

/**
 * Whether the track reports right now: an instant vector, which drops a series at its staleness marker,
 * while a rate over a range keeps using the old samples for a whole window after the series vanished.
 */
export function presenceQuery(t: QueryTarget, track: Track): string {
  return `count(http_requests_total${selector(t, track)})`;
}

export function requestRateQuery(t: QueryTarget, track: Track): string {
  return `sum(rate(http_requests_total${selector(t, track)}[${t.window}]))`;
}

/** Errors over all requests; `or vector(0)` keeps "no errors" a 0, while "no requests" stays no data. */
export function errorRateQuery(t: QueryTarget, track: Track): string {
  return `(sum(rate(http_requests_total${selector(t, track, ',code=~"5.."')}[${t.window}])) or vector(0)) / ${requestRateQuery(t, track)}`;
}

export function successRateQuery(t: QueryTarget, track: Track): string {
  return `(sum(rate(http_requests_total${selector(t, track, ',code!~"5.."')}[${t.window}])) or vector(0)) / ${requestRateQuery(t, track)}`;
}

export function p99LatencyMsQuery(t: QueryTarget, track: Track): string {
  return `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket${selector(t, track)}[${t.window}]))) * 1000`;
}

/** A custom query from sandpiper.yaml with {{namespace}}, {{service}} and {{track}} filled in. */
export function customQuery(template: string, t: QueryTarget, track: Track): string {
  return template
    .replaceAll('{{namespace}}', t.namespace)
    .replaceAll('{{service}}', t.service)
    .replaceAll('{{track}}', track);
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
    const safe = (q: string) => this.source.scalar(q, signal).catch(() => undefined);
    const [rps, errorRate, p99Ms] = await Promise.all([
      safe(requestRateQuery(t, track)),
      safe(errorRateQuery(t, track)),
      safe(p99LatencyMsQuery(t, track)),
    ]);
    return { rps, errorRate, p99Ms };
  }

  /** Takes one sample for a workload and returns its whole series. */
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
