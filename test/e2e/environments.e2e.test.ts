// The palette flow of ephemeral environments in real code-server + Chromium: without a cluster it says
// so and offers to pick a context; against the testbed it creates an env through the quick picks,
// shows it in the Environments view, and deletes it after a modal confirmation.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { environmentName } from '../../src/core/env/naming';
import { loadKube } from '../../src/core/infra/kube/client';
import { loadTestbed } from '../support/testbed';
import { baselineYaml, runnableExample } from '../integration/env/baseline';
import { requireRealNode } from '../support/realPods';
import {
  openWorkbench,
  runCommand,
  screenshot,
  waitForActivityBarIcon,
  waitForNotification,
  type Workbench,
} from './support/browser';
import { CodeServer, removeDir, repoRoot } from './support/codeServer';

const VSIX = path.resolve(repoRoot(), process.env.SANDPIPER_VSIX ?? 'out/sandpiper-test.vsix');
/** The example's tasks, runnable on the real node (its own image pushed), in a temp folder; sandpiper.yaml edited. */
async function workspace(edit: (yaml: string) => string = (y) => y): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-e2e-env-'));
  const ws = path.join(dir, 'todo');
  fs.cpSync(await runnableExample(), ws, { recursive: true });
  const file = path.join(ws, 'sandpiper.yaml');
  fs.writeFileSync(file, edit(fs.readFileSync(file, 'utf8')));
  return ws;
}

async function acceptQuickPick(page: Page, title: RegExp): Promise<void> {
  const widget = page.locator('.quick-input-widget').filter({ hasText: title });
  await widget.waitFor({ state: 'visible', timeout: 30_000 });
  await page.keyboard.press('Enter');
  await widget.waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
}

/**
 * A baseline namespace with the example's search and db (their own images) and the Secret db-credentials, applied
 * with kubectl.
 */
async function applyBaseline(kubeconfig: string, binDir: string, baseline: string): Promise<void> {
  execFileSync('kubectl', ['apply', '-f', '-'], {
    input: await baselineYaml(baseline),
    env: { ...process.env, KUBECONFIG: kubeconfig, PATH: `${binDir}:${process.env.PATH}` },
  });
}

function gitWorkspace(ws: string, branch: string): void {
  execFileSync('git', ['init', '-q', '-b', branch], { cwd: ws });
  execFileSync('git', ['config', 'user.email', 'e2e@example.com'], { cwd: ws });
}

