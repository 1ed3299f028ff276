// Save → serving on the testbed's real node, with the Todo example's tasks image, manifests and sandpiper.yaml:
// an edit of tasks/src/routes.ts in a copy of the monorepo is bundled again by the example's build (esbuild), the
// bundle synced into the container (exec through the API server and the kubelet), `node --watch` restarts the
// process, and GET /tasks from the pod's address answers with the edit. Beside it,
// in the same run, the naive loop a user has without Sandpiper: `docker build` + `docker push` +
// `kubectl set image`, until a new pod serves the edit. Plus a 10,000-file initial sync and an unchanged resync
// into the container. Writes bench/results/sync.json.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../src/core/config/loader';
import type { ServiceConfig } from '../src/core/config/types';
import { sleep } from '../src/core/errors';
import { loadKube, type Kube } from '../src/core/infra/kube/client';
import { execInPod } from '../src/core/infra/kube/exec';
import { SyncEngine } from '../src/core/sync/syncEngine';
import { exampleCopy, exampleImage, rebuildExampleCopy } from '../test/support/images';
import { podsOf, readyPods, requireRealNode } from '../test/support/realPods';
import { createNamespace, loadTestbed, testbedEnv } from '../test/support/testbed';
import { deployExample } from '../test/integration/sync/syncFixture';
import { median, percentile, writeResult } from './support/results';

const EDITS = Number(process.env.SYNC_BENCH_EDITS ?? 30);
const NAIVE = Number(process.env.SYNC_BENCH_NAIVE ?? 5);
const TREE = Number(process.env.SYNC_BENCH_TREE ?? 10_000);
const GET_LINE = ".on('GET', '/tasks', async (_req, res) => sendJson(res, 200, await store.list()))";
const run = promisify(execFile);

interface Bench {
  kube: Kube;
  namespace: string;
  /** The copy of the monorepo; the service's folder is `root`. */
  workspace: string;
  root: string;
  service: ServiceConfig;
  pristine: string;
}

/** Writes routes.ts with GET /tasks answering `{ edit: tag, tasks }` and bundles it again; returns the bundle. */
async function editHandler(b: Bench, tag: string): Promise<string> {
  fs.writeFileSync(
    path.join(b.root, 'src', 'routes.ts'),
    b.pristine.replace(
      GET_LINE,
      `.on('GET', '/tasks', async (_req, res) => sendJson(res, 200, { edit: '${tag}', tasks: await store.list() }))`,
    ),
  );
  await rebuildExampleCopy(b.workspace);
  return path.join(b.root, 'dist', 'server.js');
}

async function serves(url: string, tag: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return (await res.text()).includes(`"edit":"${tag}"`);
  } catch {
    return false;
  }
}

async function podUrl(b: Bench): Promise<string> {
  const [pod] = await readyPods(b.namespace, 'app=tasks', 1);
  return `http://${pod.status!.podIP}:8080/tasks`;
}

async function liveSync(b: Bench): Promise<number[]> {
  const engine = new SyncEngine({ kube: b.kube, namespace: b.namespace, configRoot: b.root, service: b.service });
  await engine.start();
  await engine.idle();
  const url = await podUrl(b);
  const latencies: number[] = [];
  for (let i = 0; i < EDITS; i++) {
    const tag = `live-${i}`;
    // The save is the .ts write: the bundle's build is part of what the user waits for.
    const saved = Date.now();
    const file = await editHandler(b, tag);
    engine.notify({ local: file, kind: 'change', at: saved });
    while (!(await serves(url, tag))) {
      if (Date.now() - saved > 30_000) throw new Error(`the pod never served ${tag}`);
      await sleep(2);
    }
    latencies.push(Date.now() - saved);
    await engine.idle();
    await sleep(100);
  }
  engine.dispose();
  return latencies;
}

