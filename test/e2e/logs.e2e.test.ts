// Open Logs in real code-server + Chromium: the lines a real container on the testbed's real node prints appear in
// "Sandpiper Logs: <env>".
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { coreApi, createNamespace, loadTestbed } from '../support/testbed';
import { createRealPod, say, talkerScript } from '../integration/logs/talker';
import { openWorkbench, runCommand, screenshot, waitForActivityBarIcon, type Workbench } from './support/browser';
import { CodeServer, removeDir, repoRoot } from './support/codeServer';

const VSIX = path.resolve(repoRoot(), process.env.SANDPIPER_VSIX ?? 'out/sandpiper-test.vsix');

describe('environment logs in code-server', function () {
  this.timeout(300_000);
  let server: CodeServer | undefined;
  let bench: Workbench | undefined;
  let ns: { name: string; dispose(): Promise<void> } | undefined;
  let dir: string | undefined;

  after(async () => {
    await bench?.close();
    await server?.stop();
    await ns?.dispose();
    if (dir) await removeDir(dir);
  });

  it('Open Logs follows the pods of the env into its output channel', async () => {
    const tb = loadTestbed();
    ns = await createNamespace('sp-logs-e2e');
    // Make it a Sandpiper environment so the palette's environment pick lists it.
    await coreApi().patchNamespace({
      name: ns.name,
      body: [{ op: 'add', path: '/metadata/labels/app.kubernetes.io~1managed-by', value: 'sandpiper' }],
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-e2e-logs-'));
    await createRealPod(ns.name, 'tasks-1', {
      labels: { app: 'tasks' },
      containers: { app: talkerScript(['booted before the follow']) },
    });
    const ws = path.join(dir, 'ws');
    fs.mkdirSync(path.join(ws, 'k8s'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'sandpiper.yaml'), 'baseline: staging\nservices:\n  tasks:\n    manifests: k8s/\n');

    server = await CodeServer.start({ workspace: ws, vsix: VSIX, env: { KUBECONFIG: tb.kubeconfig } });
    bench = await openWorkbench(server);
    const page = bench.page;
    await waitForActivityBarIcon(page, 'Sandpiper');
    await runCommand(page, 'Sandpiper: Open Logs');
    const pick = page.locator('.quick-input-widget');
    await pick.waitFor({ state: 'visible', timeout: 30_000 });
    await page.keyboard.type(ns.name);
    await page
      .locator('.quick-input-widget .monaco-list-row', { hasText: ns.name })
      .first()
      .waitFor({ state: 'visible', timeout: 30_000 });
    await page.keyboard.press('Enter');

    const output = page.locator('.part.panel .monaco-editor .view-lines');
    await output.getByText('[tasks-1/app] booted before the follow').waitFor({ state: 'visible', timeout: 30_000 });
    await say(ns.name, 'tasks-1', ['printed while following']);
    await output.getByText('[tasks-1/app] printed while following').waitFor({ state: 'visible', timeout: 30_000 });
    assert.match(await page.locator('.part.panel').first().innerText(), /Sandpiper Logs: /);
    await screenshot(page, 'logs-output-channel');
  });
});
