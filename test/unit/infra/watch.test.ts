import { strict as assert } from 'node:assert';
import { SandpiperError } from '../../../src/core/errors';
import { ListWatcher, watchUntil, type Change } from '../../../src/core/infra/kube/watch';
import { PodTracker } from '../../../src/core/sync/podTracker';
import type { Kube } from '../../../src/core/infra/kube/client';
import { FakeCluster, sleep, waitFor, type FakeObject } from './fakeCluster';

const FAST = { initialMs: 20, maxMs: 80 };

function start(cluster: FakeCluster, extra: { resyncMs?: number } = {}) {
  const changes: string[] = [];
  const errors: Array<{ message: string; failures: number }> = [];
  const watcher = new ListWatcher<FakeObject>(cluster.source, {
    backoff: FAST,
    minHealthyMs: 50,
    onChanges: (cs: Change<FakeObject>[]) => changes.push(...cs.map((c) => `${c.type} ${c.object.metadata.name}`)),
    onError: (err, failures) => errors.push({ message: (err as Error).message, failures }),
    ...extra,
  });
  return { watcher, changes, errors, started: watcher.start() };
}

describe('the one list+watch (ListWatcher over a fake cluster)', () => {
  let stop: (() => void) | undefined;
  afterEach(() => stop?.());

  /** Starts a ListWatcher on the cluster, stops it after the test, and waits for its watch to be open. */
  async function watching(cluster: FakeCluster) {
    const w = start(cluster);
    stop = () => w.watcher.stop();
    await waitFor('a watch', () => cluster.open.length === 1);
    return w;
  }

  it('lists, then watches from the version of the list', async () => {
    const cluster = new FakeCluster();
    cluster.put('a');
    const w = start(cluster);
    stop = () => w.watcher.stop();
    await w.started;
    assert.deepEqual(w.changes, ['ADDED a']);
    await waitFor('a watch', () => cluster.open.length === 1);
    assert.equal(cluster.watchCalls[0].fromVersion, '101');
    cluster.put('b');
    cluster.put('a');
    cluster.remove('b');
    assert.deepEqual(w.changes, ['ADDED a', 'ADDED b', 'MODIFIED a', 'DELETED b']);
    assert.deepEqual(
      w.watcher.objects.map((o) => o.metadata.name),
      ['a'],
    );
  });

  it('resumes a watch the server closed from the last version seen, without a relist, and misses nothing of the gap', async () => {
    const cluster = new FakeCluster();
    cluster.put('a');
    const w = await watching(cluster);
    cluster.put('b'); // rv 102, seen by the watch
    await sleep(60); // the watch was healthy: its end is resumed at once
    cluster.closeAll();
    cluster.remove('a'); // during the gap
    cluster.put('c');
    await waitFor('the gap replayed', () => w.changes.includes('ADDED c'));
    assert.equal(cluster.lists, 1);
    assert.equal(cluster.watchCalls[1].fromVersion, '102');
    assert.deepEqual(w.changes, ['ADDED a', 'ADDED b', 'DELETED a', 'ADDED c']);
  });

  it('reconciles a gap the server compacted away: 410 Gone relists and reports what was deleted meanwhile', async () => {
    const cluster = new FakeCluster();
    cluster.put('a');
    cluster.put('b');
    const w = await watching(cluster);
    cluster.answers = ['http410'];
    cluster.closeAll();
    cluster.remove('b');
    cluster.put('c');
    cluster.compact();
    await waitFor('the relist', () => w.changes.includes('ADDED c') && cluster.open.length === 1);
    assert.equal(cluster.lists, 2);
    assert.deepEqual(w.changes, ['ADDED a', 'ADDED b', 'DELETED b', 'ADDED c']);
    assert.deepEqual(w.errors, [], 'a 410 is routine, not an error');
    assert.equal(cluster.watchCalls.at(-1)?.fromVersion, '104');
  });

  it('relists on an in-stream ERROR event with code 410 (the server found the version too old)', async () => {
    const cluster = new FakeCluster();
    cluster.put('a');
    const w = await watching(cluster);
    cluster.closeAll();
    cluster.put('b');
    cluster.compact(); // the resumed watch from 101 is now stale: the fake answers with ERROR 410
    await waitFor('the relist', () => cluster.lists === 2 && cluster.open.length === 1);
    assert.deepEqual(w.changes, ['ADDED a', 'ADDED b']);
    cluster.put('c');
    assert.deepEqual(w.changes, ['ADDED a', 'ADDED b', 'ADDED c']);
    assert.equal(cluster.watchCalls.length, 3);
  });

  it('backs off on ERROR events: a server that answers every watch with one makes few calls, further and further apart', async () => {
    const cluster = new FakeCluster();
    cluster.always = 'error500';
    const w = start(cluster);
    stop = () => w.watcher.stop();
    await w.started;
    await sleep(400);
    const calls = cluster.watchCalls.length;
    // 20, 40, 80, 80, 80 ms pauses: about 6 watches in 400 ms (a hot loop makes thousands).
    assert.ok(calls >= 3 && calls <= 8, `watch calls: ${calls}`);
    const gaps = cluster.watchCalls.slice(1).map((c, i) => c.at - cluster.watchCalls[i].at);
    // Each pause is at least its step of the policy (a timer never fires early; a loaded machine only adds).
    assert.ok(
      gaps.every((g, i) => g >= Math.min(80, 20 * 2 ** i) - 2),
      `gaps: ${gaps.join(', ')}`,
    );
    assert.equal(w.errors[0].message, 'etcd is unhappy');
    assert.deepEqual(
      w.errors.slice(0, 3).map((e) => e.failures),
      [1, 2, 3],
    );
  });

  it('never spins on a server that answers 410 to every watch, or closes every watch at once', async () => {
    for (const always of ['error410', 'close'] as const) {
      const cluster = new FakeCluster();
      cluster.always = always;
      const w = start(cluster);
      await w.started;
      await sleep(400);
      w.watcher.stop();
      assert.ok(cluster.watchCalls.length <= 8, `${always}: ${cluster.watchCalls.length} watch calls in 400 ms`);
      assert.ok(cluster.lists <= 8, `${always}: ${cluster.lists} lists in 400 ms`);
    }
  });

  it('backs off on failures, then recovers and sees what changed', async () => {
    const cluster = new FakeCluster();
    cluster.put('a');
    const w = await watching(cluster);
    await sleep(60); // a watch open this long was healthy: its end is resumed at once, no failure counted
    cluster.answers = ['fail', 'fail'];
    cluster.listFailures = 1;
    cluster.closeAll();
    cluster.put('b');
    await waitFor('recovery', () => w.changes.includes('ADDED b') && cluster.open.length === 1);
    assert.deepEqual(
      w.errors.map((e) => e.failures),
      [1, 2, 3],
    );
    assert.deepEqual(
      w.errors.map((e) => e.message),
      ['read ECONNRESET', 'connect ECONNREFUSED', 'read ECONNRESET'],
    );
    const gaps = cluster.watchCalls.slice(1).map((c, i) => c.at - cluster.watchCalls[i].at);
    assert.ok(
      gaps.slice(1).every((g) => g >= 15),
      `pauses between failed watches: ${gaps.join(', ')}`,
    );
    cluster.put('c');
    cluster.answers = ['fail'];
    cluster.closeAll();
    await waitFor('the next error', () => w.errors.length === 4);
    assert.equal(w.errors[3].failures, 1, 'an event resets the backoff');
  });

  it('relists every resyncMs and stops for good on stop()', async () => {
    const cluster = new FakeCluster();
    cluster.put('a');
    const w = start(cluster, { resyncMs: 50 });
    await waitFor('two resyncs', () => w.watcher.relists >= 3);
    w.watcher.stop();
    await sleep(20);
    const seen = { lists: cluster.lists, watches: cluster.watchCalls.length };
    assert.equal(cluster.open.length, 0);
    await sleep(150);
    assert.deepEqual({ lists: cluster.lists, watches: cluster.watchCalls.length }, seen);
    assert.deepEqual(w.changes, ['ADDED a']);
  });

  it('rejects start() when the first list fails', async () => {
    const cluster = new FakeCluster();
    cluster.listFailures = 1;
    const w = start(cluster);
    stop = () => w.watcher.stop();
    await assert.rejects(w.started, /ECONNREFUSED/);
  });
});

