import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execInPod } from '../../../src/core/infra/kube/exec';
import { applyCommand, EXIT_REFUSED } from '../../../src/core/sync/containerScript';
import { buildUncheckedArchive } from '../../../src/core/infra/tar';
import { SyncEngine, type FileSyncState } from '../../../src/core/sync/syncEngine';
import { eventually } from '../../support/wait';
import { sleep } from '../../../src/core/errors';
import { SyncFixture } from './syncFixture';

describe('live sync into pods on the real node through the apiserver and kubelet exec', function () {
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
    // What the container already holds in the first pod: one file identical, one different.
    const inode = (): Promise<string> => f.run(pods[0], 'stat -c %i /app/same.txt');
    await f.run(pods[0], 'printf identical > /app/same.txt && printf "image copy" > /app/differs.txt');
    const sameInode = await inode();
    engine = new SyncEngine({ kube: f.kube, namespace: f.namespace, configRoot: f.root, service: f.service() });
    engine.on('file', (local, _remote, state) => states.set(path.relative(f.root, local), state));
    await engine.start();
    await eventually(
      'the initial full sync',
      async () => (await Promise.all(pods.map((p) => f.exists(p, '/app/index.html')))).every(Boolean),
      60_000,
    );
    await engine.idle();
    // The initial sync sent only the differences: the identical file was not rewritten (same inode).
    assert.equal(await inode(), sameInode, 'an identical file was sent again');
    assert.equal(await f.read(pods[0], '/app/differs.txt'), 'local copy');
  });

  after(async () => {
    engine?.dispose();
    await f?.dispose();
  });

  const serve = (pod: string, p: string): Promise<{ status: number; body: string }> => f.get(pod, p);

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
      assert.equal(await f.exists(p, '/app/gone.txt'), false);
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
      assert.equal(await f.countFiles(p, '/app/many'), 1000);
      assert.equal(await f.read(p, '/app/many/d7/f517.txt'), 'file 517');
      assert.deepEqual(await serve(p, 'many/d7/f517.txt'), { status: 200, body: 'file 517' });
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
        assert.equal(await f.read(p, '/app/kept.txt'), 'yes');
        assert.equal(await f.exists(p, '/app/key.secret'), false);
        assert.equal(await f.exists(p, '/app/ignored'), false);
      }
    } finally {
      e2.dispose();
      fs.rmSync(path.join(f.root, '.gitignore'));
    }
  });

  for (const name of ['files/../../escape.txt', '/tmp/sandpiper-abs-escape.txt']) {
    it(`the container refuses a tar entry ${name} and writes nothing outside the target`, async () => {
      const pod = pods[0];
      const tar = await buildUncheckedArchive([
        { name: 'files/inside.txt', content: 'x' },
        { name, content: 'escaped' },
      ]);
      const r = await execInPod(f.kube, {
        namespace: f.namespace,
        pod,
        container: 'web',
        command: applyCommand('/app', tar.length, { kind: 'none' }),
        stdin: tar,
        timeoutMs: 30_000,
      });
      assert.equal(r.exitCode, EXIT_REFUSED, r.stderr);
      for (const at of ['/escape.txt', '/app/escape.txt', '/tmp/sandpiper-abs-escape.txt', '/app/inside.txt'])
        assert.equal(await f.exists(pod, at), false, `${at} was written`);
      assert.equal(fs.existsSync('/tmp/sandpiper-abs-escape.txt'), false);
    });
  }

  it('a reader never sees a half-written file', async () => {
    const size = 8 * 1024 * 1024;
    const md5 = (c: string): string => crypto.createHash('md5').update(Buffer.alloc(size, c)).digest('hex');
    engine.notify({ local: f.write('src/big.bin', Buffer.alloc(size, 'a')), kind: 'change' });
    await engine.idle();
    // A reader in the container hashes the file over and over while the sync replaces it; any other hash is torn.
    const reader = f.sh(
      pods[0],
      'rm -f /tmp/stop; while [ ! -e /tmp/stop ]; do s=$(md5sum < /app/big.bin); ' +
        `case "$s" in ${md5('a')}*) echo a;; ${md5('b')}*) echo b;; *) echo "torn $s";; esac; done | sort | uniq -c`,
      undefined,
      120_000,
    );
    await sleep(500);
    engine.notify({ local: f.write('src/big.bin', Buffer.alloc(size, 'b')), kind: 'change' });
    await engine.idle();
    await sleep(300);
    await f.run(pods[0], 'touch /tmp/stop');
    const seen = (await reader).stdout;
    assert.doesNotMatch(seen, /torn/, seen);
    assert.match(seen, /\d+ b/, seen);
    assert.equal(await f.run(pods[0], 'md5sum < /app/big.bin | cut -c1-32'), `${md5('b')}\n`);
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
    // The engine syncs it as soon as it is ready: no step of the test's makes its exec work.
    await eventually(
      'the full sync of the new pod',
      async () => (await f.read(fresh, '/app/many/d3/f993.txt')) === 'file 993',
      60_000,
    );
    await engine.idle();
    assert.deepEqual(await f.get(fresh, 'index.html'), { status: 200, body: 'v1' });
    assert.equal(engine.status.pods, 2);
  });
});
