import { strict as assert } from 'node:assert';
import { overrideCanary } from '../../../src/core/canary/control';
import { driveCanary, type DriverEvent, type DriverOptions } from '../../../src/core/canary/driver';
import { leaseName } from '../../../src/core/canary/lease';
import { CANARY_STATE_ANNOTATION, writeCanaryState, type CanaryState } from '../../../src/core/canary/state';
import type { SandpiperError } from '../../../src/core/errors';
import { unreachable } from './fakeCluster';
import type { FakeWorkloads } from './fakeWorkloads';
import { FakeMetrics, analysis, canaryState, cluster, kubeOf, replicasOf, stateOf, until, wait } from './scenario';

type Decision = Extract<DriverEvent, { kind: 'decision' }>;

describe('canary driver loop: decisions, hold and resume, skips (in-memory workloads)', function () {
  this.timeout(15_000);
  let api: FakeWorkloads | undefined;
  afterEach(() => api?.stop());

  /** Drives `web` with fast ticks; `seen` gets every event, with what the cluster had at that moment. */
  function drive(a: FakeWorkloads, metrics: FakeMetrics, o: Partial<DriverOptions> = {}) {
    const events: Array<DriverEvent & { canaryPods: number }> = [];
    const run = driveCanary({
      kube: kubeOf(a),
      namespace: 'shop',
      deployment: 'web',
      metrics,
      holder: 'test',
      tickMs: 20,
      onEvent: (e) => events.push({ ...e, canaryPods: a.pods.filter((p) => p.deployment === 'web-canary').length }),
      ...o,
    });
    const decisions = () => events.filter((e): e is Decision & { canaryPods: number } => e.kind === 'decision');
    return { run, events, decisions };
  }

  /** Rewrites the annotation as another client would. */
  function edit(a: FakeWorkloads, change: (s: CanaryState) => CanaryState): void {
    a.edit(a.deployments, 'web', (d) => {
      d.metadata!.annotations![CANARY_STATE_ANNOTATION] = writeCanaryState(change(stateOf(a)));
    });
  }

  it('tells each decision before acting: advance, then promote while the canary pods still run', async () => {
    api = cluster(canaryState({ intervalMs: 50 }));
    const { run, decisions, events } = drive(api, new FakeMetrics());
    const end = await run;
    assert.equal(end.status, 'promoted', end.reason);
    assert.deepEqual(
      decisions().map((d) => d.decision),
      ['advance', 'promote'],
    );
    assert.equal(decisions()[0].result?.verdict, 'pass', 'an analysis decision carries its result');
    const promote = decisions()[1];
    assert.ok(promote.canaryPods > 0, 'told before finishPromote removed the canary pods');
    const analysisAt = events.findIndex((e) => e.kind === 'analysis');
    assert.ok(analysisAt < events.indexOf(decisions()[0]), 'the analysis event comes first, then its decision');
    assert.equal(stateOf(api).lastAnalysis?.metrics?.[0]?.name, 'success rate', 'metrics recorded for notifications');
  });

  it('retries, then aborts, telling the abort while the canary still serves', async () => {
    api = cluster(
      canaryState({ intervalMs: 50, spec: { ...canaryState().spec!, analysis: analysis({ failureLimit: 1 }) } }),
    );
    const metrics = new FakeMetrics();
    metrics.mode = 'fail';
    const { run, decisions } = drive(api, metrics);
    const end = await run;
    assert.equal(end.status, 'aborted');
    assert.deepEqual(
      decisions().map((d) => d.decision),
      ['retry', 'abort'],
    );
    assert.ok(decisions()[1].canaryPods > 0, 'told before finishAbort removed the canary pods');
    assert.equal(end.failures, 2);
  });

  it('holds on unavailable metrics (paused, no failure counted), resumes once Prometheus answers, then promotes', async () => {
    api = cluster(canaryState({ intervalMs: 50, steps: [100], weight: 100 }));
    const metrics = new FakeMetrics();
    metrics.mode = 'down';
    const { run, decisions } = drive(api, metrics);
    await until('held', () => decisions().some((d) => d.decision === 'hold'));
    const held = stateOf(api);
    assert.equal(held.status, 'paused');
    assert.equal(held.autoResume, true);
    assert.equal(held.failures, 0, 'unavailable metrics are not the canary failing');
    assert.match(held.reason ?? '', /^metrics unavailable: Prometheus at http:\/\/prometheus does not answer/);
    assert.equal(held.lastAnalysis?.verdict, 'unavailable');
    await wait(150);
    assert.equal(stateOf(api).status, 'paused', 'stays held while Prometheus is down: never promotes');
    const before = Date.now();
    metrics.mode = 'pass';
    const end = await run;
    assert.equal(end.status, 'promoted', end.reason);
    assert.deepEqual(
      decisions().map((d) => d.decision),
      ['hold', 'resume', 'promote'],
    );
    const resumed = decisions()[1].state;
    assert.equal(resumed.status, 'progressing');
    assert.equal(resumed.autoResume, undefined);
    assert.ok(Date.parse(resumed.stepStartedAt) >= before - 5, 'the step interval starts again on resume');
    assert.ok(metrics.queries.includes('vector(1)'), 'it asked Prometheus whether it answers');
  });

  it("keeps a user's pause paused even when the metrics answer", async () => {
    api = cluster(canaryState({ status: 'paused', intervalMs: 50 }), { canaryPods: 1 });
    const stop = new AbortController();
    const metrics = new FakeMetrics();
    const { run, decisions, events } = drive(api, metrics, { signal: stop.signal });
    await until('a few ticks', () => events.filter((e) => e.kind === 'state').length > 5);
    stop.abort();
    await assert.rejects(run, (e: SandpiperError) => e.code === 'cancelled');
    assert.equal(stateOf(api).status, 'paused');
    assert.deepEqual(decisions(), []);
  });

  it('applies a skipped step at once (told as skip), and a skip of the last step promotes', async () => {
    api = cluster(canaryState({ steps: [25, 50, 100], weight: 25, stableReplicas: 4 }));
    const { run, decisions } = drive(api, new FakeMetrics());
    await until('first step applied', () => replicasOf(api!, 'web-canary') === 1);
    const skipped = await overrideCanary(kubeOf(api), 'shop', 'web', 'skip', undefined, 'cli@host');
    assert.equal(skipped.stepIndex, 1);
    assert.deepEqual(skipped.history.at(-1), {
      at: skipped.history.at(-1)!.at,
      event: 'step-skipped',
      detail: 'cli@host: step 2/3: 50%',
    });
    await until('skip applied', () => replicasOf(api!, 'web-canary') === 2 && replicasOf(api!, 'web') === 2);
    assert.equal(decisions().at(-1)?.decision, 'skip');
    await overrideCanary(kubeOf(api), 'shop', 'web', 'skip', undefined, 'cli@host');
    await until('second skip applied', () => replicasOf(api!, 'web-canary') === 4 && replicasOf(api!, 'web') === 0);
    const last = await overrideCanary(kubeOf(api), 'shop', 'web', 'skip', undefined, 'cli@host');
    assert.equal(last.status, 'promoted', 'the override waited for the driver to promote');
    const end = await run;
    assert.equal(end.status, 'promoted');
    assert.deepEqual(
      decisions().map((d) => d.decision),
      ['skip', 'skip', 'promote'],
    );
    assert.ok(decisions()[2].canaryPods > 0, 'the promote override told before the canary pods went');
  });

  it('re-applies a weight changed by another client, without calling it a skip', async () => {
    api = cluster(canaryState({ steps: [25, 50, 100], weight: 25, stableReplicas: 4 }));
    const stop = new AbortController();
    const { run, decisions } = drive(api, new FakeMetrics(), { signal: stop.signal });
    await until('first step applied', () => replicasOf(api!, 'web-canary') === 1 && replicasOf(api!, 'web') === 3);
    edit(api, (s) => ({ ...s, weight: 75 }));
    await until('weight re-applied', () => replicasOf(api!, 'web-canary') === 3 && replicasOf(api!, 'web') === 1);
    stop.abort();
    await assert.rejects(run);
    assert.deepEqual(decisions(), []);
  });

  it('tells promote and abort overrides it finds in the loop before finishing them', async () => {
    api = cluster(canaryState());
    const { run, decisions } = drive(api, new FakeMetrics());
    await until('applied', () => replicasOf(api!, 'web-canary') === 1);
    edit(api, (s) => ({ ...s, status: 'aborting', reason: 'aborted by cli' }));
    const end = await run;
    assert.equal(end.status, 'aborted');
    assert.deepEqual(
      decisions().map((d) => [d.decision, d.canaryPods]),
      [['abort', 1]],
    );
  });

  it('takes the analysis, service and window from the recorded spec, and says so when there is none', async () => {
    api = cluster(canaryState({ intervalMs: 50, spec: { ...canaryState().spec!, service: 'tasks', window: '30s' } }));
    const metrics = new FakeMetrics();
    const end = await drive(api, metrics).run;
    assert.equal(end.status, 'promoted');
    assert.ok(
      metrics.queries.some((q) => q.includes('service="tasks"') && q.includes('[30s]')),
      metrics.queries[1],
    );
    api.stop();
    api = cluster(canaryState({ spec: undefined }));
    await assert.rejects(
      drive(api, metrics).run,
      (e: SandpiperError) => e.code === 'invalid' && /records no analysis settings/.test(e.message),
    );
    assert.equal(api.count('createNamespacedLease'), 0, 'refused before taking the lease');
  });

  it('with pauseOnLeaseLoss false, a lost lease leaves the canary progressing for the next controller', async () => {
    api = cluster(canaryState());
    const { run } = drive(api, new FakeMetrics(), { leaseSeconds: 1, leaseRetryMs: 100, pauseOnLeaseLoss: false });
    await until('lease taken', () => api!.leases.get(leaseName('web'))?.spec?.holderIdentity === 'test');
    api.failAlways('replaceNamespacedLease', unreachable);
    await assert.rejects(run, (e: SandpiperError) => e.code === 'canary-lease-lost');
    assert.equal(stateOf(api).status, 'progressing');
    assert.ok(!stateOf(api).history.some((h) => h.event === 'driver-lost'));
  });
});
