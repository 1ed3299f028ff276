import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SyncEngine } from '../../../src/core/sync/syncEngine';
import { type SyncFixture, withSyncFixture } from './syncFixture';

describe('a full sync with odd names and a symlink already in the pod (testbed)', function () {
  this.timeout(180_000);
  let f: SyncFixture;
  let engine: SyncEngine | undefined;
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-outside-'));

  withSyncFixture(
    'sync-hostile',
    (made) => (f = made),
    () => engine?.dispose(),
  );
  after(() => fs.rmSync(outside, { recursive: true, force: true }));

  it('skips and names a file it cannot carry, refuses one behind a link, and delivers the rest', async () => {
    const [pod] = await f.readyPods(1);
    const bound = await f.bind(pod);
    fs.writeFileSync(path.join(outside, 'keep.txt'), 'outside');
    fs.symlinkSync(outside, path.join(bound.dir, 'app/linked'));
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
    while (!fs.existsSync(path.join(bound.dir, 'app/sub/b.txt')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    await engine.idle();

    assert.equal(fs.readFileSync(path.join(bound.dir, 'app/index.html'), 'utf8'), 'hello', logs.join('\n'));
    assert.equal(fs.readFileSync(path.join(bound.dir, 'app/sub/b.txt'), 'utf8'), 'b');
    assert.match(failed.get(weird) ?? '', /not synced: its name has a backslash/);
    assert.match(failed.get(tab) ?? '', /not synced: its name has a control character/);
    assert.match(failed.get(behindLink) ?? '', /the container refused it: linked is a symbolic link/);
    assert.ok(
      logs.some((l) => l.includes('not synced "weird\\name.txt": its name has a backslash')),
      logs.join('\n'),
    );
    assert.equal(
      fs.readFileSync(path.join(outside, 'keep.txt'), 'utf8'),
      'outside',
      'nothing written through the link',
    );
    assert.equal(fs.existsSync(path.join(bound.dir, 'app/weird\\name.txt')), false);
    assert.notEqual(engine.status.state, 'error', 'a skipped file does not put the sync in error');
  });
});
