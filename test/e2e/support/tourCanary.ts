// The canary steps of the Todo tour: the Rollouts panel turned to staging, a canary of tasks built from the workspace
// under real traffic through the gateway (Basic credentials), promoted; then a bad build rolled back by the analysis.
import { strict as assert } from 'node:assert';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { waitForCanarySeries } from '../../support/canaryWorkspace';
import { GatewayLoad } from '../../support/gatewayLoad';
import { eventually } from '../../support/wait';
import { runCommand } from './browser';
import { basicAuth, deploymentImage, request } from './tourCluster';
import { BROKEN_LIST_LINE, LIST_LINE, ROUTES, TourSteps } from './tourSteps';
import { notification, openAtLine, pick, replaceLineAndSave, visible, waitForQuickPick } from './workbenchActions';

export class TourCanary {
  private load?: GatewayLoad;
  private promotedImage?: string;

  constructor(private readonly tour: TourSteps) {}

  private get page(): Page {
    return this.tour.page;
  }

  private panel(): FrameLocator {
    return this.page
      .frameLocator('iframe.webview.ready[src*="extensionId=sandpiper.sandpiper"]')
      .frameLocator('iframe#active-frame');
  }

  private section(): Locator {
    return this.panel().locator('section[aria-label="Deployment tasks"]');
  }

  /** Steady GET /tasks through the gateway with the example's credentials, while the canaries run. */
  startLoad(): void {
    const { hostname, user, password } = this.tour.o.staging;
    this.load = new GatewayLoad(hostname, { rps: 20, path: '/tasks', auth: { user, password } });
    this.load.start();
  }

  async stopLoad(): Promise<void> {
    await this.load?.stop();
  }

  /** The Rollouts view, turned from the active environment to staging with its Namespace… button. */
  private async showStaging(): Promise<void> {
    const page = this.page;
    await runCommand(page, 'Focus on Rollouts View');
    // Room for the charts: fold the other views of the container.
    for (const view of ['Environments', 'Sync']) {
      const header = page.locator('.pane-header.expanded', { hasText: new RegExp(`^\\s*${view}`, 'i') }).first();
      if (await header.isVisible().catch(() => false)) await header.click();
    }
    const staging = this.tour.o.staging.namespace;
    const title = this.panel()
      .locator('header > span', { hasText: new RegExp(`^\\s*${staging} · `) })
      .first();
    if (!(await visible(title, 5000))) {
      await this.panel().locator('vscode-button[aria-label="Show the rollouts of another namespace"]').click();
      await waitForQuickPick(page, /Rollouts: namespace/);
      await pick(page, staging, new RegExp(`^\\s*${staging}\\s*$`));
    }
    // The environment is active and has a tasks Deployment too: the panel must show staging's, not the env's.
    if (!(await visible(title, 30_000)))
      assert.fail(`the Rollouts view shows ${await TourSteps.text(this.panel().locator('header'))}, not ${staging}`);
    await this.section().waitFor({ state: 'visible', timeout: 60_000 });
  }

  /** Start Canary Rollout from the palette, the image built from the workspace; waits for the panel to show it. */
  private async startCanary(shot: string): Promise<void> {
    const page = this.page;
    // The active editor is tasks/src/routes.ts: the command takes tasks/sandpiper.yaml.
    await openAtLine(page, ROUTES, 1);
    await runCommand(page, 'Sandpiper: Start Canary Rollout');
    await waitForQuickPick(page, /Canary image for tasks/);
    await pick(page, 'Build from workspace', /Build from workspace/);
    const failed = page
      .locator('.notification-toast')
      .filter({ hasText: /failed|Cannot|error/i })
      .first();
    const status = this.section().locator('.canary-status', { hasText: /Canary progressing · step 1\/3 · weight 25%/ });
    const deadline = Date.now() + 300_000;
    let building = false;
    while (!(await status.isVisible().catch(() => false))) {
      if (await failed.isVisible().catch(() => false))
        assert.fail(`the canary did not start: ${(await failed.innerText()).replace(/\s+/g, ' ')}`);
      const toast = notification(page, /Building tasks/).first();
      if (!building && (await toast.isVisible().catch(() => false))) {
        await page.waitForTimeout(600);
        await this.tour.shot(shot);
        building = true;
      }
      if (Date.now() > deadline) assert.fail('the panel shows no canary at step 1/3 (25%) after 300 s');
      await page.waitForTimeout(250);
    }
  }

