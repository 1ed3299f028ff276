import * as vscode from 'vscode';
import { cancelled, SandpiperError } from '../../core/errors';
import type { PullRequestDraft } from '../../core/pr/draft';
import type { ReviewerSuggestion } from '../../core/pr/reviewers';
import type { PullRequestTemplate } from '../../core/pr/body';
import type { ApiBaseCandidate } from '../../core/infra/github';
import { approvedApiBase } from '../../core/pr/hostApproval';

const TITLE = 'Sandpiper: Draft Pull Request';

/** Step 1: the title, prefilled. Escape cancels the whole flow. */
export async function pickTitle(draft: PullRequestDraft, steps: number): Promise<string> {
  const title = await vscode.window.showInputBox({
    title: `${TITLE} (1/${steps}): title`,
    value: draft.title,
    prompt: `${draft.branch} → ${draft.base}${draft.issue ? ` · linked ${draft.issue.reference}` : ''} · ${draft.commits.length} commit(s), ${draft.changedFiles.length} file(s)`,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : 'A pull request needs a title.'),
  });
  if (title === undefined) throw cancelled();
  return title.trim();
}

/** Step 2, only when the repository has several templates. */
export async function pickTemplate(draft: PullRequestDraft, step: number, steps: number): Promise<PullRequestTemplate> {
  const items = draft.templates.map((t) => ({
    label: t.name,
    description: t.path,
    detail: t.text
      .split('\n')
      .find((l) => l.trim())
      ?.slice(0, 100),
    template: t,
    picked: t === draft.template,
  }));
  items.sort((a, b) => Number(b.picked) - Number(a.picked));
  const pick = await vscode.window.showQuickPick(items, {
    title: `${TITLE} (${step}/${steps}): template`,
    placeHolder: 'Template for the description',
    ignoreFocusOut: true,
  });
  if (!pick) throw cancelled();
  return pick.template;
}

type ReviewerItem = vscode.QuickPickItem & { reviewer: ReviewerSuggestion };

/** Last step: suggested reviewers, requestable ones pre-checked, each with why it is suggested. */
export async function pickReviewers(
  draft: PullRequestDraft,
  step: number,
  steps: number,
): Promise<ReviewerSuggestion[]> {
  if (!draft.reviewers.length) return [];
  const items: ReviewerItem[] = draft.reviewers.map((r) => ({
    label: r.label,
    description: r.kind === 'team' ? 'team' : r.kind === 'unresolved' ? 'cannot be requested' : undefined,
    detail: r.reasons.join(' · '),
    picked: r.kind !== 'unresolved',
    reviewer: r,
  }));
  const picks = await vscode.window.showQuickPick(items, {
    title: `${TITLE} (${step}/${steps}): reviewers`,
    placeHolder: 'Reviewers to request (suggested from CODEOWNERS and the history of the changed files)',
    canPickMany: true,
    ignoreFocusOut: true,
    matchOnDetail: true,
  });
  if (!picks) throw cancelled();
  return picks.map((p) => p.reviewer);
}

const APPROVED_HOSTS = 'github.approvedHosts';

/**
 * The base URL the token may go to. A host other than api.github.com is asked about once in a modal; the answer
 * is kept in the user's settings (an application-scoped setting, which VS Code never reads from a workspace),
 * so a committed sandpiper.yaml or .vscode/settings.json can name a host but not approve it.
 */
export async function approvedBaseUrl(candidate: ApiBaseCandidate): Promise<string> {
  const config = vscode.workspace.getConfiguration('sandpiper');
  const approved = config.inspect<string[]>(APPROVED_HOSTS)?.globalValue ?? [];
  return approvedApiBase(candidate, approved, async (host) => {
    const send = 'Send Token';
    const choice = await vscode.window.showWarningMessage(
      `Send your GitHub token to ${host}?`,
      {
        modal: true,
        detail: `${candidate.source} names ${candidate.url} as the GitHub API. Allow it only if ${host} is your GitHub Enterprise server; the answer is kept in your user settings (sandpiper.github.approvedHosts).`,
      },
      send,
    );
    if (choice !== send) throw cancelled();
    await config.update(APPROVED_HOSTS, [...approved, host], vscode.ConfigurationTarget.Global);
    return true;
  });
}

const SCOPES = ['repo'];

function providerFor(baseUrl: string): string {
  return new URL(baseUrl).hostname === 'api.github.com' ? 'github' : 'github-enterprise';
}

/** getSession waits for a provider that may never register (code-server has none): give up after a while. */
function withTimeout<T>(p: Thenable<T>, ms: number): Promise<T | undefined> {
  return Promise.race([
    Promise.resolve(p).catch(() => undefined),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), ms)),
  ]);
}

/**
 * A token for the GitHub API at `baseUrl`: VS Code's GitHub sign-in when there is a session, else
 * GITHUB_TOKEN / GH_TOKEN from the extension host's environment (code-server has no GitHub sign-in of its
 * own: it turns GITHUB_TOKEN into a github.com session and hides the variable, so GH_TOKEN serves other hosts),
 * else VS Code asks the person to sign in. The token is handed to Octokit only, never logged.
 */
export async function gitHubToken(baseUrl: string): Promise<string> {
  const provider = providerFor(baseUrl);
  const existing = await withTimeout(vscode.authentication.getSession(provider, SCOPES, { silent: true }), 3000);
  if (existing) return existing.accessToken;
  const fromEnvironment = process.env.GITHUB_TOKEN || process.env.GH_TOKEN;
  if (fromEnvironment) return fromEnvironment;
  let failure = '';
  try {
    const session = await vscode.authentication.getSession(provider, SCOPES, { createIfNone: true });
    if (session) return session.accessToken;
  } catch (err) {
    failure = err instanceof Error ? ` (${err.message})` : '';
  }
  throw new SandpiperError(
    'github-no-session',
    `Not signed in to GitHub${failure}.`,
    provider === 'github'
      ? 'Sign in with GitHub from the Accounts menu (bottom left), or start VS Code with GITHUB_TOKEN or GH_TOKEN set (code-server: GITHUB_TOKEN becomes its GitHub sign-in).'
      : 'Set github-enterprise.uri and sign in from the Accounts menu, or start VS Code / code-server with GH_TOKEN set (code-server keeps GITHUB_TOKEN for github.com).',
  );
}
