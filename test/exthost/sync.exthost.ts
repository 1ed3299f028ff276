// Live sync inside the real extension host, against the testbed: selecting an environment starts the sync,
// a save in the editor is served by the pod's server, pause holds changes and resume sends them.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { sleep } from '../../src/core/errors';
import { SyncFixture, httpGet, type BoundPod } from '../integration/sync/syncFixture';
import { eventually } from '../support/wait';
import { liveSyncYaml } from '../support/liveSyncConfig';

const SYNC_YAML = liveSyncYaml({ heading: 'written by the sync extension-host test', debounce: '30ms' });

describe('live sync (extension host + testbed)', function () {
  this.timeout(180_000);
  let f: SyncFixture;
  let pod: BoundPod;
  let root: string;
  let savedYaml: string;

  before(async () => {
    root = vscode.workspace.workspaceFolders![0].uri.fsPath;
    savedYaml = fs.readFileSync(path.join(root, 'sandpiper.yaml'), 'utf8');
    fs.writeFileSync(path.join(root, 'sandpiper.yaml'), SYNC_YAML);
    f = await SyncFixture.create('sync-exthost');
    await f.createDeployment(1);
    pod = await f.bind((await f.readyPods(1))[0]);
    await vscode.extensions.getExtension('sandpiper.sandpiper')!.activate();
    await vscode.commands.executeCommand('sandpiper.env.select', f.namespace);
    // The environment starts the sync; its full sync brings the workspace's src/ into the pod.
    await eventually('the initial sync', () => fs.existsSync(path.join(pod.dir, 'app/server.js')), 60_000);
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.writeFileSync(path.join(root, 'sandpiper.yaml'), savedYaml);
    fs.rmSync(path.join(root, 'src/hello.txt'), { force: true });
    await f?.dispose();
  });

  async function saveInEditor(rel: string, text: string): Promise<void> {
    const file = path.join(root, rel);
    if (!fs.existsSync(file)) fs.writeFileSync(file, '');
    const doc = await vscode.workspace.openTextDocument(file);
    const editor = await vscode.window.showTextDocument(doc);
    await editor.edit((e) => e.replace(new vscode.Range(0, 0, doc.lineCount, 0), text));
    assert.ok(await doc.save());
  }

  it('a save in the editor is served by the pod', async () => {
    await saveInEditor('src/hello.txt', 'hello from the editor');
    await eventually(
      'the saved file to be served',
      async () => (await httpGet(`${pod.url}/hello.txt`)).body === 'hello from the editor',
      30_000,
    );
  });

  it('pause holds changes and resume sends them', async () => {
    await vscode.commands.executeCommand('sandpiper.sync.pause');
    await saveInEditor('src/hello.txt', 'held while paused');
    await sleep(1500);
    assert.equal((await httpGet(`${pod.url}/hello.txt`)).body, 'hello from the editor');
    await vscode.commands.executeCommand('sandpiper.sync.resume');
    await eventually(
      'the held change after resume',
      async () => (await httpGet(`${pod.url}/hello.txt`)).body === 'held while paused',
      30_000,
    );
  });

  it('resync puts back a file changed in the container behind our back', async () => {
    fs.writeFileSync(path.join(pod.dir, 'app/tasks.js'), 'tampered');
    await vscode.commands.executeCommand('sandpiper.sync.resync');
    assert.equal(
      fs.readFileSync(path.join(pod.dir, 'app/tasks.js'), 'utf8'),
      fs.readFileSync(path.join(root, 'src/tasks.js'), 'utf8'),
    );
  });
});
