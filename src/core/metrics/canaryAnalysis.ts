import type { CanaryConfig, Threshold } from '../config/types';
import { isCancellation } from '../errors';
import { customQuery, p99LatencyMsQuery, presenceQuery, successRateQuery, type QueryTarget } from './canaryQueries';
import type { MetricsSource } from './prometheus';

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
    case '>=': return value >= t.value;
    case '<=': return value <= t.value;
    case '>': return value > t.value;
    case '<': return value < t.value;
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
    { name: 'success rate', threshold: analysis.successRate ?? DEFAULT_SUCCESS, query: (track) => successRateQuery(target, track) },
  ];
  if (analysis.p99LatencyMs) checks.push({ name: 'p99 latency (ms)', threshold: analysis.p99LatencyMs, query: (track) => p99LatencyMsQuery(target, track) });
  for (const q of analysis.queries) checks.push({ name: q.name, threshold: q.threshold, query: (track) => customQuery(q.query, target, track) });
  return checks;
}

/** Asks Prometheus for every check, canary beside stable, and judges the canary against the thresholds. */
export async function analyseCanary(source: MetricsSource, analysis: CanaryConfig['analysis'], target: QueryTarget, now: Date, signal?: AbortSignal): Promise<AnalysisResult> {
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
      [canary, stable] = await Promise.all([source.scalar(query, signal), source.scalar(check.query('stable'), signal)]);
    } catch (err) {
      // A query that cannot be answered gives no data, which rolls back: it never promotes.
      if (isCancellation(err)) throw err;
      canary = undefined;
    }
    metrics.push({ name: check.name, query, canary, stable, threshold: formatThreshold(check.threshold), verdict: judge(canary, check.threshold) });
  }
  const verdict = combine(metrics);
  const summary = metrics.map((m) => `${m.name} ${m.canary === undefined ? 'no data' : round(m.canary)} (${m.threshold}): ${m.verdict}`).join('; ');
  return { verdict, metrics, at: now.toISOString(), summary };
}

function round(n: number): string {
  return String(Math.round(n * 10000) / 10000);
}
