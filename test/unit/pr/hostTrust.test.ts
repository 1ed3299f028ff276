// Where the GitHub token may go: api.github.com, or a host the user approved outside the workspace; https only.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { apiBaseCandidate, normalizeHost, trustedApiBase } from '../../../src/core/infra/github';
import { approvedApiBase, approvedHostsFile, readApprovedHosts } from '../../../src/core/pr/hostApproval';

const GITHUB_ORIGIN = { host: 'github.com', owner: 'acme', repo: 'todo' };
const GHE_ORIGIN = { host: 'ghe.corp.example', owner: 'acme', repo: 'todo' };
const yaml = (url: string) => ({ url, source: 'sandpiper.yaml' });

describe('pr: GitHub token trust policy', () => {
  it('always trusts https://api.github.com', () => {
    assert.equal(trustedApiBase(apiBaseCandidate(GITHUB_ORIGIN, undefined, {}), []), 'https://api.github.com');
    assert.equal(trustedApiBase(yaml('https://API.github.com/'), []), 'https://api.github.com');
  });

  it('refuses a host named by sandpiper.yaml unless the user approved it', () => {
    const candidate = apiBaseCandidate(GITHUB_ORIGIN, yaml('https://collector.example:8443/api/v3'), {});
    assert.throws(
      () => trustedApiBase(candidate, []),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'github-host-not-approved');
        assert.match(e.message, /sandpiper\.yaml names https:\/\/collector\.example:8443\/api\/v3/);
        return true;
      },
    );
    assert.throws(() => trustedApiBase(candidate, ['collector.example']), { code: 'github-host-not-approved' });
    assert.equal(trustedApiBase(candidate, ['Collector.Example:8443']), 'https://collector.example:8443/api/v3');
  });

  it("does not trust the origin remote's own host", () => {
    const candidate = apiBaseCandidate(GHE_ORIGIN, undefined, {});
    assert.throws(() => trustedApiBase(candidate, []), { code: 'github-host-not-approved' });
    assert.equal(trustedApiBase(candidate, ['https://ghe.corp.example/']), 'https://ghe.corp.example/api/v3');
  });

  it('does not trust GITHUB_API_URL unless approved', () => {
    const candidate = apiBaseCandidate(GITHUB_ORIGIN, undefined, { GITHUB_API_URL: 'https://ghe.corp.example/api/v3' });
    assert.throws(() => trustedApiBase(candidate, []), /GITHUB_API_URL names/);
    assert.equal(trustedApiBase(candidate, ['ghe.corp.example']), 'https://ghe.corp.example/api/v3');
    assert.equal(
      trustedApiBase(apiBaseCandidate(GITHUB_ORIGIN, undefined, { GITHUB_API_URL: 'https://api.github.com' }), []),
      'https://api.github.com',
    );
  });

  it('refuses plain http even for an approved host or api.github.com, and URLs with credentials', () => {
    assert.throws(
      () => trustedApiBase(yaml('http://ghe.corp.example/api/v3'), ['ghe.corp.example']),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'github-insecure-url');
        assert.match(e.message, /https only/);
        return true;
      },
    );
    assert.throws(() => trustedApiBase(yaml('http://api.github.com'), []), { code: 'github-insecure-url' });
    assert.throws(() => trustedApiBase(yaml('https://u:p@api.github.com'), []), { code: 'pr-bad-base-url' });
    assert.throws(() => trustedApiBase(yaml('not a url'), []), { code: 'pr-bad-base-url' });
    assert.throws(() => trustedApiBase(yaml('ftp://api.github.com'), []), { code: 'pr-bad-base-url' });
  });

  it('normalizes approved host entries', () => {
    assert.equal(normalizeHost(' GHE.Corp.Example '), 'ghe.corp.example');
    assert.equal(normalizeHost('https://ghe.corp.example:443/api/v3'), 'ghe.corp.example');
    assert.equal(normalizeHost('127.0.0.1:8443'), '127.0.0.1:8443');
  });

  describe('approval', () => {
    it('asks about an unapproved https host only, and uses the answer', async () => {
      const asked: string[] = [];
      const ask = async (host: string) => (asked.push(host), host === 'ghe.corp.example');
      assert.equal(
        await approvedApiBase(yaml('https://ghe.corp.example/api/v3'), [], ask),
        'https://ghe.corp.example/api/v3',
      );
      await assert.rejects(approvedApiBase(yaml('https://evil.example/api/v3'), [], ask), {
        code: 'github-host-not-approved',
      });
      await assert.rejects(approvedApiBase(yaml('http://ghe.corp.example/api/v3'), [], ask), {
        code: 'github-insecure-url',
      });
      assert.equal(await approvedApiBase(yaml('https://api.github.com'), [], ask), 'https://api.github.com');
      assert.deepEqual(asked, ['ghe.corp.example', 'evil.example']);
      await assert.rejects(approvedApiBase(yaml('https://ghe.corp.example/api/v3'), []), {
        code: 'github-host-not-approved',
      });
    });

    it('reads the user-level approvals file under XDG_CONFIG_HOME (missing: none; malformed: an error)', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandpiper-hosts-'));
      try {
        const file = approvedHostsFile({ XDG_CONFIG_HOME: dir });
        assert.equal(file, path.join(dir, 'sandpiper', 'github-hosts.json'));
        assert.deepEqual(await readApprovedHosts(file), []);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, JSON.stringify({ approvedHosts: ['GHE.corp.example'] }));
        assert.deepEqual(await readApprovedHosts(file), ['ghe.corp.example']);
        fs.writeFileSync(file, '{"approvedHosts": "ghe.corp.example"}');
        await assert.rejects(readApprovedHosts(file), { code: 'invalid' });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
