// PortForwarder through the apiserver and the real node's kubelet into real containers' ports.
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import { Kube } from '../../../src/core/infra/kube/client';
import { PortForwarder, type PortForwardEvent } from '../../../src/core/portforward/portForwarder';
import { deployApp, readyPods } from '../../support/realPods';
import { coreApi, createNamespace, kubeConfig, type Disposable } from '../../support/testbed';
import { eventually } from '../../support/wait';
import { NAMED_HTTPD } from '../logs/talker';

/** A PortForwarder (not started) through the testbed's apiserver to `service:remotePort` in the namespace. */
function testbedPortForwarder(namespace: string, service: string, remotePort: number): PortForwarder {
  return new PortForwarder({ kube: new Kube(kubeConfig()), namespace, service, remotePort });
}

function get(port: number, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body.trim()));
      })
      .on('error', reject);
  });
}

describe('PortForwarder into real containers', function () {
  this.timeout(120_000);
  let ns: { name: string; dispose(): Promise<void> };
  const cleanups: Disposable[] = [];

  before(async () => {
    ns = await createNamespace('sp-pf');
    await deployApp(ns.name, 'web', 'sandpiper/busybox:latest', { command: NAMED_HTTPD, readinessPath: '/' });
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c.dispose().catch(() => undefined);
    await ns?.dispose();
  });

  it('forwards each connection to a ready pod, moves to the new pod when it is replaced, and shuts down cleanly', async () => {
    const [first] = await readyPods(ns.name, 'app=web');
    const one = first.metadata!.name!;
    const forwarder = testbedPortForwarder(ns.name, 'web', 8080);
    const events: PortForwardEvent[] = [];
    forwarder.onEvent((e) => events.push(e));
    const port = await forwarder.start();
    cleanups.push({ dispose: () => forwarder.dispose() });
    assert.equal(forwarder.currentPod, one);

    assert.equal(await get(port), one, "the container's httpd answers with its pod's name");
    assert.deepEqual(await Promise.all([get(port), get(port)]), [one, one]);
    assert.ok(events.some((e) => e.kind === 'connected' && e.pod === one));

    // The pod is deleted: the Deployment replaces it, and the next connection goes to the new pod without
    // restarting the forward.
    await coreApi().deleteNamespacedPod({ namespace: ns.name, name: one, gracePeriodSeconds: 1 });
    const two = await eventually(
      'the replacement Ready',
      async () => (await readyPods(ns.name, 'app=web')).find((p) => p.metadata?.name !== one)?.metadata?.name,
      90_000,
    );
    await eventually(
      'the old pod gone',
      () =>
        coreApi()
          .readNamespacedPod({ namespace: ns.name, name: one })
          .then(
            () => false,
            (e: { code?: number }) => e.code === 404,
          ),
      60_000,
    );
    assert.equal(await get(port), two);
    assert.equal(forwarder.currentPod, two);
    assert.ok(events.some((e) => e.kind === 'pod-changed' && e.from === one && e.to === two));

    await forwarder.dispose();
    await assert.rejects(get(port), /ECONNREFUSED/);
  });

  it('says which pod and port refused when nothing listens on the container port', async () => {
    const [pod] = await readyPods(ns.name, 'app=web');
    const forwarder = testbedPortForwarder(ns.name, 'web', 9999);
    const events: PortForwardEvent[] = [];
    forwarder.onEvent((e) => events.push(e));
    const port = await forwarder.start();
    cleanups.push({ dispose: () => forwarder.dispose() });
    await assert.rejects(get(port), /socket hang up|ECONNRESET/);
    const error = await eventually('the stream error', () => events.find((e) => e.kind === 'stream-error'), 20_000);
    assert.equal(error.kind === 'stream-error' && error.pod, pod.metadata!.name);
    assert.match(
      error.kind === 'stream-error' ? error.message : '',
      /9999.*connection refused/,
      'the kubelet says the port refused the connection',
    );
  });
});
