// `sandpiper pr draft` end to end: the real CLI, real git with a real bare remote, and the GitHub
// stand-in that checks every request against GitHub's OpenAPI description. The stand-in serves https and is
// approved the way a person approves a GitHub Enterprise host: --github-host <host> --yes.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GitHubStandIn } from '../../support/githubStandIn';
import { assertGolden } from '../../unit/pr/support/golden';
import { TestRepo, sampleProject } from '../../unit/pr/support/gitRepo';
import { BundledCli, type CliRun } from './support/cli';

let cli: BundledCli;
const TOKEN = `ghp_${'Z9'.repeat(18)}`;
const TEMPLATE = '## Summary\n\n## Related issue\nCloses #\n';
const SANDPIPER_YAML =
  'baseline: staging\nservices:\n  tasks:\n    manifests: k8s/\n    dependencies: { search: shared, mongo: copy }\n';

/** A kubeconfig with no cluster in it. */
function noCluster(repo: TestRepo): string {
  const file = path.join(repo.tmp, 'no-cluster.kubeconfig');
  fs.writeFileSync(file, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
  return file;
}

describe('pr draft (CLI, real git, GitHub stand-in)', function () {
  this.timeout(120_000);
  let repo: TestRepo;
  let github: GitHubStandIn;
  const runs: CliRun[] = [];

  async function startGitHub(prefix?: string): Promise<void> {
    github = await GitHubStandIn.start({
      token: TOKEN,
      prefix,
      tls: true,
      login: 'alice-gh',
      // GitHub refuses a head branch it does not have: proves the push came first.
      headExists: async (branch) => repo.remoteBranches().includes(branch),
    });
  }

  async function draft(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
    const approve = args.includes('--dry-run') ? [] : ['--github-host', github.host, '--yes'];
    const r = await cli.run(repo.work, ['pr', 'draft', ...args, ...approve], {
      // No cluster: the body's canary line must not depend on what a shared testbed's staging holds (the tour and
      // `npm start` run canaries of tasks there); canaryResults.test.ts covers the cluster's part.
      KUBECONFIG: noCluster(repo),
      GITHUB_TOKEN: TOKEN,
      GITHUB_API_URL: github.baseUrl,
      NODE_EXTRA_CA_CERTS: github.caFile,
      ...env,
    });
    runs.push(r);
    return r;
  }

  before(async () => {
    cli = await BundledCli.build();
  });

  beforeEach(async () => {
    repo = TestRepo.create();
    sampleProject(repo, { files: { '.github/pull_request_template.md': TEMPLATE, 'sandpiper.yaml': SANDPIPER_YAML } });
    await startGitHub();
  });

  afterEach(async () => {
    await github?.stop();
    repo?.remove();
  });

  after(() => {
    cli.remove();
    // The token went to every run above; it must not appear in anything they printed.
    assert.ok(runs.length >= 8, `expected the runs of this suite, got ${runs.length}`);
    for (const r of runs)
      assert.ok(!`${r.stdout}\n${r.stderr}`.includes(TOKEN), `the token was printed:\n${r.stdout}\n${r.stderr}`);
  });

  it('--dry-run --json prints title, body and ranked reviewers with reasons, and touches nothing', async () => {
    const r = await draft(['--dry-run', '--json', '--env', 'alice-42-due-dates']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.title, 'Add due dates');
    assert.equal(out.base, 'main');
    assert.deepEqual(out.repository, { host: 'github.example', owner: 'acme', repo: 'todo' });
    assert.deepEqual(
      out.reviewers.map((x: { label: string; reasons: string[] }) => [x.label, x.reasons]),
      [
        ['@bob-b', ['owns src/tasks/**', 'edited src/tasks/api.ts']],
        ['@acme/tasks-team', ['owns src/tasks/**']],
        ['@carol', ['owns docs/', 'edited 2 of the changed files']],
      ],
    );
    assertGolden('cli-dry-run.md', out.body);
    assert.deepEqual(github.requests, []);
    assert.deepEqual(repo.remoteBranches(), ['main']);
  });

  it('pushes the branch, creates a draft with the golden body and requests users and teams separately', async () => {
    const r = await draft(['--json', '--env', 'alice-42-due-dates']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(repo.remoteBranches().sort(), ['feature/42-add-due-dates', 'main']);
    assert.equal(
      repo.git('rev-parse', '--abbrev-ref', 'feature/42-add-due-dates@{upstream}').trim(),
      'origin/feature/42-add-due-dates',
    );
    assert.deepEqual(github.sequence(), ['GET pulls/list', 'POST pulls/create', 'POST pulls/request-reviewers']);
    assert.ok(
      github.requests.every((q) => q.status < 300 && q.authorized),
      JSON.stringify(github.requests),
    );
    assert.deepEqual(github.requests[0].query, {
      head: 'acme:feature/42-add-due-dates',
      state: 'open',
      per_page: '10',
    });
    assert.equal(github.requests[0].path, '/repos/acme/todo/pulls');
    const create = github.requests[1].body as Record<string, unknown>;
    assert.equal(create.draft, true);
    assert.equal(create.head, 'feature/42-add-due-dates');
    assert.equal(create.base, 'main');
    assert.equal(create.title, 'Add due dates');
    assertGolden('cli-dry-run.md', String(create.body));
    assert.equal(github.requests[2].path, '/repos/acme/todo/pulls/1/requested_reviewers');
    assert.deepEqual(github.requests[2].body, { reviewers: ['bob-b', 'carol'], team_reviewers: ['tasks-team'] });
    const out = JSON.parse(r.stdout);
    assert.equal(out.created, true);
    assert.deepEqual(out.pullRequest, {
      number: 1,
      url: `${github.origin}/acme/todo/pull/1`,
      draft: true,
      author: 'alice-gh',
    });
  });

  it('reuses the open pull request of the branch instead of creating another', async () => {
    github.seedPullRequest({
      owner: 'acme',
      repo: 'todo',
      head: 'feature/42-add-due-dates',
      base: 'main',
      title: 'Earlier',
      body: '',
      draft: true,
      state: 'open',
    });
    const r = await draft([]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(github.sequence(), ['GET pulls/list']);
    assert.match(r.stdout, /Pull request #1 is already open for this branch: .*\/acme\/todo\/pull\/1/);
    assert.deepEqual(repo.remoteBranches().sort(), ['feature/42-add-due-dates', 'main']);
  });

  it('refuses the default branch and pushes nothing', async () => {
    repo.git('switch', '-q', 'main');
    const r = await draft([]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /You are on main, the default branch/);
    assert.match(r.stderr, /git switch -c/);
    assert.deepEqual(github.requests, []);
  });

  it('warns about uncommitted changes and goes on', async () => {
    repo.write('src/tasks/api.ts', 'not committed\n');
    const r = await draft([]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: 1 file\(s\) have uncommitted changes .*src\/tasks\/api\.ts/);
    assert.match(r.stdout, /Created draft pull request #1/);
  });

  it('talks to a GitHub Enterprise base URL with its /api/v3 prefix from sandpiper.yaml', async () => {
    await github.stop();
    await startGitHub('/api/v3');
    repo.write('sandpiper.yaml', `${SANDPIPER_YAML}github: { baseUrl: "${github.baseUrl}", maxReviewers: 1 }\n`);
    repo.git('commit', '-q', '-am', 'Point at GHE');
    // No GITHUB_API_URL: the base URL comes from sandpiper.yaml alone.
    const r = await draft([], { GITHUB_API_URL: undefined });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(github.baseUrl.endsWith('/api/v3'));
    assert.deepEqual(github.sequence(), ['GET pulls/list', 'POST pulls/create', 'POST pulls/request-reviewers']);
    assert.deepEqual(github.requests[2].body, { reviewers: ['bob-b'], team_reviewers: [] });
  });

  describe('errors tried on purpose', () => {
    it('no token', async () => {
      const r = await draft([], { GITHUB_TOKEN: undefined, GH_TOKEN: undefined });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /No GitHub token found in GITHUB_TOKEN or GH_TOKEN/);
    });

    it('auth refused (401)', async () => {
      const r = await draft([], { GITHUB_TOKEN: `ghp_${'w'.repeat(36)}` });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /GitHub refused the token while listing the open pull requests of acme\/todo \(401 Bad credentials\)/,
      );
      assert.ok(!r.stderr.includes('w'.repeat(36)));
    });

    it('no permission (403) when creating', async () => {
      github.failNext('pulls/create', {
        status: 403,
        body: { message: 'Resource not accessible by personal access token' },
      });
      const r = await draft([]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /GitHub did not allow creating the pull request on acme\/todo \(403: Resource not accessible by personal access token\)/,
      );
      assert.match(r.stderr, /"repo" scope/);
    });

    it('repository not visible (404)', async () => {
      github.failNext('pulls/list', { status: 404, body: { message: 'Not Found' } });
      const r = await draft([]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /404 .*the repository does not exist or the token cannot see it/);
    });

    it('rate-limited, with the reset time', async () => {
      const reset = Math.floor(Date.UTC(2030, 0, 2, 3, 4, 5) / 1000);
      github.failNext('pulls/list', {
        status: 403,
        headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
        body: { message: 'API rate limit exceeded' },
      });
      const r = await draft([]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /rate limit .*resets at 2030-01-02 03:04:05 UTC/);
    });

    it('network down', async () => {
      const url = github.baseUrl;
      await github.stop();
      const r = await draft([], { GITHUB_API_URL: url });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Cannot reach GitHub at https:\/\/127\.0\.0\.1:\d+/);
      await startGitHub();
    });

    it('no remote', async () => {
      repo.git('remote', 'remove', 'origin');
      const r = await draft([]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no "origin" remote|Cannot tell the default branch/);
    });
  });

  it('the stand-in itself rejects a wrong route (404), a bad body (422) and a bad query (422)', async () => {
    // Called from this process, which does not trust the test certificate: the same stand-in over http.
    await github.stop();
    github = await GitHubStandIn.start({ token: TOKEN });
    const call = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(`${github.baseUrl}${p}`, {
        method,
        headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as { errors?: string[] } };
    };
    assert.equal((await call('POST', '/repos/acme/todo/pull', { head: 'x', base: 'main' })).status, 404);
    assert.equal((await call('PUT', '/repos/acme/todo/pulls')).status, 404);
    const badBody = await call('POST', '/repos/acme/todo/pulls', {
      head: 'x',
      base: 'main',
      draft: 'yes',
      teamReviewers: [],
    });
    assert.equal(badBody.status, 422);
    assert.match(JSON.stringify(badBody.json.errors), /draft must be boolean/);
    assert.match(JSON.stringify(badBody.json.errors), /teamReviewers/);
    assert.equal((await call('POST', '/repos/acme/todo/pulls', { title: 'no head' })).status, 422);
    assert.equal((await call('GET', '/repos/acme/todo/pulls?state=opened')).status, 422);
    assert.equal((await call('GET', '/repos/acme/todo/pulls?heads=x')).status, 422);
    assert.equal(
      (await call('POST', '/repos/acme/todo/pulls/1/requested_reviewers', { reviewers: 'bob' })).status,
      422,
    );
  });
});
