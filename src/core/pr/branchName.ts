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

const TYPE_PREFIXES = /^(?:feature|feat|fix|bugfix|hotfix|chore|docs|refactor|test|perf|ci|build|release|users?\/[^/]+)$/i;

/** "feature/ABC-123-add-search" → "ABC-123: Add search"; "123-fix-login" → "Fix login". */
export function titleFromBranch(branch: string, issue?: LinkedIssue): string {
  const segments = branch.split('/');
  // Drop type prefixes and a user's namespace (alice/...); keep the descriptive tail.
  while (segments.length > 1 && (TYPE_PREFIXES.test(segments[0]) || segments.length > 2)) segments.shift();
  let words = segments.join(' ');
  if (issue?.kind === 'key') words = words.replace(issue.key, ' ');
  if (issue?.kind === 'github') words = words.replace(GITHUB_NUMBER, ' ');
  words = words.replace(/[-_.]+/g, ' ').replace(/\s+/g, ' ').trim();
  const sentence = words ? words[0].toUpperCase() + words.slice(1) : branch;
  return issue?.kind === 'key' ? `${issue.key}: ${sentence}` : sentence;
}
