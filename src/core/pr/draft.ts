import type { CommitInfo, FileAuthor, Git } from '../infra/git';
import { SandpiperError } from '../errors';
import {
  renderPullRequestBody,
  type SandpiperSummary,
  chooseTemplate,
  findPullRequestTemplates,
  type PullRequestTemplate,
} from './body';
import { loadCodeOwners, suggestReviewers, type PrAuthor, type ReviewerSuggestion } from './reviewers';
import { parseRemoteUrl, type GitHubRepository } from '../infra/github';

export interface DraftOptions {
  remote?: string;
  /** Target branch; default: the remote's default branch. */
  base?: string;
  title?: string;
  /** Template name or path when the repository has several. */
  template?: string;
  maxReviewers: number;
  summary: SandpiperSummary;
  /** GitHub login of the person opening the PR, when known, so they are not suggested. */
  authorLogin?: string;
  /** Commits per file read for the history of the changed files. */
  historyDepth?: number;
}

/** Everything a draft PR will be made of, before anything leaves the machine. */
export interface PullRequestDraft {
  root: string;
  remote: string;
  repository?: GitHubRepository;
  branch: string;
  base: string;
  baseRef: string;
  uncommitted: string[];
  changedFiles: string[];
  commits: CommitInfo[];
  issue?: LinkedIssue;
  title: string;
  templates: PullRequestTemplate[];
  template?: PullRequestTemplate;
  body: string;
  summary: SandpiperSummary;
  author: PrAuthor;
  reviewers: ReviewerSuggestion[];
}

/** A single commit names the change best; otherwise the branch does. */
function defaultTitle(branch: string, commits: CommitInfo[], issue?: LinkedIssue): string {
  if (commits.length === 1 && commits[0].subject.trim()) return commits[0].subject.trim();
  return titleFromBranch(branch, issue);
}

export async function planDraft(git: Git, opts: DraftOptions): Promise<PullRequestDraft> {
  const remote = opts.remote ?? 'origin';
  const root = await git.topLevel();
  const branch = await git.currentBranch();
  if (!branch)
    throw new SandpiperError(
      'pr-detached',
      'HEAD is detached: a pull request needs a branch.',
      'Create one: git switch -c <name>.',
    );
  const base = opts.base ?? (await git.defaultBranch(remote));
  if (!base)
    throw new SandpiperError(
      'pr-no-base',
      `Cannot tell the default branch of "${remote}".`,
      `Pass --base, or run git remote set-head ${remote} --auto.`,
    );
  if (branch === base) {
    throw new SandpiperError(
      'pr-default-branch',
      `You are on ${base}, the default branch: a pull request needs its own branch.`,
      'Create a branch first: git switch -c <name>.',
    );
  }
  const baseRef = await git.resolveBase(remote, base);
  if (!baseRef)
    throw new SandpiperError(
      'pr-no-base',
      `There is no branch "${base}" locally or on ${remote}.`,
      `Fetch it (git fetch ${remote}) or pass another --base.`,
    );

  const [remoteUrl, uncommitted, changedFiles, commits, identity] = await Promise.all([
    git.remoteUrl(remote),
    git.uncommitted(),
    git.changedFiles(baseRef),
    git.commits(baseRef),
    git.userIdentity(),
  ]);
  if (!commits.length) {
    throw new SandpiperError(
      'pr-no-commits',
      `${branch} has no commits that ${base} does not have.`,
      'Commit your change first, then create the pull request.',
    );
  }
  const issue = linkedIssueFromBranch(branch);
  const templates = await findPullRequestTemplates(root);
  const template = chooseTemplate(templates, opts.template);
  if (opts.template && !template) {
    throw new SandpiperError(
      'pr-no-template',
      `No pull request template called "${opts.template}".`,
      `Known: ${templates.map((t) => t.name).join(', ') || 'none'}.`,
    );
  }
  const history = new Map<string, FileAuthor[]>();
  for (const file of changedFiles) history.set(file, await git.fileAuthors(file, opts.historyDepth ?? 30));
  const author: PrAuthor = { email: identity.email, name: identity.name, login: opts.authorLogin };
  const reviewers = suggestReviewers({
    changedFiles,
    owners: await loadCodeOwners(root),
    history,
    author,
    max: opts.maxReviewers,
  });

  return {
    root,
    remote,
    repository: remoteUrl ? parseRemoteUrl(remoteUrl) : undefined,
    branch,
    base,
    baseRef,
    uncommitted,
    changedFiles,
    commits,
    issue,
    title: opts.title?.trim() || defaultTitle(branch, commits, issue),
    templates,
    template,
    body: renderPullRequestBody({ template, issue, commits, summary: opts.summary }),
    summary: opts.summary,
    author,
    reviewers,
  };
}

/** The same draft with another template (the user picked one). */
export function withTemplate(draft: PullRequestDraft, template: PullRequestTemplate | undefined): PullRequestDraft {
  return {
    ...draft,
    template,
    body: renderPullRequestBody({ template, issue: draft.issue, commits: draft.commits, summary: draft.summary }),
  };
}

/** What a branch name says about the change: the issue it belongs to and a readable title. */
export type LinkedIssue =
  /** A GitHub issue of the same repository: the PR body closes it. */
  | { kind: 'github'; number: number; reference: string }
  /** A tracker key such as ABC-123 (Jira, Linear, ...): mentioned, not closed. */
  | { kind: 'key'; key: string; reference: string };

// Tracker keys are upper case in branch names by convention; requiring it keeps "fix-123" a GitHub number.
const TRACKER_KEY = /(?:^|[/_-])([A-Z][A-Z0-9]+-\d+)(?=$|[/_-])/;
const GITHUB_NUMBER = /^(?:(?:issues?|gh|bug|fix|feature|feat)[-_]?)?#?(\d+)(?=$|[-_])/i;

export function linkedIssueFromBranch(branch: string): LinkedIssue | undefined {
  const key = TRACKER_KEY.exec(branch);
  if (key) return { kind: 'key', key: key[1], reference: key[1] };
  for (const segment of branch.split('/').reverse()) {
    const num = GITHUB_NUMBER.exec(segment);
    if (num) return { kind: 'github', number: Number(num[1]), reference: `#${Number(num[1])}` };
  }
  return undefined;
}

const TYPE_PREFIXES =
  /^(?:feature|feat|fix|bugfix|hotfix|chore|docs|refactor|test|perf|ci|build|release|users?\/[^/]+)$/i;

/** "feature/ABC-123-add-search" → "ABC-123: Add search"; "123-fix-login" → "Fix login". */
export function titleFromBranch(branch: string, issue?: LinkedIssue): string {
  const segments = branch.split('/');
  // Drop type prefixes and a user's namespace (alice/...); keep the descriptive tail.
  while (segments.length > 1 && (TYPE_PREFIXES.test(segments[0]) || segments.length > 2)) segments.shift();
  let words = segments.join(' ');
  if (issue?.kind === 'key') words = words.replace(issue.key, ' ');
  if (issue?.kind === 'github') words = words.replace(GITHUB_NUMBER, ' ');
  words = words
    .replace(/[-_.]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const sentence = words ? words[0].toUpperCase() + words.slice(1) : branch;
  return issue?.kind === 'key' ? `${issue.key}: ${sentence}` : sentence;
}
