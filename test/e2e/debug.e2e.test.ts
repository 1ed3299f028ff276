// Run and Debug in real code-server + Chromium: a launch.json `sandpiper` configuration attaches through the
// testbed's port-forward to a Node process started with --inspect, and stops at a breakpoint set in the editor.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BREAKPOINT_LINE, DebugTarget } from '../support/debugTarget';
import { createNamespace, loadTestbed, portForwardTo, type Disposable } from '../support/testbed';
import { createPod, createService } from '../integration/portforward/kwokPods';
import { openWorkbench, runCommand, screenshot, waitForActivityBarIcon, type Workbench } from './support/browser';
import { CodeServer, removeDir, repoRoot } from './support/codeServer';

const VSIX = path.resolve(repoRoot(), process.env.SANDPIPER_VSIX ?? 'out/sandpiper-test.vsix');

describe('debugging a service in code-server', function () {
  this.timeout(300_000);
  let server: CodeServer | undefined;
  let bench: Workbench | undefined;
  let target: DebugTarget | undefined;
  let ns: { name: string; dispose(): Promise<void> } | undefined;
  let dir: string | undefined;
  const cleanups: Disposable[] = [];

  after(async () => {
    await bench?.close();
    await server?.stop();
    for (const c of cleanups.reverse()) await c.dispose().catch(() => undefined);
    await target?.dispose();
    await ns?.dispose();
    if (dir) await removeDir(dir);
  });

  it('starts a sandpiper configuration from Run and Debug and stops at a breakpoint', async () => {
    const tb = loadTestbed();
    target = await DebugTarget.start();
    ns = await createNamespace('sp-debug-e2e');
    await createService(ns.name, 'tasks', 9229);
    await createPod(ns.name, 'tasks-1', 'tasks');
    cleanups.push(await portForwardTo(ns.name, 'tasks-1', 9229, '127.0.0.1', target.inspectPort));

    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-e2e-debug-'));
    const ws = path.join(dir, 'tasks');
    fs.mkdirSync(path.join(ws, '.vscode'), { recursive: true });
    fs.copyFileSync(target.file, path.join(ws, 'server.js'));
    fs.writeFileSync(path.join(ws, 'sandpiper.yaml'), `baseline: staging\nservices:\n  tasks:\n    manifests: k8s/\n    debug: { runtime: node, port: 9229, remoteRoot: ${JSON.stringify(target.dir)} }\n`);
    fs.mkdirSync(path.join(ws, 'k8s'));
    fs.writeFileSync(
      path.join(ws, '.vscode', 'launch.json'),
      JSON.stringify({ version: '0.2.0', configurations: [{ type: 'sandpiper', request: 'attach', name: 'Sandpiper: attach to tasks', service: 'tasks', env: ns.name }] }, null, 2),
    );

    server = await CodeServer.start({ workspace: ws, vsix: VSIX, env: { KUBECONFIG: tb.kubeconfig } });
    bench = await openWorkbench(server);
    const page = bench.page;
    await waitForActivityBarIcon(page, 'Sandpiper');

    // Open server.js at the handler's line and toggle a breakpoint there, as a user does.
    await runCommand(page, 'Go to File...');
    await page.keyboard.type('server.js');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'server.js' }).first().waitFor({ state: 'visible', timeout: 15_000 });
    await page.keyboard.press('Enter');
    await page.locator('.tab.active', { hasText: 'server.js' }).waitFor({ state: 'visible', timeout: 15_000 });
    await runCommand(page, 'Go to Line/Column...');
    await page.keyboard.type(String(BREAKPOINT_LINE));
    await page.keyboard.press('Enter');
    await runCommand(page, 'Debug: Toggle Breakpoint');
    await page.locator('.codicon-debug-breakpoint').first().waitFor({ state: 'visible', timeout: 10_000 });

    // Run and Debug: the launch.json configuration is the selected one; start it.
    await runCommand(page, 'View: Show Run and Debug');
    await runCommand(page, 'Debug: Start Debugging');
    await page.locator('.debug-toolbar').waitFor({ state: 'visible', timeout: 60_000 });

    const response = target.request();
    await page.getByText(/paused on breakpoint/i).first().waitFor({ state: 'visible', timeout: 60_000 });
    await page.locator('.debug-top-stack-frame-line').first().waitFor({ state: 'visible', timeout: 10_000 });
    const stack = await page.locator('.debug-call-stack').first().innerText();
    assert.match(stack, /server\.js/);
    // The Variables view fills in from scopes/variables through the adapter.
    await page.locator('.part.sidebar .monaco-list-row', { hasText: /^Local/ }).first().waitFor({ state: 'visible', timeout: 20_000 });
    await screenshot(page, 'debug-node-stopped-at-breakpoint');

    await runCommand(page, 'Debug: Continue');
    assert.match(await response, /^hello from \d+$/);
    await runCommand(page, 'Debug: Disconnect');
  });
});
