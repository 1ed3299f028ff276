// Canary analysis from the Gateway's own series (analysis.source: gateway): a real canary split by an HTTPRoute
// through the testbed's Traefik, judged from Traefik's per-backend request counter and latency histogram, with no
// help from the app's metrics.
import { strict as assert } from 'node:assert';
import type { CanaryConfig } from '../../../src/core/config/types';
import { sleep, type SandpiperError } from '../../../src/core/errors';
import { PrometheusClient } from '../../../src/core/infra/prometheus';
import { analyseCanary, analysisTarget, requestRateQuery } from '../../../src/core/canary/analysis';
import { canaryState, startCanary } from '../../../src/core/canary/control';
import { canaryImage, createService, testbedKube, waitForSeries } from '../../support/canaryWorkspace';
import { GatewayLoad, canaryShare } from '../../support/gatewayLoad';
import { exampleImage } from '../../support/images';
import { requireRealNode } from '../../support/realPods';
import { eventually } from '../../support/wait';
import { createNamespace, loadTestbed } from '../../support/testbed';

const kube = testbedKube();
const gatewayCanary: CanaryConfig = {
  steps: [50, 100],
  intervalMs: 600_000, // nothing drives it: the test analyses by hand
  analysis: {
    source: 'gateway',
    successRate: { op: '>=', value: 0.99 },
    p99LatencyMs: { op: '<=', value: 1000 },
    failureLimit: 0,
    queries: [],
  },
};

describe('canary analysis from the Gateway (Traefik) series', function () {
  this.timeout(240_000);
  let ns: { name: string; dispose(): Promise<void> };
  let load: GatewayLoad | undefined;
  const metrics = () => new PrometheusClient(loadTestbed().prometheusUrl);

  before(async function () {
    this.timeout(900_000); // the first run of a machine builds the example's images
    requireRealNode();
    await Promise.all([exampleImage(), canaryImage('good')]);
    ns = await createNamespace('gateway-analysis');
  });

  after(async () => {
    await load?.stop();
    await ns?.dispose();
  });

  it('refuses gateway analysis for a canary no HTTPRoute splits (replica ratio)', async () => {
    await kube.apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: 'lonely' },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'lonely' } },
          template: {
            metadata: { labels: { app: 'lonely' } },
            spec: { containers: [{ name: 'app', image: 'sandpiper/busybox:latest' }] },
          },
        },
      },
    });
    await assert.rejects(
      startCanary(kube, { namespace: ns.name, deployment: 'lonely', image: 'x:2', canary: gatewayCanary }),
      (err: SandpiperError) =>
        err.code === 'config-invalid' && /no HTTPRoute/.test(err.message) && /canary\.route/.test(err.hint ?? ''),
    );
    assert.equal(await canaryState(kube, ns.name, 'lonely'), undefined, 'nothing recorded');
  });

  it("judges a canary split through Traefik by Traefik's own per-backend numbers", async () => {
    const host = await createService(kube, ns.name, 'web', { route: true, replicas: 2 });
    load = new GatewayLoad(host!).start();
    await load.settled('stable');
    const state = await startCanary(kube, {
      namespace: ns.name,
      deployment: 'web',
      image: await canaryImage('good'),
      canary: gatewayCanary,
    });
    assert.equal(state.trafficMode, 'httproute');
    assert.deepEqual(
      { ...state.spec, analysis: state.spec?.analysis.source },
      { service: 'web', analysis: 'gateway', window: '10s', warmupMs: 0, drainSeconds: 10 },
    );
    assert.equal(state.driver, 'client');
    const target = analysisTarget(ns.name, state.spec!);
    await waitForSeries(`${requestRateQuery(target, 'canary')} > 0`);
    // Counted from here: Traefik applies the new weights a moment after the route changes (~2 s), and the
    // requests before that all went to stable.
    const counted = load.now();

    // Each track's request rate is its own backend's: their ratio is the split the load saw (50 %), which a
    // matcher taking in the other track's series (stable = all, or canary = 0) cannot give.
    await eventually(
      'the Gateway series to show the 50 % split',
      async () => {
        const [canary, stable] = await Promise.all([
          metrics().scalar(requestRateQuery(target, 'canary')),
          metrics().scalar(requestRateQuery(target, 'stable')),
        ]);
        const share = canary && stable ? (100 * canary) / (canary + stable) : NaN;
        return Math.abs(share - 50) <= 10 ? share : undefined;
      },
      60_000,
      1000,
    );
    await sleep(Math.max(0, 15_000 - (load.now() - counted))); // enough requests for a share (~300)
    const seen = canaryShare(load.counts(counted));
    assert.ok(Math.abs(seen.share - 50) <= 10, `the load saw the same split (${seen.share.toFixed(1)} % of ${seen.n})`);

    const result = await analyseCanary(metrics(), state.spec!.analysis, target, new Date());
    assert.equal(result.verdict, 'pass', result.summary);
    const byName = Object.fromEntries(result.metrics.map((m) => [m.name, m]));
    for (const name of ['success rate', 'p99 latency (ms)']) {
      assert.equal(typeof byName[name]?.canary, 'number', `${name} of the canary: ${result.summary}`);
      assert.equal(typeof byName[name]?.stable, 'number', `${name} of stable: ${result.summary}`);
    }
    assert.equal(byName['success rate'].canary, 1);
    assert.ok(byName['p99 latency (ms)'].canary! > 0);
  });
});
