// The PR feature inside the real extension host: its buttons are contributed where the issue asks, the
// token falls back to the host's environment when there is no GitHub session, and the bundled core
// (codeowners-utils, Octokit) plans and publishes a draft against the GitHub stand-in with real git.
import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import { GitCli } from '../../src/core/infra/git';
import { planDraft } from '../../src/core/pr/draft';
import { OctokitGitHost } from '../../src/core/infra/github';
import { publishDraft } from '../../src/core/pr/publish';
import { gitHubToken } from '../../src/features/pr/picks';
import { GitHubStandIn } from '../support/githubStandIn';
import { TestRepo, sampleProject } from '../unit/pr/support/gitRepo';

interface Menus {
  contributes: { menus: Record<string, Array<{ command: string; when?: string }>> };
}

describe('pr (extension host)', function () {
  this.timeout(120_000);
  let pkg: Menus;

  before(async () => {
    const ext = vscode.extensions.getExtension('sandpiper.sandpiper');
    assert.ok(ext);
    await ext.activate();
    pkg = ext.packageJSON as Menus;
  });

  it('puts Create Draft Pull Request in the Source Control title bar and the Environments view', async () => {
    const scm = pkg.contributes.menus['scm/title']?.find((m) => m.command === 'sandpiper.pr.draft');
    assert.ok(scm, 'no scm/title entry');
    assert.match(scm.when ?? '', /scmProvider == git/);
    assert.ok(
      pkg.contributes.menus['view/title']?.some(
        (m) => m.command === 'sandpiper.pr.draft' && /sandpiper\.environments/.test(m.when ?? ''),
      ),
    );
    assert.ok((await vscode.commands.getCommands(true)).includes('sandpiper.pr.draft'));
  });

  it('takes GH_TOKEN from the environment when VS Code has no GitHub Enterprise session', async () => {
    const saved = process.env.GH_TOKEN;
    process.env.GH_TOKEN = 'exthost-token-for-test';
    try {
      assert.equal(await gitHubToken('http://127.0.0.1:9/api/v3'), 'exthost-token-for-test');
    } finally {
      if (saved === undefined) delete process.env.GH_TOKEN;
      else process.env.GH_TOKEN = saved;
    }
  });

  it('plans and publishes a draft with the bundled core against the stand-in', async () => {
    const token = `ghp_${'X7'.repeat(18)}`;
    const repo = TestRepo.create('sandpiper-pr-exthost-');
    const github = await GitHubStandIn.start({ token, prefix: '/api/v3' });
    try {
      sampleProject(repo);
      const git = new GitCli(repo.work);
      const draft = await planDraft(git, { maxReviewers: 2, summary: {} });
      assert.deepEqual(
        draft.reviewers.map((r) => r.label),
        ['@bob-b', '@acme/tasks-team'],
      );
      const result = await publishDraft(
        draft,
        { title: draft.title, body: draft.body, reviewers: draft.reviewers },
        { git, host: new OctokitGitHost(token, github.baseUrl) },
      );
      assert.equal(result.created, true);
      assert.deepEqual(github.sequence(), ['GET pulls/list', 'POST pulls/create', 'POST pulls/request-reviewers']);
      assert.deepEqual(result.requested, { reviewers: ['bob-b'], team_reviewers: ['tasks-team'] });
      assert.ok(repo.remoteBranches().includes('feature/42-add-due-dates'));
    } finally {
      await github.stop();
      repo.remove();
    }
  });
});
