// A new user's first hour, in real code-server + Chromium on the testbed's real node, from a folder holding only a
// TypeScript service, its Dockerfile and k8s manifests: Initialize → Create Ephemeral Environment (the image is built,
// pushed and runs pinned by digest) → Open in Browser shows the service → a breakpoint in a .ts file hits through
// js-debug → continue, stop, delete. Each step saves test-results/first-hour/NN-step.png (SANDPIPER_DOCS_SCREENSHOTS=1
// also copies them to docs/images/first-hour/ for the README).
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { loadConfig } from '../../src/core/config/loader';
import { environmentName } from '../../src/core/env/naming';
import { loadKube } from '../../src/core/infra/kube/client';
import { execInPod } from '../../src/core/infra/kube/exec';
import { isPodReady } from '../../src/core/infra/kube/pods';
import { requireRealNode } from '../support/realPods';
import { loadTestbed, testbedEnv } from '../support/testbed';
import { sleep } from '../../src/core/errors';
import {
  openWorkbench,
  runCommand,
  waitForActivityBarIcon,
  waitForNotification,
  type Workbench,
} from './support/browser';
import { CodeServer, removeDir, repoRoot } from './support/codeServer';
import { seriesScreenshot } from './support/screenshots';
import { openAtLine, replaceLineAndSave, untilPageShows, visible } from './support/workbenchActions';

const VSIX = path.resolve(repoRoot(), process.env.SANDPIPER_VSIX ?? 'out/sandpiper-test.vsix');
const FIXTURE = path.join(repoRoot(), 'test', 'fixtures', 'workspaces', 'ts-service');
const MARKER = '// BREAKPOINT: greeting';
const GREETING = /Hello from hello!/;
const EDITED_LINE = `const message = \`Hi from \${name}, saved in the editor!\`; ${MARKER}`;
const EDITED = /Hi from hello, saved in the editor!/;

/** The repo's TypeScript compiler on the workspace; outside the repo @types/node comes through --typeRoots. */
function tscArgs(ws: string, ...extra: string[]): string[] {
  const modules = path.join(repoRoot(), 'node_modules');
  return [path.join(modules, 'typescript/bin/tsc'), '-p', ws, '--typeRoots', path.join(modules, '@types'), ...extra];
}

/** A copy of the sample workspace, compiled with the repo's TypeScript, in a git repo on its own branch. */
function sampleWorkspace(dir: string, branch: string): string {
  const ws = path.join(dir, 'ts-service');
  fs.cpSync(FIXTURE, ws, { recursive: true });
  assert.ok(!fs.existsSync(path.join(ws, 'sandpiper.yaml')), 'the sample starts without sandpiper.yaml');
  // A file of this run makes the build context new: the image is built and pushed now, not found from a past run.
  fs.writeFileSync(path.join(ws, 'src', 'run.txt'), `${branch}\n`);
  execFileSync(process.execPath, tscArgs(ws));
  execFileSync('git', ['init', '-q', '-b', branch], { cwd: ws });
  execFileSync('git', ['config', 'user.email', 'e2e@example.com'], { cwd: ws });
  execFileSync('git', ['config', 'user.name', 'E2E'], { cwd: ws });
  return ws;
}

/** 1-based line of the marker comment in the sample's greeting module. */
function markerLine(ws: string): number {
  const line = fs
    .readFileSync(path.join(ws, 'src', 'greeting.ts'), 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(MARKER));
  assert.ok(line >= 0, `src/greeting.ts has no "${MARKER}" line`);
  return line + 1;
}

/** A GET that may hang while the debugger holds the handler; never rejects (an error is returned as text). */
async function get(url: string, timeoutMs = 90_000): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return `${res.status} ${await res.text()}`;
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

