import { strict as assert } from 'node:assert';
import { linkedIssueFromBranch, titleFromBranch } from '../../../src/core/pr/draft';

describe('pr: branch name → issue and title', () => {
  it('links a GitHub issue number at the start of the last segment', () => {
    assert.deepEqual(linkedIssueFromBranch('123-fix-x'), { kind: 'github', number: 123, reference: '#123' });
    assert.deepEqual(linkedIssueFromBranch('feature/42-add-due-dates'), {
      kind: 'github',
      number: 42,
      reference: '#42',
    });
    assert.deepEqual(linkedIssueFromBranch('alice/issue-7-typo'), { kind: 'github', number: 7, reference: '#7' });
    assert.deepEqual(linkedIssueFromBranch('gh-99'), { kind: 'github', number: 99, reference: '#99' });
  });

  it('links tracker keys such as ABC-123, upper case only', () => {
    assert.deepEqual(linkedIssueFromBranch('feature/ABC-123-x'), { kind: 'key', key: 'ABC-123', reference: 'ABC-123' });
    assert.deepEqual(linkedIssueFromBranch('PROJ2-9'), { kind: 'key', key: 'PROJ2-9', reference: 'PROJ2-9' });
    assert.equal(linkedIssueFromBranch('fix-123-login')?.kind, 'github');
  });

  it('links nothing when the branch names no issue', () => {
    assert.equal(linkedIssueFromBranch('improve-logging'), undefined);
    assert.equal(linkedIssueFromBranch('feature/v2-api'), undefined);
  });

  it('makes a readable title without prefixes and numbers', () => {
    assert.equal(
      titleFromBranch('123-fix-login-redirect', linkedIssueFromBranch('123-fix-login-redirect')),
      'Fix login redirect',
    );
    assert.equal(
      titleFromBranch('feature/ABC-123-add-search', linkedIssueFromBranch('feature/ABC-123-add-search')),
      'ABC-123: Add search',
    );
    assert.equal(titleFromBranch('alice/fix/cache_warmup'), 'Cache warmup');
    assert.equal(titleFromBranch('improve-logging'), 'Improve logging');
  });
});
