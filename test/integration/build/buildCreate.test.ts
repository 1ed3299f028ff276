import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildServiceImage } from '../../../src/core/build/pipeline';
import { createEnvironment } from '../../../src/core/env/create';
import { deployServices } from '../../../src/core/env/deploy';
import type { EnvironmentProgress } from '../../../src/core/env/metadata';
import { requireRealNode } from '../../support/realPods';
import { loadTestbed } from '../../support/testbed';
import { eventually } from '../../support/wait';
import { adminKube, deleteNamespace, expectCreateError, uniqueName } from '../env/baseline';
import { buildWorkspace, CountingBuilder, SERVE, testbedDocker, workspaceConfig } from './workspace';

const kube = adminKube();
const DIGEST_REF = /^(.+)@sha256:([0-9a-f]{64})$/;

async function namespaceGone(name: string): Promise<void> {
  await assert.rejects(kube.core.readNamespace({ name }), (e: { code?: number }) => e.code === 404);
}

async function tagsOf(repo: string): Promise<string[]> {
  const res = await fetch(`http://${loadTestbed().registry}/v2/${repo}/tags/list`);
  return res.ok ? (((await res.json()) as { tags: string[] | null }).tags ?? []) : [];
}

describe('build on create and deploy: content-tagged images pinned by digest (testbed dockerd + registry, real node)', function () {
  this.timeout(300_000);
  const made: string[] = [];
  after(async () => {
    for (const ns of made) await deleteNamespace(kube, ns);
  });

  describe('env create of a workspace with image.build', () => {
    const id = uniqueName('ctx');
    const root = buildWorkspace('hello', id);
    const config = workspaceConfig(root);
    const registry = loadTestbed().registry;
    let first: { namespace: string; image: string; builds: number; progress: EnvironmentProgress[] };

    before(async () => {
      requireRealNode();
      const builder = new CountingBuilder();
      const progress: EnvironmentProgress[] = [];
      const created = await createEnvironment(kube, config, {
        service: 'hello',
        owner: 'build@example.com',
        branch: uniqueName('build'),
        build: { builder },
        progress: (p) => progress.push(p),
      });
      made.push(created.namespace);
      first = { namespace: created.namespace, image: created.image ?? '', builds: builder.builds.length, progress };
    });

    it('builds and pushes the image, and the pod runs Ready with it pinned by digest', async () => {
      assert.equal(first.builds, 1);
      const [, repo, digest] = DIGEST_REF.exec(first.image) ?? [];
      assert.equal(repo, `${registry}/sp-it-build/hello`, first.image);
      const dep = await kube.apps.readNamespacedDeployment({ name: 'hello', namespace: first.namespace });
      assert.equal(dep.spec?.template.spec?.containers[0].image, first.image);
      const [pod] = (await kube.core.listNamespacedPod({ namespace: first.namespace, labelSelector: 'app=hello' }))
        .items;
      assert.equal(pod.spec?.containers[0].image, first.image);
      assert.equal(pod.spec?.nodeName, requireRealNode().node);
      const status = pod.status?.containerStatuses?.[0];
      assert.equal(status?.ready, true);
      assert.ok(status?.imageID?.endsWith(`@sha256:${digest}`), `imageID ${status?.imageID} is not ${digest}`);
      // The tag pushed is the content tag; the registry serves the same digest for it.
      const tag = (await tagsOf('sp-it-build/hello')).find((t) => /^sp-[0-9a-f]{12}$/.test(t));
      assert.ok(tag);
    });

    it('streams the build as progress lines, before any step of the plan starts', () => {
      const lines = first.progress.filter((p) => p.step === 'build').map((p) => p.message);
      assert.ok(
        lines.some((l) => /^building .*\/sp-it-build\/hello:sp-[0-9a-f]{12}/.test(l)),
        lines.join('\n'),
      );
      assert.ok(
        lines.some((l) => /^Step 2\/3 : COPY www\/ \/www\//.test(l)),
        lines.join('\n'),
      );
      const firstStep = first.progress.findIndex((p) => p.state === 'started');
      const lastBuild = first.progress.map((p) => p.step).lastIndexOf('build');
      assert.ok(lastBuild < firstStep, 'the build finished before the namespace was made');
    });

    it('a second create with no change skips the build and runs the same digest', async () => {
      const builder = new CountingBuilder();
      const progress: EnvironmentProgress[] = [];
      const again = await createEnvironment(kube, config, {
        service: 'hello',
        owner: 'build@example.com',
        branch: uniqueName('build-again'),
        build: { builder },
        progress: (p) => progress.push(p),
      });
      made.push(again.namespace);
      assert.equal(builder.builds.length, 0, 'nothing was built');
      assert.equal(again.image, first.image);
      assert.ok(progress.some((p) => p.step === 'build' && /build skipped/.test(p.message)));
      const dep = await kube.apps.readNamespacedDeployment({ name: 'hello', namespace: again.namespace });
      assert.equal(dep.status?.readyReplicas, 1);
    });

    it('a change in a .dockerignored file keeps the tag; a change in the context makes a new one', async () => {
      const builder = new CountingBuilder();
      const before = await buildServiceImage(config, config.services.hello, { builder });
      assert.equal(builder.builds.length, 0);
      fs.writeFileSync(path.join(root, 'notes/todo.md'), 'changed, still ignored\n');
      const ignored = await buildServiceImage(config, config.services.hello, { builder });
      assert.equal(ignored.tagged, before.tagged);
      assert.equal(builder.builds.length, 0);
      fs.writeFileSync(path.join(root, 'www/index.html'), `hello again ${id}\n`);
      const changed = await buildServiceImage(config, config.services.hello, { builder });
      assert.notEqual(changed.tagged, before.tagged);
      assert.deepEqual(builder.builds, [changed.tagged]);
      assert.notEqual(changed.ref, before.ref, 'a new image, by a new digest');
    });
  });

  it('a broken Dockerfile fails naming the service, the step and the fix, and leaves no namespace', async () => {
    const root = buildWorkspace('broken', uniqueName('ctx'), `${SERVE}RUN echo compiling && exit 3\n`);
    const branch = uniqueName('broken');
    const err = await expectCreateError(
      createEnvironment(kube, workspaceConfig(root), { service: 'broken', owner: 'build@example.com', branch }),
    );
    assert.equal(err.code, 'image-failed');
    assert.match(
      err.message,
      /^The image of service "broken" did not build at step 4\/4 \(RUN echo compiling && exit 3\): The command .* returned a non-zero code: 3$/,
    );
    assert.match(err.hint ?? '', /^Fix that step of Dockerfile and run again/);
    assert.equal(err.namespaceCreated, false);
    await namespaceGone(err.namespace);
  });

  it('cancelled mid-build, stops the build on the engine and leaves nothing behind', async () => {
    const marker = uniqueName('sleep');
    const root = buildWorkspace('slow', marker, `${SERVE}RUN echo ${marker} && sleep 60\n`);
    const abort = new AbortController();
    const t0 = Date.now();
    let abortedAt = 0;
    const err = await expectCreateError(
      createEnvironment(kube, workspaceConfig(root), {
        service: 'slow',
        owner: 'build@example.com',
        branch: uniqueName('abort'),
        signal: abort.signal,
        progress: (p) => {
          // The step's container runs (it printed the marker): cancel now.
          if (p.step === 'build' && p.message === marker && !abortedAt) {
            abortedAt = Date.now();
            abort.abort();
          }
        },
      }),
    );
    assert.equal(err.code, 'cancelled');
    assert.ok(abortedAt, 'the build reached the slow step');
    assert.ok(
      Date.now() - abortedAt < 5000,
      `took ${Date.now() - abortedAt} ms to stop (started ${abortedAt - t0} ms in)`,
    );
    assert.equal(err.namespaceCreated, false);
    await namespaceGone(err.namespace);
    // The engine killed the step's container rather than letting it sleep on, and tagged and pushed nothing.
    const docker = testbedDocker();
    await eventually(
      'the build container gone',
      async () => {
        const all = await docker.listContainers({ all: true });
        return !all.some((c) => c.State === 'running' && c.Command.includes(marker));
      },
      20_000,
    );
    assert.deepEqual(
      (await tagsOf('sp-it-build/slow')).filter((t) => t.startsWith('sp-')),
      [],
      'nothing was pushed',
    );
  });

  it('deploy builds every image first and applies the manifests pinned by digest', async () => {
    const root = buildWorkspace('deployed', uniqueName('ctx'));
    const config = workspaceConfig(root);
    const namespace = uniqueName('sp-it-build-deploy');
    await kube.core.createNamespace({ body: { metadata: { name: namespace } } });
    made.push(namespace);
    const progress: EnvironmentProgress[] = [];
    await deployServices(kube, config, Object.values(config.services), namespace, {
      progress: (p) => progress.push(p),
    });
    const dep = await kube.apps.readNamespacedDeployment({ name: 'deployed', namespace });
    assert.match(dep.spec?.template.spec?.containers[0].image ?? '', DIGEST_REF);
    assert.equal(dep.status?.readyReplicas, 1);
    const firstBuild = progress.findIndex((p) => p.step === 'build');
    const firstApply = progress.findIndex((p) => p.step === 'service' && p.state === 'started');
    assert.ok(firstBuild >= 0 && firstBuild < firstApply);
  });
});
