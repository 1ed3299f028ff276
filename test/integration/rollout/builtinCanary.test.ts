// The built-in canary on the real node: the stable Deployment runs the Todo example's own image, the canary a changed
// build of it; steady traffic goes through the testbed's Gateway (Traefik) and is counted by which build answered,
// and the analysis reads what Prometheus scraped from the pods' own /metrics.
import { strict as assert } from 'node:assert';
import type { CanaryConfig } from '../../../src/core/config/types';
import { type SandpiperError } from '../../../src/core/errors';
import { PrometheusClient } from '../../../src/core/infra/prometheus';
import { canaryState, startCanary } from '../../../src/core/canary/control';
import { driveCanary, type DriverEvent } from '../../../src/core/canary/driver';
import { GATEWAY, type HttpRoute } from '../../../src/core/canary/traffic';
import {
  canaryImage,
  createService,
  deploymentAvailable,
  routeThroughGateway,
  testbedKube,
  waitForCanarySeries,
  waitForSeries,
} from '../../support/canaryWorkspace';
import { GatewayLoad, canaryShare, type Counts } from '../../support/gatewayLoad';
import { exampleImage } from '../../support/images';
import { requireRealNode } from '../../support/realPods';
import { eventually } from '../../support/wait';
import { createNamespace, loadTestbed } from '../../support/testbed';

const kube = testbedKube();
const canary = (o: Partial<CanaryConfig> = {}): CanaryConfig => ({
  steps: [20, 50, 100],
  intervalMs: 3000,
  analysis: {
    successRate: { op: '>=', value: 0.95 },
    p99LatencyMs: { op: '<=', value: 300 },
    failureLimit: 0,
    queries: [],
  },
  ...o,
});
/** Responses counted at each step start this long after its weight was set: the Gateway applies routes in ~1–2 s. */
const SETTLE_MS = 3000;
const MIN_COUNTED = 400;

/** Asserts the canary's share of `counts` is `want` ± 5 points over at least MIN_COUNTED responses. */
function assertShare(counts: Counts, want: number, what: string): void {
  const { share, n } = canaryShare(counts);
  assert.ok(n >= MIN_COUNTED, `${what}: only ${n} responses counted (${JSON.stringify(counts)})`);
  assert.ok(
    Math.abs(share - want) <= 5,
    `${what}: canary share ${share.toFixed(1)}% ≠ ${want}% ± 5 (${JSON.stringify(counts)})`,
  );
}

/** Responses that neither build served (the Gateway's 502/503, timeouts) since `from`. */
function failed(load: GatewayLoad, from: number): Counts {
  return Object.fromEntries(Object.entries(load.counts(from)).filter(([k]) => k !== 'stable' && k !== 'canary'));
}

