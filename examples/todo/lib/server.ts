// The HTTP server every service runs: its routes, /healthz (readiness), /metrics (Prometheus), one log line per
// request, and a drain on SIGTERM so a rollout, a scale-down or a hot reload drops no request.
import * as fs from 'node:fs';
import * as http from 'node:http';
import { handleRequest, matchRequest, pathOf } from './handle';
import { sendText } from './json';
import { metricsText, observeRequest } from './metrics';
import type { Router } from './router';

export interface ServiceOptions {
  /** The service's name, at the start of its log lines. */
  name: string;
  router: Router;
  /** Default: env PORT, else 8080. */
  port?: number;
  /** Whether the service can take traffic (e.g. its store is connected); /healthz answers 503 until then. */
  ready?: () => boolean;
  /** Called once the server has closed, before the process exits (close pools, flush files). */
  onClose?: () => Promise<void> | void;
}

export interface Service {
  server: http.Server;
  /** Resolves once the server listens. */
  listening: Promise<void>;
  /** Fails readiness, waits `drainMs`, stops taking connections, answers the requests in flight and closes. */
  drain(drainMs: number): Promise<void>;
}

export function log(name: string, message: string): void {
  console.log(`${new Date().toISOString()} ${name} ${message}`);
}

export function serve(opts: ServiceOptions): Service {
  const port = opts.port ?? Number(process.env.PORT || 8080);
  let draining = false;

  const server = http.createServer((req, res) => {
    if (draining) res.setHeader('connection', 'close');
    const path = pathOf(req);
    // Probes and scrapes are neither logged nor counted: they would drown the requests people make (and dilute
    // the canary's error rate with 200s).
    if (path === '/healthz') {
      const ok = !draining && (opts.ready?.() ?? true);
      return sendText(res, ok ? 200 : 503, ok ? 'ok' : draining ? 'draining' : 'starting');
    }
    if (path === '/metrics') {
      metricsText().then(
        (m) => sendText(res, 200, m.body, m.contentType),
        (err: unknown) => sendText(res, 500, String(err)),
      );
      return;
    }
    const start = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    const match = matchRequest(opts.router, req);
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      observeRequest(method, match.route, res.statusCode, seconds);
      log(opts.name, `${method} ${path} ${res.statusCode} ${(seconds * 1000).toFixed(1)}ms`);
    });
    void handleRequest(opts.name, match, req, res);
  });

  const listening = new Promise<void>((resolve) =>
    server.listen(port, () => {
      log(opts.name, `listening on ${port}`);
      resolve();
    }),
  );

  let drained: Promise<void> | undefined;
  const drain = (drainMs: number): Promise<void> =>
    (drained ??= (async () => {
      draining = true;
      log(opts.name, `draining for ${drainMs / 1000}s`);
      // Keep serving while the endpoints and the gateway stop sending here, then close.
      await new Promise((r) => setTimeout(r, drainMs));
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5000).unref())]);
      await opts.onClose?.();
      log(opts.name, 'closed');
    })());

  process.once('SIGTERM', () => {
    drain(drainDelayMs()).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`${opts.name}: drain failed: ${String(err)}`);
        process.exit(1);
      },
    );
  });
  return { server, listening, drain };
}

const mainScript = process.argv[1];
const startedMtime = mtimeOf(mainScript);

/**
 * How long to keep serving after SIGTERM. `node --watch` restarts on a synced bundle with the same SIGTERM a pod
 * gets when it is deleted; only the latter needs the endpoints to catch up (DRAIN_SECONDS, default 5). A changed
 * main script means a hot reload: close at once, so the new code serves within a second.
 */
function drainDelayMs(): number {
  if (mtimeOf(mainScript) !== startedMtime) return 0;
  return 1000 * Number(process.env.DRAIN_SECONDS ?? 5);
}

function mtimeOf(file: string | undefined): number | undefined {
  try {
    return file ? fs.statSync(file).mtimeMs : undefined;
  } catch {
    return undefined;
  }
}
