// "Open in Browser" in core: a service's HTTP port (config `port`, else the container's first containerPort)
// forwarded from 127.0.0.1 into real containers on the real node, following the service to a replacement pod.
import { strict as assert } from 'node:assert';
import { fetchText } from '../../support/net';
import { AppsV1Api } from '@kubernetes/client-node';
import { Kube } from '../../../src/core/infra/kube/client';
import type { SandpiperError } from '../../../src/core/errors';
import { defaultService, openableServices, ServiceForward } from '../../../src/core/portforward/serviceForward';
import { deployApp, readyPods } from '../../support/realPods';
import { coreApi, createNamespace, kubeConfig } from '../../support/testbed';
import { eventually } from '../../support/wait';
import { NAMED_HTTPD } from '../logs/talker';

describe('ServiceForward: a service of an environment opened on 127.0.0.1 (real node)', function () {
  this.timeout(180_000);
  const kube = new Kube(kubeConfig());
  let ns: { name: string; dispose(): Promise<void> };
  const forwards: ServiceForward[] = [];

  before(async () => {
    ns = await createNamespace('sp-open');
    // The httpd answers with its pod's name; a second port after it must not be the one opened.
    await deployApp(ns.name, 'web', 'sandpiper/busybox:latest', {
      command: NAMED_HTTPD,
      readinessPath: '/',
      ports: { metrics: 9090 },
    });
    // A workload that declares no port (never run: the template alone is read).
    await kubeConfig()
      .makeApiClient(AppsV1Api)
      .createNamespacedDeployment({
        namespace: ns.name,
        body: {
          metadata: { name: 'worker' },
          spec: {
            replicas: 0,
            selector: { matchLabels: { app: 'worker' } },
            template: {
              metadata: { labels: { app: 'worker' } },
              spec: { containers: [{ name: 'worker', image: 'sandpiper/busybox:latest' }] },
            },
          },
        },
      });
  });

  after(async () => {
    for (const f of forwards) await f.dispose().catch(() => undefined);
    await ns?.dispose();
  });

  it("opens the container's first port, and the same URL serves the replacement pod once it is Ready", async () => {
    const [first] = await readyPods(ns.name, 'app=web');
    const one = first.metadata!.name!;
    const forward = await ServiceForward.open({ kube, namespace: ns.name, service: 'web' });
    forwards.push(forward);
    assert.equal(forward.remotePort, 8080, "the container's first containerPort");
    assert.match(forward.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.deepEqual(await fetchText(forward.url), { status: 200, body: one });

    await coreApi().deleteNamespacedPod({ namespace: ns.name, name: one, gracePeriodSeconds: 1 });
    const two = await eventually(
      'the replacement Ready',
      async () => (await readyPods(ns.name, 'app=web')).find((p) => p.metadata?.name !== one)?.metadata?.name,
      90_000,
    );
    // Until the old pod is gone a connection may still reach it (or fail with it); the URL must come back to life.
    const served = await eventually(
      'the same URL served by the replacement',
      async () => {
        const r = await fetchText(forward.url).catch(() => undefined);
        return r?.status === 200 && r.body === two ? r : undefined;
      },
      60_000,
      250,
    );
    assert.equal(served.body, two);
    assert.equal(forward.pod, two);

    await forward.dispose();
    await assert.rejects(fetchText(forward.url), /ECONNREFUSED/, 'disposing frees the local port');
  });

  it('a port given (sandpiper.yaml `port`) wins over the first containerPort', async () => {
    const forward = await ServiceForward.open({ kube, namespace: ns.name, service: 'web', port: 9090 });
    forwards.push(forward);
    assert.equal(forward.remotePort, 9090);
    // Nothing listens on 9090 in the container: the forward is there, the connection is refused inside the pod.
    await assert.rejects(fetchText(forward.url), /socket hang up|ECONNRESET/);
    await forward.dispose();
  });

  it('says plainly when the environment, the service or a port is missing', async () => {
    await assert.rejects(
      ServiceForward.open({ kube, namespace: `${ns.name}-nope`, service: 'web' }),
      (err: SandpiperError) =>
        err.code === 'no-environment' && err.message.includes(`"${ns.name}-nope"`) && err.message.includes('context'),
    );
    await assert.rejects(
      ServiceForward.open({ kube, namespace: ns.name, service: 'api' }),
      (err: SandpiperError) =>
        err.code === 'unknown-service' &&
        err.message === `Environment "${ns.name}" has no service "api".` &&
        err.hint === 'Use one of: web, worker.',
    );
    await assert.rejects(
      ServiceForward.open({ kube, namespace: ns.name, service: 'worker' }),
      (err: SandpiperError) => err.code === 'invalid' && /declares no port/.test(err.message) && /port/.test(err.hint!),
    );
    await assert.rejects(
      ServiceForward.open({ kube, namespace: ns.name, service: 'web', container: 'sidecar' }),
      (err: SandpiperError) => err.code === 'unknown-service' && /no container "sidecar"/.test(err.message),
    );
  });

  it('lists what an environment can open; several and none labelled: the caller must name one', async () => {
    const offer = await openableServices(kube, ns.name);
    assert.deepEqual(offer, { services: ['web', 'worker'], primary: undefined });
    assert.throws(
      () => defaultService(ns.name, offer),
      (err: SandpiperError) => err.code === 'usage' && /runs web, worker/.test(err.message),
    );
    assert.equal(defaultService(ns.name, { ...offer, primary: 'worker' }), 'worker');
    assert.equal(defaultService(ns.name, { services: ['web'] }), 'web');
  });
});
