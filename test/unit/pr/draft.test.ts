import { strict as assert } from 'node:assert';
import { GitCli } from '../../../src/core/infra/git';
import { planDraft } from '../../../src/core/pr/draft';
import { assertGolden } from './support/golden';
import { ALICE, TestRepo, sampleProject } from './support/gitRepo';

const TEMPLATE = '## Summary\n\n## Related issue\nCloses #\n';

describe('pr: draft planned from a real repository', function () {
  this.timeout(30_000);
  let repo: TestRepo;

  afterEach(() => repo?.remove());

  it('reads branch, base, changed files, commits, template, issue and reviewers with reasons', async () => {
    repo = TestRepo.create();
    sampleProject(repo, { files: { '.github/pull_request_template.md': TEMPLATE } });
    const draft = await planDraft(new GitCli(repo.work), {
      maxReviewers: 3,
      summary: { environment: { name: 'alice-42-due-dates', services: [{ name: 'tasks' }] } },
    });
    assert.equal(draft.branch, 'feature/42-add-due-dates');
    assert.equal(draft.base, 'main');
    assert.equal(draft.baseRef, 'origin/main');
    assert.deepEqual(draft.repository, { host: 'github.example', owner: 'acme', repo: 'todo' });
    assert.deepEqual(draft.changedFiles, ['docs/tasks.md', 'src/tasks/api.ts', 'src/tasks/store.ts']);
    assert.deepEqual(
      draft.commits.map((c) => c.subject),
      ['Document due dates', 'Add due dates to tasks'],
    );
    assert.deepEqual(draft.issue, { kind: 'github', number: 42, reference: '#42' });
    assert.equal(draft.title, 'Add due dates');
    assert.equal(draft.template?.path, '.github/pull_request_template.md');
    assert.deepEqual(draft.uncommitted, []);
    assert.deepEqual(
      draft.reviewers.map((r) => `${r.label} [${r.kind}] ${r.reasons.join('; ')}`),
      [
        '@bob-b [user] owns src/tasks/**; edited src/tasks/api.ts',
        '@acme/tasks-team [team] owns src/tasks/**',
        '@carol [user] owns docs/; edited 2 of the changed files',
      ],
    );
    assert.ok(!draft.reviewers.some((r) => r.label.includes('alice')));
    assertGolden('sample-project.md', draft.body);
  });

  it('ranks history authors when there is no CODEOWNERS, Dave without a login stays a name', async () => {
    repo = TestRepo.create();
    sampleProject(repo);
    repo.git('rm', '-q', '.github/CODEOWNERS');
    repo.git('commit', '-q', '-m', 'No owners');
    const draft = await planDraft(new GitCli(repo.work), { maxReviewers: 5, summary: {} });
    assert.deepEqual(
      draft.reviewers.map((r) => `${r.label} [${r.kind}] ${r.reasons[0]}`),
      [
        'Dave Dev [unresolved] edited 4 of the changed files',
        '@carol [user] edited 2 of the changed files',
        '@bob-b [user] edited src/tasks/api.ts',
      ],
    );
    assert.equal(draft.template, undefined);
    assert.equal(draft.title, 'Add due dates');
  });

  it('sees uncommitted changes, and takes --base and --title', async () => {
    repo = TestRepo.create();
    sampleProject(repo);
    repo.write('src/tasks/api.ts', 'changed but not committed\n');
    repo.write('notes.txt', 'new\n');
    const draft = await planDraft(new GitCli(repo.work), {
      maxReviewers: 3,
      summary: {},
      base: 'main',
      title: '  Due dates  ',
    });
    assert.deepEqual(draft.uncommitted.sort(), ['notes.txt', 'src/tasks/api.ts']);
    assert.equal(draft.title, 'Due dates');
  });

  it('refuses the default branch, a detached HEAD, a branch without commits and an unknown base', async () => {
    repo = TestRepo.create();
    sampleProject(repo);
    const git = new GitCli(repo.work);
    await assert.rejects(planDraft(git, { maxReviewers: 3, summary: {}, base: 'nope' }), { code: 'pr-no-base' });
    repo.git('switch', '-q', 'main');
    await assert.rejects(planDraft(git, { maxReviewers: 3, summary: {} }), { code: 'pr-default-branch' });
    repo.git('switch', '-q', '-c', 'empty-branch');
    await assert.rejects(planDraft(git, { maxReviewers: 3, summary: {} }), { code: 'pr-no-commits' });
    repo.git('switch', '-q', '--detach', 'HEAD');
    await assert.rejects(planDraft(git, { maxReviewers: 3, summary: {} }), { code: 'pr-detached' });
    assert.equal(ALICE.email, (await git.userIdentity()).email);
  });
});

describe('pr: git errors', function () {
  this.timeout(30_000);

  it('never repeat credentials from a remote URL', async () => {
    const repo = TestRepo.create();
    try {
      sampleProject(repo);
      repo.git('remote', 'set-url', 'origin', 'https://x-access-token:hunter2secret@127.0.0.1:9/acme/todo.git');
      const git = new GitCli(repo.work);
      await assert.rejects(
        git.pushWithUpstream('origin', 'feature/42-add-due-dates'),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'pr-push-failed');
          assert.match(
            err.message,
            /Pushing feature\/42-add-due-dates to origin failed: fatal: unable to access 'https:\/\/127\.0\.0\.1:9\/acme\/todo\.git\/'/,
          );
          assert.ok(!err.message.includes('hunter2secret'), err.message);
          return true;
        },
      );
    } finally {
      repo.remove();
    }
  });
});