describe('a new user’s first hour in code-server', function () {
  this.timeout(600_000);
  const tb = loadTestbed();
  const kube = loadKube({ kubeconfig: tb.kubeconfig });
  const branch = `first-hour-${Math.random().toString(36).slice(2, 7)}`;
  const namespace = environmentName('e2e@example.com', branch);
  let dir: string | undefined;
  let server: CodeServer | undefined;
  let bench: Workbench | undefined;
  let browserPage: Page | undefined;
  let tscWatch: ChildProcess | undefined;
  // Shared by the steps of the three tests below (the later ones continue where the first one stopped).
  let ws = '';
  let line = 0;
  let page: Page;
  let url = '';
  const shot = (name: string) => seriesScreenshot(page, 'first-hour', name);
  /** Runs one step; a failure names the step and leaves a picture of the screen at that moment. */
  const step = async <T>(name: string, body: () => Promise<T>): Promise<T> => {
    try {
      return await body();
    } catch (err) {
      if (page) await shot(`failed-${name}`).catch(() => undefined);
      (err as Error).message = `step "${name}" failed: ${(err as Error).message}`;
      throw err;
    }
  };

  /** The held request's answer once the debugger continued; when it does not come, what the debugger shows. */
  async function answerAfterContinue(response: Promise<string>): Promise<string> {
    const answer = await Promise.race([response, sleep(30_000).then(() => undefined)]);
    if (answer !== undefined) return answer;
    const text = async (selector: string) =>
      (
        await page
          .locator(selector)
          .first()
          .innerText()
          .catch(() => '')
      ).replace(/\s+/g, ' ');
    return (
      `no answer 30 s after Continue; call stack: ${await text('.debug-call-stack')}; ` +
      `debug console: ${await text('.repl')}; a new request: ${await get(url, 10_000)}`
    );
  }

  /** Requests GET / until one stops at the breakpoint (js-debug may still be attaching); the pending response. */
  async function pauseAtBreakpoint(): Promise<{ text: Promise<string> }> {
    const paused = page.getByText(/paused on breakpoint/i).first();
    const send = () => {
      // A held request waits as long as the test looks at the paused editor (slow on a loaded machine).
      const r = { settled: false, text: get(url, 300_000) };
      void r.text.then(() => (r.settled = true));
      return r;
    };
    let request = send();
    const started = Date.now();
    const deadline = started + 90_000;
    while (!(await visible(paused, 2000))) {
      if (Date.now() > deadline) assert.fail(`no "Paused on breakpoint" after 90 s of requests to ${url}`);
      if (request.settled) request = send();
    }
    console.log(`[first-hour] requests → paused on the breakpoint: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await page.locator('.debug-top-stack-frame-line').first().waitFor({ state: 'visible', timeout: 10_000 });
    await page.locator('.tab.active', { hasText: 'greeting.ts' }).waitFor({ state: 'visible', timeout: 10_000 });
    const activeLine = await page.locator('.editor-instance .active-line-number').first().innerText();
    assert.equal(activeLine.trim(), String(line), `the editor shows the paused line ${line} of greeting.ts`);
    const stackRow = page.locator('.debug-call-stack .monaco-list-row', { hasText: 'greeting.ts' }).first();
    const stack = async () =>
      page
        .locator('.debug-call-stack')
        .first()
        .innerText()
        .catch(() => '');
    assert.ok(await visible(stackRow, 15_000), `the call stack shows greeting.ts: ${await stack()}`);
    await page.waitForTimeout(500);
    // Wrapped: an async function returning the promise itself would wait for the answer, which waits for Continue.
    return { text: request.text };
  }

  after(async () => {
    tscWatch?.kill();
    await bench?.close();
    await server?.stop();
    await kube.core.deleteNamespace({ name: namespace }).catch(() => undefined);
    if (dir) await removeDir(dir);
  });

  it('Initialize → Create (built, pushed, pinned by digest) → Open in Browser → a breakpoint in a .ts file hits', async () => {
    requireRealNode();
    fs.rmSync(path.join(repoRoot(), 'test-results', 'first-hour'), { recursive: true, force: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-e2e-first-hour-'));
    ws = sampleWorkspace(dir, branch);
    line = markerLine(ws);
    const env = testbedEnv();
    server = await CodeServer.start({
      workspace: ws,
      vsix: VSIX,
      // asExternalUri maps a forwarded localhost port to code-server's /proxy/<port>/.
      proxy: true,
      env: {
        KUBECONFIG: tb.kubeconfig,
        DOCKER_HOST: env.DOCKER_HOST!,
        DOCKER_BUILDKIT: env.DOCKER_BUILDKIT ?? '0',
        SANDPIPER_REGISTRY: env.SANDPIPER_REGISTRY!,
        PATH: env.PATH!,
      },
    });
    bench = await openWorkbench(server, { viewport: { width: 1280, height: 800 } });
    page = bench.page;

    await step('01-workspace', async () => {
      await (await waitForActivityBarIcon(page, 'Sandpiper')).click();
      await page.waitForTimeout(500);
      await shot('01-workspace');
    });

    await step('02-initialize', async () => {
      await runCommand(page, 'Sandpiper: Initialize');
      await page.locator('.tab.active', { hasText: 'sandpiper.yaml' }).waitFor({ state: 'visible', timeout: 30_000 });
      await page
        .locator('.editor-instance .view-lines', { hasText: 'services:' })
        .first()
        .waitFor({ state: 'visible', timeout: 15_000 });
      const config = await loadConfig(ws);
      const hello = config.services.hello;
      assert.ok(hello, `sandpiper.yaml has the service "hello": ${Object.keys(config.services).join(', ')}`);
      assert.ok(hello.image?.build, 'Initialize found the Dockerfile: image.build is set');
      assert.equal(hello.debug?.runtime, 'node');
      assert.equal(hello.debug?.port, 9229);
      await shot('02-initialized');
    });

    let ready: Locator | undefined;
    await step('03-create', async () => {
      const started = Date.now();
      await runCommand(page, 'Sandpiper: Create Ephemeral Environment');
      // Only what cannot be inferred is asked (the time to live); accept the defaults.
      const readyText = new RegExp(`Environment ${namespace} is ready`);
      const failed = page
        .locator('.notification-toast')
        .filter({ hasText: /failed|Cannot|error/i })
        .first();
      const building = page
        .locator('.notification-toast')
        .filter({ hasText: /Building|Step \d+\/\d+|push/i })
        .first();
      let pickShot = false;
      let buildShot = false;
      const deadline = Date.now() + 300_000;
      for (;;) {
        const toast = page.locator('.notification-toast').filter({ hasText: readyText }).first();
        if (await toast.isVisible().catch(() => false)) {
          ready = toast;
          break;
        }
        if (await failed.isVisible().catch(() => false))
          assert.fail(`creating the environment failed: ${(await failed.innerText()).replace(/\s+/g, ' ')}`);
        const pick = page.locator('.quick-input-widget');
        if (await pick.isVisible().catch(() => false)) {
          if (!pickShot) await shot('03-create-ttl');
          pickShot = true;
          await page.keyboard.press('Enter');
        } else if (!buildShot && (await building.isVisible().catch(() => false))) {
          await page.waitForTimeout(600); // the toast slides in; let it settle for the picture
          await shot('04-building');
          buildShot = true;
        }
        if (Date.now() > deadline) assert.fail(`no "${readyText.source}" notification after 300 s`);
        await page.waitForTimeout(250);
      }
      console.log(`[first-hour] palette → "${namespace} is ready": ${((Date.now() - started) / 1000).toFixed(1)} s`);
      await shot('05-environment-ready');

      const pods = (await kube.core.listNamespacedPod({ namespace, labelSelector: 'app=hello' })).items;
      assert.equal(pods.length, 1, `one pod of hello in ${namespace}`);
      const [pod] = pods;
      assert.ok(isPodReady(pod), `${pod.metadata?.name} is Ready`);
      assert.equal(pod.spec?.nodeName, requireRealNode().node, 'it runs on the real node');
      const image = pod.spec?.containers.find((c) => c.name === 'hello')?.image ?? '';
      assert.match(image, /@sha256:[0-9a-f]{64}$/, `the pod runs the built image pinned by digest: ${image}`);
      assert.ok(image.startsWith(`${env.SANDPIPER_REGISTRY}/`), `pushed to the testbed registry: ${image}`);
    });

    await step('06-open-in-browser', async () => {
      const opened = bench!.context.waitForEvent('page', { timeout: 90_000 });
      const button = ready!.locator('.monaco-button', { hasText: 'Open in Browser' });
      if (await button.isVisible().catch(() => false)) await button.click();
      else {
        // The toast may have slid into the notification centre: the palette command does the same.
        await runCommand(page, 'Sandpiper: Open in Browser');
        const pick = page.locator('.quick-input-widget');
        if (await visible(pick, 5000)) {
          await page.keyboard.type(namespace);
          await page.keyboard.press('Enter');
        }
      }
      // A browser may hold back a window opened after an await; the workbench then asks to open it.
      const dialog = page.locator('.monaco-dialog-box');
      const error = page.locator('.notification-toast').filter({ has: page.locator('.codicon-error') });
      const got: { page?: Page } = {};
      const deadline = Date.now() + 90_000;
      void opened.then((p) => (got.page = p)).catch(() => undefined);
      while (!got.page) {
        if (
          await error
            .first()
            .isVisible()
            .catch(() => false)
        )
          assert.fail(`Open in Browser failed: ${(await error.first().innerText()).replace(/\s+/g, ' ')}`);
        if (await dialog.isVisible().catch(() => false)) {
          await shot('06-open-confirm');
          await dialog
            .locator('.monaco-button', { hasText: /^(Open|Allow)$/ })
            .first()
            .click();
        }
        if (Date.now() > deadline) assert.fail('Open in Browser opened no page within 90 s');
        await page.waitForTimeout(250);
      }
      const served = got.page;
      await served.waitForLoadState('domcontentloaded');
      await untilPageShows(served, GREETING, 30_000);
      console.log(`[first-hour] Open in Browser → ${served.url()}`);
      await seriesScreenshot(served, 'first-hour', '06-service-in-browser');
      browserPage = served;
      await page.bringToFront();
    });

    await step('07-breakpoint', async () => {
      await openAtLine(page, 'src/greeting.ts', line);
      await runCommand(page, 'Debug: Toggle Breakpoint');
      await page.locator('.codicon-debug-breakpoint').first().waitFor({ state: 'visible', timeout: 10_000 });
      await shot('07-breakpoint');
    });

    await step('08-debug', async () => {
      await runCommand(page, 'View: Show Run and Debug');
      await runCommand(page, 'Debug: Select and Start Debugging');
      // The dynamic configurations come from Sandpiper's provider: one per service with a debug section.
      const rows = page.locator('.quick-input-widget .monaco-list-row');
      await rows.first().waitFor({ state: 'visible', timeout: 15_000 });
      const forHello = rows.filter({ hasText: /hello/ }).first();
      if (!(await visible(forHello, 3000))) {
        const provider = rows.filter({ hasText: /Sandpiper/ }).first();
        assert.ok(
          await visible(provider, 10_000),
          `"Select and Start Debugging" offers no Sandpiper configuration: ${await page.locator('.quick-input-widget').innerText()}`,
        );
        await provider.click();
        assert.ok(
          await visible(forHello, 30_000),
          `Sandpiper's dynamic configurations have none for hello: ${await page.locator('.quick-input-widget').innerText()}`,
        );
      }
      await shot('08-debug-configurations');
      await forHello.click();
      await page.locator('.debug-toolbar').waitFor({ state: 'visible', timeout: 60_000 });
    });

    await step('09-paused', async () => {
      const [pod] = (await kube.core.listNamespacedPod({ namespace, labelSelector: 'app=hello' })).items;
      url = `http://${pod.status!.podIP}:8080/`;
      const response = await pauseAtBreakpoint();
      await shot('09-paused-in-greeting-ts');
      await runCommand(page, 'Debug: Continue');
      assert.match(await answerAfterContinue(response.text), GREETING);
    });
  });

  it('an edit of the .ts file is served after tsc --watch and the sync restart, and the breakpoint still hits', async () => {
    assert.ok(browserPage && url, 'the first test opened the service and attached the debugger');
    await step('10-edit', async () => {
      // What the user runs beside the editor: the compiler in watch mode rewrites dist/ on every save.
      tscWatch = spawn(process.execPath, tscArgs(ws, '--watch', '--preserveWatchOutput'), { stdio: 'ignore' });
      // Breakpoints off while the page reloads (a hit would hold the request), the session stays attached.
      await runCommand(page, 'Disable All Breakpoints');
      await openAtLine(page, 'src/greeting.ts', line);
      await replaceLineAndSave(page, EDITED_LINE);
      // tsc writes dist/greeting.js, the sync sends dist/ into the container, node --watch restarts on it.
      await untilPageShows(browserPage!, EDITED, 90_000).catch(async (err: Error) => {
        // Tell a sync that did not deliver from a process that did not restart on what it delivered.
        const [pod] = (await kube.core.listNamespacedPod({ namespace, labelSelector: 'app=hello' })).items;
        const inPod = await execInPod(kube, {
          namespace,
          pod: pod.metadata!.name!,
          container: 'hello',
          command: ['sh', '-c', 'grep -c "saved in the editor" /app/dist/greeting.js; ls -li /app/dist'],
          timeoutMs: 20_000,
        }).then(
          (r) => r.stdout.replace(/\s+/g, ' '),
          (e: Error) => `exec failed: ${e.message}`,
        );
        err.message += `; the container's dist/greeting.js has the edit (count, listing): ${inPod}`;
        throw err;
      });
      await seriesScreenshot(browserPage!, 'first-hour', '10-edited-and-served');
      await shot('10-edited');
    });

    await step('11-paused-after-restart', async () => {
      await runCommand(page, 'Enable All Breakpoints');
      const response = await pauseAtBreakpoint();
      await shot('11-paused-after-sync-restart');
      await runCommand(page, 'Debug: Continue');
      assert.match(await answerAfterContinue(response.text), EDITED);
    });
  });

  it('stops debugging and deletes the environment', async () => {
    assert.ok(page, 'the first test opened the workbench');
    await step('12-stop', async () => {
      if (await page.locator('.debug-toolbar').isVisible()) {
        await runCommand(page, 'Debug: Disconnect');
        await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 30_000 });
      }
      if (url)
        assert.match(await get(url, 10_000), /Hello from hello!|Hi from hello/, 'it serves without the debugger');
    });

    await step('13-delete', async () => {
      await runCommand(page, 'Sandpiper: Delete Environment');
      const picker = page.locator('.quick-input-widget .quick-input-box input');
      await picker.waitFor({ state: 'visible', timeout: 15_000 });
      await picker.fill(namespace);
      await page
        .locator('.quick-input-widget .monaco-list-row', { hasText: namespace })
        .first()
        .waitFor({ state: 'visible' });
      await page.keyboard.press('Enter');
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ state: 'visible', timeout: 15_000 });
      await dialog.locator('.monaco-button', { hasText: /^Delete$/ }).click();
      await waitForNotification(page, new RegExp(`Deleted environment ${namespace}`), { timeoutMs: 60_000 });
      await shot('13-deleted');
      const after = await kube.core.readNamespace({ name: namespace }).catch(() => undefined);
      assert.ok(!after || after.status?.phase === 'Terminating', `${namespace} is gone or terminating`);
    });
  });
});
