import * as vscode from 'vscode';
import { cancelled } from '../../core/errors';
import type { PullRequestDraft } from '../../core/pr/draft';
import type { ReviewerSuggestion } from '../../core/pr/reviewers';
import type { PullRequestTemplate } from '../../core/pr/template';

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
  const items = draft.templates.map((t) => ({ label: t.name, description: t.path, detail: t.text.split('\n').find((l) => l.trim())?.slice(0, 100), template: t, picked: t === draft.template }));
  items.sort((a, b) => Number(b.picked) - Number(a.picked));
  const pick = await vscode.window.showQuickPick(items, { title: `${TITLE} (${step}/${steps}): template`, placeHolder: 'Template for the description', ignoreFocusOut: true });
  if (!pick) throw cancelled();
  return pick.template;
}

type ReviewerItem = vscode.QuickPickItem & { reviewer: ReviewerSuggestion };

/** Last step: suggested reviewers, requestable ones pre-checked, each with why it is suggested. */
export async function pickReviewers(draft: PullRequestDraft, step: number, steps: number): Promise<ReviewerSuggestion[]> {
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
