// Environment create + ready with Sandpiper vs `kubectl apply` + `kubectl rollout status` of the same
// objects, on the testbed, in the same run (alternating who goes first). Goal: ratio ≤ 1.2.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { createEnvironment, planEnvironmentFor } from '../src/core/env/create';
import { deleteEnvironment } from '../src/core/env/lifecycle';
import { adminKube, createBaseline, deleteNamespace, exampleConfig } from '../test/integration/env/baseline';
import { median, writeResult } from './support/results';

const RUNS = Number(process.env.SANDPIPER_BENCH_RUNS ?? 5);

function kubectl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('kubectl', args, { timeout: 300_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(),
    ),
  );
}

async function main(): Promise<void> {
  const kube = adminKube();
  const baseline = await createBaseline(kube);
  const config = exampleConfig(baseline);
  const sandpiper: number[] = [];
  const plain: number[] = [];
  let objects = 0;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-bench-env-'));
  try {
    for (let run = 0; run < RUNS; run++) {
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
        sandpiper.push(performance.now() - t0);
        await deleteEnvironment(kube, created.namespace);
      };
      const timeKubectl = async () => {
        const t0 = performance.now();
        await kubectl(['apply', '-f', file]);
        for (const w of workloads) await kubectl(['rollout', 'status', '-n', plan.namespace, w, '--timeout=180s']);
        plain.push(performance.now() - t0);
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
    runs: RUNS,
    objects,
    sandpiperMedianMs: ms(median(sandpiper)),
    kubectlMedianMs: ms(median(plain)),
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
