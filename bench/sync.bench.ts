// Save → serving latency of live sync through the real apiserver exec (testbed, KWOK pod whose exec runs in a
// folder here, served by a server that reloads on SIGHUP), against a naive loop (1 s poll + a fresh
// `kubectl cp`-style tar exec per change + a second exec for the reload); plus a 10,000-file initial sync and
// an unchanged resync. Writes bench/results/sync.json.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pack } from 'tar-stream';
import { execInPod } from '../src/core/infra/kube/exec';
import { padToRecord } from '../src/core/infra/tar';
import { SyncEngine } from '../src/core/sync/syncEngine';
import { sleep } from '../src/core/errors';
import { SyncFixture, httpGet } from '../test/integration/sync/syncFixture';
import { median, percentile, writeResult } from './support/results';

const EDITS = Number(process.env.SYNC_BENCH_EDITS ?? 50);
const TREE = Number(process.env.SYNC_BENCH_TREE ?? 10_000);

async function untilServed(url: string, body: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await httpGet(url).catch(() => ({ body: '' }))).body !== body) {
    if (Date.now() > deadline) throw new Error(`${url} never served ${body}`);
    await sleep(2);
  }
}

async function liveSync(f: SyncFixture, pod: { url: string }): Promise<number[]> {
  const engine = new SyncEngine({ kube: f.kube, namespace: f.namespace, configRoot: f.root, service: f.service() });
  await engine.start();
  await engine.idle();
  const latencies: number[] = [];
  for (let i = 0; i < EDITS; i++) {
    const body = `live edit ${i}`;
    const file = f.write('src/page.html', body);
    const saved = Date.now();
    engine.notify({ local: file, kind: 'change', at: saved });
    await untilServed(`${pod.url}/page.html`, body);
    latencies.push(Date.now() - saved);
    await engine.idle();
    await sleep(50);
  }
  engine.dispose();
  return latencies;
}

/** What a script around `kubectl cp` does: poll each second, then one exec with a tar for the file, one for the reload. */
async function naiveLoop(f: SyncFixture, pod: { name: string; url: string }): Promise<number[]> {
  const latencies: number[] = [];
  const file = path.join(f.root, 'src/page.html');
  let lastMtime = fs.statSync(file).mtimeMs;
  for (let i = 0; i < EDITS; i++) {
    const body = `naive edit ${i}`;
    await sleep(Math.random() * 1000); // the save lands anywhere in the poll period
    fs.writeFileSync(file, body);
    const saved = Date.now();
    // The poller wakes on its 1 s grid.
    for (;;) {
      await sleep(1000 - (Date.now() % 1000));
      const m = fs.statSync(file).mtimeMs;
      if (m !== lastMtime) {
        lastMtime = m;
        break;
      }
    }
    const tar = await singleFileTar('page.html', fs.readFileSync(file));
    const cp = await execInPod(f.kube, {
      namespace: f.namespace,
      pod: pod.name,
      container: 'web',
      command: ['sh', '-c', 'tar -xmf - -C "$SANDPIPER_SYNC_ROOT/app"'],
      stdin: tar,
      timeoutMs: 30_000,
    });
    if (cp.exitCode !== 0) throw new Error(`naive cp failed: ${cp.stderr}`);
    await execInPod(f.kube, {
      namespace: f.namespace,
      pod: pod.name,
      container: 'web',
      command: ['sh', '-c', 'kill -HUP "$(cat server.pid)"'],
      timeoutMs: 30_000,
    });
    await untilServed(`${pod.url}/page.html`, body);
    latencies.push(Date.now() - saved);
  }
  return latencies;
}

async function singleFileTar(name: string, content: Buffer): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((r) => p.on('end', () => r()));
  p.entry({ name, mode: 0o644 }, content);
  p.finalize();
  await done;
  return padToRecord(Buffer.concat(chunks));
}

async function bigTree(f: SyncFixture): Promise<{ initialMs: number; unchangedResyncMs: number; files: number }> {
  for (let i = 0; i < TREE; i++)
    f.write(`big/d${i % 100}/file-${i}.js`, `export const n = ${i};\n// ${'x'.repeat(i % 200)}\n`);
  const service = f.service({ paths: ['big/'], target: '/big', reload: { kind: 'none' } });
  const engine = new SyncEngine({ kube: f.kube, namespace: f.namespace, configRoot: f.root, service });
  const t0 = Date.now();
  await engine.start();
  await sleep(20);
  await engine.idle();
  const initialMs = Date.now() - t0;
  const pod = [...f.pods.values()][0];
  const arrived = fs
    .readdirSync(path.join(pod.dir, 'big'))
    .reduce((n, d) => n + fs.readdirSync(path.join(pod.dir, 'big', d)).length, 0);
  if (arrived !== TREE) throw new Error(`initial sync delivered ${arrived} of ${TREE} files`);
  const t1 = Date.now();
  engine.resync();
  await sleep(5);
  await engine.idle();
  const unchangedResyncMs = Date.now() - t1;
  engine.dispose();
  return { initialMs, unchangedResyncMs, files: TREE };
}

async function main(): Promise<void> {
  const f = await SyncFixture.create('bench-sync');
  try {
    f.write('src/page.html', 'start');
    await f.createDeployment(1);
    const [podName] = await f.readyPods(1);
    const pod = await f.bind(podName);
    const live = await liveSync(f, pod);
    const naive = await naiveLoop(f, pod);
    const tree = await bigTree(f);
    const p50 = median(live);
    const naiveP50 = median(naive);
    writeResult('sync', {
      edits: EDITS,
      saveToServingMs: { p50, p95: percentile(live, 95), max: Math.max(...live) },
      naiveKubectlCpLoopMs: { p50: naiveP50, p95: percentile(naive, 95) },
      speedupP50: Number((naiveP50 / p50).toFixed(2)),
      goals: {
        p50Ms: 250,
        p95Ms: 500,
        speedup: 4,
        met: p50 <= 250 && percentile(live, 95) <= 500 && naiveP50 / p50 >= 4,
      },
      initialSync: { files: tree.files, ms: tree.initialMs },
      unchangedResyncMs: tree.unchangedResyncMs,
    });
  } finally {
    await f.dispose();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
