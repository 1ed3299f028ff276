import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { SyncSession } from '../../../src/core/sync/syncSession';
import { loadTestbed } from '../../support/testbed';
import { eventually } from '../../support/wait';
import { SyncFixture, WORKSPACE_DOCKERFILE } from './syncFixture';

describe('a change the sync cannot carry rebuilds, pushes and rolls out (testbed dockerd + registry, real node)', function () {
  this.timeout(300_000);
  let f: SyncFixture;
  let session: SyncSession;
  const log: string[] = [];
  const savedDockerHost = process.env.DOCKER_HOST;

  before(async () => {
    process.env.DOCKER_HOST = loadTestbed().dockerHost;
    f = await SyncFixture.create('sync-rebuild');
    f.write('src/index.html', 'before');
    await f.createDeployment(1);
    await f.readyPods(1);
    const service = f.service();
    session = new SyncSession({
      kube: f.kube,
      namespace: f.namespace,
      config: f.config(service),
      service,
      log: (l) => log.push(l),
    });
    await session.start();
    await session.idle();
  });

  after(async () => {
    session?.dispose();
    await f?.dispose();
    process.env.DOCKER_HOST = savedDockerHost;
  });

  it('a Dockerfile change builds the image, pushes it to the registry and rolls the Deployment out; sync resumes on the new pod', async () => {
    const before = (await f.readyPods(1))[0];
    const dockerfile = f.write('Dockerfile', `${WORKSPACE_DOCKERFILE}ENV REBUILT=${Date.now()}\n`);
    session.engine.notify({ local: dockerfile, kind: 'change' });
    await eventually(
      'the rebuild',
      () => log.some((l) => l.startsWith('rolled out') || l.startsWith('rebuild failed')),
      240_000,
    );
    assert.ok(!log.some((l) => l.startsWith('rebuild failed')), log.join('\n'));

    const d = await f.kube.apps.readNamespacedDeployment({ name: 'web', namespace: f.namespace });
    const image = d.spec!.template!.spec!.containers[0].image!;
    const registry = loadTestbed().registry;
    assert.match(image, new RegExp(`^${registry.replace(/[.]/g, '\\.')}/web(:sp-[a-z0-9]+)?(@sha256:[0-9a-f]{64})?$`));
    const tags = (await (await fetch(`http://${registry}/v2/web/tags/list`)).json()) as { tags: string[] };
    assert.ok(
      tags.tags.some((t) => t.startsWith('sp-')),
      JSON.stringify(tags),
    );

    // The rollout replaced the pod with one running the new image; sync carries on into it.
    const after = await eventually('a ready pod other than the old one', async () =>
      (await f.readyPods(1)).find((p) => p !== before),
    );
    const pod = await f.kube.core.readNamespacedPod({ name: after, namespace: f.namespace });
    assert.equal(pod.spec!.containers[0].image, image);
    assert.match(await f.run(after, 'echo "$REBUILT"'), /^\d+\n$/, 'the pod runs the rebuilt image');
    f.write('src/index.html', 'after');
    session.engine.notify({ local: path.join(f.root, 'src/index.html'), kind: 'change' });
    await eventually('sync on the new pod', async () => (await f.read(after, '/app/index.html')) === 'after', 60_000);
    await session.idle();
    assert.deepEqual(await f.get(after, 'index.html'), { status: 200, body: 'after' }, log.join('\n'));
  });
});