  private async samples(): Promise<number> {
    return Number(
      (await this.section()
        .locator('.charts')
        .getAttribute('data-samples')
        .catch(() => '0')) ?? 0,
    );
  }

  /** 6: the edited build as a canary of staging; paused to watch the charts fill, then promoted. */
  good(): Promise<void> {
    const { kube, staging } = this.tour.o;
    return this.tour.step('08-canary', async () => {
      this.startLoad();
      await this.showStaging();
      await this.startCanary('08-canary-building');
      // Paused, it holds its step while the charts show canary against stable.
      const section = this.section();
      await section.locator('vscode-button[aria-label="Pause tasks"]').click();
      await section.locator('.canary-status', { hasText: /paused/ }).waitFor({ timeout: 60_000 });
      const charts = section.locator('.charts');
      assert.equal(await charts.locator('.uplot').count(), 3, 'three charts: requests/s, error rate, p99 latency');
      // Prometheus has scraped the canary pod under the gateway's traffic: the charts have both lines to draw.
      await waitForCanarySeries(staging.namespace, 'tasks');
      const first = await eventually(
        'chart samples',
        async () => (await this.samples()) >= 3 && this.samples(),
        60_000,
      );
      await eventually('the charts to move', async () => (await this.samples()) >= first + 3, 60_000, 500);
      await charts.scrollIntoViewIfNeeded();
      await this.tour.shot('08-canary-charts');

      await section.locator('vscode-button[aria-label="Promote tasks"]').click();
      await section.locator('.canary-status', { hasText: /Canary promoted/ }).waitFor({ timeout: 180_000 });
      this.promotedImage = await deploymentImage(kube, staging.namespace, 'tasks');
      assert.match(this.promotedImage, /@sha256:[0-9a-f]{64}$/, 'staging runs the canary build, pinned by digest');
      // Staging now capitalizes new titles: the build from the workspace serves behind the gateway.
      const api = new URL('/tasks', staging.gatewayUrl).href;
      await eventually(
        'staging to serve the promoted build',
        async () => {
          const r = await request(api, {
            method: 'POST',
            body: { title: 'promoted' },
            auth: basicAuth(staging),
            host: staging.hostname,
          });
          return r.status === 201 && r.text.includes('"Promoted"');
        },
        120_000,
        2000,
      );
      await section.scrollIntoViewIfNeeded();
      await this.tour.shot('09-canary-promoted');
      console.log(`[tour] responses during the good canary: ${JSON.stringify(this.load!.counts())}`);
    });
  }

  /** 7: listing broken on purpose; the analysis fails on the canary's 500s and rolls it back by itself. */
  bad(): Promise<void> {
    const { kube, staging } = this.tour.o;
    return this.tour.step('10-bad-canary', async (page) => {
      assert.ok(this.promotedImage, 'the good canary was promoted first');
      await openAtLine(page, ROUTES, this.tour.lineOf(ROUTES, LIST_LINE));
      await replaceLineAndSave(page, BROKEN_LIST_LINE);
      await this.tour.bundleHas('broken on purpose');
      const from = this.load!.now();
      await this.startCanary('10-bad-canary-building');
      await this.tour.shot('10-bad-canary-started');
      await notification(page, /Rollout of tasks rolled back/)
        .first()
        .waitFor({ state: 'visible', timeout: 240_000 });
      await this.section()
        .locator('.canary-status', { hasText: /Canary aborted/ })
        .waitFor({ timeout: 60_000 });
      const counts = this.load!.counts(from);
      console.log(`[tour] responses during the bad canary: ${JSON.stringify(counts)}`);
      assert.ok(
        (counts['HTTP 500'] ?? 0) > 0,
        `the bad build answered 500 to some requests: ${JSON.stringify(counts)}`,
      );
      await this.section().scrollIntoViewIfNeeded();
      await this.tour.shot('11-canary-rolled-back');
      assert.equal(await deploymentImage(kube, staging.namespace, 'tasks'), this.promotedImage, 'stable is untouched');
      await eventually(
        'the gateway to answer 50 requests in a row without a 500',
        () => !this.load!.tail(50)['HTTP 500'],
        120_000,
        500,
      );

      // The person undoes the breakage before the pull request.
      await openAtLine(page, ROUTES, this.tour.lineOf(ROUTES, BROKEN_LIST_LINE));
      await replaceLineAndSave(page, LIST_LINE.trim());
      await this.tour.bundleHas('broken on purpose', false);
    });
  }
}
