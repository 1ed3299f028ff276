// Environment create + ready on the testbed's real node with Sandpiper vs `kubectl apply` + `kubectl rollout
// status` of the same objects, in the same run (alternating who goes first). The example's own image is built and
// pushed first, and one unmeasured run of each puts it on the node: the figures are for an image already built.
// Goal: ratio of the medians ≤ 1.2.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { createEnvironment, planEnvironmentFor } from '../src/core/env/create';
import { deleteEnvironment } from '../src/core/env/lifecycle';
import { requireRealNode } from '../test/support/realPods';
import {
  adminKube,
  createBaseline,
  deleteNamespace,
  exampleConfig,
  runnableExample,
} from '../test/integration/env/baseline';
import { median, percentile, writeResult } from './support/results';

const RUNS = Number(process.env.SANDPIPER_BENCH_RUNS ?? 7);

function kubectl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('kubectl', args, { timeout: 300_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(),
    ),
  );
}

async function main(): Promise<void> {
  const node = requireRealNode().node;
  const kube = adminKube();
  const baseline = await createBaseline(kube);
  const config = exampleConfig(baseline, undefined, await runnableExample());
  const sandpiper: number[] = [];
  const plain: number[] = [];
  let objects = 0;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-bench-env-'));
  try {
    // Run -1 warms up (not counted).
    for (let run = -1; run < RUNS; run++) {
      const id = Math.random().toString(36).slice(2, 7);
      const opts = { service: 'tasks', owner: 'bench@example.com', branch: `bench-${id}` };
      // The same objects for kubectl, into a namespace of its own.
      const plan = await planEnvironmentFor(kube, config, { ...opts, namespace: `sp-bench-kubectl-${id}` });
      const all = plan.steps.flatMap((s) => s.objects);
      objects = all.length;
      const file = path.join(tmp, `${id}.yaml`);
      fs.writeFileSync(file, all.map((o) => stringify(o)).join('---\n'));
      const workloads = all
        .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
        .map((o) => `${o.kind!.toLowerCase()}/${o.metadata!.name}`);

      const timeSandpiper = async () => {
        const t0 = performance.now();
        const created = await createEnvironment(kube, config, opts);
        const ms = performance.now() - t0;
        if (run >= 0) sandpiper.push(ms);
        await deleteEnvironment(kube, created.namespace);
      };
      const timeKubectl = async () => {
        const t0 = performance.now();
        await kubectl(['apply', '-f', file]);
        for (const w of workloads) await kubectl(['rollout', 'status', '-n', plan.namespace, w, '--timeout=180s']);
        const ms = performance.now() - t0;
        if (run >= 0) plain.push(ms);
        await deleteNamespace(kube, plan.namespace);
      };
      if (run % 2 === 0) {
        await timeSandpiper();
        await timeKubectl();
      } else {
        await timeKubectl();
        await timeSandpiper();
      }
    }
  } finally {
    await deleteNamespace(kube, baseline);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const ms = (v: number) => Math.round(v);
  writeResult('env-create', {
    node,
    runs: RUNS,
    objects,
    sandpiperMedianMs: ms(median(sandpiper)),
    kubectlMedianMs: ms(median(plain)),
    sandpiperP95Ms: ms(percentile(sandpiper, 95)),
    kubectlP95Ms: ms(percentile(plain, 95)),
    ratio: Number((median(sandpiper) / median(plain)).toFixed(2)),
    goalRatio: 1.2,
    sandpiperMs: sandpiper.map(ms),
    kubectlMs: plain.map(ms),
  });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
