// The canary controller's loop run in this test process against the real-node testbed: a canary handed to the
// controller (driver 'controller') is driven to promotion by it alone — leader lease in a namespace of the test's
// own, a watch over every Deployment, the driver, Events on the Deployment, and /metrics. The controller run in a
// pod (install, RBAC, pod access to the API server) is tested by the install and chaos tests.
import { strict as assert } from 'node:assert';
import type { CoreV1Event } from '@kubernetes/client-node';
import { runController } from '../../../src/core/canary/controller';
import { canaryState, startCanary } from '../../../src/core/canary/control';
import { leaseName } from '../../../src/core/canary/lease';
import { CONTROLLER_LEASE_KEY, liveController } from '../../../src/core/canary/presence';
import { PrometheusClient } from '../../../src/core/infra/prometheus';
import { canaryImage, createService, testbedKube } from '../../support/canaryWorkspace';
import { GatewayLoad } from '../../support/gatewayLoad';
import { exampleImage } from '../../support/images';
import { freePort } from '../../support/net';
import { requireRealNode } from '../../support/realPods';
import { createNamespace, loadTestbed } from '../../support/testbed';
import { eventually } from '../../support/wait';

const kube = testbedKube();

describe('canary controller loop in the test process (real node, Gateway, Prometheus)', function () {
  this.timeout(300_000);
  let ns: { name: string; dispose(): Promise<void> } | undefined;
  let system: { name: string; dispose(): Promise<void> } | undefined;
  let load: GatewayLoad | undefined;
  let stop: AbortController | undefined;
  let run: Promise<void> | undefined;
  const logs: string[] = [];

  before(async function () {
    this.timeout(900_000); // the first run of a machine builds the example's images
    requireRealNode();
    await Promise.all([exampleImage(), canaryImage('good')]);
  });

  afterEach(async function () {
    stop?.abort();
    await run?.catch(() => undefined);
    await load?.stop();
    if (this.currentTest?.state === 'failed') console.log(`      controller log:\n        ${logs.join('\n        ')}`);
    await ns?.dispose();
    await system?.dispose();
  });

  it('promotes a canary handed to the controller by itself; Events on the Deployment, decisions on /metrics', async () => {
    ns = await createNamespace('ctl-loop');
    // Its own namespace for the leader lease: an installed controller in sandpiper-system is a different leader.
    system = await createNamespace('ctl-system');
    const host = await createService(kube, ns.name, 'web', { route: true, replicas: 2 });
    load = new GatewayLoad(host!).start();
    await load.settled('stable');
    const holder = `test-${process.pid}`;
    const port = await freePort();
    stop = new AbortController();
    run = runController({
      kube,
      metrics: new PrometheusClient(loadTestbed().prometheusUrl),
      holder,
      namespace: system.name,
      leaseSeconds: 5,
      metricsPort: port,
      log: (m) => logs.push(`${new Date().toISOString()} ${m}`),
      signal: stop.signal,
    });
    const metricsUrl = `http://127.0.0.1:${port}`;
    await eventually('the controller leads', async () => {
      const health = (await (await fetch(`${metricsUrl}/healthz`)).json()) as { ok: boolean; leader: boolean };
      return health.ok && health.leader;
    });
    const installed = await liveController(kube);
    if (installed)
      console.log(`      note: an installed controller (${installed}) runs too; it may compete for the canary`);

    const good = await canaryImage('good');
    const started = await startCanary(kube, {
      namespace: ns.name,
      deployment: 'web',
      image: good,
      driver: 'controller',
      canary: {
        steps: [50, 100],
        intervalMs: 10_000,
        // A first analysis before Prometheus scraped the new pods finds no data: retried, not rolled back.
        analysis: { successRate: { op: '>=', value: 0.95 }, failureLimit: 2, queries: [] },
      },
    });
    assert.equal(started.driver, 'controller');
    assert.equal(started.trafficMode, 'httproute');

    const end = await eventually(
      'the canary finished by the controller',
      async () => {
        const s = await canaryState(kube, ns!.name, 'web');
        return (s?.status === 'promoted' || s?.status === 'aborted') && s;
      },
      240_000,
      1000,
    );
    assert.equal(end.status, 'promoted', end.reason);
    assert.match(end.history.map((h) => h.detail ?? '').join('\n'), /analysis passed|success rate/);
    const stable = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' });
    assert.equal(stable.spec?.template.spec?.containers[0].image, good, 'the stable Deployment runs the canary build');

    const events = await eventually('the controller Events on web', async () => {
      const list = await kube.core.listNamespacedEvent({
        namespace: ns!.name,
        fieldSelector: 'involvedObject.kind=Deployment,involvedObject.name=web',
      });
      const ours = list.items.filter((e: CoreV1Event) => e.reportingComponent === 'sandpiper-canary-controller');
      return ours.some((e) => e.reason === 'CanaryPromoted') && ours;
    });
    const reasons = events.map((e) => e.reason);
    for (const r of ['CanaryDriving', 'CanaryStepAdvanced', 'CanaryPromoted'])
      assert.ok(reasons.includes(r), `Event ${r} missing (got ${reasons.join(', ')})`);
    for (const e of events) {
      assert.equal(e.reportingInstance, holder, `${e.reason} written by another controller (${e.reportingInstance})`);
      assert.equal(e.involvedObject.uid, stable.metadata?.uid);
      assert.equal(e.source?.component, 'sandpiper-canary-controller');
    }
    const advanced = events.find((e) => e.reason === 'CanaryStepAdvanced')!;
    assert.match(advanced.message ?? '', /step 2\/2 \(100%\); analysis pass: /);

    const text = await (await fetch(`${metricsUrl}/metrics`)).text();
    const series = (name: string, labels: string) =>
      new RegExp(`^${name}\\{rollout_namespace="${ns!.name}",rollout="web"${labels}\\} (\\S+)$`, 'm').exec(text)?.[1];
    assert.equal(series('sandpiper_canary_decisions_total', ',decision="advance"'), '1', text);
    assert.equal(series('sandpiper_canary_decisions_total', ',decision="promote"'), '1');
    assert.equal(series('sandpiper_canary_phase', ',phase="promoted"'), '1');
    assert.equal(series('sandpiper_canary_analysis_verdict', ',metric="success rate"'), '1');
    assert.match(text, /^sandpiper_canary_controller_leader 1$/m);
    assert.match(text, /^process_cpu_user_seconds_total /m);

    // Stopped (SIGTERM in a pod): the leader lease is given up at once for the next replica.
    stop.abort();
    await run;
    await assert.rejects(
      kube.coordination.readNamespacedLease({ namespace: system.name, name: leaseName(CONTROLLER_LEASE_KEY) }),
      (e: { code?: number }) => e.code === 404,
    );
    await assert.rejects(fetch(`${metricsUrl}/healthz`), 'the metrics server is closed');
  });
});
