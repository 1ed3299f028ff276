import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SyncEngine } from '../../../src/core/sync/syncEngine';
import { sleep } from '../../../src/core/errors';
import { eventually } from '../../support/wait';
import { SyncFixture } from './syncFixture';

describe('a pod replaced in the middle of a sync (testbed)', function () {
  this.timeout(240_000);
  let f: SyncFixture;
  let engine: SyncEngine;

  before(async () => {
    f = await SyncFixture.create('sync-midway');
    f.write('src/index.html', 'v0');
    await f.createDeployment(1);
    await f.bind((await f.readyPods(1))[0]);
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
    const bound = await f.bind(fresh);
    const dir = path.join(bound.dir, 'app/bulk');
    const count = (): number =>
      fs.existsSync(dir) ? fs.readdirSync(dir).reduce((n, d) => n + fs.readdirSync(path.join(dir, d)).length, 0) : 0;
    await eventually('all 2000 files on the replacement', () => count() === 2000, 90_000);
    await engine.idle();
    assert.equal(fs.readFileSync(path.join(dir, 'd13/f1993.txt'), 'utf8'), 'bulk 1993');
    assert.equal(fs.readFileSync(path.join(bound.dir, 'app/index.html'), 'utf8'), 'v0');
    assert.deepEqual(
      fs.readdirSync(path.join(bound.dir, 'app')).filter((n) => n.startsWith('.sandpiper-sync')),
      [],
      'no staging folder left',
    );
    assert.equal(engine.status.pods, 1);
    assert.equal(engine.status.state, 'idle');
  });
});
