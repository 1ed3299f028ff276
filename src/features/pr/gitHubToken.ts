import * as vscode from 'vscode';
import { SandpiperError } from '../../core/errors';

const SCOPES = ['repo'];

function providerFor(baseUrl: string): string {
  return new URL(baseUrl).hostname === 'api.github.com' ? 'github' : 'github-enterprise';
}

/** getSession waits for a provider that may never register (code-server has none): give up after a while. */
function withTimeout<T>(p: Thenable<T>, ms: number): Promise<T | undefined> {
  return Promise.race([Promise.resolve(p).catch(() => undefined), new Promise<undefined>((r) => setTimeout(() => r(undefined), ms))]);
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
