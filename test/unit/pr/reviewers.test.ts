import { strict as assert } from 'node:assert';
import { parse } from 'codeowners-utils';
import type { FileAuthor } from '../../../src/core/infra/git';
import { githubLoginFromEmail, reviewerRequest, suggestReviewers } from '../../../src/core/pr/reviewers';

const OWNERS = {
  path: '.github/CODEOWNERS',
  entries: parse(
    [
      '*                @acme/platform',
      'src/tasks/**     @acme/tasks-team @bob',
      'src/tasks/legacy/ @dave',
      'docs/            carol@users.noreply.github.com writer@corp.example',
      '*.md             @alice',
    ].join('\n'),
  ),
};

const ALICE = { email: 'alice@corp.example', name: 'Alice', login: 'alice' };

function authors(...list: Array<[string, string, number]>): FileAuthor[] {
  return list.map(([email, name, time]) => ({ email, name, time }));
}

/** Suggestions for ALICE's change from CODEOWNERS alone (no history), up to 10. */
function byOwnersOnly(changedFiles: string[]) {
  return suggestReviewers({ changedFiles, owners: OWNERS, history: new Map(), author: ALICE, max: 10 });
}

describe('pr: suggested reviewers', () => {
  it('maps GitHub noreply emails to logins and nothing else', () => {
    assert.equal(githubLoginFromEmail('1234+octo-cat@users.noreply.github.com'), 'octo-cat');
    assert.equal(githubLoginFromEmail('octocat@users.noreply.github.com'), 'octocat');
    assert.equal(githubLoginFromEmail('octocat@users.noreply.ghe.corp.example'), 'octocat');
    assert.equal(githubLoginFromEmail('octocat@github.com'), undefined);
  });

  it('uses the last matching CODEOWNERS rule, keeps teams as teams, and drops the author', () => {
    const r = byOwnersOnly(['src/tasks/api.ts', 'src/tasks/legacy/old.ts', 'README.md']);
    assert.deepEqual(
      r.map((x) => [x.label, x.kind, x.reasons]),
      [
        ['@acme/tasks-team', 'team', ['owns src/tasks/**']],
        ['@bob', 'user', ['owns src/tasks/**']],
        ['@dave', 'user', ['owns src/tasks/legacy/']],
      ],
    );
    // README.md is owned by @alice (last rule), the author: nobody else is suggested for it.
    assert.deepEqual(r.find((x) => x.kind === 'team')?.team, { org: 'acme', slug: 'tasks-team' });
  });

  it('turns email owners into logins when they are noreply addresses, else marks them unresolvable', () => {
    const r = byOwnersOnly(['docs/guide.txt']);
    assert.deepEqual(
      r.map((x) => [x.label, x.kind, x.login]),
      [
        ['@carol', 'user', 'carol'],
        ['writer@corp.example', 'unresolved', undefined],
      ],
    );
    assert.match(r[1].reasons.join(' '), /no GitHub login known/);
  });

  it('adds the most recent other authors, ranked by files edited then recency, capped', () => {
    const history = new Map<string, FileAuthor[]>([
      [
        'lib/a.ts',
        authors(
          ['alice@corp.example', 'Alice', 50],
          ['9+erin@users.noreply.github.com', 'Erin', 40],
          ['frank@corp.example', 'Frank', 30],
        ),
      ],
      [
        'lib/b.ts',
        authors(
          ['frank@corp.example', 'Frank', 45],
          ['gina@users.noreply.github.com', 'Gina', 44],
          ['dependabot[bot]@users.noreply.github.com', 'dependabot[bot]', 60],
        ),
      ],
      ['lib/c.ts', authors(['frank@corp.example', 'Frank', 10], ['frank@corp.example', 'Frank', 5])],
    ]);
    const r = suggestReviewers({ changedFiles: ['lib/a.ts', 'lib/b.ts', 'lib/c.ts'], history, author: ALICE, max: 3 });
    assert.deepEqual(
      r.map((x) => [x.label, x.kind, x.reasons.join('; ')]),
      [
        ['Frank', 'unresolved', 'edited 3 of the changed files; no GitHub login known: mention them yourself'],
        ['@gina', 'user', 'edited lib/b.ts'],
        ['@erin', 'user', 'edited lib/a.ts'],
      ],
    );
  });

  it('puts owners before authors and merges the reasons of someone who is both', () => {
    const history = new Map<string, FileAuthor[]>([
      [
        'src/tasks/api.ts',
        authors(['1+bob@users.noreply.github.com', 'Bob', 9], ['zed@users.noreply.github.com', 'Zed', 8]),
      ],
    ]);
    const r = suggestReviewers({ changedFiles: ['src/tasks/api.ts'], owners: OWNERS, history, author: ALICE, max: 3 });
    assert.deepEqual(
      r.map((x) => [x.label, x.reasons]),
      [
        ['@bob', ['owns src/tasks/**', 'edited src/tasks/api.ts']],
        ['@acme/tasks-team', ['owns src/tasks/**']],
        ['@zed', ['edited src/tasks/api.ts']],
      ],
    );
    assert.deepEqual(reviewerRequest(r), { reviewers: ['bob', 'zed'], team_reviewers: ['tasks-team'] });
  });
});
