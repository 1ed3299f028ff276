import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SyncEngine, type FileSyncState } from '../../../src/core/sync/syncEngine';
import { eventually } from '../../support/wait';
import { type SyncFixture, httpGet, withSyncFixture } from './syncFixture';

describe('a failed exec is retried with backoff and reported, never dropped (testbed)', function () {
  this.timeout(180_000);
  let f: SyncFixture;
  let engine: SyncEngine;

  withSyncFixture(
    'sync-retry',
    (made) => (f = made),
    () => engine?.dispose(),
  );

  it('reports the failure, keeps the change, and delivers it once the pod answers exec', async () => {
    const [pod] = await f.readyPods(1);
    const states: FileSyncState[] = [];
    const logs: string[] = [];
    engine = new SyncEngine({ kube: f.kube, namespace: f.namespace, configRoot: f.root, service: f.service() });
    engine.on('file', (local, _r, state) => {
      if (local.endsWith('late.txt')) states.push(state);
    });
    engine.on('log', (l) => logs.push(l));
    await engine.start();
    // The pod has no exec binding yet: kwok refuses every exec into it.
    engine.notify({ local: f.write('src/late.txt', 'delivered late'), kind: 'change' });
    await eventually(
      'the failure to be reported',
      () => states.includes('failed') && engine.status.state === 'error',
      30_000,
    );
    assert.match(engine.status.error ?? '', /.+/);
    assert.ok(
      logs.some((l) => /retrying in \d+ ms/.test(l)),
      logs.join('\n'),
    );

    const bound = await f.bind(pod);
    await eventually('the retried batch', () => states.at(-1) === 'synced', 60_000);
    await engine.idle();
    assert.equal(fs.readFileSync(path.join(bound.dir, 'app/late.txt'), 'utf8'), 'delivered late');
    assert.deepEqual(await httpGet(`${bound.url}/late.txt`), { status: 200, body: 'delivered late' });
    assert.equal(engine.status.state, 'idle');
  });
});
