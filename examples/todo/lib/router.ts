// A tiny method + path router. Each match names its route pattern (`/tasks/:id`), the `route` label of the
// request metrics: one series per pattern, never one per id.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Params = Record<string, string>;
export type Handler = (req: IncomingMessage, res: ServerResponse, params: Params) => void | Promise<void>;

interface Route {
  method: string;
  pattern: string;
  parts: string[];
  handler: Handler;
}

export type Match =
  | { ok: true; route: string; handler: Handler; params: Params }
  | { ok: false; route: string; status: 404 | 405; allow?: string[] };

/** The `route` label of requests no pattern matched (one series for every unknown path). */
export const UNMATCHED = 'unmatched';

export class Router {
  private readonly routes: Route[] = [];
  private fallback?: { route: string; handler: Handler };

  on(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method: method.toUpperCase(), pattern, parts: split(pattern), handler });
    return this;
  }

  /** Handles whatever no route matches (instead of 404/405), counted under the `route` label `label`. */
  otherwise(label: string, handler: Handler): this {
    this.fallback = { route: label, handler };
    return this;
  }

  /** The handler of `method path` (no query), or why there is none: 404, or 405 and the allowed methods. */
  match(method: string, path: string): Match {
    const parts = split(path);
    const allow: string[] = [];
    let pattern: string | undefined;
    for (const r of this.routes) {
      const params = matchParts(r.parts, parts);
      if (!params) continue;
      pattern ??= r.pattern;
      if (r.method === method || (method === 'HEAD' && r.method === 'GET'))
        return { ok: true, route: r.pattern, handler: r.handler, params };
      allow.push(r.method);
    }
    if (this.fallback) return { ok: true, ...this.fallback, params: {} };
    if (pattern) return { ok: false, route: pattern, status: 405, allow };
    return { ok: false, route: UNMATCHED, status: 404 };
  }
}

function split(path: string): string[] {
  return path.split('/').filter((p) => p !== '');
}

function matchParts(pattern: string[], parts: string[]): Params | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Params = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = decodeURIComponent(parts[i]!);
      } catch {
        return undefined; // a malformed %-escape matches nothing
      }
    } else if (p !== parts[i]) return undefined;
  }
  return params;
}
