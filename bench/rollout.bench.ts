// Rollout panel and canary figures on the testbed (real apiserver + controllers, KWOK pods, Prometheus):
//  - cluster change → panel message latency (p50/p95) with ~500 pods in the namespace, through the same
//    RolloutFeed the panel uses (watch → model → batched `workloads` message);
//  - event-loop lag while 500 pods are created (the watch flood), and the message sizes;
//  - time from a failed canary analysis to all traffic back on stable (HTTPRoute and replica-ratio modes).
// Writes bench/results/rollout.json.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { PrometheusClient } from '../src/core/infra/prometheus';
import { startCanary } from '../src/core/canary/control';
import { driveCanary } from '../src/core/canary/driver';
import { RolloutFeed } from '../src/core/workloads/feed';
import { RolloutModel } from '../src/core/workloads/model';
import { hostMessageOf, type HostMessage } from '../src/protocol/rollout';
import { createService, testbedKube } from '../test/support/canaryWorkspace';
import { eventually } from '../test/support/wait';
import { MetricsTarget, waitForSeries } from '../test/support/metricsTarget';
import { createNamespace, loadTestbed } from '../test/support/testbed';
import { median, percentile, writeResult } from './support/results';

const PODS = Number(process.env.ROLLOUT_BENCH_PODS ?? 500);
const CHANGES = Number(process.env.ROLLOUT_BENCH_CHANGES ?? 30);
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const kube = testbedKube();

async function panelLatency(namespace: string) {
  const messages: Array<{ at: number; message: HostMessage }> = [];
  const feed = new RolloutFeed({
    kube,
    namespace,
    onEvent: (e) => messages.push({ at: performance.now(), message: hostMessageOf(e) }),
  });
  await feed.start();
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  await createService(kube, namespace, 'load', { replicas: PODS });
  await createService(kube, namespace, 'web', { replicas: 1 });
  const floodStart = performance.now();
  await eventually(
    `${PODS} pods in the model`,
    async () => (feed.workloads().find((w) => w.name === 'load')?.pods ?? 0) >= PODS,
    300_000,
  );
  const floodMs = performance.now() - floodStart;
  lag.disable();
  const floodMessages = messages.length;
  const latencies: number[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const replicas = 2 + (i % 2);
    const from = messages.length;
    const t0 = performance.now();
    await kube.apps.patchNamespacedDeployment({ namespace, name: 'web', body: { spec: { replicas } } }, merge);
    const seen = await eventually(
      'the change in a panel message',
      async () =>
        messages
          .slice(from)
          .find(
            (m) =>
              m.message.type === 'workloads' &&
              m.message.workloads.some((w) => w.name === 'web' && w.desired === replicas),
          ),
      30_000,
    );
    latencies.push(seen.at - t0);
    sizes.push(JSON.stringify(seen.message).length);
    await new Promise((r) => setTimeout(r, 150));
  }
  const fullState = JSON.stringify({
    type: 'state',
    state: { workloads: feed.workloads(), metrics: feed.metrics(), analyses: {} },
  }).length;
  feed.dispose();
  return {
    pods: PODS,
    changeToMessageMs: {
      p50: round(median(latencies)),
      p95: round(percentile(latencies, 95)),
      max: round(Math.max(...latencies)),
      n: latencies.length,
    },
    floodMs: round(floodMs),
    floodMessages,
    eventLoopLagDuringFloodMs: {
      p50: round(lag.percentile(50) / 1e6),
      p99: round(lag.percentile(99) / 1e6),
      max: round(lag.max / 1e6),
    },
    messageBytes: { workloadsUpdate: median(sizes), fullState },
  };
}

/** The reducer alone: 500 pod events and a summary of everything, without the network. */
function reducerCost() {
  const m = new RolloutModel();
  m.apply({
    kind: 'Deployment',
    type: 'upsert',
    object: { metadata: { name: 'load', namespace: 'b' }, spec: { replicas: PODS } },
  });
  m.apply({
    kind: 'ReplicaSet',
    type: 'upsert',
    object: {
      metadata: {
        name: 'load-1',
        namespace: 'b',
        ownerReferences: [{ kind: 'Deployment', name: 'load', controller: true }],
      },
    },
  });
  const t0 = performance.now();
  for (let i = 0; i < PODS; i++)
    m.apply({
      kind: 'Pod',
      type: 'upsert',
      object: {
        metadata: {
          name: `load-1-${i}`,
          namespace: 'b',
          ownerReferences: [{ kind: 'ReplicaSet', name: 'load-1', controller: true }],
        },
      },
    });
  const applyMs = performance.now() - t0;
  const t1 = performance.now();
  m.summaries();
  return {
    applyPodEventsMs: round(applyMs),
    perEventUs: round((applyMs * 1000) / PODS),
    summariesMs: round(performance.now() - t1),
  };
}

async function failedAnalysisToStable(route: boolean) {
  const ns = await createNamespace(`bench-abort-${route ? 'route' : 'replicas'}`);
  const metrics = await new MetricsTarget(ns.name, 'web').start();
  try {
    metrics.tracks.canary.errorRate = 0.5;
    await waitForSeries(
      loadTestbed().prometheusUrl,
      `rate(http_requests_total{namespace="${ns.name}",track="canary"}[10s])`,
    );
    await createService(kube, ns.name, 'web', { replicas: 4, route });
    await eventually(
      'web available',
      async () =>
        ((await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' })).status?.availableReplicas ??
          0) >= 4,
      180_000,
    );
    const analysis = { successRate: { op: '>=' as const, value: 0.99 }, failureLimit: 0, queries: [] };
    await startCanary(kube, {
      namespace: ns.name,
      deployment: 'web',
      image: 'web:bad',
      canary: { steps: [25, 100], intervalMs: 2000, analysis },
    });
    let failedAt = 0;
    const end = await driveCanary({
      kube,
      namespace: ns.name,
      deployment: 'web',
      service: 'web',
      analysis,
      metrics: new PrometheusClient(loadTestbed().prometheusUrl),
      holder: 'bench',
      tickMs: 100,
      onEvent: (e) => {
        if (e.kind === 'analysis' && e.result.verdict !== 'pass') failedAt = performance.now();
      },
    });
    const restoredMs = performance.now() - failedAt;
    if (end.status !== 'aborted') throw new Error(`expected aborted, got ${end.status}`);
    // Replica mode: traffic is all on stable once the stable Deployment has its replicas back.
    if (!route)
      await eventually(
        'stable back to 4 available',
        async () =>
          ((await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' })).status?.availableReplicas ??
            0) >= 4,
      );
    return { restoredMs: round(restoredMs), stableAvailableMs: round(performance.now() - failedAt) };
  } finally {
    await metrics.dispose();
    await ns.dispose();
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

async function main() {
  const ns = await createNamespace('bench-rollout');
  let panel;
  try {
    panel = await panelLatency(ns.name);
    console.log('[bench] panel', JSON.stringify(panel));
  } finally {
    // 500 pods keep the controllers busy: gone before the canary part.
    await ns.dispose();
  }
  const reducer = reducerCost();
  const gateway = await kube.custom
    .listClusterCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', limit: 1 })
    .then(
      () => true,
      () => false,
    );
  const abortRoute = gateway ? await failedAnalysisToStable(true) : 'not measured: the cluster has no Gateway API CRDs';
  const abortReplicas = await failedAnalysisToStable(false);
  writeResult('rollout', {
    panel,
    reducer,
    failedAnalysisToStable: { httproute: abortRoute, replicas: abortReplicas },
    goal: 'change → panel ≤ 200 ms with 500 pods',
  });
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
