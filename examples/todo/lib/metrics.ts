// The request metrics Prometheus scrapes from /metrics. No namespace/service/track labels here: Prometheus adds
// them from the pod it scrapes, so the same image reports correctly as stable, canary or in any environment.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const labelNames = ['code', 'method', 'route'] as const;

const requests = new Counter({
  name: 'http_requests_total',
  help: 'HTTP requests served, by status code, method and route pattern.',
  labelNames,
  registers: [registry],
});

const duration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'Time to serve an HTTP request.',
  labelNames,
  // Fine below 100 ms (a healthy request) and up to 2.5 s (the canary's p99 limit lies in between).
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export function observeRequest(method: string, route: string, code: number, seconds: number): void {
  const labels = { code: String(code), method, route };
  requests.inc(labels);
  duration.observe(labels, seconds);
}

export async function metricsText(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
