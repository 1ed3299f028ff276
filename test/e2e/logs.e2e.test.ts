// Open Logs in real code-server + Chromium: the env's pods' lines appear in "Sandpiper Logs: <env>".
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { coreApi, createNamespace, loadTestbed, logsFrom, writeCriLogLine, type Disposable } from '../support/testbed';
import { createPod } from '../integration/portforward/kwokPods';
import { openWorkbench, runCommand, screenshot, waitForActivityBarIcon, type Workbench } from './support/browser';
import { CodeServer, removeDir, repoRoot } from './support/codeServer';

const VSIX = path.resolve(repoRoot(), process.env.SANDPIPER_VSIX ?? 'out/sandpiper-test.vsix');

describe('environment logs in code-server', function () {
  this.timeout(300_000);
  let server: CodeServer | undefined;
  let bench: Workbench | undefined;
  let ns: { name: string; dispose(): Promise<void> } | undefined;
  let dir: string | undefined;
  const cleanups: Disposable[] = [];

  after(async () => {
    await bench?.close();
    await server?.stop();
    for (const c of cleanups.reverse()) await c.dispose().catch(() => undefined);
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
    const file = path.join(dir, 'tasks-1.log');
    writeCriLogLine(file, 'booted before the follow');
    cleanups.push(await logsFrom(ns.name, 'tasks-1', 'app', file));
    await createPod(ns.name, 'tasks-1', 'tasks');
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
    writeCriLogLine(file, 'appended while following');
    await output.getByText('[tasks-1/app] appended while following').waitFor({ state: 'visible', timeout: 30_000 });
    assert.match(await page.locator('.part.panel').first().innerText(), /Sandpiper Logs: /);
    await screenshot(page, 'logs-output-channel');
  });
});
