// Port-forward request latency into a real container on the testbed's real node (the example's own image: a node
// HTTP server that keeps connections alive), vs a direct
// connection from this host to the pod's IP over the node's bridge. Two figures: a new TCP connection per request
// (each opens a port-forward stream through the apiserver and the kubelet) and requests on one kept-alive
// connection (the steady state of a debugger or a browser tab).
import * as http from 'node:http';
import { Kube } from '../src/core/infra/kube/client';
import { PortForwarder } from '../src/core/portforward/portForwarder';
import { deployApp, readyPods, requireRealNode } from '../test/support/realPods';
import { createNamespace, kubeConfig } from '../test/support/testbed';
import { exampleImage } from '../test/support/images';
import { median, percentile, writeResult } from './support/results';

const REQUESTS = 200;

async function timeRequests(host: string, port: number, agent: http.Agent | false): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host, port, path: '/healthz', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        })
        .on('error', reject);
    });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return times;
}

async function main(): Promise<void> {
  const node = requireRealNode().node;
  const ns = await createNamespace('sp-pf-bench');
  await deployApp(ns.name, 'web', await exampleImage());
  const [pod] = await readyPods(ns.name, 'app=web');
  const podIp = pod.status!.podIP!;
  const forwarder = new PortForwarder({
    kube: new Kube(kubeConfig()),
    namespace: ns.name,
    service: 'web',
    remotePort: 8080,
  });
  const forwarded = await forwarder.start();
  try {
    await timeRequests('127.0.0.1', forwarded, false); // warm-up
    await timeRequests(podIp, 8080, false);
    const figures: Record<string, unknown> = { node, requests: REQUESTS, direct: `pod IP ${podIp}:8080` };
    for (const [label, makeAgent] of [
      ['newConnection', () => false as const],
      ['keepAlive', () => new http.Agent({ keepAlive: true, maxSockets: 1 })],
    ] as const) {
      const d = await timeRequests(podIp, 8080, makeAgent());
      const f = await timeRequests('127.0.0.1', forwarded, makeAgent());
      figures[label] = {
        directMedianMs: Number(median(d).toFixed(3)),
        forwardedMedianMs: Number(median(f).toFixed(3)),
        forwardedP95Ms: Number(percentile(f, 95).toFixed(3)),
        medianRatio: Number((median(f) / median(d)).toFixed(1)),
      };
    }
    writeResult('portforward', figures);
  } finally {
    await forwarder.dispose();
    await ns.dispose();
  }
}

void main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
