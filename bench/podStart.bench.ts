// Pod start on the testbed's real node: create → Running and create → Ready, seen through a watch, for a busybox
// pod (no probe) and the example's own image (HTTP readiness probe every second). Images are on the node already
// (one unmeasured pod of each first), so the figures are sandbox + container start, not the pull.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { Watch } from '@kubernetes/client-node';
import { exampleImage } from '../test/support/images';
import { requireRealNode } from '../test/support/realPods';
import { coreApi, createNamespace, kubeConfig } from '../test/support/testbed';
import { median, percentile, writeResult } from './support/results';

const RUNS = Number(process.env.SANDPIPER_BENCH_RUNS ?? 12);

interface Start {
  runningMs: number;
  readyMs: number;
}

const ready = (p: V1Pod) => !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/** Creates the pod and resolves when a watch sees it Running and then Ready (times from just before the create). */
async function startPod(namespace: string, name: string, container: V1Container): Promise<Start> {
  const seen: Partial<Start> = {};
  let t0 = 0;
  let stop: (() => void) | undefined;
  const done = new Promise<Start>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not Ready in 120 s`)), 120_000);
    void new Watch(kubeConfig())
      .watch(
        `/api/v1/namespaces/${namespace}/pods`,
        { fieldSelector: `metadata.name=${name}` },
        (_type: string, pod: V1Pod) => {
          const at = performance.now() - t0;
          if (seen.runningMs === undefined && pod.status?.phase === 'Running') seen.runningMs = at;
          if (seen.readyMs === undefined && ready(pod)) seen.readyMs = at;
          if (seen.runningMs !== undefined && seen.readyMs !== undefined) {
            clearTimeout(timer);
            resolve(seen as Start);
          }
        },
        (err: unknown) => err && reject(err as Error),
      )
      .then((req) => (stop = () => req.abort()), reject);
  });
  // Let the watch open before the clock starts.
  await new Promise((r) => setTimeout(r, 300));
  t0 = performance.now();
  await coreApi().createNamespacedPod({
    namespace,
    body: { metadata: { name }, spec: { terminationGracePeriodSeconds: 1, containers: [container] } },
  });
  try {
    return await done;
  } finally {
    stop?.();
    await coreApi().deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 1 });
  }
}

const figures = (starts: Start[]) => {
  const r = (v: number) => Math.round(v);
  const running = starts.map((s) => s.runningMs);
  const readyMs = starts.map((s) => s.readyMs);
  return {
    runningMedianMs: r(median(running)),
    runningP95Ms: r(percentile(running, 95)),
    readyMedianMs: r(median(readyMs)),
    readyP95Ms: r(percentile(readyMs, 95)),
    runningMs: running.map(r),
    readyMs: readyMs.map(r),
  };
};

async function main(): Promise<void> {
  const node = requireRealNode().node;
  const ns = await createNamespace('sp-bench-podstart');
  const kinds: Record<string, V1Container> = {
    busybox: {
      name: 'app',
      image: 'sandpiper/busybox:latest',
      imagePullPolicy: 'IfNotPresent',
      command: ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done & wait"],
    },
    example: {
      name: 'tasks',
      image: await exampleImage(),
      imagePullPolicy: 'IfNotPresent',
      readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
    },
  };
  const result: Record<string, unknown> = { node, runs: RUNS };
  try {
    // A fresh namespace gets its default ServiceAccount a moment after it is created.
    for (let i = 0; i < 50; i++) {
      const sa = await coreApi()
        .readNamespacedServiceAccount({ namespace: ns.name, name: 'default' })
        .catch(() => undefined);
      if (sa) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const [kind, container] of Object.entries(kinds)) {
      await startPod(ns.name, `warm-${kind}`, container);
      const starts: Start[] = [];
      for (let i = 0; i < RUNS; i++) starts.push(await startPod(ns.name, `${kind}-${i}`, container));
      result[kind] = { image: container.image, ...figures(starts) };
    }
    writeResult('pod-start', result);
  } finally {
    await ns.dispose();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