/** Without Sandpiper: build and push an image, point the Deployment at it, wait for a pod serving the edit. */
async function naiveLoop(b: Bench): Promise<number[]> {
  const env = testbedEnv();
  const kubectl = path.join(loadTestbed().binDir, 'kubectl');
  const latencies: number[] = [];
  for (let i = 0; i < NAIVE; i++) {
    const tag = `naive-${i}-${Date.now().toString(36)}`;
    const saved = Date.now();
    await editHandler(b, tag);
    const ref = `${loadTestbed().registry}/sandpiper-bench/tasks:${tag}`;
    await run('docker', ['build', '-q', '-t', ref, b.root], { env });
    await run('docker', ['push', '-q', ref], { env });
    await run(kubectl, ['-n', b.namespace, 'set', 'image', 'deployment/tasks', `tasks=${ref}`], { env });
    for (let served = false; !served;) {
      if (Date.now() - saved > 180_000) throw new Error(`no pod served ${tag}`);
      const ips = (await podsOf(b.namespace, 'app=tasks')).map((p) => p.status?.podIP).filter(Boolean);
      served = (await Promise.all(ips.map((ip) => serves(`http://${ip}:8080/tasks`, tag)))).some(Boolean);
      if (!served) await sleep(20);
    }
    latencies.push(Date.now() - saved);
    await run(kubectl, ['-n', b.namespace, 'rollout', 'status', 'deployment/tasks', '--timeout=120s'], { env });
  }
  return latencies;
}

async function bigTree(b: Bench): Promise<{ initialMs: number; unchangedResyncMs: number; files: number }> {
  for (let i = 0; i < TREE; i++) {
    const file = path.join(b.root, `big/d${i % 100}/file-${i}.js`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `export const n = ${i};\n// ${'x'.repeat(i % 200)}\n`);
  }
  const service: ServiceConfig = {
    ...b.service,
    sync: { ...b.service.sync!, paths: ['big/'], target: '/big', reload: { kind: 'none' } },
  };
  const engine = new SyncEngine({ kube: b.kube, namespace: b.namespace, configRoot: b.root, service });
  const t0 = Date.now();
  await engine.start();
  await sleep(20);
  await engine.idle();
  const initialMs = Date.now() - t0;
  const [pod] = await readyPods(b.namespace, 'app=tasks', 1);
  const count = await execInPod(b.kube, {
    namespace: b.namespace,
    pod: pod.metadata!.name!,
    container: 'tasks',
    command: ['sh', '-c', 'find /big -type f | wc -l'],
    timeoutMs: 60_000,
  });
  if (Number(count.stdout.trim()) !== TREE) throw new Error(`initial sync delivered ${count.stdout.trim()} of ${TREE}`);
  const t1 = Date.now();
  engine.resync();
  await sleep(5);
  await engine.idle();
  const unchangedResyncMs = Date.now() - t1;
  engine.dispose();
  return { initialMs, unchangedResyncMs, files: TREE };
}

async function main(): Promise<void> {
  requireRealNode();
  const kube = loadKube({ kubeconfig: loadTestbed().kubeconfig });
  const ns = await createNamespace('bench-sync');
  const workspace = await exampleCopy(fs.mkdtempSync(path.join(os.tmpdir(), 'sp-bench-sync-')));
  try {
    const root = path.join(workspace, 'tasks');
    await deployExample(kube, ns.name, await exampleImage(), root);
    const service = (await loadConfig(root)).services.tasks;
    const pristine = fs.readFileSync(path.join(root, 'src', 'routes.ts'), 'utf8');
    if (!pristine.includes(GET_LINE)) throw new Error(`examples/todo/tasks/src/routes.ts no longer has: ${GET_LINE}`);
    const b: Bench = { kube, namespace: ns.name, workspace, root, service, pristine };
    const load1 = os.loadavg()[0];
    const live = await liveSync(b);
    const naive = await naiveLoop(b);
    const tree = await bigTree(b);
    const p50 = median(live);
    const naiveP50 = median(naive);
    writeResult('sync', {
      where:
        'real node (containerd + runc), the Todo example tasks image (node --watch), exec through kube-apiserver and kubelet',
      saveIs: 'the .ts write; the esbuild bundle (node build.mjs, all services) is inside the figure',
      edits: EDITS,
      saveToServingMs: { p50, p95: percentile(live, 95), max: Math.max(...live), samples: live },
      naive: {
        loop: 'docker build + docker push + kubectl set image, until a new pod serves the edit',
        runs: NAIVE,
        p50: naiveP50,
        p95: percentile(naive, 95),
        samples: naive,
      },
      speedupP50: Number((naiveP50 / p50).toFixed(1)),
      goals: { p50Ms: 150, speedup: 5, met: p50 <= 150 && naiveP50 / p50 >= 5 },
      initialSync: { files: tree.files, ms: tree.initialMs },
      unchangedResyncMs: tree.unchangedResyncMs,
      loadAverage1m: { before: Number(load1.toFixed(2)), after: Number(os.loadavg()[0].toFixed(2)) },
    });
  } finally {
    await ns.dispose();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
