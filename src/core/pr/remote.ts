import { SandpiperError } from '../errors';

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
  const segments = pathPart.replace(/\/+$/, '').replace(/\.git$/, '').split('/').filter(Boolean);
  if (segments.length < 2 || !host) return undefined;
  return { host, owner: segments[segments.length - 2], repo: segments[segments.length - 1] };
}

/** github.com → https://api.github.com; an Enterprise host → https://<host>/api/v3. */
export function defaultApiBaseUrl(host: string): string {
  return host === 'github.com' || host === 'www.github.com' ? 'https://api.github.com' : `https://${host}/api/v3`;
}

/** The base URL to use: the configured one first, then GITHUB_API_URL, then the one the remote's host implies. */
export function apiBaseUrl(repository: GitHubRepository, configured?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = configured || env.GITHUB_API_URL || defaultApiBaseUrl(repository.host);
  try {
    const u = new URL(chosen);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new SandpiperError('pr-bad-base-url', `"${chosen}" is not a GitHub API URL.`, 'Set github.baseUrl in sandpiper.yaml to e.g. https://github.example.com/api/v3.');
  }
  return chosen.replace(/\/+$/, '');
}

export function requireRepository(remote: string, url: string | undefined): GitHubRepository {
  if (!url) {
    throw new SandpiperError('pr-no-remote', `This repository has no "${remote}" remote.`, `Add it: git remote add ${remote} https://github.com/<owner>/<repo>.git`);
  }
  const repo = parseRemoteUrl(url);
  if (!repo) {
    const shown = url.replace(/\/\/[^@/]+@/, '//');
    throw new SandpiperError('pr-remote-not-github', `The "${remote}" remote (${shown}) does not name a GitHub repository.`, 'Point it at https://<host>/<owner>/<repo>.git or git@<host>:<owner>/<repo>.git.');
  }
  return repo;
}
