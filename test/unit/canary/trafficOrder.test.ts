import { strict as assert } from 'node:assert';
import { finishAbort, finishPromote } from '../../../src/core/canary/finish';
import { applyWeight, waitForAvailable } from '../../../src/core/canary/traffic';
import type { SandpiperError } from '../../../src/core/errors';
import type { FakeWorkloads } from './fakeWorkloads';
import { canaryState, cluster, kubeOf, replicasOf, routed, stateOf, wait } from './scenario';

const spec = (o: { warmupMs?: number; drainSeconds?: number }) => ({
  ...canaryState().spec!,
  warmupMs: 0,
  drainSeconds: 0.05,
  ...o,
});

describe('canary traffic order: make-before-break, warmup and drain (in-memory workloads)', function () {
  this.timeout(10_000);
  let api: FakeWorkloads | undefined;
  afterEach(() => api?.stop());

  describe('a step', () => {
    it('moves the route share only once the canary pods are Ready, listed as endpoints and warmed up', async () => {
      // Longer than a readiness poll (500 ms), so a missing warmup cannot hide in the polling delay.
      const state = routed({ spec: spec({ warmupMs: 1000 }) });
      api = cluster(state);
      await applyWeight(kubeOf(api), 'shop', 'web', 'web-canary', state);
      assert.deepEqual(api.order(), ['scale web-canary 1', 'ready web-canary 1', 'route 50']);
      const warmed = api.at('route 50') - api.at('ready web-canary 1');
      assert.ok(warmed >= 990, `the route moved ${warmed} ms after the pod was Ready; the warmup is 1000 ms`);
      assert.ok(api.count('listEndpointSlices') >= 1, 'the canary Service endpoints were checked');
    });

    it('does not warm pods that were already serving (a driver resuming at the same step)', async () => {
      const state = routed({ spec: spec({ warmupMs: 2000 }) });
      api = cluster(state, { canaryPods: 1 });
      const t0 = Date.now();
      await applyWeight(kubeOf(api), 'shop', 'web', 'web-canary', state);
      assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms: re-warmed pods that were serving`);
      assert.deepEqual(api.order(), [], 'idempotent: the cluster already matched');
    });

    it('replica ratio: the stable side shrinks only once the canary pods are Ready and warmed', async () => {
      const state = canaryState({ stableReplicas: 4, steps: [25, 50], weight: 50, spec: spec({ warmupMs: 1000 }) });
      api = cluster(state, { canaryPods: 1 });
      await applyWeight(kubeOf(api), 'shop', 'web', 'web-canary', state);
      assert.deepEqual(api.order(), ['scale web-canary 2', 'ready web-canary 2', 'scale web 2']);
      assert.ok(api.at('scale web 2') - api.at('ready web-canary 2') >= 990, 'warmed before the ratio moved');
    });

    it('a lower weight takes traffic off the canary first and removes its pods after the drain', async () => {
      const state = routed({ weight: 0, spec: spec({ drainSeconds: 0.2 }) });
      api = cluster(state, { canaryPods: 1, routeWeight: 50 });
      await applyWeight(kubeOf(api), 'shop', 'web', 'web-canary', state);
      assert.deepEqual(api.order(), ['route 0', 'scale web-canary 0']);
      assert.ok(api.at('scale web-canary 0') - api.at('route 0') >= 190, 'drained before the pods went');
    });

    it('gives up with a clear error when the pods never turn Ready, and honours the signal', async () => {
      const state = routed();
      api = cluster(state);
      api.readyDelayMs = 60_000;
      await api.apps.patchNamespacedDeployment({ name: 'web-canary', body: { spec: { replicas: 1 } } as never });
      await assert.rejects(
        waitForAvailable(kubeOf(api), 'shop', 'web-canary', 1, 'web', undefined, 300),
        (e: SandpiperError) =>
          e.code === 'not-ready' && /0 of 1 pods available after 0.3 s/.test(e.message) && /abort web/.test(e.hint!),
      );
      const stop = new AbortController();
      setTimeout(() => stop.abort(), 100);
      await assert.rejects(
        applyWeight(kubeOf(api), 'shop', 'web', 'web-canary', state, stop.signal),
        (e: SandpiperError) => e.code === 'cancelled',
      );
      assert.ok(!api.order().some((m) => m.startsWith('route')), 'the route never moved to pods that are not Ready');
    });
  });

  describe('abort', () => {
    it('route: traffic to stable, the canary drains drainSeconds, then it is deleted and the Service unpinned', async () => {
      const state = routed({ status: 'aborting', spec: spec({ drainSeconds: 0.3 }) });
      api = cluster(state, { canaryPods: 1 });
      const end = await finishAbort(kubeOf(api), 'shop', 'web', state);
      assert.equal(end.status, 'aborted');
      assert.deepEqual(api.order(), ['route 0', 'delete web-canary', 'delete service web-canary', 'pin web none']);
      assert.ok(api.at('delete web-canary') - api.at('route 0') >= 290, 'deleted before drainSeconds passed');
    });

    it('replica ratio: stable back up and Ready, canary out of the Service and drained, then deleted', async () => {
      const state = canaryState({ status: 'aborting', stableReplicas: 2, spec: spec({ drainSeconds: 0.3 }) });
      api = cluster(state, { canaryPods: 1 });
      const stableHash = api.pods.find((p) => p.deployment === 'web')!.hash;
      const end = await finishAbort(kubeOf(api), 'shop', 'web', state);
      assert.equal(end.status, 'aborted');
      assert.deepEqual(api.order(), [
        'scale web 2',
        'ready web 2',
        `pin web ${stableHash}`,
        'delete web-canary',
        'pin web none',
      ]);
      assert.ok(api.at('delete web-canary') - api.at(`pin web ${stableHash}`) >= 290, 'drained for drainSeconds');
      assert.equal(replicasOf(api, 'web'), 2);
      assert.deepEqual(api.services.get('web')!.spec!.selector, { app: 'web' }, 'the Service unpinned at the end');
    });

    it('a cancelled drain deletes nothing and leaves the canary aborting (a later finish repeats it)', async () => {
      const state = routed({ status: 'aborting', spec: spec({ drainSeconds: 5 }) });
      api = cluster(state, { canaryPods: 1 });
      const stop = new AbortController();
      setTimeout(() => stop.abort(), 100);
      await assert.rejects(
        finishAbort(kubeOf(api), 'shop', 'web', state, stop.signal),
        (e: SandpiperError) => e.code === 'cancelled',
      );
      assert.ok(api.deployments.has('web-canary'), 'the canary still runs');
      assert.equal(stateOf(api).status, 'aborting');
      const end = await finishAbort(kubeOf(api), 'shop', 'web', { ...state, spec: spec({}) });
      assert.equal(end.status, 'aborted');
    });
  });

  describe('promote', () => {
    it('route: all traffic to the full canary, drained; the stable rolled and Ready; then the canary drains and goes', async () => {
      const state = routed({ status: 'promoting', spec: spec({ drainSeconds: 0.2 }) });
      api = cluster(state, { canaryPods: 1 });
      const end = await finishPromote(kubeOf(api), 'shop', 'web', state);
      assert.equal(end.status, 'promoted');
      const newHash = api.pods.find((p) => p.deployment === 'web')!.hash;
      assert.deepEqual(api.order(), [
        'scale web-canary 2',
        'ready web-canary 2',
        'route 100',
        'image web web:2',
        'ready web 2',
        `pin web ${newHash}`,
        'route 0',
        'delete web-canary',
        'delete service web-canary',
        'pin web none',
      ]);
      assert.ok(api.at('image web web:2') - api.at('route 100') >= 190, 'stable pods drained before their rollout');
      assert.ok(api.at('delete web-canary') - api.at('route 0') >= 190, 'canary drained before its deletion');
    });

    it('replica ratio: the stable takes the image and is Ready, then the canary leaves the Service, drains, goes', async () => {
      const state = canaryState({ status: 'promoting', weight: 100, stepIndex: 1, spec: spec({ drainSeconds: 0.2 }) });
      api = cluster(state, { canaryPods: 2 });
      const end = await finishPromote(kubeOf(api), 'shop', 'web', state);
      assert.equal(end.status, 'promoted');
      const newHash = api.pods.find((p) => p.deployment === 'web')!.hash;
      assert.deepEqual(api.order(), [
        'image web web:2',
        'scale web 2',
        'ready web 2',
        `pin web ${newHash}`,
        'delete web-canary',
        'pin web none',
      ]);
      assert.ok(api.at('delete web-canary') - api.at(`pin web ${newHash}`) >= 190, 'drained before deletion');
      await wait(0);
    });
  });
});
