import { strict as assert } from 'node:assert';
import { SandpiperError, sleep } from '../../../src/core/errors';
import { execInPod } from '../../../src/core/infra/kube/exec';
import { applyCommand, hashCommand, scriptFailure } from '../../../src/core/sync/containerScript';
import { buildSyncArchive } from '../../../src/core/infra/tar';
import { SyncEngine } from '../../../src/core/sync/syncEngine';
import { shOnlyImage, toollessImage } from './containers';
import { type SyncFixture, withSyncFixture } from './syncFixture';

describe('a container without the tools the sync needs gets one clear message, not a retry loop (real node)', function () {
  this.timeout(240_000);

  describe('a FROM scratch container with one static binary (kubelet exec, as the runtime reports it)', () => {
    let f: SyncFixture;
    withSyncFixture('sync-noshell', (made) => (f = made), undefined, toollessImage);

    it('names the missing /bin/sh and what to do, for the listing and for the apply', async () => {
      const [pod] = await f.readyPods(1);
      const tar = await buildSyncArchive(
        [{ path: 'a.txt', content: Buffer.from('a'), mode: 0o644, mtime: new Date() }],
        [],
      );
      for (const cmd of [hashCommand('/app'), applyCommand('/app', tar.length, { kind: 'none' })]) {
        const res = await execInPod(f.kube, {
          namespace: f.namespace,
          pod,
          container: 'web',
          command: cmd,
          stdin: cmd === hashCommand('/app') ? undefined : tar,
          timeoutMs: 30_000,
        });
        const err = scriptFailure(res, pod, 'web', 'Sync into pod');
        assert.ok(err instanceof SandpiperError);
        assert.equal(err.code, 'sync-tools-missing', `${res.exitCode} ${res.stdout} ${res.stderr} ${res.message}`);
        assert.match(
          err.message,
          new RegExp(
            `container web of pod ${pod}: it has no /bin/sh to run the sync\\. ` +
              'Use a base image with busybox, or point image\\.build at a dev stage',
          ),
        );
        assert.match(err.hint ?? '', /The runtime said: .*"sh": executable file not found/);
      }
    });
  });

  describe('a pod whose image has sh but no tar, find or md5sum (dash alone, no busybox)', () => {
    let f: SyncFixture;
    let engine: SyncEngine | undefined;

    withSyncFixture(
      'sync-notools',
      (made) => (f = made),
      () => engine?.dispose(),
      shOnlyImage,
    );

    it('fails once with the missing tools named, marks the change failed, and does not retry', async () => {
      await f.readyPods(1);
      f.write('src/a.txt', 'a');
      const logs: string[] = [];
      const failed: string[] = [];
      engine = new SyncEngine({ kube: f.kube, namespace: f.namespace, configRoot: f.root, service: f.service() });
      engine.on('log', (l) => logs.push(l));
      engine.on('file', (_l, remote, state, detail) => state === 'failed' && failed.push(`${remote}: ${detail}`));
      await engine.start();
      const deadline = Date.now() + 60_000;
      while (engine.status.state !== 'error' && Date.now() < deadline) await sleep(100);
      assert.equal(engine.status.state, 'error', logs.join('\n'));
      assert.match(
        engine.status.error ?? '',
        /it has no find, md5sum\. Use a base image with busybox, or point image\.build at a dev stage/,
      );

      // A save afterwards is reported at once with the same message, without another exec.
      engine.notify({ local: f.write('src/b.txt', 'b'), kind: 'change' });
      await sleep(3_000);
      await engine.idle();
      const attempts = logs.filter((l) => /has no find, md5sum/.test(l));
      assert.equal(attempts.length, 1, logs.join('\n'));
      assert.match(attempts[0], /giving up/);
      assert.ok(!logs.some((l) => /retrying in/.test(l)), logs.join('\n'));
      assert.ok(
        failed.some((x) => /^b\.txt: .*has no find, md5sum/.test(x)),
        failed.join('\n'),
      );
      assert.equal(engine.status.state, 'error');
    });
  });
});
