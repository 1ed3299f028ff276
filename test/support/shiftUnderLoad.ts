// A built-in canary of the Todo example's tasks service on the real node, driven in this process (the client
// driver), while steady traffic goes through the Gateway to a hostname routed by an HTTPRoute: promoted, rolled
// back by its analysis, or aborted by hand mid-step. Every response is classified (stable, canary, or the Gateway's
// own error / a connection error): the zero-error test asserts on the figures, the canaryShift bench records them.
import type { CanaryConfig } from '../../src/core/config/types';
import type { CanaryHistoryEntry, CanaryStatus } from '../../src/core/canary/state';
import { PrometheusClient } from '../../src/core/infra/prometheus';
import { overrideCanary, startCanary } from '../../src/core/canary/control';
import { driveCanary } from '../../src/core/canary/driver';
import { GATEWAY, type HttpRoute } from '../../src/core/canary/traffic';
import { sleep } from '../../src/core/errors';
import { canaryImage, createService, testbedKube, waitForCanarySeries } from './canaryWorkspace';
import { GatewayLoad, type Counts } from './gatewayLoad';
import { createNamespace, loadTestbed } from './testbed';
import { eventually } from './wait';

export type Shift = 'promote' | 'rollback' | 'abort';

export interface ShiftFigures {
  shift: Shift;
  outcome: CanaryStatus;
  /** Responses from the canary's start until the Gateway had served only the final build for a while. */
  total: number;
  /** Responses neither build answered (the Gateway's 502/503/404, connection errors, timeouts), by kind. */
  failures: Counts;
  failed: number;
  /** Responses the canary build answered (for the bad build: its own 500s, the thing being rolled back). */
  servedByCanary: number;
  servedByStable: number;
  rps: number;
  durationMs: number;
  /** Rollback only: from the failed analysis (the `analysis-aborted` history time) … */
  rollback?: {
    /** … to the route's canary weight back at 0 (all of it on the stable Service); */
    routeBackMs: number;
    /** … to the last response the canary answered (only stable from then on); */
    lastCanaryResponseMs: number;
    /** … to the rollback done (canary deleted, state aborted). */
    doneMs: number;
  };
  history: CanaryHistoryEntry[];
}

export interface ShiftOptions {
  /** Requests per second through the Gateway (default 30). */
  rps?: number;
  /** The canary's drainSeconds (default: the product's). */
  drainSeconds?: number;
  log?: (m: string) => void;
}

const ANALYSIS: CanaryConfig['analysis'] = {
  successRate: { op: '>=', value: 0.95 },
  failureLimit: 0,
  queries: [],
};

/** After the end, this many more responses are counted: a late 502 from a pod deleted too early shows up here. */
const TAIL_RESPONSES = 150;

const epochToPerf = (iso: string) => Date.parse(iso) - performance.timeOrigin;

export async function shiftUnderLoad(shift: Shift, o: ShiftOptions = {}): Promise<ShiftFigures> {
  const kube = testbedKube();
  const log = o.log ?? (() => undefined);
  const rps = o.rps ?? 30;
  const ns = await createNamespace(`shift-${shift}`);
  let load: GatewayLoad | undefined;
  let watching = true;
  try {
    const host = await createService(kube, ns.name, 'web', { replicas: 2, route: true });
    load = new GatewayLoad(host!, { rps, concurrency: 3 }).start();
    await load.settled('stable', 30);
    const image = await canaryImage(shift === 'rollback' ? 'bad' : 'good');
    const t0 = load.now();
    const canary: CanaryConfig = {
      steps: shift === 'rollback' ? [20, 100] : [50, 100],
      // The abort comes mid-step, long before the step would end.
      intervalMs: shift === 'abort' ? 120_000 : 5000,
      analysis: ANALYSIS,
      ...(o.drainSeconds !== undefined ? { drainSeconds: o.drainSeconds } : {}),
    };
    await startCanary(kube, { namespace: ns.name, deployment: 'web', image, canary });
    log(`${shift}: canary started in ${ns.name}`);
    // Route weight samples, for when the canary's share went back to 0 after the rollback's decision.
    const weights: Array<{ at: number; canary: number }> = [];
    const sampler = (async () => {
      while (watching) {
        const r = (await kube.custom
          .getNamespacedCustomObject({ ...GATEWAY, namespace: ns.name, name: 'web' })
          .catch(() => undefined)) as HttpRoute | undefined;
        const w = r?.spec?.rules?.[0]?.backendRefs?.find((b) => b.name === 'web-canary')?.weight ?? 0;
        weights.push({ at: performance.now(), canary: w });
        await sleep(100);
      }
    })();
    const drive = (signal?: AbortSignal) =>
      driveCanary({
        kube,
        namespace: ns.name,
        deployment: 'web',
        service: 'web',
        analysis: ANALYSIS,
        metrics: new PrometheusClient(loadTestbed().prometheusUrl),
        holder: `test-${shift}`,
        tickMs: 200,
        signal,
      });
    let end;
    if (shift === 'abort') {
      const driving = drive();
      // Mid-step: the canary serves its share through the Gateway, then someone aborts it.
      await eventually('the canary serving part of the traffic', () => (load!.tail(60).canary ?? 0) > 5, 180_000);
      await sleep(3000);
      log('abort: aborting by hand mid-step');
      await overrideCanary(kube, ns.name, 'web', 'abort', undefined, 'test');
      end = await driving;
    } else {
      await waitForCanarySeries(ns.name, 'web');
      end = await drive();
    }
    const doneAt = performance.now();
    log(`${shift}: ${end.status} (${end.reason ?? ''})`);
    const final = end.status === 'promoted' ? 'canary' : 'stable';
    await load.settled(final, 50, 120_000);
    await load.next(TAIL_RESPONSES, 60_000);
    const t1 = load.now();
    watching = false;
    await sampler;
    const counts = load.counts(t0, t1);
    const failures = Object.fromEntries(Object.entries(counts).filter(([k]) => k !== 'stable' && k !== 'canary'));
    let rollback: ShiftFigures['rollback'];
    const abortedAt = end.history.find((h) => h.event === 'analysis-aborted')?.at;
    if (abortedAt) {
      const decided = epochToPerf(abortedAt);
      const back = weights.find((w) => w.at >= decided && w.canary === 0)?.at ?? NaN;
      rollback = {
        routeBackMs: Math.round(back - decided),
        lastCanaryResponseMs: Math.round(Math.max(0, load.lastOf('canary') - decided)),
        doneMs: Math.round(doneAt - decided),
      };
    }
    return {
      shift,
      outcome: end.status,
      total: Object.values(counts).reduce((a, b) => a + b, 0),
      failures,
      failed: Object.values(failures).reduce((a, b) => a + b, 0),
      servedByCanary: counts.canary ?? 0,
      servedByStable: counts.stable ?? 0,
      rps,
      durationMs: Math.round(t1 - t0),
      ...(rollback ? { rollback } : {}),
      history: end.history,
    };
  } finally {
    watching = false;
    await load?.stop();
    await ns.dispose();
  }
}