describe('watchUntil over the one list+watch', () => {
  it('decides on listed and watched objects, and on "none left" after a relist', async () => {
    const cluster = new FakeCluster();
    cluster.put('a');
    const ready = watchUntil(cluster.source, 'a', (_type, o: FakeObject) =>
      o.status?.phase === 'Active' ? { done: true, value: o.metadata.name } : { done: false },
    );
    await waitFor('a watch', () => cluster.open.length === 1);
    cluster.put('a', { status: { phase: 'Active' } });
    assert.equal(await ready, 'a');
    assert.equal(cluster.open.length, 0, 'the watch is closed once decided');

    const gone = watchUntil(
      cluster.source,
      'a go away',
      (type) => (type === 'DELETED' ? { done: true, value: 'deleted' } : { done: false }),
      { whenNone: () => ({ done: true, value: 'none' }) },
    );
    await waitFor('a watch', () => cluster.open.length === 1);
    cluster.answers = ['error410'];
    cluster.closeAll();
    cluster.remove('a');
    cluster.compact();
    assert.equal(await gone, 'deleted', 'the relist after the gap reports the deletion');
    assert.equal(
      await watchUntil(cluster.source, 'a go away', () => ({ done: false }), {
        whenNone: () => ({ done: true, value: 'none' }),
      }),
      'none',
    );
  });

  it('gives up through kubeError after four failures in a row, or at once when refused', async () => {
    const cluster = new FakeCluster();
    cluster.always = 'fail';
    const t0 = Date.now();
    await assert.rejects(
      watchUntil(cluster.source, 'things', () => ({ done: false })),
      (err: unknown) => err instanceof SandpiperError && /watch things/.test(err.message),
    );
    assert.equal(cluster.watchCalls.length, 4);
    assert.ok(Date.now() - t0 >= 0.5 + 1 + 2 - 0.1, 'after 0.5 + 1 + 2 s of backoff');
    const refused = new FakeCluster();
    refused.source.watch = async (_v, _e, onDone) => {
      onDone(Object.assign(new Error('Forbidden'), { statusCode: 403 }));
      return { abort: () => undefined };
    };
    await assert.rejects(
      watchUntil(refused.source, 'things', () => ({ done: false })),
      (err: unknown) => err instanceof SandpiperError && err.code === 'api',
    );
  }).timeout(8000);

  it('ends with cancelled on abort', async () => {
    const cluster = new FakeCluster();
    const abort = new AbortController();
    const waiting = watchUntil(cluster.source, 'x', () => ({ done: false }), { signal: abort.signal });
    await waitFor('a watch', () => cluster.open.length === 1);
    abort.abort();
    await assert.rejects(waiting, (err: unknown) => err instanceof SandpiperError && err.code === 'cancelled');
    assert.equal(cluster.open.length, 0);
  });
});

