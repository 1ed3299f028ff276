// Run and Debug in real code-server + Chromium: a launch.json `sandpiper` configuration attaches through the
// testbed's port-forward to a process in a pod on the real node — the Todo example's own image under
// `node --inspect` (through VS Code's js-debug), a Python service under debugpy — and stops at a breakpoint set in
// the editor. "Select and Start Debugging" offers Sandpiper's dynamic configuration once per service.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { NODE_APP, PYTHON_APP, PodDebuggee, type DebuggeeApp } from '../support/debugTarget';
import { requireRealNode } from '../support/realPods';
import { loadTestbed } from '../support/testbed';
import { openWorkbench, runCommand, screenshot, waitForActivityBarIcon } from './support/browser';
import { CodeServer, removeDir, repoRoot } from './support/codeServer';

const VSIX = path.resolve(repoRoot(), process.env.SANDPIPER_VSIX ?? 'out/sandpiper-test.vsix');

/**
 * The user's workspace: a copy of the app's folder (the example keeps its own sandpiper.yaml; the Python service
 * gets one) and a launch.json whose configuration names the service and the environment.
 */
function workspaceFor(app: DebuggeeApp, env: string, dir: string): string {
  const ws = path.join(dir, app.service);
  fs.cpSync(app.localRoot, ws, { recursive: true });
  if (!fs.existsSync(path.join(ws, 'sandpiper.yaml')))
    fs.writeFileSync(
      path.join(ws, 'sandpiper.yaml'),
      `baseline: staging\nservices:\n  ${app.service}:\n    manifests: k8s/\n` +
        `    debug: { runtime: ${app.runtime}, port: ${app.debugPort}, remoteRoot: ${app.remoteRoot} }\n`,
    );
  fs.mkdirSync(path.join(ws, '.vscode'), { recursive: true });
  const configuration = { type: 'sandpiper', request: 'attach', name: `Sandpiper: attach to ${app.service}` };
  fs.writeFileSync(
    path.join(ws, '.vscode', 'launch.json'),
    JSON.stringify({ version: '0.2.0', configurations: [{ ...configuration, service: app.service, env }] }, null, 2),
  );
  return ws;
}

/** The dynamic configurations under "Select and Start Debugging" → "Sandpiper…", read off the picker and closed. */
async function dynamicConfigurationNames(page: Page): Promise<string[]> {
  await runCommand(page, 'Debug: Select and Start Debugging');
  const rows = page.locator('.quick-input-widget .monaco-list-row');
  const provider = rows.filter({ hasText: /^\s*Sandpiper: Attach to Service\.\.\./ }).first();
  await provider.click({ timeout: 15_000 });
  await provider.waitFor({ state: 'hidden', timeout: 15_000 });
  // VS Code asks every place (each folder, the workspace file, user settings) at once and shows the answers together.
  const dynamic = rows.filter({ has: page.locator('.label-name', { hasText: /^\s*Sandpiper: / }) });
  await dynamic.first().waitFor({ state: 'visible', timeout: 30_000 });
  const names = await dynamic.locator('.label-name').allInnerTexts();
  await page.keyboard.press('Escape');
  return names.map((n) => n.trim());
}

/** How long a user would keep asking before giving up (a limit for a loaded machine, not a speed check). */
const PAUSE_LIMIT_MS = 120_000;

/**
 * Requests the service until the debugger shows "Paused on breakpoint": js-debug binds the breakpoint a moment after
 * the session appears (the gutter's hollow dot turns red), a request before that runs through and the user asks
 * again. Resolves with the held request, which answers once the debugger continues.
 */
async function requestUntilPaused(page: Page, debuggee: PodDebuggee): Promise<{ response: Promise<string> }> {
  const paused = page.getByText(/paused on breakpoint/i).first();
  const deadline = Date.now() + PAUSE_LIMIT_MS;
  let last = '';
  for (;;) {
    let answered = false;
    const response = debuggee.request();
    response.then(
      (body) => ((answered = true), (last = `answered ${body.slice(0, 80)}`)),
      (err: Error) => ((answered = true), (last = `failed: ${err.message}`)),
    );
    while (!answered) {
      if (await paused.isVisible()) return { response };
      if (Date.now() > deadline)
        throw new Error(`no "Paused on breakpoint" within ${PAUSE_LIMIT_MS / 1000} s; a request is still open`);
      await page.waitForTimeout(250);
    }
    if (Date.now() > deadline)
      throw new Error(`no "Paused on breakpoint" within ${PAUSE_LIMIT_MS / 1000} s; the last request ${last}`);
    await page.waitForTimeout(1000);
  }
}

