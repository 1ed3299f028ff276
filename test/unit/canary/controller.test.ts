import { strict as assert } from 'node:assert';
import type { V1Deployment } from '@kubernetes/client-node';
import { CanaryController, type ControllerSeams } from '../../../src/core/canary/controller';
import { ControllerMetrics } from '../../../src/core/canary/controllerMetrics';
import { isTerminalFailure, wantsController } from '../../../src/core/canary/controllerTask';
import type { DriverEvent, DriverOptions } from '../../../src/core/canary/driver';
import { leaseName } from '../../../src/core/canary/lease';
import type { notifyCanary } from '../../../src/core/canary/notify';
import { CANARY_STATE_ANNOTATION, writeCanaryState, type CanaryState } from '../../../src/core/canary/state';
import { SandpiperError, cancelled } from '../../../src/core/errors';
import type { Kube } from '../../../src/core/infra/kube/client';
import type { Listed, ListWatchSource } from '../../../src/core/infra/kube/watch';
import { eventually } from '../../support/wait';
import { FakeCluster, unreachable } from './fakeCluster';
import { FakeEvents, controllerState as state } from './controllerFakes';

/** Every Deployment of the fake cluster, listed and watched: `put` and `remove` are what a watch would deliver. */
class FakeDeployments implements ListWatchSource<V1Deployment> {
  private readonly items = new Map<string, V1Deployment>();
  private readonly watchers = new Set<(type: string, obj: V1Deployment) => void>();
  private version = 1;
  lists = 0;
  /** Lists that fail (the API server away) before they answer again. */
  failLists = 0;

  async list(): Promise<Listed<V1Deployment>> {
    this.lists++;
    if (this.failLists-- > 0) throw unreachable();
    return { items: [...this.items.values()].map((d) => structuredClone(d)), resourceVersion: String(this.version) };
  }

  async watch(_rv: string, onEvent: (type: string, obj: V1Deployment) => void): Promise<{ abort(): void }> {
    this.watchers.add(onEvent);
    return { abort: () => this.watchers.delete(onEvent) };
  }

  put(name: string, s?: CanaryState, namespace = 'shop'): void {
    const key = `${namespace}/${name}`;
    const type = this.items.has(key) ? 'MODIFIED' : 'ADDED';
    const d: V1Deployment = {
      metadata: {
        name,
        namespace,
        uid: `uid-${name}`,
        resourceVersion: String(++this.version),
        annotations: s ? { [CANARY_STATE_ANNOTATION]: writeCanaryState(s) } : {},
      },
    };
    this.items.set(key, d);
    for (const w of this.watchers) w(type, structuredClone(d));
  }

  remove(name: string, namespace = 'shop'): void {
    const d = this.items.get(`${namespace}/${name}`)!;
    this.items.delete(`${namespace}/${name}`);
    for (const w of this.watchers)
      w('DELETED', { ...d, metadata: { ...d.metadata, resourceVersion: String(++this.version) } });
  }
}

/** The driver, replaced: each call waits until the test ends it, or until its signal aborts (like driveCanary). */
class FakeDrives {
  readonly calls: DriverOptions[] = [];
  private readonly ends = new Map<string, (s: CanaryState) => void>();
  /** What the next calls do instead of waiting (throw to fail that call). */
  readonly next: Array<(o: DriverOptions) => CanaryState | Promise<CanaryState>> = [];

  drive = (o: DriverOptions): Promise<CanaryState> => {
    this.calls.push(o);
    const step = this.next.shift();
    if (step) return Promise.resolve().then(() => step(o));
    return new Promise<CanaryState>((resolve, reject) => {
      this.ends.set(o.deployment, resolve);
      o.signal?.addEventListener('abort', () => reject(cancelled()), { once: true });
    });
  };

  of(deployment: string): DriverOptions[] {
    return this.calls.filter((c) => c.deployment === deployment);
  }

  end(deployment: string, s: CanaryState): void {
    this.ends.get(deployment)!(s);
  }
}

interface Harness {
  api: FakeCluster;
  events: FakeEvents;
  deployments: FakeDeployments;
  drives: FakeDrives;
  notified: Array<Parameters<typeof notifyCanary>[1]>;
  logs: string[];
  controller: CanaryController;
  stop: AbortController;
  done: Promise<void>;
}