describe('PodTracker over the one list+watch', () => {
  const readyPod = { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } };

  it('says gone for a pod deleted during a compacted watch gap, and ready for the one that replaced it', async () => {
    const cluster = new FakeCluster();
    cluster.put('web-1', readyPod);
    const tracker = new PodTracker({} as Kube, 'ns', 'app=web', cluster.source as never);
    const seen: string[] = [];
    tracker.on('ready', (p) => seen.push(`ready ${p.name}`));
    tracker.on('gone', (name) => seen.push(`gone ${name}`));
    tracker.on('error', (err) => seen.push(`error ${(err as Error).message}`));
    try {
      await tracker.start();
      assert.deepEqual(tracker.readyPods, ['web-1']);
      await waitFor('a watch', () => cluster.open.length === 1);
      cluster.put('web-0', { status: { phase: 'Pending' } }); // the watch delivered an event: healthy
      cluster.answers = ['error410'];
      cluster.closeAll();
      cluster.remove('web-1');
      cluster.put('web-2', readyPod);
      cluster.compact();
      await waitFor('the relist', () => seen.includes('ready web-2'), 2000);
      assert.deepEqual(seen, ['ready web-1', 'gone web-1', 'ready web-2']);
      assert.deepEqual(tracker.readyPods, ['web-2']);
      assert.ok(cluster.watchCalls.length <= 3, `${cluster.watchCalls.length} watch calls`);
    } finally {
      tracker.stop();
    }
  });
});
