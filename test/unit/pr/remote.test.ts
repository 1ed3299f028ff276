import { strict as assert } from 'node:assert';
import { apiBaseCandidate, parseRemoteUrl, requireRepository } from '../../../src/core/infra/github';

describe('pr: origin remote → GitHub repository', () => {
  it('reads https, ssh and scp-like URLs, with or without .git', () => {
    const cases: Array<[url: string, host: string]> = [
      ['https://github.com/acme/todo.git', 'github.com'],
      ['https://x-access:secret@github.com/acme/todo', 'github.com'],
      ['git@github.com:acme/todo.git', 'github.com'],
      ['ssh://git@ghe.corp.example:2222/acme/todo.git', 'ghe.corp.example'],
      ['https://ghe.corp.example/scm/acme/todo/', 'ghe.corp.example'],
    ];
    for (const [url, host] of cases) {
      assert.deepEqual(parseRemoteUrl(url), { host, owner: 'acme', repo: 'todo' });
    }
  });

  it('refuses what is not a hosted repository', () => {
    assert.equal(parseRemoteUrl('/srv/git/todo.git'), undefined);
    assert.equal(parseRemoteUrl('file:///srv/git/acme/todo.git'), undefined);
    assert.equal(parseRemoteUrl('https://github.com/justone'), undefined);
    assert.throws(() => requireRepository('origin', undefined), { code: 'pr-no-remote' });
    assert.throws(() => requireRepository('origin', 'file:///tmp/x'), { code: 'pr-remote-not-github' });
  });

  it('never shows credentials embedded in the remote URL', () => {
    assert.throws(
      () => requireRepository('origin', 'ftp://me:hunter2@host/x'),
      (e: Error) => !e.message.includes('hunter2'),
    );
  });

  it('proposes the API base URL, configured value first (the trust policy decides whether the token may go there)', () => {
    const gh = { host: 'github.com', owner: 'a', repo: 'b' };
    const ghe = { host: 'ghe.corp.example', owner: 'a', repo: 'b' };
    const yaml = { url: 'https://ghe.corp.example/api/v3/', source: 'sandpiper.yaml' };
    assert.deepEqual(apiBaseCandidate(gh, undefined, {}), {
      url: 'https://api.github.com',
      source: 'the origin remote',
    });
    assert.deepEqual(apiBaseCandidate(ghe, undefined, {}), {
      url: 'https://ghe.corp.example/api/v3',
      source: 'the origin remote',
    });
    assert.deepEqual(apiBaseCandidate(ghe, yaml, { GITHUB_API_URL: 'https://x.example' }), yaml);
    assert.deepEqual(apiBaseCandidate(gh, undefined, { GITHUB_API_URL: 'http://127.0.0.1:9/api/v3' }), {
      url: 'http://127.0.0.1:9/api/v3',
      source: 'GITHUB_API_URL',
    });
  });
});
