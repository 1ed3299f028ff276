// The Rollouts panel in real code-server + Chromium against the testbed: a built-in canary of the Todo example (its
// own image as stable, a changed build as canary, pods on the real node) sits at its first step while traffic goes
// through the Gateway and Prometheus scrapes the pods; the panel shows the step, the weight and live canary-vs-stable
// charts; pressing Promote promotes it on the cluster and the Gateway serves the new build. Screenshots in test-results/.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startCanary } from '../../src/core/canary/control';
import { canaryImage, createService, testbedKube, waitForCanarySeries } from '../support/canaryWorkspace';
import { GatewayLoad } from '../support/gatewayLoad';
import { exampleImage } from '../support/images';
import { requireRealNode } from '../support/realPods';
import { eventually } from '../support/wait';
import { createNamespace, loadTestbed } from '../support/testbed';
import { openWorkbench, runCommand, screenshot, waitForActivityBarIcon, type Workbench } from './support/browser';
import { CodeServer, removeDir, repoRoot } from './support/codeServer';

const VSIX = path.resolve(repoRoot(), process.env.SANDPIPER_VSIX ?? 'out/sandpiper-test.vsix');

/** The testbed kubeconfig with its context pointed at the test namespace, which the panel then shows. */
function kubeconfigFor(namespace: string, dir: string): string {
  const kc = new KubeConfig();
  kc.loadFromFile(loadTestbed().kubeconfig);
  const ctx = kc.getContextObject(kc.getCurrentContext())!;
  const contexts = kc.getContexts().map((c) => (c.name === ctx.name ? { ...c, namespace } : c));
  kc.loadFromOptions({ clusters: kc.getClusters(), users: kc.getUsers(), contexts, currentContext: ctx.name });
  const file = path.join(dir, 'kubeconfig');
  fs.writeFileSync(file, kc.exportConfig());
  return file;
}

describe('rollout panel in code-server', function () {
  this.timeout(300_000);
  let server: CodeServer | undefined;
  let bench: Workbench | undefined;
  let load: GatewayLoad | undefined;
  let ns: { name: string; dispose(): Promise<void> } | undefined;
  let tmp = '';

  afterEach(async () => {
    await bench?.close();
    await server?.stop();
    await load?.stop();
    await ns?.dispose();
    if (tmp) await removeDir(tmp);
  });

  it('shows a canary step with live charts, and Promote promotes it on the cluster', async () => {
    const kube = testbedKube();
    requireRealNode();
    const [, good] = await Promise.all([exampleImage(), canaryImage('good')]);
    ns = await createNamespace('e2e-rollout');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-e2e-rollout-'));
    const ws = path.join(tmp, 'todo');
    // The Todo monorepo as a user opens it (its node_modules are not needed to show the panel).
    const example = path.join(repoRoot(), 'examples/todo');
    fs.cpSync(example, ws, {
      recursive: true,
      filter: (src) => path.relative(example, src).split(path.sep)[0] !== 'node_modules',
    });
    // The canary splits traffic on the HTTPRoute of the testbed's Gateway; steady requests give the charts data.
    const host = await createService(kube, ns.name, 'web', { replicas: 4, route: true });
    load = new GatewayLoad(host!, { rps: 50 }).start();
    await load.settled('stable');
    // A long interval: nobody drives it, it waits at step 1 for the button.
    await startCanary(kube, {
      namespace: ns.name,
      deployment: 'web',
      image: good,
      canary: { steps: [10, 50, 100], intervalMs: 600_000, analysis: { failureLimit: 0, queries: [] } },
    });
    await waitForCanarySeries(ns.name, 'web');

    server = await CodeServer.start({
      workspace: ws,
      vsix: VSIX,
      env: { KUBECONFIG: kubeconfigFor(ns.name, tmp), PROMETHEUS_URL: loadTestbed().prometheusUrl },
    });
    bench = await openWorkbench(server, { viewport: { width: 1400, height: 1000 } });
    const { page } = bench;
    await (await waitForActivityBarIcon(page, 'Sandpiper')).click();
    // Room for the charts: fold the other two views of the container.
    for (const view of ['Environments', 'Sync']) {
      const header = page.locator('.pane-header.expanded', { hasText: new RegExp(`^\\s*${view}`, 'i') }).first();
      if (await header.isVisible().catch(() => false)) await header.click();
    }
    await runCommand(page, 'Focus on Rollouts View');
    const panel = page
      .frameLocator('iframe.webview.ready[src*="extensionId=sandpiper.sandpiper"]')
      .frameLocator('iframe#active-frame');
    const section = panel.locator('section[aria-label="Deployment web"]');
    await section
      .locator('.canary-status', { hasText: 'Canary progressing · step 1/3 · weight 10%' })
      .waitFor({ timeout: 60_000 });
    assert.match(await section.innerText(), /traffic split by HTTPRoute weights/);
    const charts = section.locator('.charts');
    await eventually(
      'live chart samples',
      async () => Number((await charts.getAttribute('data-samples')) ?? 0) >= 6,
      60_000,
    );
    assert.equal(await charts.locator('.uplot').count(), 3);
    for (const title of ['requests/s', 'error rate', 'p99 latency (ms)'])
      assert.equal(await charts.locator('.u-title', { hasText: title }).count(), 1);
    const promote = section.locator('vscode-button[aria-label="Promote web"]');
    assert.equal(await section.locator('vscode-button[aria-label="Abort web and roll back"]').count(), 1);
    assert.equal(await section.locator('vscode-button[aria-label="Pause web"]').count(), 1);
    assert.equal(
      await section.locator('vscode-button[aria-label="Skip the current step of web without analysis"]').count(),
      1,
    );
    // Started without a driver and no controller in the cluster: the panel says nobody drives it.
    await section.locator('.driver', { hasText: 'Nobody drives it: paused' }).waitFor({ timeout: 30_000 });
    await charts.locator('.uplot').nth(1).scrollIntoViewIfNeeded();
    await screenshot(page, 'rollout-panel-canary');

    // Keyboard: the button is reachable and pressed with Enter.
    await promote.focus();
    await page.keyboard.press('Enter');
    await eventually(
      'promoted on the cluster',
      async () => {
        const d = await kube.apps.readNamespacedDeployment({ namespace: ns!.name, name: 'web' });
        return (
          d.spec?.template.spec?.containers[0].image === good &&
          /"status":"promoted"/.test(d.metadata?.annotations?.['sandpiper.dev/canary'] ?? '')
        );
      },
      120_000,
    );
    await section.locator('.canary-status', { hasText: 'Canary promoted' }).waitFor({ timeout: 30_000 });
    await eventually(
      'canary Deployment removed',
      async () =>
        !(await kube.apps.readNamespacedDeployment({ namespace: ns!.name, name: 'web-canary' }).then(
          () => true,
          () => false,
        )),
    );
    await section.scrollIntoViewIfNeeded();
    await screenshot(page, 'rollout-panel-promoted');
    await load.settled('canary');
  });
});
