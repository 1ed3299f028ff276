#!/usr/bin/env node
// Measures the builds of a cold `up`: every Go component from an empty cache, with `up`'s concurrency
// (the real node's CoreDNS → Traefik chain beside kubernetes (+ kubelet, kube-proxy) ‖ kwok, then argo-rollouts).
// Starts nothing. Usage (the cache must be a separate, empty folder; it is not deleted afterwards):
//   SANDPIPER_TESTBED_CACHE=/tmp/sp-cold-cache nice -n 19 node scripts/testbed/cold-build.mjs [out.json]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CACHE, VERSIONS, log, writeJson } from './lib.mjs';
import { buildArgoRollouts, buildKubernetes, buildKwok } from './build.mjs';
import { buildRealNode } from './realnode/build.mjs';

const out = process.argv[2] || path.join(CACHE, 'cold-build.json');
if (!process.env.SANDPIPER_TESTBED_CACHE) {
  console.error('[testbed] set SANDPIPER_TESTBED_CACHE to an empty folder (the measurement must not use your cache)');
  process.exit(2);
}
if (fs.existsSync(CACHE) && fs.readdirSync(CACHE).length) log(`note: ${CACHE} is not empty — this is not a cold build`);

const t0 = Date.now();
const secs = (from) => Math.round((Date.now() - from) / 100) / 10;
const steps = [];
const load = [];
const sampler = setInterval(() => load.push({ at: secs(t0), loadavg: os.loadavg().map((l) => +l.toFixed(2)) }), 30000);

async function step(name, fn) {
  const start = secs(t0);
  const t = Date.now();
  try {
    const result = await fn();
    steps.push({ name, start, seconds: secs(t), result: typeof result === 'string' ? result : JSON.stringify(result) });
  } catch (e) {
    steps.push({ name, start, seconds: secs(t), error: e.message.slice(0, 2000) });
    throw e;
  }
}

const record = (ok) => {
  clearInterval(sampler);
  writeJson(out, {
    ok,
    cache: CACHE,
    versions: VERSIONS,
    cpus: os.cpus().length,
    niceness: os.getPriority(),
    startedAt: new Date(t0).toISOString(),
    totalSeconds: secs(t0),
    steps,
    loadavgEvery30s: load,
  });
  log(`cold builds ${ok ? 'done' : 'FAILED'} in ${secs(t0)}s — ${out}`);
};

load.push({ at: 0, loadavg: os.loadavg().map((l) => +l.toFixed(2)) });
Promise.all([
  (async () => {
    await step('coredns', () => buildRealNode(['coredns']));
    await step('traefik', () => buildRealNode(['traefik']));
  })(),
  (async () => {
    await Promise.all([
      step('kubernetes (control plane + kubelet, kube-proxy, one go build)', () => buildKubernetes({ node: true })),
      step('kwok', buildKwok),
    ]);
    await step('argo-rollouts', buildArgoRollouts);
  })(),
]).then(
  () => record(true),
  (e) => {
    console.error(`[testbed] cold build failed: ${e.message}`);
    record(false);
    process.exitCode = 1;
  },
);