describe('built-in canary of a Deployment (real node: traffic through the Gateway, Prometheus scraping the pods)', function () {
  this.timeout(240_000);
  let ns: { name: string; dispose(): Promise<void> };
  let edge: { name: string; dispose(): Promise<void> } | undefined;
  let load: GatewayLoad | undefined;
  let stable = '';
  const prometheus = () => new PrometheusClient(loadTestbed().prometheusUrl);

  before(async function () {
    this.timeout(900_000); // the first run of a machine builds the example's images
    requireRealNode();
    [stable] = await Promise.all([exampleImage(), canaryImage('good'), canaryImage('bad'), canaryImage('silent')]);
  });

  beforeEach(async function () {
    ns = await createNamespace(`canary-${this.currentTest?.title.slice(0, 12) ?? 't'}`);
  });

  afterEach(async () => {
    await load?.stop();
    load = undefined;
    await ns.dispose();
    await edge?.dispose();
    edge = undefined;
  });

  /** Starts a canary of the Deployment web with this image (and canary settings). */
  const startWeb = (image: string, o?: Partial<CanaryConfig>) =>
    startCanary(kube, { namespace: ns.name, deployment: 'web', image, canary: canary(o) });

  /** Deployment + Service web (4 pods) reached through a Gateway route in another namespace: replica-ratio mode. */
  async function webBehindSharedGateway(): Promise<GatewayLoad> {
    edge = await createNamespace('canary-edge');
    await createService(kube, ns.name, 'web');
    const host = await routeThroughGateway(kube, ns.name, 'web', edge.name);
    load = new GatewayLoad(host).start();
    await load.settled('stable');
    return load;
  }

  function drive(holder: string, onEvent: (e: DriverEvent) => void = () => undefined, signal?: AbortSignal) {
    return driveCanary({
      kube,
      namespace: ns.name,
      deployment: 'web',
      service: 'web',
      analysis: canary().analysis,
      metrics: prometheus(),
      holder,
      signal,
      tickMs: 250,
      onEvent,
    });
  }

  const route = async () =>
    (await kube.custom.getNamespacedCustomObject({ ...GATEWAY, namespace: ns.name, name: 'web' })) as HttpRoute;

  it('steps through the HTTPRoute weights, the Gateway splits traffic by them, and promotes a healthy canary', async () => {
    const host = await createService(kube, ns.name, 'web', { route: true });
    load = new GatewayLoad(host!).start();
    await load.settled('stable');
    const good = await canaryImage('good');
    const t0 = load.now();
    const started = await startWeb(good, { intervalMs: 15_000 });
    assert.equal(started.trafficMode, 'httproute');
    // Each step's counting window: from its weight being set (+ SETTLE_MS) to its analysis.
    const from: number[] = [load.now()];
    const to: number[] = [];
    let step = 0;
    const weights: number[] = [];
    const events: DriverEvent[] = [];
    await waitForCanarySeries(ns.name, 'web');
    const end = await drive('test-a', (e) => {
      events.push(e);
      if (e.kind === 'analysis') to[step] = load!.now();
      if (e.kind !== 'state' || e.state.status !== 'progressing') return;
      step = e.state.stepIndex;
      from[step] ??= load!.now();
      // After each passed analysis the driver sets the next weight; the route shows the step's weight meanwhile.
      void route().then((r) =>
        weights.push(r.spec!.rules![0].backendRefs!.find((b) => b.name === 'web-canary')?.weight ?? 0),
      );
    });
    assert.equal(end.status, 'promoted', end.reason);
    assert.deepEqual(
      events.filter((e) => e.kind === 'analysis').map((e) => (e as { result: { verdict: string } }).result.verdict),
      ['pass', 'pass', 'pass'],
    );
    assert.ok(weights.includes(20) && weights.includes(50) && weights.includes(100), `weights seen ${weights}`);
    const split = [20, 50, 100].map((w, i) => ({ w, counts: load!.counts(from[i] + SETTLE_MS, to[i]) }));
    console.log(`      split by step: ${split.map((s) => `${s.w}% → ${JSON.stringify(s.counts)}`).join('; ')}`);
    for (const s of split) assertShare(s.counts, s.w, `step ${s.w}%`);
    const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' });
    assert.equal(d.spec?.template.spec?.containers[0].image, good);
    assert.equal(d.spec?.replicas, 4);
    const r = await route();
    assert.deepEqual(
      r.spec!.rules![0].backendRefs!.map((b) => b.name),
      ['web'],
      'only the stable Service left on the route',
    );
    const svc = await kube.core.readNamespacedService({ namespace: ns.name, name: 'web' });
    assert.equal(svc.spec?.selector?.['pod-template-hash'], undefined, 'stable Service unpinned');
    await assert.rejects(
      kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web-canary' }),
      (e: { code?: number }) => e.code === 404,
    );
    await assert.rejects(
      kube.core.readNamespacedService({ namespace: ns.name, name: 'web-canary' }),
      (e: { code?: number }) => e.code === 404,
    );
    // Promoted: the stable pods now run the canary's build and serve all of it.
    await load.settled('canary');
    assertShare(await load.next(MIN_COUNTED), 100, 'after promotion');
    assert.deepEqual(
      failed(load, t0),
      {},
      `requests failed during the rollout (of ${JSON.stringify(load.counts(t0))})`,
    );
  });

  it('aborts and rolls back when the canary build serves errors (replica ratio: no route in its namespace)', async () => {
    await webBehindSharedGateway();
    const t0 = load!.now();
    const started = await startWeb(await canaryImage('bad'), { intervalMs: 10_000 });
    assert.equal(started.trafficMode, 'replicas');
    await eventually('stable scaled to 3 and canary to 1, all Ready', async () => {
      const [s, c] = await Promise.all([
        kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' }),
        kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web-canary' }),
      ]);
      return (
        s.spec?.replicas === 3 &&
        s.status?.replicas === 3 &&
        s.status.availableReplicas === 3 &&
        c.spec?.replicas === 1 &&
        c.status?.availableReplicas === 1
      );
    });
    await eventually('the Gateway sending some traffic to the canary pod', () => (load!.tail(100).canary ?? 0) > 0);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    // One pod of four: the canary's share is the replica ratio, 25% (the step's 20% rounded up to a pod).
    const split = await load!.next(MIN_COUNTED);
    console.log(`      split at 1 canary pod of 4: ${JSON.stringify(split)}`);
    // Not also 20% ± 5: the step's weight is carried by whole pods here, so the expected share is exactly 25%
    // and a tolerance around 20% would end at 25 (it failed on 25.3%).
    assertShare(split, 25, 'replica ratio 1/4');
    await waitForCanarySeries(ns.name, 'web');
    const end = await drive('test-a');
    assert.equal(end.status, 'aborted');
    assert.match(end.reason ?? '', /analysis failed \(success rate 0 \(>= 0\.95\): fail/);
    const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' });
    assert.equal(d.spec?.template.spec?.containers[0].image, stable);
    assert.equal(d.spec?.replicas, 4);
    await assert.rejects(
      kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web-canary' }),
      (e: { code?: number }) => e.code === 404,
    );
    await load!.settled('stable');
    assertShare(await load!.next(MIN_COUNTED), 0, 'after the rollback');
    // Pods leave the Service as they stop (replica ratio has no route to drain): the Gateway may catch a few.
    console.log(`      not served by either build, replica ratio: ${JSON.stringify(failed(load!, t0))}`);
  });

  it('rolls back a canary whose build exports no metrics while it serves (no data never promotes)', async () => {
    const host = await createService(kube, ns.name, 'web', { route: true });
    load = new GatewayLoad(host!).start();
    await load.settled('stable');
    const t0 = load.now();
    await startWeb(await canaryImage('silent'), { steps: [100] });
    // It really serves all the traffic, and Prometheus really scraped it and found nothing.
    await load.settled('canary');
    await waitForSeries(`up{namespace="${ns.name}",service="web",track="canary"} == 0`);
    const end = await drive('test-a');
    assert.equal(end.status, 'aborted');
    assert.match(end.reason ?? '', /no metrics for the canary.*reports no request metrics/);
    assert.deepEqual(
      (await route()).spec!.rules![0].backendRefs!.map((b) => b.name),
      ['web'],
      'all traffic back on stable',
    );
    const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' });
    assert.equal(d.spec?.template.spec?.containers[0].image, stable);
    await load.settled('stable');
    assertShare(await load.next(MIN_COUNTED), 0, 'after the rollback');
    assert.deepEqual(
      failed(load, t0),
      {},
      `requests failed during the rollback (of ${JSON.stringify(load.counts(t0))})`,
    );
  });

  it('a second controller resumes from the annotations where the first stopped', async () => {
    await webBehindSharedGateway();
    await startWeb(await canaryImage('good'));
    await waitForCanarySeries(ns.name, 'web');
    const stop = new AbortController();
    const first = drive('window-1', (e) => e.kind === 'analysis' && stop.abort(), stop.signal);
    await assert.rejects(first, (e: SandpiperError) => e.code === 'cancelled');
    const left = await canaryState(kube, ns.name, 'web');
    assert.equal(left?.status, 'progressing');
    assert.equal(left?.stepIndex, 1, 'the first driver had advanced one step');
    const events: DriverEvent[] = [];
    const end = await drive('window-2', (e) => events.push(e));
    assert.equal(end.status, 'promoted', end.reason);
    const firstSeen = events.find((e) => e.kind === 'state') as { state: { stepIndex: number } };
    assert.equal(firstSeen.state.stepIndex, 1, 'the second driver started at the recorded step');
    assert.equal(events.filter((e) => e.kind === 'analysis').length, 2);
    await load!.settled('canary');
  });

  it('refuses a second driver while the first holds the lease', async () => {
    await createService(kube, ns.name, 'web');
    await deploymentAvailable(kube, ns.name, 'web', 4);
    await startWeb(await canaryImage('good'), { intervalMs: 60_000 });
    const stop = new AbortController();
    const first = drive('window-1', undefined, stop.signal);
    await eventually(
      'lease held',
      async () =>
        (await kube.coordination.readNamespacedLease({ namespace: ns.name, name: 'sandpiper-canary-web' })).spec
          ?.holderIdentity === 'window-1',
    );
    await assert.rejects(
      drive('window-2'),
      (e: SandpiperError) => e.code === 'canary-busy' && /window-1/.test(e.message),
    );
    stop.abort();
    await assert.rejects(first, (e: SandpiperError) => e.code === 'cancelled');
    // Released on stop: the next driver takes over at once.
    const events: DriverEvent[] = [];
    const stop2 = new AbortController();
    const second = drive(
      'window-2',
      (e) => {
        events.push(e);
        stop2.abort();
      },
      stop2.signal,
    );
    await assert.rejects(second, (e: SandpiperError) => e.code === 'cancelled');
    assert.ok(events.length > 0);
  });
});
