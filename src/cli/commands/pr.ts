import type { Command } from 'commander';
import type { SandpiperConfig } from '../../core/config/types';
import { SandpiperError } from '../../core/errors';
import { GitCli } from '../../core/infra/git';
import { planDraft, type PullRequestDraft } from '../../core/pr/draft';
import { environmentSummary, type SandpiperSummary } from '../../core/pr/body';
import {
  OctokitGitHost,
  apiBaseCandidate,
  normalizeHost,
  requireRepository,
  type GitHubRepository,
} from '../../core/infra/github';
import { approvedApiBase, approvedHostsFile, readApprovedHosts } from '../../core/pr/hostApproval';
import { publishDraft, type PublishResult } from '../../core/pr/publish';
import { latestCanary } from '../../core/canary/state';
import { globals, kubeFor, optionalConfigFor, printJson, type CliContext } from '../main';
import { spawn } from 'node:child_process';

interface DraftFlags {
  dryRun?: boolean;
  json?: boolean;
  base?: string;
  title?: string;
  template?: string;
  env?: string;
  remote: string;
  reviewers?: string;
  open?: boolean;
  githubHost?: string;
  yes?: boolean;
}

function tokenFromEnvironment(): string {
  const token = process.env.GITHUB_TOKEN || process.env.GH_TOKEN;
  if (!token) {
    throw new SandpiperError(
      'github-no-token',
      'No GitHub token found in GITHUB_TOKEN or GH_TOKEN.',
      'Create a token with the "repo" scope, or run `export GITHUB_TOKEN=$(gh auth token)`; --dry-run works without one.',
    );
  }
  return token;
}

function draftJson(d: PullRequestDraft) {
  return {
    branch: d.branch,
    base: d.base,
    repository: d.repository,
    title: d.title,
    body: d.body,
    issue: d.issue,
    template: d.template?.path,
    templates: d.templates.map((t) => t.path),
    changedFiles: d.changedFiles,
    commits: d.commits.map((c) => ({ sha: c.sha, subject: c.subject })),
    uncommitted: d.uncommitted,
    reviewers: d.reviewers.map((r) => ({
      label: r.label,
      kind: r.kind,
      login: r.login,
      team: r.team,
      reasons: r.reasons,
    })),
  };
}

function printDraft(d: PullRequestDraft): void {
  const out = [
    `${d.branch} → ${d.base}${d.repository ? ` on ${d.repository.owner}/${d.repository.repo}` : ''}`,
    `Title: ${d.title}`,
  ];
  if (d.templates.length > 1)
    out.push(
      `Template: ${d.template?.path} (others: ${d.templates
        .filter((t) => t !== d.template)
        .map((t) => t.name)
        .join(', ')}; pick with --template)`,
    );
  out.push(
    'Reviewers:',
    ...(d.reviewers.length
      ? d.reviewers.map((r, i) => `  ${i + 1}. ${r.label} — ${r.reasons.join('; ')}`)
      : ['  none suggested']),
  );
  out.push('', d.body);
  process.stdout.write(`${out.join('\n')}\n`);
}

