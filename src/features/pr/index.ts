import { registerCommand } from '../shared/commands';
import { type FeatureContext, workspaceConfig, settings } from '../shared/context';
import * as vscode from 'vscode';
import type { SandpiperConfig } from '../../core/config/types';
import { SandpiperError, cancelled } from '../../core/errors';
import { GitCli } from '../../core/infra/git';
import { planDraft, withTemplate, type PullRequestDraft } from '../../core/pr/draft';
import { type SandpiperSummary, environmentSummary } from '../../core/pr/body';
import { latestCanary } from '../../core/canary/state';
import { OctokitGitHost, apiBaseCandidate, requireRepository } from '../../core/infra/github';
import { publishDraft, type PublishResult } from '../../core/pr/publish';
import { approvedBaseUrl, gitHubToken, pickReviewers, pickTemplate, pickTitle } from './picks';

/** Registers the pr feature: the Draft Pull Request command (SCM title bar, Environments view, palette). */
export function registerPullRequest(ctx: FeatureContext): void {
  ctx.extension.subscriptions.push(registerCommand(ctx.log, 'sandpiper.pr.draft', () => draftPullRequest(ctx)));
}

/** sandpiper.yaml is optional for a PR; an invalid one is logged and the defaults apply. */
async function optionalConfig(ctx: FeatureContext): Promise<SandpiperConfig | undefined> {
  try {
    return await workspaceConfig({ noPrompt: true });
  } catch (err) {
    if (err instanceof SandpiperError && err.code === 'config-invalid')
      ctx.log.warn(`Draft PR uses defaults: ${err.message}`);
    return undefined;
  }
}

function repositoryFolder(): string {
  const active = vscode.window.activeTextEditor?.document.uri;
  const folder = (active && vscode.workspace.getWorkspaceFolder(active)) ?? vscode.workspace.workspaceFolders?.[0];
  if (!folder)
    throw new SandpiperError('no-workspace', 'Open the folder of a git repository first.', 'File → Open Folder…');
  return folder.uri.fsPath;
}

/** On the default branch the command offers to start a branch instead. */
async function offerBranch(ctx: FeatureContext, git: GitCli, err: SandpiperError): Promise<void> {
  const choice = await vscode.window.showWarningMessage(err.message, 'Create Branch…');
  if (choice !== 'Create Branch…') return;
  const name = await vscode.window.showInputBox({
    title: 'Sandpiper: new branch',
    prompt: 'Name of the branch for your change (e.g. 123-fix-login)',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : 'Enter a name.'),
  });
  if (!name) return;
  await git.createBranch(name.trim());
  ctx.log.info(`Created and switched to branch ${name.trim()}.`);
  void vscode.window.showInformationMessage(
    `Switched to the new branch ${name.trim()}. Commit your change, then create the draft pull request.`,
  );
}

async function confirmUncommitted(draft: PullRequestDraft): Promise<void> {
  if (!draft.uncommitted.length) return;
  const list = draft.uncommitted.slice(0, 5).join(', ') + (draft.uncommitted.length > 5 ? ', …' : '');
  const choice = await vscode.window.showWarningMessage(
    `${draft.uncommitted.length} file(s) have uncommitted changes that will not be in the pull request.`,
    { modal: true, detail: list },
    'Create Anyway',
  );
  if (choice !== 'Create Anyway') throw cancelled();
}

async function announce(ctx: FeatureContext, result: PublishResult): Promise<void> {
  const pr = result.pullRequest;
  const who = [...result.requested.reviewers.map((l) => `@${l}`), ...result.requested.team_reviewers];
  const message = result.created
    ? `Draft pull request #${pr.number} created${who.length ? `; review requested from ${who.join(', ')}` : ''}.`
    : `Pull request #${pr.number} is already open for this branch.`;
  ctx.log.info(`${message} ${pr.url}`);
  if (result.reviewerProblem) {
    ctx.log.warn(`Reviewers not requested: ${result.reviewerProblem}`);
    void vscode.window.showWarningMessage(
      `The draft exists but GitHub refused the review request: ${result.reviewerProblem}`,
    );
  }
  const choice = await vscode.window.showInformationMessage(message, 'Open Pull Request');
  if (choice === 'Open Pull Request') await vscode.env.openExternal(vscode.Uri.parse(pr.url));
}

/** The active environment and the latest canary of its services, when the cluster answers in time. */
async function activeSummary(ctx: FeatureContext): Promise<SandpiperSummary> {
  const env = ctx.environments.current;
  if (!env) return {};
  const canary = await latestCanary(
    env.kube,
    [env.namespace, env.config.baseline],
    Object.keys(env.config.services),
    (m) => ctx.log.debug(m),
  );
  return { environment: environmentSummary(env.namespace, env.config), canary };
}

/** sandpiper.pr.draft: read the repository, let the person review title, template and reviewers, then publish. */
export async function draftPullRequest(ctx: FeatureContext): Promise<void> {
  const git = new GitCli(repositoryFolder());
  const config = await optionalConfig(ctx);
  let draft: PullRequestDraft;
  try {
    draft = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Sandpiper: reading the repository' },
      async () => planDraft(git, { maxReviewers: config?.github.maxReviewers ?? 3, summary: await activeSummary(ctx) }),
    );
  } catch (err) {
    if (err instanceof SandpiperError && err.code === 'pr-default-branch') return offerBranch(ctx, git, err);
    throw err;
  }
  ctx.log.info(
    `Draft PR for ${draft.branch} → ${draft.base}: ${draft.changedFiles.length} file(s), suggested ${draft.reviewers.map((r) => r.label).join(', ') || 'nobody'}.`,
  );
  await confirmUncommitted(draft);
  const repository = requireRepository(draft.remote, await git.remoteUrl(draft.remote));
  const configured = settings.gitHubBaseUrl
    ? { url: settings.gitHubBaseUrl, source: 'the sandpiper.github.baseUrl setting' }
    : config?.github.baseUrl
      ? { url: config.github.baseUrl, source: 'sandpiper.yaml' }
      : undefined;
  const baseUrl = await approvedBaseUrl(apiBaseCandidate(repository, configured));

  const steps = draft.templates.length > 1 ? 3 : 2;
  const title = await pickTitle(draft, steps);
  if (steps === 3) draft = withTemplate(draft, await pickTemplate(draft, 2, steps));
  const reviewers = await pickReviewers(draft, steps, steps);
  const token = await gitHubToken(baseUrl);

  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Draft pull request', cancellable: true },
    async (progress, cancellation) => {
      const abort = new AbortController();
      const sub = cancellation.onCancellationRequested(() => abort.abort());
      try {
        return await publishDraft(
          draft,
          { title, body: draft.body, reviewers },
          {
            git,
            host: new OctokitGitHost(token, baseUrl, { debug: (m) => ctx.log.debug(m), warn: (m) => ctx.log.warn(m) }),
            signal: abort.signal,
            progress: (step) => {
              ctx.log.info(step);
              progress.report({ message: step });
            },
          },
        );
      } finally {
        sub.dispose();
      }
    },
  );
  ctx.environments.touch('pull request');
  await announce(ctx, result);
}
