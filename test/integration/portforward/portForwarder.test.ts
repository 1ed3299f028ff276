import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type * as net from 'node:net';
import type { PortForwardEvent } from '../../../src/core/portforward/portForwarder';
import { createNamespace, portForwardTo, type Disposable } from '../../support/testbed';
import { createPod, createService, deletePod, testbedPortForwarder } from './kwokPods';

/** A host HTTP server standing in for the container's port; answers with its name. */
async function backend(name: string): Promise<{ port: number; server: http.Server }> {
  const server = http.createServer((req, res) => res.end(`${name} ${req.url}`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, server };
}

function get(port: number, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

describe('PortForwarder through the apiserver', function () {
  this.timeout(90_000);
  let ns: { name: string; dispose(): Promise<void> };
  const cleanups: Disposable[] = [];
  const servers: http.Server[] = [];

  before(async () => {
    ns = await createNamespace('sp-pf');
    await createService(ns.name, 'web', 8080);
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c.dispose().catch(() => undefined);
    servers.forEach((s) => s.close());
    await ns?.dispose();
  });

  it('forwards each connection to a ready pod, moves to the new pod when it is replaced, and shuts down cleanly', async () => {
    const one = await backend('one');
    const two = await backend('two');
    servers.push(one.server, two.server);
    cleanups.push(await portForwardTo(ns.name, 'web-1', 8080, '127.0.0.1', one.port));
    await createPod(ns.name, 'web-1', 'web');

    const forwarder = testbedPortForwarder(ns.name, 'web', 8080);
    const events: PortForwardEvent[] = [];
    forwarder.onEvent((e) => events.push(e));
    const port = await forwarder.start();
    cleanups.push({ dispose: () => forwarder.dispose() });
    assert.equal(forwarder.currentPod, 'web-1');

    assert.equal(await get(port, '/a'), 'one /a');
    assert.deepEqual(await Promise.all([get(port, '/b'), get(port, '/c')]), ['one /b', 'one /c']);
    assert.ok(events.some((e) => e.kind === 'connected' && e.pod === 'web-1'));

    // The pod is replaced (a rollout): the next connection goes to the new pod without restarting the forward.
    cleanups.push(await portForwardTo(ns.name, 'web-2', 8080, '127.0.0.1', two.port));
    await createPod(ns.name, 'web-2', 'web');
    await deletePod(ns.name, 'web-1');
    assert.equal(await get(port, '/d'), 'two /d');
    assert.equal(forwarder.currentPod, 'web-2');
    assert.ok(events.some((e) => e.kind === 'pod-changed' && e.to === 'web-2'));

    await forwarder.dispose();
    await assert.rejects(get(port, '/e'), /ECONNREFUSED/);
  });
});
