import { Octokit } from '@octokit/rest';
import { gitHubError } from './githubErrors';
import type { GitHost, NewPullRequest, PullRequestRef } from './gitHost';
import type { GitHubRepository } from './remote';

interface Logger {
  debug(message: string): void;
  warn(message: string): void;
}

const SILENT: Logger = { debug() {}, warn() {} };

/** GitHub's REST API through Octokit. The token lives only inside the Octokit instance. */
export class OctokitGitHost implements GitHost {
  private readonly octokit: Octokit;

  constructor(
    token: string,
    readonly baseUrl: string,
    log: Logger = SILENT,
  ) {
    this.octokit = new Octokit({
      auth: token,
      baseUrl,
      userAgent: 'sandpiper',
      // Octokit's own logger writes to the console; ours never sees request headers.
      log: { debug: (m: string) => log.debug(m), info: (m: string) => log.debug(m), warn: (m: string) => log.warn(m), error: (m: string) => log.warn(m) },
    });
  }

  private async call<T>(doing: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw gitHubError(err, doing, this.baseUrl, signal);
    }
  }

  async findOpenPullRequest(repo: GitHubRepository, branch: string, signal?: AbortSignal): Promise<PullRequestRef | undefined> {
    const { data } = await this.call(`listing the open pull requests of ${repo.owner}/${repo.repo}`, signal, () =>
      this.octokit.pulls.list({ owner: repo.owner, repo: repo.repo, head: `${repo.owner}:${branch}`, state: 'open', per_page: 10, request: { signal } }),
    );
    const pr = data.find((p) => p.head.ref === branch) ?? data[0];
    return pr ? { number: pr.number, url: pr.html_url, draft: !!pr.draft, author: pr.user?.login } : undefined;
  }

  async createDraftPullRequest(repo: GitHubRepository, pr: NewPullRequest, signal?: AbortSignal): Promise<PullRequestRef> {
    const { data } = await this.call(`creating the pull request on ${repo.owner}/${repo.repo}`, signal, () =>
      this.octokit.pulls.create({ owner: repo.owner, repo: repo.repo, head: pr.head, base: pr.base, title: pr.title, body: pr.body, draft: true, request: { signal } }),
    );
    return { number: data.number, url: data.html_url, draft: !!data.draft, author: data.user?.login };
  }

  async requestReviewers(repo: GitHubRepository, pull: number, who: { reviewers: string[]; team_reviewers: string[] }, signal?: AbortSignal): Promise<void> {
    await this.call(`requesting reviewers on #${pull}`, signal, () =>
      this.octokit.pulls.requestReviewers({ owner: repo.owner, repo: repo.repo, pull_number: pull, reviewers: who.reviewers, team_reviewers: who.team_reviewers, request: { signal } }),
    );
  }
}
