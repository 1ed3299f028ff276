// Run and Debug in real code-server + Chromium: a launch.json `sandpiper` configuration attaches through the
// testbed's port-forward to a process started with its runtime's debugger — Node with --inspect, Python
// under debugpy — and stops at a breakpoint set in the editor.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BREAKPOINT_LINE, DebugTarget, PYTHON_BREAKPOINT_LINE, PythonDebugTarget } from '../support/debugTarget';
import { createNamespace, loadTestbed, portForwardTo, type Disposable } from '../support/testbed';
import { createPod, createService } from '../integration/portforward/kwokPods';
import { openWorkbench, runCommand, screenshot, waitForActivityBarIcon } from './support/browser';
import { CodeServer, removeDir, repoRoot } from './support/codeServer';

const VSIX = path.resolve(repoRoot(), process.env.SANDPIPER_VSIX ?? 'out/sandpiper-test.vsix');

interface RunningTarget {
  readonly dir: string;
  readonly file: string;
  request(): Promise<string>;
  dispose(): Promise<void>;
}

/** What differs between the runtimes: how the target starts, where it listens, the file and its breakpoint line. */
const RUNTIMES = [
  {
    runtime: 'node',
    containerPort: 9229,
    breakpointLine: BREAKPOINT_LINE,
    start: async () => {
      const t = await DebugTarget.start();
      return { target: t as RunningTarget, hostPort: t.inspectPort };
    },
  },
  {
    runtime: 'python',
    containerPort: 5678,
    breakpointLine: PYTHON_BREAKPOINT_LINE,
    start: async () => {
      const t = await PythonDebugTarget.start();
      return { target: t as RunningTarget, hostPort: t.debugPort };
    },
  },
] as const;

describe('debugging a service in code-server', function () {
  this.timeout(300_000);
  const cleanups: Array<() => Promise<unknown>> = [];

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  for (const rt of RUNTIMES) {
    it(`starts a sandpiper configuration from Run and Debug and stops at a breakpoint (${rt.runtime})`, async () => {
      const tb = loadTestbed();
      const { target, hostPort } = await rt.start();
      cleanups.push(() => target.dispose());
      const ns = await createNamespace(`sp-debug-e2e-${rt.runtime}`);
      cleanups.push(() => ns.dispose());
      await createService(ns.name, 'tasks', rt.containerPort);
      await createPod(ns.name, 'tasks-1', 'tasks');
      const forward: Disposable = await portForwardTo(ns.name, 'tasks-1', rt.containerPort, '127.0.0.1', hostPort);
      cleanups.push(() => forward.dispose());

      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sp-e2e-debug-${rt.runtime}-`));
      cleanups.push(() => removeDir(dir));
      const ws = path.join(dir, 'tasks');
      const fileName = path.basename(target.file);
      fs.mkdirSync(path.join(ws, '.vscode'), { recursive: true });
      fs.copyFileSync(target.file, path.join(ws, fileName));
      fs.writeFileSync(
        path.join(ws, 'sandpiper.yaml'),
        `baseline: staging\nservices:\n  tasks:\n    manifests: k8s/\n    debug: { runtime: ${rt.runtime}, port: ${rt.containerPort}, remoteRoot: ${JSON.stringify(target.dir)} }\n`,
      );
      fs.mkdirSync(path.join(ws, 'k8s'));
      fs.writeFileSync(
        path.join(ws, '.vscode', 'launch.json'),
        JSON.stringify(
          {
            version: '0.2.0',
            configurations: [
              {
                type: 'sandpiper',
                request: 'attach',
                name: 'Sandpiper: attach to tasks',
                service: 'tasks',
                env: ns.name,
              },
            ],
          },
          null,
          2,
        ),
      );

      const server = await CodeServer.start({ workspace: ws, vsix: VSIX, env: { KUBECONFIG: tb.kubeconfig } });
      cleanups.push(() => server.stop());
      const bench = await openWorkbench(server);
      cleanups.push(() => bench.close());
      const page = bench.page;
      await waitForActivityBarIcon(page, 'Sandpiper');

      // Open the file at the handler's line and toggle a breakpoint there, as a user does.
      await runCommand(page, 'Go to File...');
      await page.keyboard.type(fileName);
      await page
        .locator('.quick-input-widget .monaco-list-row', { hasText: fileName })
        .first()
        .waitFor({ state: 'visible', timeout: 15_000 });
      await page.keyboard.press('Enter');
      await page.locator('.tab.active', { hasText: fileName }).waitFor({ state: 'visible', timeout: 15_000 });
      await runCommand(page, 'Go to Line/Column...');
      await page.keyboard.type(String(rt.breakpointLine));
      await page.keyboard.press('Enter');
      await runCommand(page, 'Debug: Toggle Breakpoint');
      await page.locator('.codicon-debug-breakpoint').first().waitFor({ state: 'visible', timeout: 10_000 });

      // Run and Debug: the launch.json configuration is the selected one; start it.
      await runCommand(page, 'View: Show Run and Debug');
      await runCommand(page, 'Debug: Start Debugging');
      await page.locator('.debug-toolbar').waitFor({ state: 'visible', timeout: 60_000 });

      const response = target.request();
      await page
        .getByText(/paused on breakpoint/i)
        .first()
        .waitFor({ state: 'visible', timeout: 60_000 });
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
      await screenshot(page, `debug-${rt.runtime}-stopped-at-breakpoint`);

      await runCommand(page, 'Debug: Continue');
      assert.match(await response, /^hello from \d+$/);
      await runCommand(page, 'Debug: Disconnect');
    });
  }
});
