// Live sync in real code-server + Chromium against the testbed: pick the environment, save a file in the
// editor, see it served by the pod; the status bar shows the save→serving latency; pause holds, resume sends.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { openWorkbench, runCommand, screenshot, waitForActivityBarIcon, type Workbench } from './support/browser';
import { CodeServer, removeDir, repoRoot } from './support/codeServer';
import { liveSyncYaml } from '../support/liveSyncConfig';
import { loadTestbed, testbedEnv } from '../support/testbed';
import { sleep } from '../../src/core/errors';
import { SyncFixture, httpGet, type BoundPod } from '../integration/sync/syncFixture';
import { eventually } from '../support/wait';

const SYNC_YAML = liveSyncYaml();

describe('live sync in code-server', function () {
  this.timeout(300_000);
  let f: SyncFixture;
  let pod: BoundPod;
  let workspace: string;
  let server: CodeServer;
  let wb: Workbench;
  let page: Page;

  before(async () => {
    const root = repoRoot();
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-sync-e2e-ws-'));
    fs.cpSync(path.join(root, 'examples', 'todo'), workspace, { recursive: true });
    fs.writeFileSync(path.join(workspace, 'sandpiper.yaml'), SYNC_YAML);
    fs.writeFileSync(path.join(workspace, 'src', 'hello.txt'), 'first\n');

    f = await SyncFixture.create('sync-e2e');
    // Listed by "Work on Environment" like any environment Sandpiper made.
    const ns = await f.kube.core.readNamespace({ name: f.namespace });
    ns.metadata!.labels = {
      ...ns.metadata!.labels,
      'app.kubernetes.io/managed-by': 'sandpiper',
      'sandpiper.dev/owner': 'e2e',
      'sandpiper.dev/branch': 'sync-e2e',
    };
    ns.metadata!.annotations = {
      ...ns.metadata!.annotations,
      'sandpiper.dev/ttl': '1h',
      'sandpiper.dev/last-activity': new Date().toISOString(),
    };
    await f.kube.core.replaceNamespace({ name: f.namespace, body: ns });
    await f.createDeployment(1);
    pod = await f.bind((await f.readyPods(1))[0]);

    const env = testbedEnv();
    server = await CodeServer.start({
      workspace,
      vsix: path.resolve(root, process.env.SANDPIPER_VSIX ?? 'out/sandpiper-test.vsix'),
      env: {
        KUBECONFIG: loadTestbed().kubeconfig,
        DOCKER_HOST: env.DOCKER_HOST!,
        SANDPIPER_REGISTRY: env.SANDPIPER_REGISTRY!,
        PATH: env.PATH!,
      },
    });
    wb = await openWorkbench(server);
    page = wb.page;
    await waitForActivityBarIcon(page, 'Sandpiper');
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page)
      await screenshot(page, `sync-failed-${this.currentTest.title.slice(0, 30)}`);
  });

  after(async () => {
    await wb?.close();
    await server?.stop();
    await f?.dispose();
    if (workspace) await removeDir(workspace);
  });

  async function saveHello(text: string): Promise<void> {
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    await input.fill('hello.txt');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'hello.txt' }).first().waitFor();
    await page.keyboard.press('Enter');
    const editor = page.locator('.editor-instance .monaco-editor textarea').first();
    await editor.waitFor({ state: 'attached' });
    await editor.focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type(text);
    await page.keyboard.press('Control+S');
  }

  const served = async (): Promise<string> => (await httpGet(`${pod.url}/hello.txt`)).body;

  it('saving in the editor makes the pod serve it, and the status bar shows the latency', async () => {
    // "Work on Environment" is the inline action of the environment's row in the Sandpiper sidebar.
    const row = page.locator('.monaco-list-row', { hasText: f.namespace }).first();
    if (!(await row.isVisible())) await (await waitForActivityBarIcon(page, 'Sandpiper')).click();
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    await row.hover();
    await row.locator('.action-label[aria-label="Work on Environment"]').click();
    await eventually('the initial sync', () => fs.existsSync(path.join(pod.dir, 'app/hello.txt')), 60_000);

    await saveHello('saved in the browser');
    await eventually('the saved file to be served', async () => (await served()) === 'saved in the browser', 30_000);
    const status = page.locator('.statusbar-item', { hasText: /Synced · \d+ ms/ });
    await status.first().waitFor({ state: 'visible', timeout: 15_000 });
    assert.match((await status.first().innerText()).trim(), /Synced · \d+ ms/);
    await screenshot(page, 'sync-saved');
  });

  it('pause holds changes and resume sends them', async () => {
    await runCommand(page, 'Sandpiper: Pause Sync');
    await saveHello('held while paused');
    await page
      .locator('.statusbar-item', { hasText: /Sync paused/ })
      .first()
      .waitFor({ state: 'visible', timeout: 15_000 });
    await sleep(1500);
    assert.equal(await served(), 'saved in the browser');
    await runCommand(page, 'Sandpiper: Resume Sync');
    await eventually('the held change after resume', async () => (await served()) === 'held while paused', 30_000);
  });
});
