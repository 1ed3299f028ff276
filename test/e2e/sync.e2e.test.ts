// Live sync in real code-server + Chromium against the Todo example on the testbed's real node (the tasks service's
// own image, manifests and sandpiper.yaml): pick the environment, save a handler (.ts) in the editor while the
// example's watch build runs, see the same container serve the new bundle after `node --watch` restarts the process;
// the status bar shows the save→serving latency; pause holds, resume sends.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { openWorkbench, runCommand, screenshot, waitForActivityBarIcon, type Workbench } from './support/browser';
import { CodeServer, removeDir, repoRoot } from './support/codeServer';
import { exampleCopy, exampleImage } from '../support/images';
import { createNamespace, loadTestbed, testbedEnv } from '../support/testbed';
import { sleep } from '../../src/core/errors';
import { loadKube } from '../../src/core/infra/kube/client';
import { execInPod } from '../../src/core/infra/kube/exec';
import { deployExample, httpGet } from '../integration/sync/syncFixture';
import { eventually } from '../support/wait';

const GET_LINE = ".on('GET', '/tasks', async (_req, res) => sendJson(res, 200, await store.list()))";
const ROUTES = 'tasks/src/routes.ts';

describe('live sync in code-server', function () {
  this.timeout(300_000);
  const kube = loadKube({ kubeconfig: loadTestbed().kubeconfig });
  let ns: { name: string; dispose(): Promise<void> } | undefined;
  let pod: string;
  let url: string;
  let getLine: number;
  let workspace: string;
  let server: CodeServer;
  let wb: Workbench;
  let page: Page;
  let watchBuild: ChildProcess | undefined;
  const buildLog: string[] = [];

  before(async function () {
    this.timeout(600_000); // the first run of a machine builds the example's image
    const root = repoRoot();
    // The monorepo as a user opens it (its node_modules a link to the example's, installed by the build).
    workspace = await exampleCopy();
    fs.writeFileSync(path.join(workspace, 'tasks', 'dist', 'hello.txt'), 'first\n');
    const lines = fs.readFileSync(path.join(workspace, ROUTES), 'utf8').split('\n');
    getLine = lines.findIndex((l) => l.trim() === GET_LINE) + 1;
    assert.ok(getLine > 0, `the example's ${ROUTES} no longer has: ${GET_LINE}`);
    // The example's `watch` task, as a user runs it: every saved .ts is bundled again into dist/.
    watchBuild = spawn(process.execPath, ['build.mjs', '--watch'], {
      cwd: workspace,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    watchBuild.stdout!.on('data', (d: Buffer) => buildLog.push(String(d)));
    watchBuild.stderr!.on('data', (d: Buffer) => buildLog.push(String(d)));

    ns = await createNamespace('sync-e2e');
    // Listed by "Work on Environment" like any environment Sandpiper made.
    const nsObj = await kube.core.readNamespace({ name: ns.name });
    nsObj.metadata!.labels = {
      ...nsObj.metadata!.labels,
      'app.kubernetes.io/managed-by': 'sandpiper',
      'sandpiper.dev/owner': 'e2e',
      'sandpiper.dev/branch': 'sync-e2e',
      // The environment's service: Work on Environment takes tasks/sandpiper.yaml of the monorepo.
      'sandpiper.dev/service': 'tasks',
    };
    nsObj.metadata!.annotations = {
      ...nsObj.metadata!.annotations,
      'sandpiper.dev/ttl': '1h',
      'sandpiper.dev/last-activity': new Date().toISOString(),
    };
    await kube.core.replaceNamespace({ name: ns.name, body: nsObj });
    pod = await deployExample(kube, ns.name, await exampleImage());
    const p = await kube.core.readNamespacedPod({ name: pod, namespace: ns.name });
    url = `http://${p.status!.podIP}:8080/tasks`;

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
    await ns?.dispose();
    watchBuild?.kill();
    if (workspace) await removeDir(workspace);
  });

  /** Opens routes.ts, replaces the GET line with one answering `{ edit: tag, tasks }`, and saves. */
  async function saveHandler(tag: string): Promise<void> {
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    // "file:line" opens the file at that line.
    await input.fill(`${ROUTES}:${getLine}`);
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'routes.ts' }).first().waitFor();
    await page.keyboard.press('Enter');
    const editor = page.locator('.editor-instance .monaco-editor textarea').first();
    await editor.waitFor({ state: 'attached' });
    await editor.focus();
    // The line's text after its indentation, replaced in one insertion (typing would auto-close quotes).
    await page.keyboard.press('End');
    await page.keyboard.press('Shift+Home');
    await page.keyboard.insertText(
      `.on('GET', '/tasks', async (_req, res) => sendJson(res, 200, { edit: '${tag}', tasks: await store.list() }))`,
    );
    await page.keyboard.press('Control+S');
  }

  const served = async (): Promise<string> => (await httpGet(url)).body;
  const inPod = async (script: string): Promise<string> =>
    (
      await execInPod(kube, {
        namespace: ns!.name,
        pod,
        container: 'tasks',
        command: ['sh', '-c', script],
        timeoutMs: 30_000,
      })
    ).stdout;

  it('saving in the editor makes the pod serve it, and the status bar shows the latency', async () => {
    // "Work on Environment" is the inline action of the environment's row in the Sandpiper sidebar.
    const row = page.locator('.monaco-list-row', { hasText: ns!.name }).first();
    if (!(await row.isVisible())) await (await waitForActivityBarIcon(page, 'Sandpiper')).click();
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    await row.hover();
    await row.locator('.action-label[aria-label="Work on Environment"]').click();
    // Its full sync brings what the image lacks (hello.txt) into the container.
    await eventually('the initial sync', async () => (await inPod('cat /app/dist/hello.txt')) === 'first\n', 60_000);

    await saveHandler('saved in the browser');
    await eventually(
      'the saved handler to be served',
      async () => (await served()).includes('saved in the browser'),
      30_000,
    ).catch((err: Error) => assert.fail(`${err.message}\nwatch build:\n${buildLog.join('')}`));
    const p = await kube.core.readNamespacedPod({ name: pod, namespace: ns!.name });
    assert.equal(
      p.status!.containerStatuses![0].restartCount,
      0,
      'node --watch restarted the process, not the container',
    );
    const status = page.locator('.statusbar-item', { hasText: /Synced · \d+ ms/ });
    await status.first().waitFor({ state: 'visible', timeout: 15_000 });
    assert.match((await status.first().innerText()).trim(), /Synced · \d+ ms/);
    await screenshot(page, 'sync-saved');
  });

  it('pause holds changes and resume sends them', async () => {
    await runCommand(page, 'Sandpiper: Pause Sync');
    await saveHandler('held while paused');
    await page
      .locator('.statusbar-item', { hasText: /Sync paused/ })
      .first()
      .waitFor({ state: 'visible', timeout: 15_000 });
    await sleep(1500);
    assert.match(await served(), /saved in the browser/);
    await runCommand(page, 'Sandpiper: Resume Sync');
    await eventually(
      'the held change after resume',
      async () => (await served()).includes('held while paused'),
      30_000,
    );
  });
});
