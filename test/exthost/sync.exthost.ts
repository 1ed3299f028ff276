// Live sync inside the real extension host, against the Todo example on the testbed's real node (the tasks service's
// own image, manifests and sandpiper.yaml; the workspace is the example's monorepo): selecting an environment starts
// the sync, a handler saved in the editor and bundled again by the example's build is served by the same container
// after `node --watch` restarts the process, pause holds changes and resume sends them.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { sleep } from '../../src/core/errors';
import { loadKube } from '../../src/core/infra/kube/client';
import { execInPod } from '../../src/core/infra/kube/exec';
import { deployExample, httpGet } from '../integration/sync/syncFixture';
import { EXAMPLE_DIR, exampleImage, rebuildExampleCopy } from '../support/images';
import { createNamespace, loadTestbed } from '../support/testbed';
import { eventually } from '../support/wait';

const GET_LINE = ".on('GET', '/tasks', async (_req, res) => sendJson(res, 200, await store.list()))";
const ROUTES = 'tasks/src/routes.ts';

describe('live sync (extension host + the example on the real node)', function () {
  this.timeout(180_000);
  const kube = loadKube({ kubeconfig: loadTestbed().kubeconfig });
  let ns: { name: string; dispose(): Promise<void> } | undefined;
  let pod: string;
  let url: string;
  let root: string;
  let pristine: string;

  const inPod = async (script: string): Promise<string> => {
    const r = await execInPod(kube, {
      namespace: ns!.name,
      pod,
      container: 'tasks',
      command: ['sh', '-c', script],
      timeoutMs: 30_000,
    });
    if (r.exitCode !== 0) throw new Error(`${script}: exit ${r.exitCode} ${r.stderr}`);
    return r.stdout;
  };
  const served = async (): Promise<string> => (await httpGet(url)).body;
  const edited = (tag: string): string =>
    pristine.replace(
      GET_LINE,
      `.on('GET', '/tasks', async (_req, res) => sendJson(res, 200, { edit: '${tag}', tasks: await store.list() }))`,
    );

  before(async function () {
    this.timeout(600_000); // the first run of a machine builds the example's image
    root = vscode.workspace.workspaceFolders![0].uri.fsPath;
    pristine = fs.readFileSync(path.join(root, ROUTES), 'utf8');
    assert.ok(pristine.includes(GET_LINE), `the example's ${ROUTES} no longer has: ${GET_LINE}`);
    const image = await exampleImage(); // also installs the example's node_modules
    // The workspace's bundles, made with the example's own esbuild, as its watch task makes them.
    if (!fs.existsSync(path.join(root, 'node_modules')))
      fs.symlinkSync(path.join(EXAMPLE_DIR, 'node_modules'), path.join(root, 'node_modules'), 'dir');
    await rebuildExampleCopy(root);
    fs.writeFileSync(path.join(root, 'tasks/dist/hello.txt'), 'first\n');
    ns = await createNamespace('sync-exthost');
    pod = await deployExample(kube, ns.name, image);
    const p = await kube.core.readNamespacedPod({ name: pod, namespace: ns.name });
    url = `http://${p.status!.podIP}:8080/tasks`;
    await vscode.extensions.getExtension('sandpiper.sandpiper')!.activate();
    // The monorepo has a sandpiper.yaml per service: the one holding the active editor's file is tasks/'s.
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(path.join(root, ROUTES)));
    await vscode.commands.executeCommand('sandpiper.env.select', ns.name);
    // The environment starts the sync; its full sync brings what the image lacks (hello.txt) into the container.
    await eventually('the initial sync', async () => (await inPod('cat /app/dist/hello.txt')) === 'first\n', 60_000);
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.writeFileSync(path.join(root, ROUTES), pristine);
    fs.rmSync(path.join(root, 'tasks/dist/hello.txt'), { force: true });
    await ns?.dispose();
  });

  async function saveInEditor(rel: string, text: string): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(path.join(root, rel));
    await vscode.window.showTextDocument(doc);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(0, 0, doc.lineCount, 0), text);
    assert.ok(await vscode.workspace.applyEdit(edit), `the edit of ${rel} was not applied`);
    assert.equal(doc.getText(), text);
    assert.ok(await doc.save(), `${rel} was not saved (dirty: ${doc.isDirty})`);
  }

  /** Saves routes.ts with the edit and bundles it again, as the example's watch task does on the save. */
  async function saveHandler(tag: string): Promise<void> {
    await saveInEditor(ROUTES, edited(tag));
    await rebuildExampleCopy(root);
  }

  it('a handler saved in the editor is served by the same container', async () => {
    await saveHandler('from the editor');
    await eventually(
      'the saved handler to be served',
      async () => (await served()).includes('from the editor'),
      30_000,
    );
    const p = await kube.core.readNamespacedPod({ name: pod, namespace: ns!.name });
    assert.equal(
      p.status!.containerStatuses![0].restartCount,
      0,
      'node --watch restarted the process, not the container',
    );
  });

  it('pause holds changes and resume sends them', async () => {
    await vscode.commands.executeCommand('sandpiper.sync.pause');
    try {
      await saveHandler('held while paused');
      await sleep(1500);
      assert.match(await served(), /from the editor/);
    } finally {
      await vscode.commands.executeCommand('sandpiper.sync.resume');
    }
    await eventually(
      'the held change after resume',
      async () => (await served()).includes('held while paused'),
      30_000,
    );
  });

  it('resync puts back a file changed in the container behind our back', async () => {
    await inPod('echo tampered > /app/dist/server.js.map');
    await vscode.commands.executeCommand('sandpiper.sync.resync');
    assert.equal(
      await inPod('cat /app/dist/server.js.map'),
      fs.readFileSync(path.join(root, 'tasks/dist/server.js.map'), 'utf8'),
    );
  });
});