describe('environments in code-server', function () {
  this.timeout(300_000);
  let server: CodeServer | undefined;
  let bench: Workbench | undefined;
  const temps: string[] = [];

  afterEach(async () => {
    await bench?.close();
    await server?.stop();
    bench = undefined;
    server = undefined;
    for (const t of temps.splice(0)) await removeDir(path.dirname(t));
  });

  /** code-server (closed after the test) on the workspace with this kubeconfig, in a large window: its page. */
  async function openOnTestbed(ws: string, kubeconfig: string) {
    server = await CodeServer.start({ workspace: ws, vsix: VSIX, env: { KUBECONFIG: kubeconfig } });
    bench = await openWorkbench(server, { viewport: { width: 1400, height: 900 } });
    return bench.page;
  }

  it('says clearly that no cluster is configured, names the kubeconfig and offers to select a context', async () => {
    const ws = await workspace();
    temps.push(ws);
    const missing = path.join(path.dirname(ws), 'no-such-kubeconfig');
    server = await CodeServer.start({ workspace: ws, vsix: VSIX, env: { KUBECONFIG: missing } });
    bench = await openWorkbench(server);
    await waitForActivityBarIcon(bench.page, 'Sandpiper');
    await runCommand(bench.page, 'Sandpiper: Create Ephemeral Environment');
    const toast = await waitForNotification(bench.page, /no Kubernetes cluster is reachable/);
    const text = (await toast.innerText()).replace(/\s+/g, ' ');
    assert.match(
      text,
      /Cannot create an ephemeral environment: no Kubernetes cluster is reachable \(kubeconfig .*no-such-kubeconfig\)/,
    );
    assert.ok(await toast.locator('.monaco-button', { hasText: 'Select Kubernetes Context' }).isVisible());
    // Let the notification finish sliding in, so the picture shows all of it.
    const viewport = bench.page.viewportSize();
    for (let i = 0; i < 20; i++) {
      const box = await toast.boundingBox();
      if (box && viewport && box.y + box.height <= viewport.height - 20) break;
      await bench.page.waitForTimeout(100);
    }
    await bench.page.waitForTimeout(300);
    await screenshot(bench.page, 'no-cluster-error');
  });

  it('creates an environment from the palette, shows it in the tree, and deletes it after confirming', async () => {
    const tb = loadTestbed();
    const kube = loadKube({ kubeconfig: tb.kubeconfig });
    const baseline = `sp-e2e-baseline-${Math.random().toString(36).slice(2, 7)}`;
    const branch = `e2e-${Math.random().toString(36).slice(2, 7)}`;
    const ws = await workspace((y) => y.replace('baseline: staging', `baseline: ${baseline}`));
    temps.push(ws);
    gitWorkspace(ws, branch);
    const expected = environmentName('e2e@example.com', branch);
    await applyBaseline(tb.kubeconfig, tb.binDir, baseline);
    try {
      const page = await openOnTestbed(ws, tb.kubeconfig);
      await (await waitForActivityBarIcon(page, 'Sandpiper')).click();
      await runCommand(page, 'Sandpiper: Create Ephemeral Environment');
      // Dependencies: db comes pre-checked from sandpiper.yaml (copy), search unchecked (shared).
      const deps = page.locator('.quick-input-widget').filter({ hasText: /Dependencies to copy/ });
      await deps.waitFor({ state: 'visible', timeout: 30_000 });
      await screenshot(page, 'env-create-dependencies');
      assert.equal(await deps.locator('.monaco-list-row[aria-checked="true"]').count(), 1);
      assert.match(await deps.locator('.monaco-list-row[aria-checked="true"]').innerText(), /^db/);
      await acceptQuickPick(page, /Dependencies to copy/);
      await acceptQuickPick(page, /Time to live/);
      await waitForNotification(page, new RegExp(`Environment ${expected} is ready`), { timeoutMs: 180_000 });
      await screenshot(page, 'env-created');

      const ns = await kube.core.readNamespace({ name: expected });
      assert.equal(ns.metadata?.labels?.['app.kubernetes.io/managed-by'], 'sandpiper');
      assert.equal(
        (await kube.core.readNamespacedService({ name: 'search', namespace: expected })).spec?.type,
        'ExternalName',
      );
      assert.equal(
        (await kube.apps.readNamespacedDeployment({ name: 'db', namespace: expected })).status?.readyReplicas,
        1,
      );
      const [tasks] = (await kube.core.listNamespacedPod({ namespace: expected, labelSelector: 'app=tasks' })).items;
      assert.equal(tasks.spec?.nodeName, requireRealNode().node, 'the service runs on the real node');
      assert.equal(tasks.status?.containerStatuses?.[0].ready, true);

      const row = page.locator('.monaco-list-row', { hasText: expected });
      await row.first().waitFor({ state: 'visible', timeout: 30_000 });
      assert.match(await row.first().innerText(), /e2e@example\.com/);
      await screenshot(page, 'env-in-tree');

      await runCommand(page, 'Sandpiper: Delete Environment');
      const picker = page.locator('.quick-input-widget .quick-input-box input');
      await picker.waitFor({ state: 'visible', timeout: 15_000 });
      await picker.fill(expected);
      await page
        .locator('.quick-input-widget .monaco-list-row', { hasText: expected })
        .first()
        .waitFor({ state: 'visible' });
      await page.keyboard.press('Enter');
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ state: 'visible', timeout: 15_000 });
      assert.match(await dialog.innerText(), new RegExp(`Delete environment ${expected}`));
      await screenshot(page, 'env-delete-confirm');
      await dialog.locator('.monaco-button', { hasText: /^Delete$/ }).click();
      await waitForNotification(page, new RegExp(`Deleted environment ${expected}`), { timeoutMs: 60_000 });
      await screenshot(page, 'env-deleted');
      const after = await kube.core.readNamespace({ name: expected }).catch(() => undefined);
      assert.ok(!after || after.status?.phase === 'Terminating');
      assert.ok((await kube.core.readNamespace({ name: baseline })).metadata, 'the baseline is untouched');
    } finally {
      await kube.core.deleteNamespace({ name: expected }).catch(() => undefined);
      await kube.core.deleteNamespace({ name: baseline }).catch(() => undefined);
    }
  });

  it('on a failed creation names the reason and deletes the half-made environment when asked', async () => {
    const tb = loadTestbed();
    const kube = loadKube({ kubeconfig: tb.kubeconfig });
    const baseline = `sp-e2e-baseline-${Math.random().toString(36).slice(2, 7)}`;
    const branch = `e2e-fail-${Math.random().toString(36).slice(2, 7)}`;
    const ws = await workspace((y) => y.replace('baseline: staging', `baseline: ${baseline}`));
    temps.push(ws);
    // A service no node can run: the scheduler says Unschedulable.
    const deployment = path.join(ws, 'k8s/deployment.yaml');
    const manifest = JSON.parse(fs.readFileSync(deployment, 'utf8')) as {
      spec: { template: { spec: Record<string, unknown> } };
    };
    manifest.spec.template.spec.nodeSelector = { 'sandpiper.dev/no-such-node': 'true' };
    fs.writeFileSync(deployment, JSON.stringify(manifest));
    gitWorkspace(ws, branch);
    const expected = environmentName('e2e@example.com', branch);
    await applyBaseline(tb.kubeconfig, tb.binDir, baseline);
    try {
      const page = await openOnTestbed(ws, tb.kubeconfig);
      await waitForActivityBarIcon(page, 'Sandpiper');
      await runCommand(page, 'Sandpiper: Create Ephemeral Environment');
      await acceptQuickPick(page, /Dependencies to copy/);
      await acceptQuickPick(page, /Time to live/);
      const toast = await waitForNotification(page, new RegExp(`Creating ${expected} failed`), { timeoutMs: 120_000 });
      const text = (await toast.innerText()).replace(/\s+/g, ' ');
      assert.match(
        text,
        /Deployment "tasks" in "sp-e2e-e2e-fail-[a-z0-9-]+" is not ready: pod "tasks-[a-z0-9-]+" Unschedulable: 0\/\d+ nodes are available/,
      );
      await toast.locator('.monaco-button', { hasText: 'Keep for Inspection' }).waitFor({ state: 'visible' });
      await page.waitForTimeout(600); // the toast slides in; let it settle for the picture
      await screenshot(page, 'env-create-failed');
      assert.ok(
        (await kube.core.readNamespace({ name: expected })).metadata,
        'the half-made env exists until the user decides',
      );
      await toast.locator('.monaco-button', { hasText: /^Delete$/ }).click();
      for (let i = 0; i < 100; i++) {
        const ns = await kube.core.readNamespace({ name: expected }).catch(() => undefined);
        if (!ns || ns.status?.phase === 'Terminating') return;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(`${expected} was not deleted`);
    } finally {
      await kube.core.deleteNamespace({ name: expected }).catch(() => undefined);
      await kube.core.deleteNamespace({ name: baseline }).catch(() => undefined);
    }
  });
});