describe('debugging a service in code-server', function () {
  this.timeout(300_000);
  const cleanups: Array<() => Promise<unknown>> = [];

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  for (const app of [NODE_APP, PYTHON_APP]) {
    it(`starts a sandpiper configuration from Run and Debug and stops at a breakpoint in the pod (${app.runtime})`, async () => {
      requireRealNode();
      const tb = loadTestbed();
      const debuggee = await PodDebuggee.deploy(app, `sp-debug-e2e-${app.runtime}`);
      cleanups.push(() => debuggee.dispose());
      const pod = await debuggee.podName();

      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sp-e2e-debug-${app.runtime}-`));
      cleanups.push(() => removeDir(dir));
      const ws = workspaceFor(app, debuggee.namespace, dir);
      const fileName = path.basename(app.breakpoint.file);

      const server = await CodeServer.start({ workspace: ws, vsix: VSIX, env: { KUBECONFIG: tb.kubeconfig } });
      cleanups.push(() => server.stop());
      const bench = await openWorkbench(server);
      cleanups.push(() => bench.close());
      const page = bench.page;
      await waitForActivityBarIcon(page, 'Sandpiper');

      // Open the file at the handler's line and toggle a breakpoint there, as a user does.
      await runCommand(page, 'Go to File...');
      await page.keyboard.type(path.relative(app.localRoot, app.breakpoint.file));
      await page
        .locator('.quick-input-widget .monaco-list-row', { hasText: fileName })
        .first()
        .waitFor({ state: 'visible', timeout: 15_000 });
      await page.keyboard.press('Enter');
      await page.locator('.tab.active', { hasText: fileName }).waitFor({ state: 'visible', timeout: 15_000 });
      await runCommand(page, 'Go to Line/Column...');
      await page.keyboard.type(String(app.breakpoint.line));
      await page.keyboard.press('Enter');
      await runCommand(page, 'Debug: Toggle Breakpoint');
      await page.locator('.codicon-debug-breakpoint').first().waitFor({ state: 'visible', timeout: 10_000 });

      // Run and Debug: the service is offered once among the dynamic configurations (not again for user settings).
      await runCommand(page, 'View: Show Run and Debug');
      assert.deepEqual(await dynamicConfigurationNames(page), [`Sandpiper: ${app.service}`]);
      // The launch.json configuration is the selected one; start it.
      await runCommand(page, 'Debug: Start Debugging');
      await page.locator('.debug-toolbar').waitFor({ state: 'visible', timeout: 60_000 });

      const { response } = await requestUntilPaused(page, debuggee);
      await page.locator('.debug-top-stack-frame-line').first().waitFor({ state: 'visible', timeout: 10_000 });
      // The call stack view renders its rows a moment after the top frame's line is highlighted.
      const stackShowsFile = await page
        .locator('.debug-call-stack .monaco-list-row', { hasText: fileName })
        .first()
        .waitFor({ state: 'visible', timeout: 15_000 })
        .then(
          () => true,
          () => false,
        );
      const stack = await page
        .locator('.debug-call-stack')
        .first()
        .innerText()
        .catch(() => '');
      assert.ok(stackShowsFile, `call stack shows ${fileName}: ${stack}`);
      // The Variables view fills in from scopes/variables through the adapter ("Local" for Node, "Locals" for debugpy).
      await page
        .locator('.part.sidebar .monaco-list-row', { hasText: /^Local/ })
        .first()
        .waitFor({ state: 'visible', timeout: 20_000 });
      // The handler's local is listed there: the values come from the process in the pod.
      await page
        .locator('.part.sidebar .monaco-list-row', { hasText: new RegExp(`^${app.breakpoint.local}\\b`) })
        .first()
        .waitFor({ state: 'visible', timeout: 20_000 });
      await screenshot(page, `debug-${app.runtime}-stopped-at-breakpoint`);

      await runCommand(page, 'Debug: Continue');
      assert.match(await response, app.response);
      await runCommand(page, 'Debug: Disconnect');
      // The pod is the one the debugger stopped in, and it is still serving.
      assert.equal(await debuggee.podName(), pod);
      assert.match(await debuggee.request(), app.response);
    });
  }
});
