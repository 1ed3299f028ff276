// Build + environment create on the testbed's real node, from a workspace with image: { build: . }:
// - warm: nothing changed since the last create, so the content tag is in the registry and the build is skipped;
// - cold: one file of the build context changed, so the image is built (engine cache for the base layer), pushed,
//   and the new digest pulled by the node.
// Each figure is the whole createEnvironment (build, apply, Ready); `buildMs` is the part before the first apply.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createEnvironment } from '../src/core/env/create';
import { deleteEnvironment } from '../src/core/env/lifecycle';
import { requireRealNode } from '../test/support/realPods';
import { adminKube } from '../test/integration/env/baseline';
import { buildWorkspace, CountingBuilder, workspaceConfig } from '../test/integration/build/workspace';
import { median, percentile, writeResult } from './support/results';

const RUNS = Number(process.env.SANDPIPER_BENCH_RUNS ?? 5);

interface Sample {
  totalMs: number;
  buildMs: number;
  builds: number;
}

async function main(): Promise<void> {
  const node = requireRealNode().node;
  const kube = adminKube();
  const id = Math.random().toString(36).slice(2, 7);
  const root = buildWorkspace('benchhello', id);
  const config = workspaceConfig(root);
  const warm: Sample[] = [];
  const cold: Sample[] = [];

  const once = async (run: number): Promise<Sample> => {
    const builder = new CountingBuilder();
    let firstApply = 0;
    const t0 = performance.now();
    const created = await createEnvironment(kube, config, {
      service: 'benchhello',
      owner: 'bench@example.com',
      branch: `bench-build-${id}-${run}`,
      build: { builder },
      progress: (p) => {
        if (p.state === 'started' && !firstApply) firstApply = performance.now();
      },
    });
    const totalMs = performance.now() - t0;
    await deleteEnvironment(kube, created.namespace);
    return { totalMs, buildMs: firstApply - t0, builds: builder.builds.length };
  };

  // Run -1 builds the first image and puts it on the node (not counted).
  await once(-1);
  for (let run = 0; run < RUNS; run++) {
    const w = await once(run * 2);
    if (w.builds !== 0) throw new Error('a warm create built the image');
    warm.push(w);
    fs.writeFileSync(path.join(root, 'www/index.html'), `hello ${id} ${run}\n`);
    const c = await once(run * 2 + 1);
    if (c.builds !== 1) throw new Error('a cold create did not build the image');
    cold.push(c);
  }
  fs.rmSync(root, { recursive: true, force: true });
  const ms = (v: number) => Math.round(v);
  const figures = (samples: Sample[]) => ({
    medianMs: ms(median(samples.map((s) => s.totalMs))),
    p95Ms: ms(
      percentile(
        samples.map((s) => s.totalMs),
        95,
      ),
    ),
    buildMedianMs: ms(median(samples.map((s) => s.buildMs))),
    totalMs: samples.map((s) => ms(s.totalMs)),
    buildMs: samples.map((s) => ms(s.buildMs)),
  });
  writeResult('build-create', { node, runs: RUNS, warm: figures(warm), cold: figures(cold) });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
