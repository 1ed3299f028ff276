import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execInPod } from '../../../src/core/infra/kube/exec';
import { applyCommand, EXIT_REFUSED } from '../../../src/core/sync/containerScript';
import { buildUncheckedArchive } from '../../../src/core/infra/tar';
import { SyncEngine, type FileSyncState } from '../../../src/core/sync/syncEngine';
import { eventually } from '../../support/wait';
import { SyncFixture, httpGet } from './syncFixture';

describe('live sync into KWOK pods through the real apiserver exec', function () {
  this.timeout(180_000);
  let f: SyncFixture;
  let engine: SyncEngine;
  let pods: string[];
  const states = new Map<string, FileSyncState>();

  before(async () => {
    f = await SyncFixture.create('sync');
    f.write('src/index.html', 'v0');
    f.write('src/same.txt', 'identical');
    f.write('src/differs.txt', 'local copy');
    await f.createDeployment(2);
    pods = await f.readyPods(2);
    for (const p of pods) await f.bind(p);
    // What the image already holds in the first pod: one file identical, one different.
    const first = f.pods.get(pods[0])!;
    fs.writeFileSync(path.join(first.dir, 'app/same.txt'), 'identical');
    fs.writeFileSync(path.join(first.dir, 'app/differs.txt'), 'image copy');
    const sameInode = fs.statSync(path.join(first.dir, 'app/same.txt')).ino;
    engine = new SyncEngine({ kube: f.kube, namespace: f.namespace, configRoot: f.root, service: f.service() });
    engine.on('file', (local, _remote, state) => states.set(path.relative(f.root, local), state));
    await engine.start();
    await eventually(
      'the initial full sync',
      () => pods.every((p) => fs.existsSync(path.join(f.pods.get(p)!.dir, 'app/index.html'))),
      60_000,
    );
    await engine.idle();
    // The initial sync sent only the differences: the identical file was not rewritten (same inode).
    assert.equal(fs.statSync(path.join(first.dir, 'app/same.txt')).ino, sameInode, 'an identical file was sent again');
    assert.equal(fs.readFileSync(path.join(first.dir, 'app/differs.txt'), 'utf8'), 'local copy');
  });

  after(async () => {
    engine?.dispose();
    await f?.dispose();
  });

  const serve = (pod: string, p: string) => httpGet(`${f.pods.get(pod)!.url}/${p}`);

  it('an edit is visible over HTTP in both pods after the reload', async () => {
    engine.notify({ local: f.write('src/index.html', 'v1'), kind: 'change' });
    await engine.idle();
    for (const p of pods) assert.deepEqual(await serve(p, 'index.html'), { status: 200, body: 'v1' });
    assert.equal(states.get('src/index.html'), 'synced');
    assert.ok((engine.status.lastLatencyMs ?? -1) >= 0);
  });

  it('a delete removes the file', async () => {
    engine.notify({ local: f.write('src/gone.txt', 'x'), kind: 'change' });
    await engine.idle();
    assert.equal((await serve(pods[0], 'gone.txt')).status, 200);
    fs.rmSync(path.join(f.root, 'src/gone.txt'));
    engine.notify({ local: path.join(f.root, 'src/gone.txt'), kind: 'delete' });
    await engine.idle();
    for (const p of pods) {
      assert.equal(fs.existsSync(path.join(f.pods.get(p)!.dir, 'app/gone.txt')), false);
      assert.equal((await serve(p, 'gone.txt')).status, 404);
    }
  });

  it('a rename moves the file', async () => {
    const from = f.write('src/old-name.txt', 'moving');
    engine.notify({ local: from, kind: 'change' });
    await engine.idle();
    const to = path.join(f.root, 'src/new-name.txt');
    fs.renameSync(from, to);
    engine.notify({ local: from, kind: 'delete' });
    engine.notify({ local: to, kind: 'change' });
    await engine.idle();
    assert.equal((await serve(pods[1], 'old-name.txt')).status, 404);
    assert.deepEqual(await serve(pods[1], 'new-name.txt'), { status: 200, body: 'moving' });
  });

  it('1,000 files changed at once arrive complete', async () => {
    for (let i = 0; i < 1000; i++)
      engine.notify({ local: f.write(`src/many/d${i % 10}/f${i}.txt`, `file ${i}`), kind: 'change' });
    await engine.idle();
    for (const p of pods) {
      const dir = path.join(f.pods.get(p)!.dir, 'app/many');
      const count = fs.readdirSync(dir).reduce((n, d) => n + fs.readdirSync(path.join(dir, d)).length, 0);
      assert.equal(count, 1000);
      assert.equal(fs.readFileSync(path.join(dir, 'd7/f517.txt'), 'utf8'), 'file 517');
    }
  });

  it('excluded and git-ignored files do not travel', async () => {
    f.write('.gitignore', 'ignored/\n');
    const e2 = new SyncEngine({ kube: f.kube, namespace: f.namespace, configRoot: f.root, service: f.service() });
    const seen = new Map<string, FileSyncState>();
    e2.on('file', (local, _r, state) => seen.set(path.relative(f.root, local), state));
    try {
      await e2.start();
      await e2.idle();
      e2.notify({ local: f.write('src/key.secret', 'hunter2'), kind: 'change' });
      e2.notify({ local: f.write('src/ignored/a.txt', 'no'), kind: 'change' });
      e2.notify({ local: f.write('src/kept.txt', 'yes'), kind: 'change' });
      await e2.idle();
      assert.equal(seen.get('src/key.secret'), 'excluded');
      assert.equal(seen.get('src/ignored/a.txt'), 'excluded');
      for (const p of pods) {
        const dir = path.join(f.pods.get(p)!.dir, 'app');
        assert.equal(fs.readFileSync(path.join(dir, 'kept.txt'), 'utf8'), 'yes');
        assert.equal(fs.existsSync(path.join(dir, 'key.secret')), false);
        assert.equal(fs.existsSync(path.join(dir, 'ignored')), false);
      }
    } finally {
      e2.dispose();
      fs.rmSync(path.join(f.root, '.gitignore'));
    }
  });

  for (const name of ['files/../../escape.txt', '/tmp/sandpiper-abs-escape.txt']) {
    it(`the container refuses a tar entry ${name} and writes nothing outside the target`, async () => {
      const pod = f.pods.get(pods[0])!;
      const tar = await buildUncheckedArchive([
        { name: 'files/inside.txt', content: 'x' },
        { name, content: 'escaped' },
      ]);
      const r = await execInPod(f.kube, {
        namespace: f.namespace,
        pod: pod.name,
        container: 'web',
        command: applyCommand('/app', tar.length, { kind: 'none' }),
        stdin: tar,
        timeoutMs: 30_000,
      });
      assert.equal(r.exitCode, EXIT_REFUSED, r.stderr);
      assert.equal(fs.existsSync(path.join(pod.dir, 'escape.txt')), false);
      assert.equal(fs.existsSync(path.join(f.podsDir, 'escape.txt')), false);
      assert.equal(fs.existsSync('/tmp/sandpiper-abs-escape.txt'), false);
      assert.equal(fs.existsSync(path.join(pod.dir, 'app/inside.txt')), false);
    });
  }

  it('a reader never sees a half-written file', async () => {
    const size = 8 * 1024 * 1024;
    engine.notify({ local: f.write('src/big.bin', Buffer.alloc(size, 'a')), kind: 'change' });
    await engine.idle();
    const target = path.join(f.pods.get(pods[0])!.dir, 'app/big.bin');
    let reading = true;
    const seen = new Set<string>();
    const reader = (async () => {
      while (reading) {
        const b = fs.readFileSync(target);
        seen.add(b.length === size && b.every((x) => x === b[0]) ? String.fromCharCode(b[0]) : `torn(${b.length})`);
        await new Promise((r) => setImmediate(r));
      }
    })();
    engine.notify({ local: f.write('src/big.bin', Buffer.alloc(size, 'b')), kind: 'change' });
    await engine.idle();
    reading = false;
    await reader;
    assert.deepEqual(
      [...seen].filter((s) => s.startsWith('torn')),
      [],
    );
    assert.equal(fs.readFileSync(target)[0], 'b'.charCodeAt(0));
  });

  it('a replaced pod gets a full sync when it becomes ready', async () => {
    const victim = pods[1];
    await f.kube.core.deleteNamespacedPod({ name: victim, namespace: f.namespace, gracePeriodSeconds: 0 });
    let fresh = '';
    await eventually(
      'a replacement pod',
      async () => {
        const now = await f.readyPods(2, 60_000).catch(() => []);
        fresh = now.find((p) => !pods.includes(p)) ?? '';
        return !!fresh;
      },
      60_000,
    );
    // The engine already tries it; its exec works once the pod is bound to a folder. Failed tries are retried.
    const bound = await f.bind(fresh);
    await eventually(
      'the full sync of the new pod',
      () => fs.existsSync(path.join(bound.dir, 'app/many/d3/f993.txt')),
      60_000,
    );
    await engine.idle();
    assert.deepEqual(await httpGet(`${bound.url}/index.html`), { status: 200, body: 'v1' });
    assert.equal(engine.status.pods, 2);
  });
});
