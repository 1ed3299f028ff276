// Draft PR in real VS Code (code-server + Chromium): the Source Control title-bar button opens the review quick picks with the
// suggested reviewers checked, and the draft is created on the GitHub stand-in after a real push.
// The stand-in is not github.com, so no VS Code GitHub session applies: the extension host takes GH_TOKEN
// from its environment (code-server consumes GITHUB_TOKEN itself for its github.com sign-in).
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { GitHubStandIn } from '../support/githubStandIn';
import { TestRepo, sampleProject } from '../unit/pr/support/gitRepo';
import { openWorkbench, screenshot, waitForActivityBarIcon, waitForNotification } from './support/browser';
import { CodeServer, repoRoot } from './support/codeServer';

const TOKEN = `ghp_${'E2'.repeat(18)}`;
const VSIX = process.env.SANDPIPER_VSIX ?? 'out/sandpiper-test.vsix';

const quickInput = (page: Page) => page.locator('.quick-input-widget');

async function waitForQuickInputTitle(page: Page, text: RegExp): Promise<void> {
  await quickInput(page)
    .locator('.quick-input-title', { hasText: text })
    .first()
    .waitFor({ state: 'visible', timeout: 30_000 });
}

describe('pr draft in code-server', function () {
  this.timeout(300_000);
  let repo: TestRepo;
  let github: GitHubStandIn;
  let server: CodeServer | undefined;

  before(async () => {
    repo = TestRepo.create('sandpiper-pr-e2e-');
    github = await GitHubStandIn.start({
      token: TOKEN,
      tls: true,
      login: 'alice-gh',
      headExists: async (b) => repo.remoteBranches().includes(b),
    });
    sampleProject(repo, {
      files: {
        'sandpiper.yaml': `baseline: staging\ngithub: { baseUrl: "${github.baseUrl}" }\nservices:\n  tasks:\n    manifests: k8s/\n`,
      },
    });
  });

  after(async () => {
    await server?.stop();
    await github?.stop();
    repo?.remove();
  });

  it('SCM title bar button → review title and checked reviewers → draft created on the stand-in', async () => {
    server = await CodeServer.start({
      workspace: repo.work,
      vsix: path.resolve(repoRoot(), VSIX),
      env: { GH_TOKEN: TOKEN, NODE_EXTRA_CA_CERTS: github.caFile },
      settings: {
        'git.enabled': true,
        'workbench.view.alwaysShowHeaderActions': true,
        'sandpiper.github.approvedHosts': [github.host],
        // VS Code's proxy support patches the extension host's fetch with an agent that trusts the system's
        // certificates (where a user's GitHub Enterprise CA lives); the stand-in's throwaway CA comes through
        // NODE_EXTRA_CA_CERTS, which only Node's own agent reads.
        'http.proxySupport': 'off',
        'http.fetchAdditionalSupport': false,
      },
    });
    const wb = await openWorkbench(server);
    try {
      const { page } = wb;
      // The button in the Source Control title bar (shown when the git extension has the repository).
      await waitForActivityBarIcon(page, 'Sandpiper', { timeoutMs: 60_000 });
      await (await waitForActivityBarIcon(page, 'Source Control', { timeoutMs: 30_000 })).click();
      const button = page.locator('.part.sidebar .action-label[aria-label*="Create Draft Pull Request"]').first();
      await button.waitFor({ state: 'visible', timeout: 60_000 });
      await button.click();

      await waitForQuickInputTitle(page, /Draft Pull Request \(1\/2\): title/);
      const input = quickInput(page).locator('.quick-input-box input');
      assert.equal(await input.inputValue(), 'Add due dates');
      await input.fill('Add due dates to tasks');
      await page.keyboard.press('Enter');

      await waitForQuickInputTitle(page, /Draft Pull Request \(2\/2\): reviewers/);
      const rows = quickInput(page).locator('.monaco-list-row');
      await rows.first().waitFor({ state: 'visible' });
      const texts = await rows.allInnerTexts();
      const labels: string[] = [];
      for (let i = 0; i < texts.length; i++)
        labels.push((await rows.nth(i).locator('.label-name').first().innerText()).trim());
      assert.deepEqual(labels, ['@bob-b', '@acme/tasks-team', '@carol']);
      const checked = await rows.evaluateAll((els) =>
        els.map(
          (el) =>
            el.getAttribute('aria-checked') ??
            (el.querySelector('input[type=checkbox]') as HTMLInputElement | null)?.checked?.toString(),
        ),
      );
      assert.deepEqual(checked, ['true', 'true', 'true']);
      assert.match(texts[0], /owns src\/tasks\/\*\* · edited src\/tasks\/api\.ts/);
      assert.match(texts[2], /owns docs\/ · edited 2 of the changed files/);
      await screenshot(page, 'pr-review-pick');
      await page.keyboard.press('Enter');

      await waitForNotification(
        page,
        /Draft pull request #1 created; review requested from @bob-b, @carol, tasks-team/,
        { timeoutMs: 60_000 },
      );
      await screenshot(page, 'pr-created');
    } catch (err) {
      await screenshot(wb.page, 'pr-failure').catch(() => undefined);
      throw err;
    } finally {
      await wb.close();
    }

    assert.deepEqual(github.sequence(), ['GET pulls/list', 'POST pulls/create', 'POST pulls/request-reviewers']);
    const create = github.requests[1].body as Record<string, unknown>;
    assert.equal(create.draft, true);
    assert.equal(create.title, 'Add due dates to tasks');
    assert.match(String(create.body), /Closes #42/);
    assert.deepEqual(github.requests[2].body, { reviewers: ['bob-b', 'carol'], team_reviewers: ['tasks-team'] });
    assert.ok(repo.remoteBranches().includes('feature/42-add-due-dates'));
  });
});
