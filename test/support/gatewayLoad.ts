// Steady, bounded traffic through the testbed's Gateway (Traefik, on 127.0.0.1 only): every response is classified
// by the build that served it, so a canary test counts how traffic really splits instead of reading weights back.
import * as http from 'node:http';
import { sleep } from '../../src/core/errors';
import { CANARY_TASK } from './canaryWorkspace';
import { requireRealNode } from './realPods';
import { eventually } from './wait';

/** Responses per kind, e.g. { stable: 312, canary: 88 }. */
export type Counts = Record<string, number>;

/**
 * Which build answered GET /tasks: the example's own (its in-memory store empty: `[]`) is "stable"; the good canary
 * build (the task its store starts with) and the bad one (500 from the example's error handler) are "canary";
 * anything else (the Gateway's own 502/503…) is "HTTP <status>".
 */
export function servedBy(status: number, body: string): string {
  if (status === 200 && body === '[]') return 'stable';
  if (status === 200 && body.includes(CANARY_TASK)) return 'canary';
  if (status === 500 && body.includes('"internal error"')) return 'canary';
  return `HTTP ${status}`;
}

export interface LoadOptions {
  /** Requests per second in all (default 100). */
  rps?: number;
  /** Requests in flight at most (default 4). */
  concurrency?: number;
  /** Stops on its own after this many requests (default 100,000): the load never outlives a hung test. */
  maxRequests?: number;
  path?: string;
  /** HTTP Basic credentials on every request (a gateway that checks them at the edge, as the Todo example's does). */
  auth?: { user: string; password: string };
}

interface Seen {
  at: number;
  kind: string;
}

export class GatewayLoad {
  private readonly seen: Seen[] = [];
  private readonly agent: http.Agent;
  private readonly port = requireRealNode().gateway.port;
  private running = false;
  private sent = 0;
  private workers: Array<Promise<void>> = [];

  constructor(
    readonly host: string,
    private readonly o: LoadOptions = {},
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency ?? 4 });
  }

  /** Starts sending; each worker paces itself so that all of them together keep to `rps`. */
  start(): this {
    if (this.running) return this;
    this.running = true;
    const n = this.o.concurrency ?? 4;
    const gapMs = (1000 * n) / (this.o.rps ?? 100);
    this.workers = Array.from({ length: n }, async (_, i) => {
      await sleep((gapMs * i) / n);
      while (this.running && this.sent < (this.o.maxRequests ?? 100_000)) {
        const t0 = performance.now();
        this.sent++;
        this.record(await this.get());
        await sleep(Math.max(0, gapMs - (performance.now() - t0)));
      }
    });
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    this.agent.destroy();
  }

  /** A moment to count from or to (the clock the responses are stamped with). */
  now(): number {
    return performance.now();
  }

  /** Responses that arrived between two moments. */
  counts(from = 0, to = Infinity): Counts {
    const c: Counts = {};
    for (const s of this.seen) if (s.at >= from && s.at <= to) c[s.kind] = (c[s.kind] ?? 0) + 1;
    return c;
  }

  /** Counts of the next `n` responses. */
  async next(n: number, timeoutMs = 60_000): Promise<Counts> {
    const from = this.seen.length;
    await eventually(`${n} responses through the Gateway`, () => this.seen.length >= from + n, timeoutMs, 50);
    const c: Counts = {};
    for (const s of this.seen.slice(from, from + n)) c[s.kind] = (c[s.kind] ?? 0) + 1;
    return c;
  }

  /** Waits until `n` responses in a row are all of `kind` (the Gateway has caught up with a change). */
  async settled(kind: string, n = 50, timeoutMs = 60_000): Promise<void> {
    await eventually(
      `${n} responses in a row from ${kind} (last: ${JSON.stringify(this.tail(n))})`,
      () => this.seen.length >= n && this.seen.slice(-n).every((s) => s.kind === kind),
      timeoutMs,
      100,
    );
  }

  /** When the last response of `kind` arrived (0: none yet). */
  lastOf(kind: string): number {
    for (let i = this.seen.length - 1; i >= 0; i--) if (this.seen[i].kind === kind) return this.seen[i].at;
    return 0;
  }

  /** The kinds of the last `n` responses. */
  tail(n: number): Counts {
    return this.seen.slice(-n).reduce<Counts>((c, s) => ({ ...c, [s.kind]: (c[s.kind] ?? 0) + 1 }), {});
  }

  private record(kind: string): void {
    this.seen.push({ at: performance.now(), kind });
  }

  private authorization(): Record<string, string> {
    const a = this.o.auth;
    return a ? { authorization: `Basic ${Buffer.from(`${a.user}:${a.password}`).toString('base64')}` } : {};
  }

  private get(): Promise<string> {
    return new Promise((resolve) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          path: this.o.path ?? '/tasks',
          agent: this.agent,
          headers: { host: this.host, ...this.authorization() },
          timeout: 5000,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(servedBy(res.statusCode ?? 0, body.trim())));
          res.on('error', (e) => resolve(`error ${e.message}`));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      req.end();
    });
  }
}

/** The canary's share of the counted responses in percent, and how many were counted. */
export function canaryShare(c: Counts): { share: number; n: number } {
  const n = Object.values(c).reduce((a, b) => a + b, 0);
  return { share: n ? (100 * (c.canary ?? 0)) / n : NaN, n };
}
