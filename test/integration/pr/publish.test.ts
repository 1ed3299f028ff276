// publishDraft with real git, the bare remote and the stand-in: the author is never asked to review,
// a refused review request leaves the draft in place and says why, and cancelling stops before GitHub.
import { strict as assert } from 'node:assert';
import { isCancellation } from '../../../src/core/errors';
import { GitCli } from '../../../src/core/infra/git';
import { planDraft, type PullRequestDraft } from '../../../src/core/pr/draft';
import { OctokitGitHost } from '../../../src/core/infra/github';
import { publishDraft } from '../../../src/core/pr/publish';
import { GitHubStandIn } from '../../support/githubStandIn';
import { TestRepo, sampleProject } from '../../unit/pr/support/gitRepo';

const TOKEN = `ghp_${'P4'.repeat(18)}`;

describe('pr: publishDraft (real git, stand-in)', function () {
  this.timeout(60_000);
  let repo: TestRepo;
  let github: GitHubStandIn;
  let git: GitCli;
  let draft: PullRequestDraft;

  beforeEach(async () => {
    repo = TestRepo.create();
    sampleProject(repo);
    git = new GitCli(repo.work);
    draft = await planDraft(git, { maxReviewers: 3, summary: {} });
  });

  afterEach(async () => {
    await github?.stop();
    repo.remove();
  });

  it('does not ask the PR author (the token user) to review', async () => {
    github = await GitHubStandIn.start({ token: TOKEN, login: 'bob-b' });
    const steps: string[] = [];
    const r = await publishDraft(
      draft,
      { title: draft.title, body: draft.body, reviewers: draft.reviewers },
      { git, host: new OctokitGitHost(TOKEN, github.baseUrl), progress: (s) => steps.push(s) },
    );
    assert.deepEqual(r.requested, { reviewers: ['carol'], team_reviewers: ['tasks-team'] });
    assert.deepEqual(steps, [
      'Pushing feature/42-add-due-dates to origin',
      'Looking for an open pull request of this branch',
      'Creating the draft pull request',
      'Requesting reviewers',
    ]);
  });

  it('keeps the draft and reports it when GitHub refuses the review request', async () => {
    github = await GitHubStandIn.start({ token: TOKEN });
    github.failNext('pulls/request-reviewers', {
      status: 422,
      body: { message: 'Reviews may only be requested from collaborators.' },
    });
    const r = await publishDraft(
      draft,
      { title: draft.title, body: draft.body, reviewers: draft.reviewers },
      { git, host: new OctokitGitHost(TOKEN, github.baseUrl) },
    );
    assert.equal(r.created, true);
    assert.equal(github.pulls.length, 1);
    assert.match(
      r.reviewerProblem ?? '',
      /GitHub rejected requesting reviewers on #1: Reviews may only be requested from collaborators/,
    );
  });

  it('skips the review request when nobody requestable was kept', async () => {
    github = await GitHubStandIn.start({ token: TOKEN });
    const r = await publishDraft(
      draft,
      { title: 'T', body: 'B', reviewers: [] },
      { git, host: new OctokitGitHost(TOKEN, github.baseUrl) },
    );
    assert.deepEqual(github.sequence(), ['GET pulls/list', 'POST pulls/create']);
    assert.equal(r.created, true);
  });

  it('stops at the push when cancelled, and GitHub sees nothing', async () => {
    github = await GitHubStandIn.start({ token: TOKEN });
    const abort = new AbortController();
    await assert.rejects(
      publishDraft(
        draft,
        { title: 'T', body: 'B', reviewers: [] },
        {
          git,
          host: new OctokitGitHost(TOKEN, github.baseUrl),
          signal: abort.signal,
          progress: (s) => s.startsWith('Pushing') && abort.abort(),
        },
      ),
      (err: unknown) => isCancellation(err),
    );
    assert.deepEqual(github.requests, []);
  });
});
