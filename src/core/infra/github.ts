import { SandpiperError, cancelled } from '../errors';
import { Octokit } from '@octokit/rest';

/** A pull request as the flow needs it back. */
export interface PullRequestRef {
  number: number;
  url: string;
  draft: boolean;
  /** Login of the PR's author (GitHub refuses them as a reviewer). */
  author?: string;
}

export interface NewPullRequest {
  head: string;
  base: string;
  title: string;
  body: string;
}

/** The hosting side of the PR flow; OctokitGitHost talks to GitHub's REST API. */
export interface GitHost {
  findOpenPullRequest(
    repo: GitHubRepository,
    branch: string,
    signal?: AbortSignal,
  ): Promise<PullRequestRef | undefined>;
  createDraftPullRequest(repo: GitHubRepository, pr: NewPullRequest, signal?: AbortSignal): Promise<PullRequestRef>;
  requestReviewers(
    repo: GitHubRepository,
    pull: number,
    who: { reviewers: string[]; team_reviewers: string[] },
    signal?: AbortSignal,
  ): Promise<void>;
}

/** The GitHub repository a remote points at. */
export interface GitHubRepository {
  host: string;
  owner: string;
  repo: string;
}

/**
 * Reads owner/repo from a remote URL: https://host/o/r(.git), ssh://git@host[:port]/o/r.git,
 * git@host:o/r.git. GitHub Enterprise hosts may serve under a path prefix; owner/repo are the last two segments.
 */
export function parseRemoteUrl(url: string): GitHubRepository | undefined {
  const scp = /^(?:[^@/]+@)?([^:/]+):(?!\/)(.+)$/.exec(url);
  let host: string;
  let pathPart: string;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return undefined;
    }
    if (!['https:', 'http:', 'ssh:', 'git:', 'git+ssh:', 'ssh+git:'].includes(parsed.protocol)) return undefined;
    host = parsed.hostname;
    pathPart = parsed.pathname;
  } else if (scp) {
    host = scp[1];
    pathPart = scp[2];
  } else {
    return undefined;
  }
  const segments = pathPart
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .split('/')
    .filter(Boolean);
  if (segments.length < 2 || !host) return undefined;
  return { host, owner: segments[segments.length - 2], repo: segments[segments.length - 1] };
}

/** github.com → https://api.github.com; an Enterprise host → https://<host>/api/v3. */
export function defaultApiBaseUrl(host: string): string {
  return host === 'github.com' || host === 'www.github.com' ? GITHUB_API : `https://${host}/api/v3`;
}

const GITHUB_API = 'https://api.github.com';

/** An API base URL someone proposed, and who: the token may only follow it once its host is trusted. */
export interface ApiBaseCandidate {
  url: string;
  /** For messages: "sandpiper.yaml", "the sandpiper.github.baseUrl setting", "GITHUB_API_URL", "the origin remote". */
  source: string;
}

/** The URL proposed first: the configured one, then GITHUB_API_URL, then the one the remote's host implies. */
export function apiBaseCandidate(
  repository: GitHubRepository,
  configured?: ApiBaseCandidate,
  env: NodeJS.ProcessEnv = process.env,
): ApiBaseCandidate {
  if (configured?.url) return configured;
  if (env.GITHUB_API_URL) return { url: env.GITHUB_API_URL, source: 'GITHUB_API_URL' };
  return { url: defaultApiBaseUrl(repository.host), source: 'the origin remote' };
}

