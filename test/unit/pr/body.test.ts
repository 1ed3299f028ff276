import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CommitInfo } from '../../../src/core/infra/git';
import { renderPullRequestBody, type SandpiperSummary } from '../../../src/core/pr/body';
import { linkedIssueFromBranch } from '../../../src/core/pr/draft';
import { chooseTemplate, findPullRequestTemplates } from '../../../src/core/pr/body';
import { assertGolden } from './support/golden';

const COMMITS: CommitInfo[] = [
  { sha: 'b', subject: 'Document due dates', body: '', authorEmail: 'a@x', authorName: 'A' },
  { sha: 'a', subject: 'Add due dates to tasks', body: '', authorEmail: 'a@x', authorName: 'A' },
];
const FULL: SandpiperSummary = {
  environment: {
    name: 'alice-feature-42-add-due-dates-3f9a1c',
    services: [
      { name: 'tasks', detail: 'deployed' },
      { name: 'search', detail: 'shared' },
      { name: 'mongo', detail: 'copy' },
    ],
  },
  tests: [{ name: 'unit', passed: 128, failed: 0, skipped: 2 }],
  canary: { service: 'tasks', verdict: 'promoted', step: '4/4 (100%)', successRate: 0.9985, p99LatencyMs: 212.4 },
};

function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sandpiper-tpl-'));
  for (const [f, t] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), t);
  }
  return root;
}

const GITHUB_STYLE = `## Summary
<!-- What does this change and why? -->

## Related issue
Closes #

## Checklist
- [ ] Tests added
`;

describe('pr: templates and bodies', () => {
  it('finds templates in .github, the root and docs, any case, single files first', async () => {
    const root = tree({
      '.github/PULL_REQUEST_TEMPLATE/bugfix.md': 'bug',
      '.github/PULL_REQUEST_TEMPLATE/feature.md': 'feature',
      '.github/PULL_REQUEST_TEMPLATE/notes.png': 'x',
      'docs/Pull_Request_Template.md': 'docs one',
      'pull_request_template.md': 'root one',
      'src/pull_request_template.md': 'not a location',
    });
    const found = await findPullRequestTemplates(root);
    assert.deepEqual(
      found.map((t) => t.path),
      [
        'pull_request_template.md',
        'docs/Pull_Request_Template.md',
        '.github/PULL_REQUEST_TEMPLATE/bugfix.md',
        '.github/PULL_REQUEST_TEMPLATE/feature.md',
      ],
    );
    assert.equal(chooseTemplate(found)?.text, 'root one');
    assert.equal(chooseTemplate(found, 'FEATURE')?.text, 'feature');
    assert.equal(chooseTemplate(found, '.github/pull_request_template/bugfix.md')?.text, 'bug');
    assert.equal(chooseTemplate(found, 'nope'), undefined);
    fs.rmSync(root, { recursive: true });
  });

  it('prefers .github over the root over docs for the default template', async () => {
    const root = tree({ '.github/pull_request_template.md': 'github one', 'PULL_REQUEST_TEMPLATE.md': 'root one' });
    assert.equal(chooseTemplate(await findPullRequestTemplates(root))?.text, 'github one');
    fs.rmSync(root, { recursive: true });
  });

  it('fills a GitHub-style template: summary from commits, the Closes placeholder, the Sandpiper section', () => {
    const body = renderPullRequestBody({
      template: { path: 't', name: 't', text: GITHUB_STYLE },
      issue: linkedIssueFromBranch('feature/42-add-due-dates'),
      commits: COMMITS,
      summary: FULL,
    });
    assertGolden('github-style-template.md', body);
  });

  it('puts a tracker key under an issue heading when there is no Closes line', () => {
    const text = '# Description\n\nExplain.\n\n## Ticket\n\n## Testing\n\n- [ ] manual\n';
    const body = renderPullRequestBody({
      template: { path: 't', name: 't', text },
      issue: linkedIssueFromBranch('feature/ABC-123-search'),
      commits: COMMITS,
      summary: {},
    });
    assertGolden('tracker-key-template.md', body);
  });

  it('without a template: a summary of the commits, the issue first, and says what is not known', () => {
    const body = renderPullRequestBody({
      issue: linkedIssueFromBranch('7-typo'),
      commits: COMMITS.slice(1),
      summary: { environment: FULL.environment },
    });
    assertGolden('no-template.md', body);
  });

  it('keeps a section the template already filled and shows failing tests', () => {
    const text = '## What\nAlready written by hand.\n';
    const body = renderPullRequestBody({
      template: { path: 't', name: 't', text },
      commits: COMMITS,
      summary: {
        tests: [{ name: 'integration', passed: 3, failed: 1 }],
        canary: { verdict: 'rolled back', successRate: 0.91 },
      },
    });
    assertGolden('filled-template.md', body);
  });
});