function start(
  o: { holder?: string; seams?: ControllerSeams; api?: FakeCluster; leaseSeconds?: number } = {},
): Harness {
  const api = o.api ?? new FakeCluster();
  const events = new FakeEvents();
  const deployments = new FakeDeployments();
  const drives = new FakeDrives();
  const notified: Harness['notified'] = [];
  const logs: string[] = [];
  const stop = new AbortController();
  const kube = { coordination: api.coordination, apps: api.apps, core: events.core } as unknown as Kube;
  const controller = new CanaryController(
    {
      kube,
      metrics: { scalar: async () => 1 },
      holder: o.holder ?? 'pod-a',
      namespace: 'sandpiper-test',
      leaseSeconds: o.leaseSeconds ?? 15,
      metricsPort: 0,
      log: (m) => logs.push(m),
      signal: stop.signal,
    },
    {
      deployments,
      drive: drives.drive,
      captureLogs: async () => ['web-canary-1: boom'],
      notify: async (_k, n) => {
        notified.push(n);
        return { sent: true, attempts: 1 };
      },
      series: new ControllerMetrics({ processMetrics: false }),
      backoff: { initialMs: 20, maxMs: 80 },
      busyRetryMs: 20,
      standbyPollMs: 20,
      heartbeatMs: 20,
      ...o.seams,
    },
  );
  return { api, events, deployments, drives, notified, logs, controller, stop, done: controller.run() };
}

async function finish(h: Harness): Promise<void> {
  h.stop.abort();
  await h.done;
}

const leading = (h: Harness) =>
  eventually('the controller leads', () => h.controller.health().leader === true, 3000, 10);
const settle = () => new Promise((r) => setTimeout(r, 100));

