// Port-forward request latency vs a direct local connection, on the testbed (kwok PortForward to a host server).
// Two figures: a new TCP connection per request (each opens a port-forward stream through the apiserver) and
// requests on one kept-alive connection (the steady state of a debugger or a browser tab).
import * as http from 'node:http';
import type * as net from 'node:net';
import { createNamespace, portForwardTo } from '../test/support/testbed';
import { createPod, createService, testbedPortForwarder } from '../test/integration/portforward/kwokPods';
import { median, percentile, writeResult } from './support/results';

const REQUESTS = 200;

async function timeRequests(port: number, agent: http.Agent | false): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: `/${i}`, agent }, (res) => {
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
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const direct = (server.address() as net.AddressInfo).port;
  const ns = await createNamespace('sp-pf-bench');
  const kwokForward = await portForwardTo(ns.name, 'web-1', 8080, '127.0.0.1', direct);
  await createService(ns.name, 'web', 8080);
  await createPod(ns.name, 'web-1', 'web');
  const forwarder = testbedPortForwarder(ns.name, 'web', 8080);
  const forwarded = await forwarder.start();
  try {
    await timeRequests(forwarded, false); // warm-up
    const figures: Record<string, unknown> = { requests: REQUESTS };
    for (const [label, makeAgent] of [
      ['newConnection', () => false as const],
      ['keepAlive', () => new http.Agent({ keepAlive: true, maxSockets: 1 })],
    ] as const) {
      const d = await timeRequests(direct, makeAgent());
      const f = await timeRequests(forwarded, makeAgent());
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
    await kwokForward.dispose();
    await ns.dispose();
    server.close();
  }
}

void main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
