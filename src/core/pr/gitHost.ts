import type { GitHubRepository } from './remote';

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
  findOpenPullRequest(repo: GitHubRepository, branch: string, signal?: AbortSignal): Promise<PullRequestRef | undefined>;
  createDraftPullRequest(repo: GitHubRepository, pr: NewPullRequest, signal?: AbortSignal): Promise<PullRequestRef>;
  requestReviewers(repo: GitHubRepository, pull: number, who: { reviewers: string[]; team_reviewers: string[] }, signal?: AbortSignal): Promise<void>;
}
