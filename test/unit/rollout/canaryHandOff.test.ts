import { strict as assert } from 'node:assert';
import type { V1Deployment } from '@kubernetes/client-node';
import { chooseDriver, followCanary, type FollowEvent } from '../../../src/core/canary/handOff';
import { leaseName } from '../../../src/core/canary/lease';
import { CONTROLLER_LEASE_KEY } from '../../../src/core/canary/presence';
import { CANARY_STATE_ANNOTATION, withEvent, writeCanaryState, type CanaryState } from '../../../src/core/canary/state';
import type { SandpiperError } from '../../../src/core/errors';
import type { Kube } from '../../../src/core/infra/kube/client';
import { STOPPED_FOLLOWING, follow, followLine } from '../../../src/cli/commands/rolloutDrive';
import { FakeCluster, unreachable } from '../canary/fakeCluster';

const T0 = new Date('2026-12-03T10:00:00.000Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

function canary(over: Partial<CanaryState> = {}): CanaryState {
  const s: CanaryState = {
    version: 1,
    status: 'progressing',
    image: 'reg/web:2',
    container: 'web',
    steps: [20, 50, 100],
    stepIndex: 0,
    weight: 20,
    intervalMs: 30_000,
    stepStartedAt: T0.toISOString(),
    failures: 0,
    trafficMode: 'replicas',
    stableReplicas: 2,
    driver: 'controller',
    history: [],
    ...over,
  };
  return over.history ? s : withEvent(s, T0, 'started: reg/web:2', 'traffic by replica ratio');
}

function deploymentWith(state: CanaryState): V1Deployment {
  return {
    metadata: { name: 'web', namespace: 'shop', annotations: { [CANARY_STATE_ANNOTATION]: writeCanaryState(state) } },
  };
}

/** The controller (or anyone) writes a new state, as the in-cluster driver would. */
function write(api: FakeCluster, state: CanaryState): void {
  api.edit(api.deployments, 'web', (d) => {
    d.metadata!.annotations = { [CANARY_STATE_ANNOTATION]: writeCanaryState(state) };
  });
}

function controllerLease(renewedAgoMs: number) {
  const when = new Date(Date.now() - renewedAgoMs);
  return {
    metadata: { name: leaseName(CONTROLLER_LEASE_KEY) },
    spec: { holderIdentity: 'ctl-7d9f', leaseDurationSeconds: 15, acquireTime: when, renewTime: when },
  };
}

describe('canary hand-off: which driver a client start picks', () => {
  it('auto hands the canary to a controller whose leader Lease is live', async () => {
    const api = new FakeCluster();
    api.addLease(controllerLease(1000));
    assert.deepEqual(await chooseDriver(api, 'auto'), { driver: 'controller', controller: 'ctl-7d9f' });
  });

  it('auto drives from the client when no controller runs, or its Lease has expired', async () => {
    assert.deepEqual(await chooseDriver(new FakeCluster(), 'auto'), { driver: 'client' });
    const stale = new FakeCluster();
    stale.addLease(controllerLease(60_000));
    assert.deepEqual(await chooseDriver(stale, 'auto'), { driver: 'client' });
  });

  it('auto drives from the client when the controller Lease cannot be read (no access, API down)', async () => {
    const api = new FakeCluster().failAlways('readNamespacedLease', unreachable);
    assert.deepEqual(await chooseDriver(api, 'auto'), { driver: 'client' });
  });

  it('--driver controller without a controller is refused, naming the install command', async () => {
    await assert.rejects(chooseDriver(new FakeCluster(), 'controller'), (err: SandpiperError) => {
      assert.equal(err.code, 'no-controller');
      assert.match(err.hint ?? '', /sandpiper controller install/);
      return true;
    });
  });

  it('--driver controller with one, and --driver client even with one', async () => {
    const api = new FakeCluster();
    api.addLease(controllerLease(0));
    assert.equal((await chooseDriver(api, 'controller')).driver, 'controller');
    let asked = false;
    const pick = await chooseDriver(api, 'client', async () => ((asked = true), 'ctl'));
    assert.deepEqual([pick, asked], [{ driver: 'client' }, false]);
  });
});

describe('canary hand-off: following a canary the controller drives', function () {
  this.timeout(5000);

  it('reports each new history line and analysis once, and ends with the terminal state', async () => {
    const api = new FakeCluster();
    let s = canary();
    api.addDeployment(deploymentWith(s));
    const started = s;
    const events: FollowEvent[] = [];
    const following = followCanary({
      kube: api,
      namespace: 'shop',
      deployment: 'web',
      since: started,
      pollMs: 5,
      onEvent: (e) => events.push(e),
    });
    await new Promise((r) => setTimeout(r, 20));
    s = withEvent(
      {
        ...s,
        stepIndex: 1,
        weight: 50,
        lastAnalysis: { verdict: 'pass', summary: 'success rate 1', at: at(30).toISOString() },
      },
      at(30),
      'step 2/3: 50%',
      'success rate 1',
    );
    write(api, s);
    await new Promise((r) => setTimeout(r, 20));
    write(api, s); // rewritten unchanged: nothing new to say
    await new Promise((r) => setTimeout(r, 20));
    s = withEvent({ ...s, status: 'promoting' }, at(60), 'analysis-passed');
    s = withEvent({ ...s, status: 'promoted', weight: 100, stepIndex: 3 }, at(70), 'promoted', 'reg/web:2');
    write(api, s);
    const end = await following;
    assert.equal(end.status, 'promoted');
    assert.deepEqual(
      events.map((e) => (e.kind === 'history' ? e.entry.event : e.kind)),
      ['step 2/3: 50%', 'analysis', 'analysis-passed', 'promoted'],
    );
    assert.deepEqual(events.map(followLine).slice(0, 2), [
      '· step 2/3: 50%: success rate 1 (progressing step 2/3 weight 50%)',
      '· analysis pass: success rate 1',
    ]);
  });

  it('says once that it cannot read the canary while the API server is away, and goes on after', async () => {
    const api = new FakeCluster();
    const s = canary();
    api.addDeployment(deploymentWith(s));
    api.failAlways('readNamespacedDeployment', unreachable);
    const events: FollowEvent[] = [];
    const following = followCanary({
      kube: api,
      namespace: 'shop',
      deployment: 'web',
      since: s,
      pollMs: 5,
      onEvent: (e) => events.push(e),
    });
    await new Promise((r) => setTimeout(r, 40));
    api.failAlways('readNamespacedDeployment', undefined);
    write(api, withEvent({ ...s, status: 'aborted', weight: 0 }, at(40), 'aborted', 'analysis failed'));
    assert.equal((await following).status, 'aborted');
    assert.deepEqual(
      events.map((e) => e.kind),
      ['unreadable', 'history'],
    );
  });

  it('the CLI exits 0 on promotion and fails with canary-rolled-back on a rollback', async () => {
    const quiet = muteStdout();
    try {
      const api = new FakeCluster();
      const s = canary();
      api.addDeployment(deploymentWith(withEvent({ ...s, status: 'promoted', weight: 100 }, at(9), 'promoted')));
      const lines: string[] = [];
      const end = await follow(api as unknown as Kube, 'shop', 'web', {}, new AbortController().signal, s, (l) =>
        lines.push(l),
      );
      assert.equal(end?.status, 'promoted');
      assert.deepEqual(lines, ['· promoted (promoted step 1/3 weight 100%)']);
      write(
        api,
        withEvent({ ...s, status: 'aborted', weight: 0, reason: 'analysis failed (success rate 0)' }, at(9), 'aborted'),
      );
      await assert.rejects(
        follow(api as unknown as Kube, 'shop', 'web', {}, new AbortController().signal, s, () => undefined),
        (err: SandpiperError) => err.code === 'canary-rolled-back' && /analysis failed/.test(err.message),
      );
    } finally {
      quiet.restore();
    }
  });

  it('Ctrl+C stops following only: it says the controller keeps driving, and leaves the canary untouched', async () => {
    const api = new FakeCluster();
    api.addDeployment(deploymentWith(canary()));
    const stop = new AbortController();
    const lines: string[] = [];
    const following = follow(api as unknown as Kube, 'shop', 'web', {}, stop.signal, canary(), (l) => lines.push(l));
    await new Promise((r) => setTimeout(r, 30));
    stop.abort();
    assert.equal(await following, undefined);
    assert.deepEqual(lines, [STOPPED_FOLLOWING]);
    assert.equal(STOPPED_FOLLOWING, 'Stopped following; the in-cluster controller keeps driving the canary.');
    assert.equal(api.count('patchNamespacedDeployment'), 0);
  });
});

function muteStdout(): { restore(): void } {
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  return { restore: () => void (process.stdout.write = original) };
}
