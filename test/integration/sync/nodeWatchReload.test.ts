// The TypeScript sample as Initialize configures it (no reload action: `node --watch` in the image restarts the
// process): every synced save must be served, not only the first. Node 20's --watch follows a file's inode, so a
// sync that renamed files into place gave one restart and then none (the first-hour e2e caught it).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initConfig } from '../../../src/core/config/init';
import { loadConfig } from '../../../src/core/config/loader';
import { loadKube } from '../../../src/core/infra/kube/client';
import { SyncSession } from '../../../src/core/sync/syncSession';
import { PodDebuggee, compileTs, compiledTsService, tsApp } from '../../support/debugTarget';
import { requireRealNode } from '../../support/realPods';
import { loadTestbed } from '../../support/testbed';
import { eventually } from '../../support/wait';

describe('sync into a `node --watch` service configured by Initialize: every save is served (real node)', function () {
  this.timeout(240_000);
  const kube = loadKube({ kubeconfig: loadTestbed().kubeconfig });
  let workspace: string;
  let debuggee: PodDebuggee | undefined;
  let session: SyncSession | undefined;
  const log: string[] = [];

  before(async () => {
    requireRealNode();
    workspace = compiledTsService();
    debuggee = await PodDebuggee.deploy(tsApp(workspace), 'sync-watch');
  });

  after(async () => {
    session?.dispose();
    await debuggee?.dispose();
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('serves three successive edits of a .ts file from the same pod', async () => {
    await initConfig(workspace);
    const config = await loadConfig(workspace);
    const service = config.services.hello;
    assert.equal(service.sync?.reload.kind, 'none', 'Initialize leaves the restart to node --watch');
    const pod = await debuggee!.podName();

    session = new SyncSession({ kube, namespace: debuggee!.namespace, config, service, log: (l) => log.push(l) });
    await session.start();
    await session.idle();

    const source = path.join(workspace, 'src', 'greeting.ts');
    const original = fs.readFileSync(source, 'utf8');
    assert.match(original, /Hello from/);
    for (const edit of ['first', 'second', 'third']) {
      fs.writeFileSync(source, original.replace('Hello from', `Hello (${edit} edit) from`));
      compileTs(workspace);
      session.engine.notify({ local: path.join(workspace, 'dist', 'greeting.js'), kind: 'change' });
      await session.idle();
      assert.notEqual(session.engine.status.state, 'error', log.join('\n'));
      await eventually(
        `the ${edit} edit to be served`,
        async () => (await debuggee!.request()).includes(edit),
        20_000,
      ).catch((err: Error) => assert.fail(`${err.message}\nsync log:\n${log.join('\n')}`));
    }
    assert.equal(await debuggee!.podName(), pod, 'the same pod serves (the process restarted, not the pod)');
  });
});
