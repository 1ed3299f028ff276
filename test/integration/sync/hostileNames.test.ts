import { strict as assert } from 'node:assert';
import { SyncEngine } from '../../../src/core/sync/syncEngine';
import { type SyncFixture, withSyncFixture } from './syncFixture';

describe('a full sync with odd names and a symlink already in the container (real node)', function () {
  this.timeout(180_000);
  let f: SyncFixture;
  let engine: SyncEngine | undefined;

  withSyncFixture(
    'sync-hostile',
    (made) => (f = made),
    () => engine?.dispose(),
  );

  it('skips and names a file it cannot carry, refuses one behind a link, and delivers the rest', async () => {
    const [pod] = await f.readyPods(1);
    // A folder outside the target, and a link to it inside the target, in the container's own filesystem.
    await f.run(pod, 'mkdir -p /outside && printf outside > /outside/keep.txt && ln -s /outside /app/linked');
    f.write('src/index.html', 'hello');
    f.write('src/sub/b.txt', 'b');
    const weird = f.write('src/weird\\name.txt', 'w');
    const tab = f.write('src/tab\there.txt', 't');
    const behindLink = f.write('src/linked/keep.txt', 'pwned');

    const failed = new Map<string, string>();
    const logs: string[] = [];
    engine = new SyncEngine({
      kube: f.kube,
      namespace: f.namespace,
      configRoot: f.root,
      service: f.service(),
      maxAttempts: 3,
    });
    engine.on('file', (local, _remote, state, detail) => {
      if (state === 'failed') failed.set(local, detail ?? '');
    });
    engine.on('log', (l) => logs.push(l));
    await engine.start();
    const deadline = Date.now() + 60_000;
    while (!(await f.exists(pod, '/app/sub/b.txt')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    await engine.idle();

    assert.equal(await f.read(pod, '/app/index.html'), 'hello', logs.join('\n'));
    assert.equal(await f.read(pod, '/app/sub/b.txt'), 'b');
    assert.deepEqual(await f.get(pod, 'sub/b.txt'), { status: 200, body: 'b' });
    assert.match(failed.get(weird) ?? '', /not synced: its name has a backslash/);
    assert.match(failed.get(tab) ?? '', /not synced: its name has a control character/);
    assert.match(failed.get(behindLink) ?? '', /the container refused it: linked is a symbolic link/);
    assert.ok(
      logs.some((l) => l.includes('not synced "weird\\name.txt": its name has a backslash')),
      logs.join('\n'),
    );
    assert.equal(await f.read(pod, '/outside/keep.txt'), 'outside', 'nothing written through the link');
    assert.equal(await f.exists(pod, '/app/weird\\name.txt'), false);
    assert.notEqual(engine.status.state, 'error', 'a skipped file does not put the sync in error');
  });
});
