// A real HTTP /metrics endpoint in the Prometheus text format, scraped by the testbed's Prometheus through a
// file_sd target: it serves request counters and a latency histogram per track, whose rates the test sets.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { addPrometheusTarget, loadTestbed, type Disposable } from './testbed';

export interface TrackBehaviour {
  rps: number;
  /** Share of requests answered 5xx, 0..1. */
  errorRate: number;
  latencyMs: number;
  /** false: the series disappear (the canary stops reporting). */
  present: boolean;
}

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface Counters {
  ok: number;
  err: number;
  buckets: number[];
  sum: number;
}

export class MetricsTarget {
  readonly tracks: Record<'canary' | 'stable', TrackBehaviour> = {
    canary: { rps: 50, errorRate: 0, latencyMs: 40, present: true },
    stable: { rps: 50, errorRate: 0, latencyMs: 40, present: true },
  };
  private readonly counters: Record<string, Counters> = {};
  private last = Date.now();
  private server?: http.Server;
  private target?: Disposable;

  constructor(
    readonly namespace: string,
    readonly service: string,
  ) {}

  /** Advances the counters by what the behaviours produced since the last scrape. */
  private advance(): void {
    const now = Date.now();
    const dt = (now - this.last) / 1000;
    this.last = now;
    for (const track of ['canary', 'stable'] as const) {
      const b = this.tracks[track];
      const c = (this.counters[track] ??= { ok: 0, err: 0, buckets: BUCKETS.map(() => 0), sum: 0 });
      if (!b.present) continue;
      const n = b.rps * dt;
      c.err += n * b.errorRate;
      c.ok += n * (1 - b.errorRate);
      const seconds = b.latencyMs / 1000;
      BUCKETS.forEach((le, i) => (c.buckets[i] += seconds <= le ? n : 0));
      c.sum += n * seconds;
    }
  }

  render(): string {
    this.advance();
    const lines = ['# TYPE http_requests_total counter', '# TYPE http_request_duration_seconds histogram'];
    for (const track of ['canary', 'stable'] as const) {
      if (!this.tracks[track].present) continue;
      const c = this.counters[track];
      const l = `namespace="${this.namespace}",service="${this.service}",track="${track}"`;
      lines.push(`http_requests_total{${l},code="200"} ${c.ok}`, `http_requests_total{${l},code="500"} ${c.err}`);
      BUCKETS.forEach((le, i) => lines.push(`http_request_duration_seconds_bucket{${l},le="${le}"} ${c.buckets[i]}`));
      const total = c.ok + c.err;
      lines.push(
        `http_request_duration_seconds_bucket{${l},le="+Inf"} ${total}`,
        `http_request_duration_seconds_sum{${l}} ${c.sum}`,
        `http_request_duration_seconds_count{${l}} ${total}`,
      );
    }
    return lines.join('\n') + '\n';
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.render());
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const port = (this.server.address() as AddressInfo).port;
    this.target = addPrometheusTarget(`rollout-${this.namespace}-${this.service}`, `127.0.0.1:${port}`);
    return this;
  }

  async dispose(): Promise<void> {
    await this.target?.dispose();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** Waits until Prometheus has a rate for the canary (two scrapes in the window), so a test starts from real data. */
export async function waitForSeries(prometheusUrl: string, query: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const res = await fetch(new URL(`/api/v1/query?query=${encodeURIComponent(query)}`, prometheusUrl));
    const body = (await res.json()) as { data?: { result?: unknown[] } };
    if ((body.data?.result?.length ?? 0) > 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`Prometheus has no data for ${query} after ${timeoutMs} ms`);
}

/** waitForSeries on the testbed's Prometheus for the canary track of the `web` metrics of a namespace. */
export function waitForCanarySeries(namespace: string): Promise<void> {
  return waitForSeries(
    loadTestbed().prometheusUrl,
    `rate(http_requests_total{namespace="${namespace}",track="canary"}[10s])`,
  );
}
