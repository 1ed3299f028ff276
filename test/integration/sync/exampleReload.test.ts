// The Todo example's own hot reload, on its own images and manifests: a handler edited in a .ts file of the workspace
// is bundled again by the example's build, the bundle synced by Sandpiper (config from tasks/sandpiper.yaml, reload
// none) and served after `node --watch` restarts the process in the same container — every save, not only the first
// (the old SIGHUP reload once served nothing new, and node --watch once saw one replacement and never another) —
// while the tasks added before are kept by the example's database.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../../src/core/config/loader';
import { loadKube } from '../../../src/core/infra/kube/client';
import { PortForwarder } from '../../../src/core/portforward/portForwarder';
import { SyncSession } from '../../../src/core/sync/syncSession';
import { exampleCopy, exampleImage, rebuildExampleCopy } from '../../support/images';
import { podsOf, requireRealNode } from '../../support/realPods';
import { createNamespace, loadTestbed } from '../../support/testbed';
import { eventually } from '../../support/wait';
import { deployExample } from './syncFixture';

const GET_LINE = ".on('GET', '/tasks', async (_req, res) => sendJson(res, 200, await store.list()))";
const edited = (tag: string) =>
  `.on('GET', '/tasks', async (_req, res) => sendJson(res, 200, { edit: '${tag}', tasks: await store.list() }))`;

describe("the Todo example's own hot reload: every synced .ts edit served by the same container (real node)", function () {
  this.timeout(300_000);
  const kube = loadKube({ kubeconfig: loadTestbed().kubeconfig });
  let workspace = '';
  let ns: { name: string; dispose(): Promise<void> } | undefined;
  let session: SyncSession | undefined;
  let forward: PortForwarder | undefined;
  const log: string[] = [];

  before(async function () {
    this.timeout(600_000); // the first run of a machine builds the example's images
    requireRealNode();
    workspace = await exampleCopy();
    ns = await createNamespace('sync-example');
    // The example's own manifests (tasks and its db), with the pushed images in place of the names a build tags.
    await deployExample(kube, ns.name, await exampleImage(), path.join(workspace, 'tasks'), { db: true });
    forward = new PortForwarder({ kube, namespace: ns.name, service: 'tasks', remotePort: 8080 });
    await forward.start();
  });

  after(async () => {
    session?.dispose();
    await forward?.dispose();
    await ns?.dispose();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  const tasksUrl = (): string => `http://127.0.0.1:${forward!.localPort}/tasks`;

  it('serves two successive edits of a handler after the sync, from the same pod, keeping the tasks added before', async () => {
    const root = path.join(workspace, 'tasks');
    const config = await loadConfig(root);
    const service = config.services.tasks;
    assert.deepEqual({ ...service.sync?.reload }, { kind: 'none' }, 'node --watch in the image restarts on the bundle');
    assert.deepEqual(service.sync?.paths, ['dist/']);
    const [before] = await podsOf(ns!.name, 'app=tasks');

    const created = await fetch(tasksUrl(), { method: 'POST', body: JSON.stringify({ title: 'before the reload' }) });
    assert.equal(created.status, 201);
    const added = [{ id: 1, title: 'before the reload', done: false }];
    assert.deepEqual(await (await fetch(tasksUrl())).json(), added);

    session = new SyncSession({ kube, namespace: ns!.name, config, service, log: (l) => log.push(l) });
    await session.start();
    await session.idle();

    // Each save: GET /tasks now answers with a wrapped list, bundled again as the watch task does.
    const handler = path.join(root, 'src', 'routes.ts');
    const source = fs.readFileSync(handler, 'utf8');
    assert.ok(source.includes(GET_LINE), `examples/todo/tasks/src/routes.ts no longer has: ${GET_LINE}`);
    for (const tag of ['first', 'second']) {
      fs.writeFileSync(handler, source.replace(GET_LINE, edited(tag)));
      await rebuildExampleCopy(workspace);
      for (const file of ['server.js', 'server.js.map'])
        session.engine.notify({ local: path.join(root, 'dist', file), kind: 'change' });
      await session.idle();
      assert.notEqual(session.engine.status.state, 'error', log.join('\n'));

      const served = await eventually(
        `GET /tasks to answer with the ${tag} edit`,
        async () => {
          const body = (await (await fetch(tasksUrl())).json().catch(() => undefined)) as unknown;
          return JSON.stringify(body).includes(`"edit":"${tag}"`) && body;
        },
        30_000,
      ).catch((err: Error) => assert.fail(`${err.message}\nsync log:\n${log.join('\n')}`));
      assert.deepEqual(served, { edit: tag, tasks: added }, 'the tasks added before the reload are kept');
    }

    const [after] = await podsOf(ns!.name, 'app=tasks');
    assert.equal(after.metadata!.uid, before.metadata!.uid, 'the same pod serves');
    assert.equal(after.status!.containerStatuses![0].restartCount, 0, 'the container was not restarted');
    assert.equal(session.engine.status.pods, 1);
  });
});
