import { strict as assert } from 'node:assert';
import type { CanaryConfig } from '../../../src/core/config/types';
import { type SandpiperError } from '../../../src/core/errors';
import { PrometheusClient } from '../../../src/core/infra/prometheus';
import { startCanary } from '../../../src/core/canary/control';
import { driveCanary, type DriverEvent } from '../../../src/core/canary/driver';
import { canaryState } from '../../../src/core/canary/control';
import { GATEWAY, type HttpRoute } from '../../../src/core/canary/traffic';
import { createService, deploymentAvailable, testbedKube } from '../../support/canaryWorkspace';
import { eventually } from '../../support/wait';
import { MetricsTarget, waitForCanarySeries } from '../../support/metricsTarget';
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

describe('built-in canary of a Deployment (testbed: real apiserver, controllers, Prometheus)', function () {
  this.timeout(180_000);
  let ns: { name: string; dispose(): Promise<void> };
  let metrics: MetricsTarget;
  const prometheus = () => new PrometheusClient(loadTestbed().prometheusUrl);

  beforeEach(async function () {
    ns = await createNamespace(`canary-${this.currentTest?.title.slice(0, 12) ?? 't'}`);
    metrics = await new MetricsTarget(ns.name, 'web').start();
    await waitForCanarySeries(ns.name);
  });

  afterEach(async () => {
    await metrics.dispose();
    await ns.dispose();
  });

  /** Starts a canary of the Deployment web with this image (and canary settings). */
  const startWeb = (image: string, o?: Partial<CanaryConfig>) =>
    startCanary(kube, { namespace: ns.name, deployment: 'web', image, canary: canary(o) });

  const readyDeployment = (name: string, replicas: number) => deploymentAvailable(kube, ns.name, name, replicas);

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

  it('steps through the HTTPRoute weights and promotes a healthy canary', async () => {
    await createService(kube, ns.name, 'web', { route: true });
    await readyDeployment('web', 4);
    const started = await startWeb('web:2');
    assert.equal(started.trafficMode, 'httproute');
    const weights: number[] = [];
    const route = async () =>
      (await kube.custom.getNamespacedCustomObject({ ...GATEWAY, namespace: ns.name, name: 'web' })) as HttpRoute;
    const events: DriverEvent[] = [];
    const end = await drive('test-a', (e) => {
      events.push(e);
      // After each passed analysis the driver sets the next weight; the route shows the step's weight meanwhile.
      if (e.kind === 'state' && e.state.status === 'progressing')
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
    const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' });
    assert.equal(d.spec?.template.spec?.containers[0].image, 'web:2');
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
  });

  it('aborts and rolls back when the canary error rate rises (replica ratio, no route)', async () => {
    await createService(kube, ns.name, 'web');
    await readyDeployment('web', 4);
    metrics.tracks.canary.errorRate = 0.3;
    const started = await startWeb('web:bad');
    assert.equal(started.trafficMode, 'replicas');
    await eventually('stable scaled to 3 and canary to 1', async () => {
      const [s, c] = await Promise.all([
        kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' }),
        kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web-canary' }),
      ]);
      return s.spec?.replicas === 3 && c.spec?.replicas === 1;
    });
    const end = await drive('test-a');
    assert.equal(end.status, 'aborted');
    assert.match(end.reason ?? '', /analysis failed \(success rate 0\.\d+ \(>= 0\.95\): fail/);
    const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' });
    assert.equal(d.spec?.template.spec?.containers[0].image, 'web:1');
    assert.equal(d.spec?.replicas, 4);
    await assert.rejects(
      kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web-canary' }),
      (e: { code?: number }) => e.code === 404,
    );
  });

  it('rolls back when the canary metrics vanish (no data never promotes)', async () => {
    await createService(kube, ns.name, 'web', { route: true });
    await readyDeployment('web', 4);
    metrics.tracks.canary.present = false;
    await startWeb('web:2', { steps: [100] });
    const end = await drive('test-a');
    assert.equal(end.status, 'aborted');
    assert.match(end.reason ?? '', /no metrics for the canary.*reports no request metrics/);
    const r = (await kube.custom.getNamespacedCustomObject({
      ...GATEWAY,
      namespace: ns.name,
      name: 'web',
    })) as HttpRoute;
    assert.deepEqual(
      r.spec!.rules![0].backendRefs!.map((b) => b.name),
      ['web'],
      'all traffic back on stable',
    );
    const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' });
    assert.equal(d.spec?.template.spec?.containers[0].image, 'web:1');
  });

  it('a second controller resumes from the annotations where the first stopped', async () => {
    await createService(kube, ns.name, 'web');
    await readyDeployment('web', 4);
    await startWeb('web:2');
    const stop = new AbortController();
    const first = drive('window-1', (e) => e.kind === 'analysis' && stop.abort(), stop.signal);
    await assert.rejects(first, (e: SandpiperError) => e.code === 'cancelled');
    const left = await canaryState(kube, ns.name, 'web');
    assert.equal(left?.status, 'progressing');
    assert.equal(left?.stepIndex, 1, 'the first driver had advanced one step');
    const events: DriverEvent[] = [];
    const end = await drive('window-2', (e) => events.push(e));
    assert.equal(end.status, 'promoted');
    const firstSeen = events.find((e) => e.kind === 'state') as { state: { stepIndex: number } };
    assert.equal(firstSeen.state.stepIndex, 1, 'the second driver started at the recorded step');
    assert.equal(events.filter((e) => e.kind === 'analysis').length, 2);
  });

  it('refuses a second driver while the first holds the lease', async () => {
    await createService(kube, ns.name, 'web');
    await readyDeployment('web', 4);
    await startWeb('web:2', { intervalMs: 60_000 });
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
