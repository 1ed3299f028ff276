// The Todo example's own hot reload, on its own image and manifests: a handler edited in the workspace is synced
// by Sandpiper (config from the example's sandpiper.yaml) and served by the same process, its data kept.
// It failed while server.js bound `handle` once (a SIGHUP then reloaded nothing that served requests).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../../src/core/config/loader';
import { loadKube } from '../../../src/core/infra/kube/client';
import { PortForwarder } from '../../../src/core/portforward/portForwarder';
import { SyncSession } from '../../../src/core/sync/syncSession';
import { EXAMPLE_DIR, exampleImage } from '../../support/images';
import { podsOf, requireRealNode } from '../../support/realPods';
import { createNamespace, loadTestbed } from '../../support/testbed';
import { eventually } from '../../support/wait';
import { deployExample } from './syncFixture';

/** The example under test and its image (the spot check of a broken reload points both at a scratch copy). */
const SOURCE = EXAMPLE_DIR;
const image = (): Promise<string> => exampleImage();

const GET_LINE = "if (req.method === 'GET') return send(res, 200, tasks);";

describe("the Todo example's own hot reload: synced handlers served by the same process (real node)", function () {
  this.timeout(240_000);
  const kube = loadKube({ kubeconfig: loadTestbed().kubeconfig });
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-example-ws-'));
  let ns: { name: string; dispose(): Promise<void> } | undefined;
  let session: SyncSession | undefined;
  let forward: PortForwarder | undefined;
  const log: string[] = [];

  before(async () => {
    requireRealNode();
    fs.cpSync(SOURCE, workspace, { recursive: true });
    ns = await createNamespace('sync-example');
    // The example's own manifests, with the pushed image in place of the name a user's build would tag.
    await deployExample(kube, ns.name, await image(), workspace);
    forward = new PortForwarder({ kube, namespace: ns.name, service: 'tasks', remotePort: 8080 });
    await forward.start();
  });

  after(async () => {
    session?.dispose();
    await forward?.dispose();
    await ns?.dispose();
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  const tasksUrl = (): string => `http://127.0.0.1:${forward!.localPort}/tasks`;

  it('serves an edited handler after the sync, from the same pod, keeping the tasks added before', async () => {
    const config = await loadConfig(workspace);
    const service = config.services.tasks;
    assert.deepEqual(
      { ...service.sync?.reload },
      { kind: 'signal', signal: 'SIGHUP', process: undefined },
      'the example reloads its PID 1 with SIGHUP',
    );
    const [before] = await podsOf(ns!.name, 'app=tasks');

    const created = await fetch(tasksUrl(), { method: 'POST', body: JSON.stringify({ title: 'before the reload' }) });
    assert.equal(created.status, 201);
    const added = [{ id: 1, title: 'before the reload', done: false }];
    assert.deepEqual(await (await fetch(tasksUrl())).json(), added);

    session = new SyncSession({ kube, namespace: ns!.name, config, service, log: (l) => log.push(l) });
    await session.start();
    await session.idle();

    // The save: GET /tasks now answers with a wrapped list.
    const handler = path.join(workspace, 'src', 'tasks.js');
    const source = fs.readFileSync(handler, 'utf8');
    assert.ok(source.includes(GET_LINE), `examples/todo/src/tasks.js no longer has: ${GET_LINE}`);
    fs.writeFileSync(
      handler,
      source.replace(GET_LINE, "if (req.method === 'GET') return send(res, 200, { edited: true, tasks });"),
    );
    session.engine.notify({ local: handler, kind: 'change' });
    await session.idle();
    assert.notEqual(session.engine.status.state, 'error', log.join('\n'));

    const served = await eventually(
      'GET /tasks to answer with the edited handler',
      async () => {
        const body = (await (await fetch(tasksUrl())).json()) as unknown;
        return JSON.stringify(body).includes('"edited":true') && body;
      },
      15_000,
    ).catch((err: Error) => assert.fail(`${err.message}\nsync log:\n${log.join('\n')}`));
    assert.deepEqual(served, { edited: true, tasks: added }, 'the tasks added before the reload are kept');

    const [after] = await podsOf(ns!.name, 'app=tasks');
    assert.equal(after.metadata!.uid, before.metadata!.uid, 'the same pod serves');
    assert.equal(after.status!.containerStatuses![0].restartCount, 0, 'the container was not restarted');
    assert.equal(session.engine.status.pods, 1);
  });
});