/** "GHE.Example.com", "https://ghe.example.com/api/v3" → "ghe.example.com" (host[:port], lower case). */
export function normalizeHost(text: string): string {
  const trimmed = text.trim();
  try {
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`).host.toLowerCase();
  } catch {
    return trimmed.toLowerCase();
  }
}

/**
 * The token's one gate: the candidate URL if its host may receive the GitHub token, else a coded error.
 * api.github.com is always trusted; any other host only when it is in `approvedHosts`, which callers read from
 * a place outside the workspace (user settings, ~/.config/sandpiper, a confirmed --github-host), so a committed
 * file can name a host but never approve it. https only: a token over plain http is readable on the way.
 */
export function trustedApiBase(candidate: ApiBaseCandidate, approvedHosts: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(candidate.url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new SandpiperError(
      'pr-bad-base-url',
      `"${candidate.url}" (from ${candidate.source}) is not a GitHub API URL.`,
      'Use e.g. https://github.example.com/api/v3.',
    );
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}`.replace(/\/+$/, '');
  if (url.username || url.password) {
    throw new SandpiperError(
      'pr-bad-base-url',
      `The GitHub API URL from ${candidate.source} carries credentials (${shown}).`,
      'Remove the user and password from the URL.',
    );
  }
  if (url.protocol !== 'https:') {
    throw new SandpiperError(
      'github-insecure-url',
      `${candidate.source} names ${shown} as the GitHub API: Sandpiper sends the GitHub token over https only.`,
      `Use https://${url.host}${url.pathname.replace(/\/+$/, '')}.`,
    );
  }
  const host = url.host.toLowerCase();
  if (host !== 'api.github.com' && !approvedHosts.some((h) => normalizeHost(h) === host)) {
    throw new SandpiperError(
      'github-host-not-approved',
      `${candidate.source} names ${shown} as the GitHub API; your GitHub token goes only to api.github.com or a host you approved, and ${host} is not approved.`,
      `If ${host} is your GitHub Enterprise server, approve it: CLI --github-host ${host} (asks to confirm, or --yes), editor: answer the prompt or add it to sandpiper.github.approvedHosts in your user settings.`,
    );
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

export function requireRepository(remote: string, url: string | undefined): GitHubRepository {
  if (!url) {
    throw new SandpiperError(
      'pr-no-remote',
      `This repository has no "${remote}" remote.`,
      `Add it: git remote add ${remote} https://github.com/<owner>/<repo>.git`,
    );
  }
  const repo = parseRemoteUrl(url);
  if (!repo) {
    const shown = url.replace(/\/\/[^@/]+@/, '//');
    throw new SandpiperError(
      'pr-remote-not-github',
      `The "${remote}" remote (${shown}) does not name a GitHub repository.`,
      'Point it at https://<host>/<owner>/<repo>.git or git@<host>:<owner>/<repo>.git.',
    );
  }
  return repo;
}

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
      log: {
        debug: (m: string) => log.debug(m),
        info: (m: string) => log.debug(m),
        warn: (m: string) => log.warn(m),
        error: (m: string) => log.warn(m),
      },
    });
  }

  private async call<T>(doing: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw gitHubError(err, doing, this.baseUrl, signal);
    }
  }

  async findOpenPullRequest(
    repo: GitHubRepository,
    branch: string,
    signal?: AbortSignal,
  ): Promise<PullRequestRef | undefined> {
    const { data } = await this.call(`listing the open pull requests of ${repo.owner}/${repo.repo}`, signal, () =>
      this.octokit.pulls.list({
        owner: repo.owner,
        repo: repo.repo,
        head: `${repo.owner}:${branch}`,
        state: 'open',
        per_page: 10,
        request: { signal },
      }),
    );
    const pr = data.find((p) => p.head.ref === branch) ?? data[0];
    return pr ? { number: pr.number, url: pr.html_url, draft: !!pr.draft, author: pr.user?.login } : undefined;
  }

  async createDraftPullRequest(
    repo: GitHubRepository,
    pr: NewPullRequest,
    signal?: AbortSignal,
  ): Promise<PullRequestRef> {
    const { data } = await this.call(`creating the pull request on ${repo.owner}/${repo.repo}`, signal, () =>
      this.octokit.pulls.create({
        owner: repo.owner,
        repo: repo.repo,
        head: pr.head,
        base: pr.base,
        title: pr.title,
        body: pr.body,
        draft: true,
        request: { signal },
      }),
    );
    return { number: data.number, url: data.html_url, draft: !!data.draft, author: data.user?.login };
  }

  async requestReviewers(
    repo: GitHubRepository,
    pull: number,
    who: { reviewers: string[]; team_reviewers: string[] },
    signal?: AbortSignal,
  ): Promise<void> {
    await this.call(`requesting reviewers on #${pull}`, signal, () =>
      this.octokit.pulls.requestReviewers({
        owner: repo.owner,
        repo: repo.repo,
        pull_number: pull,
        reviewers: who.reviewers,
        team_reviewers: who.team_reviewers,
        request: { signal },
      }),
    );
  }
}

