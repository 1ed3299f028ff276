// Rollout panel and canary figures on the testbed:
//  - scale (the KWOK nodes, which stay for it): cluster change → panel message latency (p50/p95) with ~500 pods in
//    the namespace, through the same RolloutFeed the panel uses (watch → model → batched `workloads` message);
//    event-loop lag while 500 pods are created (the watch flood), and the message sizes;
//  - on the real node: a bad canary build (the Todo example's image with /tasks failing) under steady traffic through
//    the Gateway: time from the failed analysis (Prometheus scraping the pods) to the rollback done, and until the
//    Gateway serves only the stable build again (HTTPRoute and replica-ratio modes).
// Writes bench/results/rollout.json.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { PrometheusClient } from '../src/core/infra/prometheus';
import { startCanary } from '../src/core/canary/control';
import { driveCanary } from '../src/core/canary/driver';
import { RolloutFeed } from '../src/core/workloads/feed';
import { RolloutModel } from '../src/core/workloads/model';
import { hostMessageOf, type HostMessage } from '../src/protocol/rollout';
import {
  canaryImage,
  createService,
  routeThroughGateway,
  testbedKube,
  waitForCanarySeries,
} from '../test/support/canaryWorkspace';
import { GatewayLoad } from '../test/support/gatewayLoad';
import { requireRealNode } from '../test/support/realPods';
import { eventually } from '../test/support/wait';
import { createNamespace, loadTestbed } from '../test/support/testbed';
import { median, percentile, writeResult } from './support/results';

const PODS = Number(process.env.ROLLOUT_BENCH_PODS ?? 500);
const CHANGES = Number(process.env.ROLLOUT_BENCH_CHANGES ?? 30);
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const kube = testbedKube();

/** A Deployment whose pods go to the KWOK nodes (tolerating their taint): 500 of them cost the machine nothing. */
async function kwokDeployment(namespace: string, name: string, replicas: number): Promise<void> {
  const labels = { app: name };
  await kube.apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name, labels },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            nodeSelector: { type: 'kwok' },
            tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Equal', value: 'fake', effect: 'NoSchedule' }],
            containers: [{ name: 'app', image: `${name}:1` }],
          },
        },
      },
    },
  });
}

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
  await kwokDeployment(namespace, 'load', PODS);
  await kwokDeployment(namespace, 'web', 1);
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
  // Replica ratio: the Gateway's route lives in another namespace, so the canary finds none of its own.
  const edge = route ? undefined : await createNamespace('bench-abort-edge');
  let load: GatewayLoad | undefined;
  try {
    const host = route
      ? await createService(kube, ns.name, 'web', { replicas: 4, route: true })
      : (await createService(kube, ns.name, 'web', { replicas: 4 }),
        await routeThroughGateway(kube, ns.name, 'web', edge!.name));
    load = new GatewayLoad(host!).start();
    await load.settled('stable');
    const t0 = load.now();
    const analysis = { successRate: { op: '>=' as const, value: 0.99 }, failureLimit: 0, queries: [] };
    await startCanary(kube, {
      namespace: ns.name,
      deployment: 'web',
      image: await canaryImage('bad'),
      canary: { steps: [25, 100], intervalMs: 2000, analysis },
    });
    await waitForCanarySeries(ns.name, 'web');
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
    // Traffic is back when the Gateway answers only from the stable build (the last canary answer before 50 stable).
    await load.settled('stable', 50, 120_000);
    const canaryUntil = load.lastOf('canary');
    return {
      restoredMs: round(restoredMs),
      lastCanaryResponseMs: round(Math.max(0, canaryUntil - failedAt)),
      notServedByEitherBuild: Object.fromEntries(
        Object.entries(load.counts(t0)).filter(([k]) => k !== 'stable' && k !== 'canary'),
      ),
    };
  } finally {
    await load?.stop();
    await ns.dispose();
    await edge?.dispose();
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
  requireRealNode();
  const abortRoute = await failedAnalysisToStable(true);
  console.log('[bench] abort (HTTPRoute)', JSON.stringify(abortRoute));
  const abortReplicas = await failedAnalysisToStable(false);
  console.log('[bench] abort (replica ratio)', JSON.stringify(abortReplicas));
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
