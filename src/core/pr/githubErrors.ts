import { SandpiperError, cancelled } from '../errors';

interface HttpishError {
  status?: number;
  message?: string;
  name?: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
  cause?: unknown;
}

function header(err: HttpishError, name: string): string | undefined {
  const v = err.response?.headers?.[name];
  return v === undefined ? undefined : String(v);
}

function validationDetail(data: unknown): string {
  const d = data as { message?: string; errors?: Array<{ message?: string; field?: string; code?: string } | string> } | undefined;
  const parts = (d?.errors ?? []).map((e) => (typeof e === 'string' ? e : e.message ?? [e.field, e.code].filter(Boolean).join(' ')));
  return [d?.message, ...parts].filter(Boolean).join(': ');
}

/** Turns what Octokit throws into a coded error naming the next step; `doing` says what was attempted. */
export function gitHubError(err: unknown, doing: string, baseUrl: string, signal?: AbortSignal): Error {
  if (signal?.aborted) return cancelled();
  if (err instanceof SandpiperError) return err;
  const e = (err ?? {}) as HttpishError;
  const status = e.status;
  const remaining = header(e, 'x-ratelimit-remaining');
  if (status === 429 || (status === 403 && (remaining === '0' || header(e, 'retry-after')))) {
    const reset = Number(header(e, 'x-ratelimit-reset'));
    const retryAfter = Number(header(e, 'retry-after'));
    const when = reset ? new Date(reset * 1000) : retryAfter ? new Date(Date.now() + retryAfter * 1000) : undefined;
    const at = when ? ` It resets at ${when.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}.` : '';
    return new SandpiperError('github-rate-limited', `GitHub's rate limit stopped ${doing}.${at}`, 'Wait until then and run the command again.');
  }
  if (status === 401) {
    return new SandpiperError('github-unauthorized', `GitHub refused the token while ${doing} (401 Bad credentials).`, 'Sign in to GitHub again (or set a valid GITHUB_TOKEN for the CLI).');
  }
  if (status === 403) {
    return new SandpiperError('github-forbidden', `GitHub did not allow ${doing} (403: ${validationDetail(e.response?.data) || "forbidden"}).`, 'Use a token with the "repo" scope (fine-grained: Pull requests read/write) on this repository.');
  }
  if (status === 404) {
    return new SandpiperError('github-not-found', `GitHub answered 404 while ${doing}: the repository does not exist or the token cannot see it.`, 'Check the origin remote and that the token has access to the repository.');
  }
  if (status === 422) {
    return new SandpiperError('github-rejected', `GitHub rejected ${doing}: ${validationDetail(e.response?.data) || e.message}.`);
  }
  if (!status || status >= 500 || e.name === 'HttpError') {
    const cause = e.cause as { code?: string; message?: string } | undefined;
    const why = cause?.code ?? cause?.message ?? e.message ?? 'no answer';
    if (!status || /fetch failed|ECONN|ENOTFOUND|EAI_AGAIN|socket/i.test(`${e.message} ${why}`)) {
      return new SandpiperError('github-unreachable', `Cannot reach GitHub at ${baseUrl} while ${doing} (${why}).`, 'Check the network, or github.baseUrl in sandpiper.yaml for GitHub Enterprise.');
    }
    return new SandpiperError('github-server-error', `GitHub failed while ${doing} (${status}).`, 'Try again in a minute; see https://www.githubstatus.com.');
  }
  return new SandpiperError('github-failed', `GitHub answered ${status} while ${doing}: ${e.message ?? ''}`);
}
