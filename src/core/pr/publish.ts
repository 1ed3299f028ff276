import { SandpiperError, cancelled } from '../errors';
import type { Git } from '../infra/git';
import type { PullRequestDraft } from './draft';
import type { GitHost, PullRequestRef } from '../infra/github';
import { reviewerRequest, type ReviewerSuggestion } from './reviewers';

/** What the person confirmed: possibly edited title and body, and the reviewers they kept. */
export interface PublishChoices {
  title: string;
  body: string;
  reviewers: ReviewerSuggestion[];
}

export interface PublishResult {
  pullRequest: PullRequestRef;
  /** False when an open PR for the branch already existed and was reused. */
  created: boolean;
  requested: { reviewers: string[]; team_reviewers: string[] };
  /** Set when the PR exists but GitHub refused the review request (e.g. someone without access). */
  reviewerProblem?: string;
}

export interface PublishDeps {
  git: Git;
  host: GitHost;
  progress?: (step: string) => void;
  signal?: AbortSignal;
}

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw cancelled();
}

/** Pushes the branch with upstream, then reuses the branch's open PR or creates a draft and requests reviewers. */
export async function publishDraft(
  draft: PullRequestDraft,
  choices: PublishChoices,
  deps: PublishDeps,
): Promise<PublishResult> {
  const { git, host, signal } = deps;
  const repo = draft.repository;
  if (!repo) {
    throw new SandpiperError(
      'pr-no-remote',
      `The "${draft.remote}" remote is missing or does not name a GitHub repository.`,
      `Add it: git remote add ${draft.remote} https://github.com/<owner>/<repo>.git`,
    );
  }
  deps.progress?.(`Pushing ${draft.branch} to ${draft.remote}`);
  await git.pushWithUpstream(draft.remote, draft.branch, signal);
  checkAborted(signal);

  deps.progress?.('Looking for an open pull request of this branch');
  const existing = await host.findOpenPullRequest(repo, draft.branch, signal);
  if (existing) return { pullRequest: existing, created: false, requested: { reviewers: [], team_reviewers: [] } };
  checkAborted(signal);

  deps.progress?.('Creating the draft pull request');
  const pullRequest = await host.createDraftPullRequest(
    repo,
    { head: draft.branch, base: draft.base, title: choices.title, body: choices.body },
    signal,
  );

  // GitHub answers 422 when the PR's author is asked to review their own change.
  const author = pullRequest.author?.toLowerCase();
  const request = reviewerRequest(choices.reviewers.filter((r) => !(r.login && r.login.toLowerCase() === author)));
  if (request.reviewers.length || request.team_reviewers.length) {
    deps.progress?.('Requesting reviewers');
    try {
      await host.requestReviewers(repo, pullRequest.number, request, signal);
    } catch (err) {
      // The draft exists either way; say what failed instead of hiding the PR behind an error.
      if (signal?.aborted) throw err;
      return {
        pullRequest,
        created: true,
        requested: { reviewers: [], team_reviewers: [] },
        reviewerProblem: (err as Error).message,
      };
    }
  }
  return { pullRequest, created: true, requested: request };
}
