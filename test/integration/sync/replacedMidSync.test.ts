import { strict as assert } from 'node:assert';
import { SyncEngine } from '../../../src/core/sync/syncEngine';
import { sleep } from '../../../src/core/errors';
import { eventually } from '../../support/wait';
import { SyncFixture } from './syncFixture';

describe('a pod replaced in the middle of a sync (real node)', function () {
  this.timeout(240_000);
  let f: SyncFixture;
  let engine: SyncEngine;

  before(async () => {
    f = await SyncFixture.create('sync-midway');
    f.write('src/index.html', 'v0');
    await f.createDeployment(1);
    await f.readyPods(1);
    engine = new SyncEngine({ kube: f.kube, namespace: f.namespace, configRoot: f.root, service: f.service() });
    await engine.start();
    await engine.idle();
  });

  after(async () => {
    engine?.dispose();
    await f?.dispose();
  });

  it('ends with the replacement holding every file, the old pod forgotten', async () => {
    const [victim] = await f.readyPods(1);
    for (let i = 0; i < 2000; i++)
      engine.notify({ local: f.write(`src/bulk/d${i % 20}/f${i}.txt`, `bulk ${i}`), kind: 'change' });
    await sleep(60);
    await f.kube.core.deleteNamespacedPod({ name: victim, namespace: f.namespace, gracePeriodSeconds: 0 });
    let fresh = '';
    await eventually(
      'the replacement pod',
      async () => {
        fresh = (await f.readyPods(1).catch(() => [] as string[])).find((p) => p !== victim) ?? '';
        return !!fresh;
      },
      150_000,
    );
    await eventually(
      'all 2000 files on the replacement',
      async () => (await f.countFiles(fresh, '/app/bulk')) === 2000,
      90_000,
    );
    await engine.idle();
    assert.equal(await f.read(fresh, '/app/bulk/d13/f1993.txt'), 'bulk 1993');
    assert.equal(await f.read(fresh, '/app/index.html'), 'v0');
    assert.deepEqual(await f.get(fresh, 'bulk/d13/f1993.txt'), { status: 200, body: 'bulk 1993' });
    assert.equal(await f.run(fresh, 'ls -a /app | grep "^.sandpiper-sync" || true'), '', 'no staging folder left');
    assert.equal(engine.status.pods, 1);
    assert.equal(engine.status.state, 'idle');
  });
});