interface HttpishError {
  status?: number;
  message?: string;
  name?: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
  cause?: unknown;
}

function header(err: HttpishError, name: string): string | undefined {
  const v = err.response?.headers?.[name];
  return v === undefined ? undefined : String(v);
}

function validationDetail(data: unknown): string {
  const d = data as
    { message?: string; errors?: Array<{ message?: string; field?: string; code?: string } | string> } | undefined;
  const parts = (d?.errors ?? []).map((e) =>
    typeof e === 'string' ? e : (e.message ?? [e.field, e.code].filter(Boolean).join(' ')),
  );
  return [d?.message, ...parts].filter(Boolean).join(': ');
}

/** Turns what Octokit throws into a coded error naming the next step; `doing` says what was attempted. */
export function gitHubError(err: unknown, doing: string, baseUrl: string, signal?: AbortSignal): Error {
  if (signal?.aborted) return cancelled();
  if (err instanceof SandpiperError) return err;
  const e = (err ?? {}) as HttpishError;
  const status = e.status;
  const remaining = header(e, 'x-ratelimit-remaining');
  if (status === 429 || (status === 403 && (remaining === '0' || header(e, 'retry-after')))) {
    const reset = Number(header(e, 'x-ratelimit-reset'));
    const retryAfter = Number(header(e, 'retry-after'));
    const when = reset ? new Date(reset * 1000) : retryAfter ? new Date(Date.now() + retryAfter * 1000) : undefined;
    const at = when
      ? ` It resets at ${when
          .toISOString()
          .replace('T', ' ')
          .replace(/\.\d+Z$/, ' UTC')}.`
      : '';
    return new SandpiperError(
      'github-rate-limited',
      `GitHub's rate limit stopped ${doing}.${at}`,
      'Wait until then and run the command again.',
    );
  }
  if (status === 401) {
    return new SandpiperError(
      'github-unauthorized',
      `GitHub refused the token while ${doing} (401 Bad credentials).`,
      'Sign in to GitHub again (or set a valid GITHUB_TOKEN for the CLI).',
    );
  }
  if (status === 403) {
    return new SandpiperError(
      'github-forbidden',
      `GitHub did not allow ${doing} (403: ${validationDetail(e.response?.data) || 'forbidden'}).`,
      'Use a token with the "repo" scope (fine-grained: Pull requests read/write) on this repository.',
    );
  }
  if (status === 404) {
    return new SandpiperError(
      'github-not-found',
      `GitHub answered 404 while ${doing}: the repository does not exist or the token cannot see it.`,
      'Check the origin remote and that the token has access to the repository.',
    );
  }
  if (status === 422) {
    return new SandpiperError(
      'github-rejected',
      `GitHub rejected ${doing}: ${validationDetail(e.response?.data) || e.message}.`,
    );
  }
  if (!status || status >= 500 || e.name === 'HttpError') {
    const cause = e.cause as { code?: string; message?: string } | undefined;
    const why = cause?.code ?? cause?.message ?? e.message ?? 'no answer';
    if (!status || /fetch failed|ECONN|ENOTFOUND|EAI_AGAIN|socket/i.test(`${e.message} ${why}`)) {
      return new SandpiperError(
        'github-unreachable',
        `Cannot reach GitHub at ${baseUrl} while ${doing} (${why}).`,
        'Check the network, or github.baseUrl in sandpiper.yaml for GitHub Enterprise.',
      );
    }
    return new SandpiperError(
      'github-server-error',
      `GitHub failed while ${doing} (${status}).`,
      'Try again in a minute; see https://www.githubstatus.com.',
    );
  }
  return new SandpiperError('github-failed', `GitHub answered ${status} while ${doing}: ${e.message ?? ''}`);
}
