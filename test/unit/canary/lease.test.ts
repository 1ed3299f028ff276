import { strict as assert } from 'node:assert';
import { CanaryLease, leaseName, liveDriver } from '../../../src/core/canary/lease';
import { type SandpiperError } from '../../../src/core/errors';
import { FakeCluster, unreachable } from './fakeCluster';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NAME = leaseName('web');

/** Waits as 'override' (1s lease, 50ms polls) for web's lease to be free, or for the current holder to be done. */
function acquireAsOverride(api: FakeCluster, done: () => Promise<boolean>) {
  return CanaryLease.acquireWhenFree(api, 'shop', 'web', { holder: 'override', durationSeconds: 1, pollMs: 50 }, done);
}

function lease(holder: string, renewedAgoMs: number, durationSeconds = 15) {
  const at = new Date(Date.now() - renewedAgoMs);
  return {
    metadata: { name: NAME },
    spec: { holderIdentity: holder, leaseDurationSeconds: durationSeconds, acquireTime: at, renewTime: at },
  };
}

describe('canary lease (in-memory API)', function () {
  this.timeout(5000);
  const held: CanaryLease[] = [];
  afterEach(async () => {
    for (const l of held.splice(0)) await l.release();
  });

  async function acquire(
    api: FakeCluster,
    holder = 'driver-a',
    extra: { retryMs?: number; onRetry?: (e: unknown, n: number) => void } = {},
  ) {
    const l = await CanaryLease.acquire(api, 'shop', 'web', { holder, durationSeconds: 1, ...extra });
    held.push(l);
    return l;
  }

  it('keeps the lease when renewals fail a few times and then succeed within the lease time', async () => {
    const api = new FakeCluster();
    const retries: number[] = [];
    const l = await acquire(api, 'driver-a', { retryMs: 100, onRetry: (_e, n) => retries.push(n) });
    const fail = () => {
      throw unreachable();
    };
    api.next('replaceNamespacedLease', fail, fail, fail);
    await wait(1500);
    assert.equal(l.lostSignal.aborted, false, String(l.lostSignal.reason));
    assert.deepEqual(retries, [1, 2, 3]);
    assert.ok(api.count('replaceNamespacedLease') >= 4, 'renewed after the failures');
    const renewed = Date.parse(String(api.leases.get(NAME)!.spec!.renewTime));
    assert.ok(Date.now() - renewed < 1000, 'the lease is current again');
  });

  it('gives up before the lease expires when every renewal fails, and says why', async () => {
    const api = new FakeCluster();
    const l = await acquire(api, 'driver-a', { retryMs: 100 });
    const taken = Date.parse(String(api.leases.get(NAME)!.spec!.renewTime));
    api.failAlways('replaceNamespacedLease', unreachable);
    const lostAt = await new Promise<number>((resolve) =>
      l.lostSignal.addEventListener('abort', () => resolve(Date.now())),
    );
    const reason = l.lostSignal.reason as SandpiperError;
    assert.equal(reason.code, 'canary-lease-lost');
    assert.match(reason.message, /renewals failed before it expired; the last: .*does not answer \(ECONNREFUSED\)/);
    assert.ok(api.count('replaceNamespacedLease') >= 3, `retried (${api.count('replaceNamespacedLease')} attempts)`);
    // The last renewal was at `taken` (the first renewal failed): stop acting before anyone may take it over.
    assert.ok(lostAt < taken + 1000, `gave up ${lostAt - taken} ms after the last renewal, lease is 1000 ms`);
  });

  it('stops at once, without retrying, when another holder took the lease', async () => {
    const api = new FakeCluster();
    const l = await acquire(api);
    api.edit(api.leases, NAME, (o) => {
      o.spec!.holderIdentity = 'driver-b';
    });
    await new Promise((resolve) => l.lostSignal.addEventListener('abort', resolve));
    assert.match((l.lostSignal.reason as Error).message, /taken by driver-b/);
    assert.equal(api.count('replaceNamespacedLease'), 0);
  });

  it('names a live driver, and nobody once its lease expired or was released', async () => {
    const api = new FakeCluster();
    assert.equal(await liveDriver(api, 'shop', 'web'), undefined);
    api.addLease(lease('driver-a', 2000, 15));
    assert.equal(await liveDriver(api, 'shop', 'web'), 'driver-a');
    api.leases.clear();
    api.addLease(lease('driver-a', 20_000, 15));
    assert.equal(await liveDriver(api, 'shop', 'web'), undefined);
  });

  it('refuses a second driver while the lease is live, and takes an expired one over', async () => {
    const api = new FakeCluster();
    api.addLease(lease('crashed', 2000, 15));
    await assert.rejects(
      acquire(api, 'driver-b'),
      (e: SandpiperError) => e.code === 'canary-busy' && /crashed/.test(e.message),
    );
    api.leases.clear();
    api.addLease(lease('crashed', 20_000, 15));
    await acquire(api, 'driver-b');
    assert.equal(api.leases.get(NAME)!.spec!.holderIdentity, 'driver-b');
  });

  it('waits for a live holder to finish, or takes the lease once it is released', async () => {
    const api = new FakeCluster();
    api.addLease(lease('driver-a', 0, 15));
    let finished = false;
    setTimeout(() => (finished = true), 300);
    const none = await acquireAsOverride(api, async () => finished);
    assert.equal(none, undefined, 'the holder finished the job: nothing left to take');
    assert.equal(api.leases.get(NAME)!.spec!.holderIdentity, 'driver-a');

    setTimeout(() => api.leases.clear(), 300);
    const started = Date.now();
    const mine = await acquireAsOverride(api, async () => false);
    assert.ok(mine);
    held.push(mine);
    assert.ok(Date.now() - started >= 250, 'did not take it while it was held');
    assert.equal(api.leases.get(NAME)!.spec!.holderIdentity, 'override');
  });
});
