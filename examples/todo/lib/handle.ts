// One request through a Router: the matched handler, 404/405 when none, and a thrown error turned into its answer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, sendJson } from './json';
import type { Match, Router } from './router';

/** The route of `req` in `router` (its pattern is the metrics' `route` label). */
export function matchRequest(router: Router, req: IncomingMessage): Match {
  return router.match(req.method ?? 'GET', pathOf(req));
}

/**
 * Serves `req` as `match` says: its handler, else 404 or 405. An HttpError the handler throws answers its status;
 * anything else answers 500 and logs the stack. `name` starts the log line.
 */
export async function handleRequest(
  name: string,
  match: Match,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (!match.ok) {
    if (match.allow) res.setHeader('allow', match.allow.join(', '));
    return sendJson(res, match.status, { error: match.status === 404 ? 'not found' : 'method not allowed' });
  }
  try {
    await match.handler(req, res, match.params);
  } catch (err) {
    const status = err instanceof HttpError ? err.status : 500;
    if (status === 500)
      console.error(`${name}: ${req.method} ${req.url} failed: ${err instanceof Error ? err.stack : err}`);
    if (res.headersSent) res.end();
    else sendJson(res, status, { error: err instanceof HttpError ? err.message : 'internal error' });
  }
}

/** The request's path, without the query. */
export function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]!;
}
