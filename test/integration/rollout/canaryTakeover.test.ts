// A canary whose driver is gone is taken over (resume) or rolled back (abort), and overrides act only under the
// canary's Lease: on the real apiserver, with real Lease objects, pods on the real node running the Todo example's
// image (the canary a changed build of it) and the analysis reading what Prometheus scraped from them.
import { strict as assert } from 'node:assert';
import type { CanaryConfig } from '../../../src/core/config/types';
import { type SandpiperError } from '../../../src/core/errors';
import { PrometheusClient } from '../../../src/core/infra/prometheus';
import { canaryState, overrideCanary, startCanary } from '../../../src/core/canary/control';
import { driveCanary, type DriverEvent } from '../../../src/core/canary/driver';
import { leaseName } from '../../../src/core/canary/lease';
import { updateState, withEvent } from '../../../src/core/canary/state';
import {
  canaryImage,
  createService,
  routeThroughGateway,
  testbedKube,
  waitForCanarySeries,
} from '../../support/canaryWorkspace';
import { GatewayLoad } from '../../support/gatewayLoad';
import { exampleImage } from '../../support/images';
import { requireRealNode } from '../../support/realPods';
import { eventually } from '../../support/wait';
import { createNamespace, loadTestbed } from '../../support/testbed';

const kube = testbedKube();
const canary = (o: Partial<CanaryConfig> = {}): CanaryConfig => ({
  steps: [50, 100],
  intervalMs: 2000,
  analysis: { successRate: { op: '>=', value: 0.95 }, failureLimit: 0, queries: [] },
  ...o,
});

/** MicroTime with six fractional digits, as the apiserver wants for Lease times. */
const micro = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;

