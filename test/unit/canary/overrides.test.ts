import { strict as assert } from 'node:assert';
import { overrideCanary, overridden } from '../../../src/core/canary/control';
import { leaseName } from '../../../src/core/canary/lease';
import { CONTROLLER_LEASE_KEY } from '../../../src/core/canary/presence';
import { CANARY_STATE_ANNOTATION, writeCanaryState, type CanaryState } from '../../../src/core/canary/state';
import type { SandpiperError } from '../../../src/core/errors';
import type { FakeWorkloads } from './fakeWorkloads';
import { canaryState, cluster, kubeOf, replicasOf, stateOf, wait } from './scenario';

/** A live Lease, as a running driver or the controller's leader keeps it. */
function liveLease(api: FakeWorkloads, key: string, holder: string): void {
  const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
  api.addLease({
    metadata: { name: leaseName(key) },
    spec: { holderIdentity: holder, leaseDurationSeconds: 60, acquireTime: now, renewTime: now },
  });
}

function setState(api: FakeWorkloads, change: (s: CanaryState) => CanaryState): void {
  api.edit(api.deployments, 'web', (d) => {
    d.metadata!.annotations![CANARY_STATE_ANNOTATION] = writeCanaryState(change(stateOf(api)));
  });
}

describe('canary overrides: skip, and promote/abort of a controller-driven canary (in-memory workloads)', function () {
  this.timeout(10_000);
  let api: FakeWorkloads | undefined;
  afterEach(() => api?.stop());
  const now = new Date('2026-01-01T00:00:00Z');

  it('skips one step without analysis, resets its interval, and promotes from the last; only while it runs', () => {
    const s = canaryState({ steps: [25, 50, 100], weight: 25, failures: 1 });
    const skipped = overridden(s, 'skip', 'cli@host', now);
    assert.deepEqual(
      [skipped.status, skipped.stepIndex, skipped.weight, skipped.stepStartedAt, skipped.failures],
      ['progressing', 1, 50, now.toISOString(), 1],
    );
    assert.equal(skipped.history.at(-1)?.event, 'step-skipped');
    const paused = overridden({ ...s, status: 'paused' }, 'skip', 'cli', now);
    assert.equal(paused.status, 'paused', 'a paused canary stays paused at its new step');
    const last = overridden({ ...s, stepIndex: 2, weight: 100 }, 'skip', 'panel', now);
    assert.equal(last.status, 'promoting');
    assert.match(last.reason ?? '', /last step skipped by panel/);
    for (const status of ['promoting', 'aborting'] as const)
      assert.throws(
        () => overridden({ ...s, status }, 'skip', 'cli', now),
        (e: SandpiperError) => e.code === 'canary-state' && new RegExp(`is ${status}`).test(e.message),
      );
  });

  it("turns a canary held for unavailable metrics into the user's pause, and resume clears the hold", () => {
    const held = canaryState({ status: 'paused', autoResume: true, reason: 'metrics unavailable: x' });
    assert.equal(overridden(held, 'pause', 'cli', now).autoResume, undefined);
    assert.throws(() => overridden(canaryState({ status: 'paused' }), 'pause', 'cli', now), /only a progressing/);
    const back = overridden(held, 'resume', 'cli', now);
    assert.deepEqual([back.status, back.autoResume, back.reason], ['progressing', undefined, undefined]);
  });

  it('with nobody driving, sets the skipped step’s weight itself under the lease', async () => {
    api = cluster(canaryState({ steps: [25, 50, 100], weight: 25, stableReplicas: 4 }), { canaryPods: 1 });
    const end = await overrideCanary(kubeOf(api), 'shop', 'web', 'skip', undefined, 'cli');
    assert.equal(end.weight, 50);
    assert.deepEqual([replicasOf(api, 'web-canary'), replicasOf(api, 'web')], [2, 2]);
    assert.equal(api.count('createNamespacedLease'), 1, 'under the lease');
    assert.equal(api.leases.size, 0, 'released after');
  });

  it('with a live driver, only records the skip: the driver sets the weight', async () => {
    api = cluster(canaryState({ steps: [25, 50, 100], weight: 25, stableReplicas: 4 }), { canaryPods: 1 });
    liveLease(api, 'web', 'window-1');
    const end = await overrideCanary(kubeOf(api), 'shop', 'web', 'skip', undefined, 'cli');
    assert.equal(end.weight, 50);
    assert.deepEqual([replicasOf(api, 'web-canary'), replicasOf(api, 'web')], [1, 3], 'the cluster untouched');
  });

  it('a controller-driven promote waits for the controller, even between its leases, and finishes nothing itself', async () => {
    api = cluster(canaryState({ driver: 'controller' }), { canaryPods: 1 });
    liveLease(api, CONTROLLER_LEASE_KEY, 'controller-0');
    liveLease(api, 'web', 'controller/controller-0');
    let settled = false;
    const promoting = overrideCanary(kubeOf(api), 'shop', 'web', 'promote', undefined, 'cli').finally(() => {
      settled = true;
    });
    await wait(100);
    assert.equal(stateOf(api).status, 'promoting', 'recorded at once');
    api.leases.delete(leaseName('web')); // the controller retries after an error: its canary lease is free a while
    await wait(1500);
    assert.equal(settled, false, 'still waiting for the controller');
    assert.ok(!api.order().some((m) => m.startsWith('image')), 'the client never rolled the stable Deployment');
    setState(api, (s) => ({ ...s, status: 'promoted', weight: 100 }));
    const end = await promoting;
    assert.equal(end.status, 'promoted');
    assert.equal(api.count('createNamespacedLease'), 0, 'never took the canary lease');
  });

  it('a controller-driven abort with no controller running is finished by the client, as before', async () => {
    api = cluster(canaryState({ driver: 'controller', spec: { ...canaryState().spec!, drainSeconds: 0 } }), {
      canaryPods: 1,
    });
    const end = await overrideCanary(kubeOf(api), 'shop', 'web', 'abort', undefined, 'cli');
    assert.equal(end.status, 'aborted');
    assert.ok(!api.deployments.has('web-canary'));
    assert.equal(replicasOf(api, 'web'), 2);
  });
});
