import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { MetricVerdict } from './analysis';
import type { DriverEvent } from './driver';
import type { CanaryState, CanaryStatus } from './state';

// What the controller exports for Prometheus: each rollout's step, weight, phase, analysis values and verdicts,
// and the decisions taken (argoproj/argo-rollouts#2276 asks for exactly these). Its own Registry, not the global
// one, so two controllers in one process (tests) never share series.

type RolloutLabels = 'rollout_namespace' | 'rollout';

const PHASES: readonly CanaryStatus[] = ['progressing', 'paused', 'promoting', 'promoted', 'aborting', 'aborted'];
const DECISIONS = ['advance', 'retry', 'promote', 'abort', 'hold', 'resume', 'skip'] as const;
const TRACKS = ['canary', 'stable'] as const;

/** 1 pass, 0 fail, -1 no verdict (no data, or Prometheus did not answer). */
export function verdictValue(v: MetricVerdict | string): number {
  return v === 'pass' ? 1 : v === 'fail' ? 0 : -1;
}

export interface ControllerMetricsOptions {
  /** How long a rollout's series stay after it ended, so a scrape or two still sees its outcome. */
  forgetAfterMs?: number;
  /** The process's CPU, memory, event loop… (prom-client's default metrics). */
  processMetrics?: boolean;
}

export class ControllerMetrics {
  readonly registry = new Registry();
  private readonly weight: Gauge<RolloutLabels>;
  private readonly step: Gauge<RolloutLabels>;
  private readonly phase: Gauge<RolloutLabels | 'phase'>;
  private readonly value: Gauge<RolloutLabels | 'metric' | 'track'>;
  private readonly verdict: Gauge<RolloutLabels | 'metric'>;
  private readonly decisions: Counter<RolloutLabels | 'decision'>;
  private readonly leader: Gauge;
  /** Per rollout: the analysis metric names it has series for, to remove them all when it is forgotten. */
  private readonly analysed = new Map<string, Set<string>>();
  private readonly forgetTimers = new Map<string, NodeJS.Timeout>();
  private readonly forgetAfterMs: number;

  constructor(o: ControllerMetricsOptions = {}) {
    this.forgetAfterMs = o.forgetAfterMs ?? 10 * 60_000;
    const registers = [this.registry];
    const rollout: RolloutLabels[] = ['rollout_namespace', 'rollout'];
    this.weight = new Gauge({
      name: 'sandpiper_canary_weight',
      help: 'Percent of traffic (or of pods, in replica-ratio mode) the canary is set to receive.',
      labelNames: rollout,
      registers,
    });
    this.step = new Gauge({
      name: 'sandpiper_canary_step',
      help: 'The current step of the canary, counted from 1.',
      labelNames: rollout,
      registers,
    });
    this.phase = new Gauge({
      name: 'sandpiper_canary_phase',
      help: 'The status of the canary: 1 for the current phase, 0 for the others.',
      labelNames: [...rollout, 'phase'],
      registers,
    });
    this.value = new Gauge({
      name: 'sandpiper_canary_analysis_value',
      help: 'The last value of each analysis metric, per track (canary or stable).',
      labelNames: [...rollout, 'metric', 'track'],
      registers,
    });
    this.verdict = new Gauge({
      name: 'sandpiper_canary_analysis_verdict',
      help: 'The last verdict of each analysis metric: 1 pass, 0 fail, -1 no data or metrics unavailable.',
      labelNames: [...rollout, 'metric'],
      registers,
    });
    this.decisions = new Counter({
      name: 'sandpiper_canary_decisions_total',
      help: 'Decisions the controller took for the canary (advance, retry, promote, abort, hold, resume, skip).',
      labelNames: [...rollout, 'decision'],
      registers,
    });
    this.leader = new Gauge({
      name: 'sandpiper_canary_controller_leader',
      help: '1 while this controller replica holds the leader lease and drives canaries, else 0.',
      registers,
    });
    this.leader.set(0);
    if (o.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  setLeader(leader: boolean): void {
    this.leader.set(leader ? 1 : 0);
  }

  /** Updates a rollout's series from what its driver reports. */
  observe(namespace: string, rollout: string, e: DriverEvent): void {
    this.state(namespace, rollout, e.state);
    if (e.kind === 'decision') this.decisions.inc({ rollout_namespace: namespace, rollout, decision: e.decision });
    const result = e.kind === 'state' ? undefined : e.result;
    if (!result) return;
    const key = `${namespace}/${rollout}`;
    const names = this.analysed.get(key) ?? new Set<string>();
    this.analysed.set(key, names);
    for (const m of result.metrics) {
      names.add(m.name);
      const labels = { rollout_namespace: namespace, rollout, metric: m.name };
      this.verdict.set(labels, verdictValue(m.verdict));
      for (const track of TRACKS) {
        const v = m[track];
        // No series rather than a stale number: the metric has no data for that track now.
        if (v === undefined || !Number.isFinite(v)) this.value.remove({ ...labels, track });
        else this.value.set({ ...labels, track }, v);
      }
    }
  }

  state(namespace: string, rollout: string, s: CanaryState): void {
    const labels = { rollout_namespace: namespace, rollout };
    const key = `${namespace}/${rollout}`;
    // A new canary of the same Deployment before its predecessor's series were forgotten keeps them.
    clearTimeout(this.forgetTimers.get(key));
    this.forgetTimers.delete(key);
    this.weight.set(labels, s.weight);
    this.step.set(labels, Math.min(s.stepIndex + 1, s.steps.length));
    for (const phase of PHASES) this.phase.set({ ...labels, phase }, phase === s.status ? 1 : 0);
  }

  /** The rollout ended (or is no longer ours): its series go after `forgetAfterMs`. */
  ended(namespace: string, rollout: string): void {
    const key = `${namespace}/${rollout}`;
    clearTimeout(this.forgetTimers.get(key));
    const timer = setTimeout(() => this.forget(namespace, rollout), this.forgetAfterMs);
    timer.unref?.();
    this.forgetTimers.set(key, timer);
  }

  forget(namespace: string, rollout: string): void {
    const key = `${namespace}/${rollout}`;
    clearTimeout(this.forgetTimers.get(key));
    this.forgetTimers.delete(key);
    const labels = { rollout_namespace: namespace, rollout };
    this.weight.remove(labels);
    this.step.remove(labels);
    for (const phase of PHASES) this.phase.remove({ ...labels, phase });
    for (const decision of DECISIONS) this.decisions.remove({ ...labels, decision });
    for (const metric of this.analysed.get(key) ?? []) {
      this.verdict.remove({ ...labels, metric });
      for (const track of TRACKS) this.value.remove({ ...labels, metric, track });
    }
    this.analysed.delete(key);
  }

  /** Stops the timers (the process may exit without waiting for them). */
  dispose(): void {
    for (const t of this.forgetTimers.values()) clearTimeout(t);
    this.forgetTimers.clear();
  }
}

export interface Health {
  ok: boolean;
  [key: string]: unknown;
}

/**
 * Serves `/metrics` (Prometheus text) and `/healthz` (200 while the controller's loop is alive, 503 otherwise,
 * with a JSON body saying whether this replica leads). Resolves once listening; port 0 picks a free one.
 */
export async function serveMetrics(
  metrics: ControllerMetrics,
  o: { port: number; host?: string; health: () => Health; log?: (m: string) => void },
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: unknown) => {
          o.log?.(`/metrics failed: ${(err as Error).message}`);
          res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n');
        },
      );
    } else if (path === '/healthz') {
      const h = o.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(h)}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