describe('canary takeover and overrides under the Lease (testbed)', function () {
  this.timeout(180_000);
  let ns: { name: string; dispose(): Promise<void> };
  let edge: { name: string; dispose(): Promise<void> };
  let load: GatewayLoad | undefined;
  let n = 0;
  let web = '';
  let stable = '';
  let good = '';
  const prometheus = () => new PrometheusClient(loadTestbed().prometheusUrl);

  before(async function () {
    this.timeout(900_000); // the first run of a machine builds the example's images
    requireRealNode();
    [stable, good] = await Promise.all([exampleImage(), canaryImage('good')]);
    ns = await createNamespace('canary-takeover');
    // The Gateway's routes live in a namespace of their own: the canaries here split by replica ratio.
    edge = await createNamespace('canary-takeover-edge');
  });

  after(async () => {
    await ns.dispose();
    await edge.dispose();
  });

  // Each test its own Deployment, with traffic through the Gateway so its pods report request metrics.
  beforeEach(async () => {
    web = `web-${++n}`;
    await createService(kube, ns.name, web, { replicas: 2 });
    load = new GatewayLoad(await routeThroughGateway(kube, ns.name, web, edge.name), { rps: 50 }).start();
    await load.settled('stable');
  });

  afterEach(async () => {
    await load?.stop();
    load = undefined;
  });

  /** A canary of this test's Deployment whose analysis interval is too long to ever step on its own. */
  const startSlowCanary = () =>
    startCanary(kube, {
      namespace: ns.name,
      deployment: web,
      image: good,
      canary: canary({ intervalMs: 600_000 }),
    });

  function drive(
    holder: string,
    o: { resume?: boolean; onEvent?: (e: DriverEvent) => void; signal?: AbortSignal } = {},
  ) {
    return driveCanary({
      kube,
      namespace: ns.name,
      deployment: web,
      service: web,
      analysis: canary().analysis,
      metrics: prometheus(),
      holder,
      tickMs: 250,
      ...o,
    });
  }

  /** A Lease as a driver leaves it: renewed `agoMs` ago. */
  async function putLease(holder: string, agoMs: number, durationSeconds: number) {
    const at = micro(new Date(Date.now() - agoMs));
    const body = {
      metadata: { name: leaseName(web) },
      spec: { holderIdentity: holder, leaseDurationSeconds: durationSeconds, acquireTime: at, renewTime: at },
    };
    try {
      const existing = await kube.coordination.readNamespacedLease({ namespace: ns.name, name: leaseName(web) });
      await kube.coordination.replaceNamespacedLease({
        namespace: ns.name,
        name: leaseName(web),
        body: { ...existing, spec: body.spec },
      });
    } catch {
      await kube.coordination.createNamespacedLease({ namespace: ns.name, body });
    }
  }

  const holder = async () =>
    (await kube.coordination.readNamespacedLease({ namespace: ns.name, name: leaseName(web) }).catch(() => undefined))
      ?.spec?.holderIdentity;

  it('names resume/abort when the driver is gone, and resume takes the expired lease over and promotes', async () => {
    await startCanary(kube, { namespace: ns.name, deployment: web, image: good, canary: canary() });
    await putLease('crashed-window', 60_000, 15);
    await assert.rejects(
      startCanary(kube, { namespace: ns.name, deployment: web, image: `${web}:3`, canary: canary() }),
      (e: SandpiperError) =>
        e.code === 'canary-active' &&
        new RegExp(`Nobody drives it any more.*sandpiper rollout resume ${web}.*sandpiper rollout abort ${web}`).test(
          e.hint ?? '',
        ),
    );
    const holders: Array<string | undefined> = [];
    await waitForCanarySeries(ns.name, web);
    const end = await drive('cli-2', {
      resume: true,
      onEvent: (e) => void (e.kind === 'analysis' && holder().then((h) => holders.push(h))),
    });
    assert.equal(end.status, 'promoted', end.reason);
    assert.ok(holders.length > 0 && holders.every((h) => h === 'cli-2'), `lease holders while driving: ${holders}`);
    const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: web });
    assert.equal(d.spec?.template.spec?.containers[0].image, good);
    await load!.settled('canary');
  });

  it('resume takes over a canary left paused by a driver that lost its lease', async () => {
    await startCanary(kube, { namespace: ns.name, deployment: web, image: good, canary: canary() });
    // What a driver whose renewals kept failing leaves behind: the canary paused with the reason, the lease expired.
    const reason = 'driver window-1 stopped: Lost the lease of sandpiper-canary-web';
    await updateState(kube, ns.name, web, (cur) =>
      withEvent({ ...cur!, status: 'paused', reason }, new Date(), 'driver-lost', reason),
    );
    await putLease('window-1', 30_000, 15);
    await waitForCanarySeries(ns.name, web);
    const end = await drive('window-2', { resume: true });
    assert.equal(end.status, 'promoted', end.reason);
    assert.ok(
      end.history.some((h) => h.event === 'resumed' && h.detail === 'window-2'),
      JSON.stringify(end.history),
    );
  });

  it('abort does nothing while a live driver holds the lease, then takes it once it expires and rolls back', async () => {
    await startSlowCanary();
    await eventually(
      'canary at 1 replica',
      async () =>
        (await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: `${web}-canary` })).spec?.replicas === 1,
    );
    // A live driver (e.g. mid-analysis) keeps renewing a 3 s lease, then stops without releasing it.
    await putLease('window-1', 0, 3);
    let renewing = true;
    const renew = (async () => {
      while (renewing) {
        await putLease('window-1', 0, 3);
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    const aborting = overrideCanary(kube, ns.name, web, 'abort', undefined, 'cli');
    try {
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(
        (await canaryState(kube, ns.name, web))?.status,
        'aborting',
        'the abort is recorded at once for the driver to see',
      );
      const c = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: `${web}-canary` });
      assert.equal(c.spec?.replicas, 1, 'nothing was rolled back while another driver held the lease');
      assert.equal(await holder(), 'window-1');
    } finally {
      renewing = false;
      await renew;
    }
    const end = await aborting;
    assert.equal(end.status, 'aborted');
    await assert.rejects(
      kube.apps.readNamespacedDeployment({ namespace: ns.name, name: `${web}-canary` }),
      (e: { code?: number }) => e.code === 404,
    );
    const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: web });
    assert.deepEqual([d.spec?.template.spec?.containers[0].image, d.spec?.replicas], [stable, 2]);
    await load!.settled('stable');
    assert.equal(await holder(), undefined, 'the override released the lease it took');
  });

  it('promote from elsewhere while a driver runs: the driver holding the lease promotes, exactly once', async () => {
    await startSlowCanary();
    const driving = drive('window-1');
    await eventually('lease held', async () => (await holder()) === 'window-1');
    const end = await overrideCanary(kube, ns.name, web, 'promote', undefined, 'cli');
    assert.equal(end.status, 'promoted');
    assert.equal((await driving).status, 'promoted');
    assert.equal(end.history.filter((h) => h.event === 'promoted').length, 1, JSON.stringify(end.history));
    const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: web });
    assert.equal(d.spec?.template.spec?.containers[0].image, good);
    await load!.settled('canary');
  });
});