function printResult(r: PublishResult): void {
  const pr = r.pullRequest;
  const lines = [
    r.created
      ? `Created draft pull request #${pr.number}: ${pr.url}`
      : `Pull request #${pr.number} is already open for this branch: ${pr.url}`,
  ];
  const who = [...r.requested.reviewers.map((l) => `@${l}`), ...r.requested.team_reviewers.map((t) => `team ${t}`)];
  if (who.length) lines.push(`Requested reviews from ${who.join(', ')}`);
  if (r.reviewerProblem) lines.push(`Reviewers were not requested: ${r.reviewerProblem}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** The env named by --env, and the latest canary of its services when the cluster answers. */
async function summaryFor(flags: DraftFlags, cmd: Command, config?: SandpiperConfig): Promise<SandpiperSummary> {
  if (!flags.env) return {};
  const summary: SandpiperSummary = { environment: environmentSummary(flags.env, config) };
  if (!config) return summary;
  try {
    summary.canary = await latestCanary(kubeFor(cmd), [flags.env, config.baseline], Object.keys(config.services));
  } catch {
    // No kubeconfig: the body says no canary result is known.
  }
  return summary;
}

async function draftCommand(flags: DraftFlags, cmd: Command, cli: CliContext): Promise<void> {
  const config = await optionalConfigFor(cmd);
  const git = new GitCli(globals(cmd).dir ?? config?.root ?? process.cwd());
  const draft = await planDraft(git, {
    remote: flags.remote,
    base: flags.base,
    title: flags.title,
    template: flags.template,
    maxReviewers: config?.github.maxReviewers ?? 3,
    summary: await summaryFor(flags, cmd, config),
  });
  if (flags.dryRun) return flags.json ? printJson(draftJson(draft)) : printDraft(draft);

  const repository = requireRepository(flags.remote, await git.remoteUrl(flags.remote));
  const token = tokenFromEnvironment();
  if (draft.uncommitted.length) {
    process.stderr.write(
      `warning: ${draft.uncommitted.length} file(s) have uncommitted changes that will not be in the pull request: ${draft.uncommitted.slice(0, 5).join(', ')}${draft.uncommitted.length > 5 ? ', …' : ''}\n`,
    );
  }
  const keep = flags.reviewers?.split(',').map((s) => s.trim().replace(/^@/, '').toLowerCase());
  const reviewers = keep
    ? draft.reviewers.filter((r) => keep.includes(r.label.replace(/^@/, '').toLowerCase()))
    : draft.reviewers;
  const host = new OctokitGitHost(token, await cliApiBase(repository, flags, config));
  const result = await publishDraft(
    draft,
    { title: draft.title, body: draft.body, reviewers },
    {
      git,
      host,
      // Ctrl+C stops the push (git is killed) and every GitHub call after it.
      signal: cli.interruptSignal(),
      progress: (step) => process.stderr.write(`… ${step}\n`),
    },
  );
  if (flags.json)
    printJson({
      ...draftJson(draft),
      pullRequest: result.pullRequest,
      created: result.created,
      requested: result.requested,
      reviewerProblem: result.reviewerProblem,
    });
  else printResult(result);
  if (flags.open) openInBrowser(result.pullRequest.url);
  // The pull request is there (printed above), but part of what was asked was not done: say so in the exit code.
  if (result.reviewerProblem) {
    throw new SandpiperError(
      'github-rejected',
      `Pull request #${result.pullRequest.number} is open, but reviewers were not requested: ${result.reviewerProblem}`,
      'Request them on GitHub, or pick others with --reviewers.',
    );
  }
}

/**
 * Where the token may go: api.github.com, a host listed in ~/.config/sandpiper/github-hosts.json, or the host
 * named by --github-host once confirmed (on the terminal, or --yes). sandpiper.yaml may only name the host.
 */
async function cliApiBase(repository: GitHubRepository, flags: DraftFlags, config?: SandpiperConfig): Promise<string> {
  const configured = config?.github.baseUrl ? { url: config.github.baseUrl, source: 'sandpiper.yaml' } : undefined;
  const candidate = apiBaseCandidate(repository, configured);
  return approvedApiBase(candidate, await readApprovedHosts(approvedHostsFile()), async (host) => {
    if (!flags.githubHost) return false;
    if (normalizeHost(flags.githubHost) !== host) {
      throw new SandpiperError(
        'github-host-not-approved',
        `--github-host ${flags.githubHost} is not ${host}, the host ${candidate.source} names as the GitHub API.`,
        `Pass --github-host ${host} if you trust it.`,
      );
    }
    if (flags.yes) return true;
    if (!process.stdin.isTTY)
      throw new SandpiperError(
        'usage',
        `Refusing to send the GitHub token to ${host} without confirmation.`,
        'Pass --yes.',
      );
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^y(es)?$/i.test((await rl.question(`Send your GitHub token to ${host}? [y/N] `)).trim());
    } finally {
      rl.close();
    }
  });
}

/** Adds `sandpiper pr draft` to the CLI. */
export function registerPullRequestCommands(program: Command, cli: CliContext): void {
  const pr = program.command('pr').description('Pull requests for the current branch.');
  pr.command('draft')
    .description(
      'Push the branch and open a draft pull request with the template filled, the linked issue and suggested reviewers (token: $GITHUB_TOKEN or $GH_TOKEN).',
    )
    .option('--dry-run', 'show the title, body and ranked reviewers without pushing or calling GitHub')
    .option('--json', 'print JSON')
    .option('--base <branch>', "target branch (default: the remote's default branch)")
    .option('--title <text>', 'title (default: from the commit or the branch name)')
    .option('--template <name>', 'pull request template by name or path when the repository has several')
    .option('--env <namespace>', 'the Sandpiper environment to describe in the body')
    .option('--remote <name>', 'remote to push to and read owner/repo from', 'origin')
    .option('--reviewers <list>', 'keep only these suggested reviewers (comma-separated labels, e.g. bob,acme/api)')
    .option('--open', 'open the pull request in the browser')
    .option(
      '--github-host <host>',
      'send the token to this GitHub Enterprise host (asks to confirm; api.github.com needs no approval)',
    )
    .option('-y, --yes', 'confirm --github-host without asking')
    .action(async (flags: DraftFlags, cmd: Command) => draftCommand(flags, cmd, cli));
}

/** Opens a URL with the platform's opener (CLI only; the extension uses vscode.env.openExternal). */
export function openInBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  const child = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
  child.on('error', () => {
    // No opener installed (a server, a container): the URL is printed anyway.
  });
  child.unref();
}
