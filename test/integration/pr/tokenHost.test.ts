// The GitHub token goes only to api.github.com or a host the user approved, over https. Stand-ins that record
// every request play the host a workspace file (or the environment, or the origin remote) names; the real CLI
// runs against them with a token, and they must never see an Authorization header unless the user approved them.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { GitHubStandIn } from '../../support/githubStandIn';
import { TestRepo, sampleProject } from '../../unit/pr/support/gitRepo';
import { BundledCli, type CliRun } from './support/cli';

const TOKEN = `ghp_${'T0'.repeat(18)}`;
const YAML = 'baseline: staging\nservices:\n  tasks:\n    manifests: k8s/\n';

describe('pr draft: where the GitHub token may go (CLI, stand-ins)', function () {
  this.timeout(120_000);
  let cli: BundledCli;
  let repo: TestRepo;
  let plain: GitHubStandIn;
  let secure: GitHubStandIn;

  before(async () => {
    cli = await BundledCli.build();
  });

  after(() => cli.remove());

  beforeEach(async () => {
    repo = TestRepo.create('sandpiper-token-host-');
    sampleProject(repo, { files: { 'sandpiper.yaml': YAML } });
    // origin is github.com (rewritten by git to the local bare repository).
    repo.git('remote', 'set-url', 'origin', 'https://github.com/acme/todo.git');
    repo.git('config', `url.file://${path.join(repo.tmp, 'remotes')}/.insteadOf`, 'https://github.com/');
    plain = await GitHubStandIn.start({ token: TOKEN, prefix: '/api/v3' });
    secure = await GitHubStandIn.start({ token: TOKEN, prefix: '/api/v3', tls: true });
    cli.approveHosts(null);
  });

  afterEach(async () => {
    await plain.stop();
    await secure.stop();
    repo.remove();
  });

  function commitYaml(baseUrl: string): void {
    repo.write('sandpiper.yaml', `${YAML}github: { baseUrl: "${baseUrl}" }\n`);
    repo.git('commit', '-q', '-am', 'Name a GitHub API');
  }

  async function draft(args: string[] = [], env: Record<string, string | undefined> = {}): Promise<CliRun> {
    const r = await cli.run(repo.work, ['pr', 'draft', ...args], {
      GITHUB_TOKEN: TOKEN,
      NODE_EXTRA_CA_CERTS: secure.caFile,
      ...env,
    });
    assert.ok(!`${r.stdout}${r.stderr}`.includes(TOKEN), 'the token was printed');
    return r;
  }

  function assertUntouched(): void {
    assert.deepEqual(
      plain.requests.filter((q) => q.authorized),
      [],
      'the http stand-in saw the token',
    );
    assert.deepEqual(
      secure.requests.filter((q) => q.authorized),
      [],
      'the https stand-in saw the token',
    );
    assert.deepEqual(repo.remoteBranches(), ['main'], 'nothing is pushed before the host is settled');
  }

  it('origin github.com, sandpiper.yaml naming an http server: refused, the server never sees the token', async () => {
    commitYaml(plain.baseUrl);
    const r = await draft();
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /sandpiper\.yaml names http:\/\/127\.0\.0\.1:\d+\/api\/v3 as the GitHub API: .*https only/);
    assertUntouched();
  });

  it('origin github.com, sandpiper.yaml naming an https server nobody approved: refused, with the way to approve', async () => {
    commitYaml(secure.baseUrl);
    const r = await draft();
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`${secure.host.replace(/\./g, '\\.')} is not approved`));
    assert.match(r.stderr, new RegExp(`--github-host ${secure.host.replace(/\./g, '\\.')}`));
    assertUntouched();
  });

  it('GITHUB_API_URL naming an unapproved host is refused', async () => {
    const r = await draft([], { GITHUB_API_URL: secure.baseUrl });
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /GITHUB_API_URL names https:\/\/127\.0\.0\.1/);
    assertUntouched();
  });

  it('an origin on another host is not trusted because it is the origin', async () => {
    repo.git('remote', 'set-url', 'origin', `${secure.origin}/acme/todo.git`);
    repo.git('config', `url.file://${path.join(repo.tmp, 'remotes')}/.insteadOf`, `${secure.origin}/`);
    const r = await draft();
    assert.equal(r.code, 1, r.stdout);
    // The API is on the origin's host (its port is git's, not the API's).
    assert.match(r.stderr, /the origin remote names https:\/\/127\.0\.0\.1\/api\/v3 .* 127\.0\.0\.1 is not approved/);
    assertUntouched();
  });

  it('--github-host must name that host and be confirmed (no terminal here: --yes)', async () => {
    commitYaml(secure.baseUrl);
    const other = await draft(['--github-host', 'ghe.corp.example', '--yes']);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /--github-host ghe\.corp\.example is not 127\.0\.0\.1:\d+/);
    const unconfirmed = await draft(['--github-host', secure.host]);
    assert.equal(unconfirmed.code, 1);
    assert.match(unconfirmed.stderr, /without confirmation.*\n?.*--yes/);
    const http = await draft(['--github-host', plain.host, '--yes'], { GITHUB_API_URL: plain.baseUrl });
    assert.equal(http.code, 1);
    assertUntouched();
  });

  it('a host approved with --github-host --yes, or in ~/.config/sandpiper/github-hosts.json, gets the token', async () => {
    commitYaml(secure.baseUrl);
    const flagged = await draft(['--github-host', secure.host, '--yes']);
    assert.equal(flagged.code, 0, flagged.stderr);
    assert.ok(secure.requests.length > 0 && secure.requests.every((q) => q.authorized));
    assert.match(flagged.stdout, /Created draft pull request #1/);

    cli.approveHosts([secure.host]);
    repo.git('commit', '-q', '--allow-empty', '-m', 'Another commit');
    const filed = await draft();
    assert.equal(filed.code, 0, filed.stderr);
    assert.match(filed.stdout, /Pull request #1 is already open/);
    assert.deepEqual(plain.requests, []);
  });
});