describe('canary controller', function () {
  this.timeout(10_000);

  it('drives only canaries in progress that were handed to the controller', () => {
    assert.equal(wantsController(state()), true);
    assert.equal(wantsController(state({ status: 'paused' })), true, 'a paused canary is still driven (slow tick)');
    assert.equal(wantsController(state({ status: 'aborting' })), true, 'an abort to finish');
    assert.equal(wantsController(state({ driver: 'client' })), false);
    assert.equal(wantsController(state({ driver: undefined })), false, 'older canaries are driven by their client');
    assert.equal(wantsController(state({ status: 'promoted' })), false);
    assert.equal(wantsController(state({ status: 'aborted' })), false);
    assert.equal(wantsController(undefined), false);
  });

  it('runs one drive task per canary, with the controller holder and pauseOnLeaseLoss false', async () => {
    const h = start();
    h.deployments.put('web', state());
    h.deployments.put('client', state({ driver: 'client' }));
    h.deployments.put('done', state({ status: 'promoted' }));
    h.deployments.put('plain');
    h.deployments.put('held', state({ status: 'paused' }));
    h.deployments.put('other', state(), 'billing');
    await leading(h);
    await eventually('three drives', () => h.drives.calls.length === 3, 3000, 10);
    assert.deepEqual(h.drives.calls.map((c) => `${c.namespace}/${c.deployment}`).sort(), [
      'billing/other',
      'shop/held',
      'shop/web',
    ]);
    const web = h.drives.of('web')[0];
    assert.equal(web.holder, 'controller/pod-a');
    assert.equal(web.pauseOnLeaseLoss, false);
    assert.equal(web.analysis, undefined, 'the analysis comes from the state spec');
    // Changes of a driven canary (steps, pauses) go to its task; no second drive.
    h.deployments.put('web', state({ stepIndex: 2, weight: 100 }));
    h.deployments.put('web', state({ status: 'paused' }));
    // A canary handed over later gets its task at once.
    h.deployments.put('client', state({ driver: 'controller' }));
    await eventually('the handed-over canary driven', () => h.drives.of('client').length === 1, 3000, 10);
    await settle();
    assert.equal(h.drives.of('web').length, 1);
    assert.deepEqual(h.controller.health().canaries, ['shop/web', 'shop/held', 'billing/other', 'shop/client']);
    // Promoted: the task ends, and the watch's late events of the finished canary start none.
    h.drives.end('web', state({ status: 'promoted' }));
    h.deployments.put('web', state({ status: 'promoted' }));
    await settle();
    assert.equal(h.drives.of('web').length, 1);
    // A new canary of the same Deployment is a new task.
    h.deployments.put('web', state({ stepIndex: 0, weight: 25 }));
    await eventually('the new canary driven', () => h.drives.of('web').length === 2, 3000, 10);
    // A deleted Deployment stops its task.
    h.deployments.remove('held');
    await eventually('held let go', () => h.drives.of('held')[0].signal?.aborted, 3000, 10);
    await finish(h);
  });

  it('waits while another driver holds the canary lease, and retries other failures with backoff', async () => {
    const h = start();
    const busy = () => {
      throw new SandpiperError('canary-busy', 'Another Sandpiper (cli@laptop) is driving the canary of web.');
    };
    const down = () => {
      throw new SandpiperError('unreachable', 'Cannot read Deployment shop/web: the cluster does not answer.');
    };
    h.drives.next.push(busy, busy, down, down);
    h.deployments.put('web', state());
    await eventually('the fifth drive', () => h.drives.calls.length === 5, 3000, 10);
    h.drives.end('web', state({ status: 'promoted' }));
    await eventually('done', () => h.controller.health().canaries.length === 0, 3000, 10);
    assert.equal(h.logs.filter((l) => l.includes('cli@laptop')).length, 1, 'the busy canary logged once');
    assert.equal(h.logs.filter((l) => l.includes('does not answer')).length, 2);
    assert.deepEqual(
      h.events.reasons.filter((r) => r === 'CanaryFailed'),
      [],
      'no Event for a transient failure',
    );
    assert.deepEqual(
      h.notified.map((n) => n.outcome),
      [],
      'a promote the task never saw in progress is not notified',
    );
    await finish(h);
  });

  it('a failure retrying will not fix: one CanaryFailed Event and one notification, and it keeps trying', async () => {
    const h = start();
    const bad = () => {
      throw new SandpiperError('invalid', 'The canary of web records no analysis settings.');
    };
    h.drives.next.push(bad, bad, bad);
    h.deployments.put('web', state());
    await eventually('the fourth drive', () => h.drives.calls.length === 4, 3000, 10);
    await settle();
    assert.deepEqual(h.events.reasons, ['CanaryFailed']);
    assert.equal(h.events.created[0].count, 1);
    assert.equal(h.events.created[0].type, 'Warning');
    assert.match(h.events.created[0].message ?? '', /no analysis settings/);
    assert.deepEqual(
      h.notified.map((n) => [n.outcome, n.error]),
      [['failed', 'The canary of web records no analysis settings.']],
    );
    assert.equal(isTerminalFailure(unreachable()), false);
    assert.equal(isTerminalFailure(new SandpiperError('forbidden', 'no')), true);
    await finish(h);
  });

  it('Events and metrics from the driver; logs captured on abort before the notification, never awaited', async () => {
    let releaseNotify: () => void = () => undefined;
    const h = start({
      seams: {
        notify: async (_k, n) => {
          h.notified.push(n);
          await new Promise<void>((r) => (releaseNotify = r)); // a webhook that hangs
          return { sent: true, attempts: 1 };
        },
      },
    });
    let captured = false;
    h.drives.next.push(async (o) => {
      const emit = (e: DriverEvent) => o.onEvent?.(e);
      emit({ kind: 'state', state: state() });
      const result = { verdict: 'fail' as const, at: '', summary: 'success rate 0.5 not >= 0.99', metrics: [] };
      emit({ kind: 'decision', decision: 'retry', state: state({ failures: 1 }), result });
      emit({ kind: 'state', state: state({ status: 'paused', reason: 'paused by alice' }) });
      emit({ kind: 'state', state: state() });
      emit({
        kind: 'decision',
        decision: 'abort',
        state: state({ status: 'aborting', reason: 'analysis failed' }),
        result,
      });
      await settle();
      captured = true; // finishAbort would delete the canary pods now
      return state({ status: 'aborted', weight: 0 });
    });
    h.deployments.put('web', state());
    await eventually('the drive ended', () => captured && h.controller.health().canaries.length === 0, 3000, 10);
    await eventually('notified', () => h.notified.length === 1, 3000, 10);
    assert.deepEqual(h.events.reasons, [
      'CanaryDriving',
      'CanaryAnalysisFailed',
      'CanaryPaused',
      'CanaryResumed',
      'CanaryAborted',
    ]);
    assert.ok(h.events.created.every((e) => e.involvedObject.uid === 'uid-web'));
    assert.deepEqual(
      h.notified.map((n) => [n.outcome, n.logLines]),
      [['aborted', ['web-canary-1: boom']]],
    );
    const text = await (h.controller as unknown as { series: ControllerMetrics }).series.registry.metrics();
    assert.match(text, /sandpiper_canary_decisions_total\{rollout_namespace="shop",rollout="web",decision="abort"\} 1/);
    assert.match(text, /sandpiper_canary_phase\{rollout_namespace="shop",rollout="web",phase="aborted"\} 1/);
    assert.match(text, /sandpiper_canary_controller_leader 1/);
    // Stopping does not wait for the hanging webhook longer than its bound; release it to end the test fast.
    setTimeout(() => releaseNotify(), 50);
    await finish(h);
  });

  it('a standby drives nothing until the leader lease is free, then takes over', async () => {
    const api = new FakeCluster();
    const renewed = new Date().toISOString().replace('Z', '000Z');
    api.addLease({
      metadata: { name: leaseName('controller') },
      spec: { holderIdentity: 'pod-old', leaseDurationSeconds: 1, renewTime: renewed as unknown as Date },
    });
    const h = start({ api });
    h.deployments.put('web', state());
    await settle();
    assert.equal(h.controller.health().leader, false);
    assert.equal(h.drives.calls.length, 0, 'a standby drives nothing');
    assert.match(h.logs.join('\n'), /Standby: .*pod-old/);
    await eventually('took over after the old lease expired', () => h.drives.calls.length === 1, 4000, 20);
    assert.equal(api.leases.get(leaseName('controller'))?.spec?.holderIdentity, 'pod-a');
    await finish(h);
  });

  it('losing the leader lease stops every drive and goes back to standby', async () => {
    const h = start({ leaseSeconds: 1 });
    h.deployments.put('web', state());
    await eventually('driving', () => h.drives.calls.length === 1, 3000, 10);
    // Another replica took the lease (ours had expired as far as it could tell).
    h.api.edit(h.api.leases, leaseName('controller'), (l) => {
      l.spec = {
        ...l.spec,
        holderIdentity: 'pod-b',
        renewTime: new Date().toISOString().replace('Z', '000Z') as unknown as Date,
      };
    });
    await eventually('the drive stopped', () => h.drives.calls[0].signal?.aborted, 3000, 10);
    await eventually('standby', () => !h.controller.health().leader, 3000, 10);
    assert.equal(h.controller.health().canaries.length, 0);
    assert.match(h.logs.join('\n'), /back to standby/);
    // pod-b stops renewing: its lease expires and pod-a leads again, driving the canary anew.
    await eventually('leading again', () => h.drives.calls.length === 2, 5000, 20);
    await finish(h);
  });

  it('on stop: drives end without touching the canary, the leader lease is released at once', async () => {
    const h = start();
    h.deployments.put('web', state());
    await eventually('driving', () => h.drives.calls.length === 1, 3000, 10);
    assert.ok(h.api.leases.has(leaseName('controller')));
    await finish(h);
    assert.equal(h.drives.calls[0].signal?.aborted, true);
    assert.equal(h.api.leases.has(leaseName('controller')), false, 'released for a fast hand-over');
    assert.equal(h.controller.health().ok, false, 'not alive after the loop ended');
    assert.equal(h.api.count('patchNamespacedDeployment'), 0, 'the canary was not marked paused');
  });

  it('keeps trying when the API server is away: the leader lease is retried with backoff, then it leads', async () => {
    const api = new FakeCluster();
    api.failAlways('readNamespacedLease', unreachable);
    const h = start({ api });
    h.deployments.put('web', state());
    h.deployments.failLists = 2;
    await eventually('retried', () => api.count('readNamespacedLease') >= 3, 3000, 10);
    assert.equal(h.controller.health().ok, true, 'alive while it waits');
    assert.match(h.logs.join('\n'), /Cannot take the leader lease: .*ECONNREFUSED/);
    api.failAlways('readNamespacedLease', undefined);
    await eventually('driving once the API server is back', () => h.drives.calls.length === 1, 3000, 10);
    assert.equal(h.deployments.lists, 3, 'the Deployments listed again after two failed lists');
    await finish(h);
  });
});
