import type { Readable } from 'node:stream';
import { type KubeConfig, ApiException } from '@kubernetes/client-node';
import { presentError, sleep } from '../errors';
import { clusterOf, httpCode, kubeError, markCluster } from '../infra/kube/errors';
import { parseTimestampedLine, resumeSinceTime, ResumeDeduper } from './format';
import * as http from 'node:http';
import * as https from 'node:https';

export interface LogRecord {
  pod: string;
  container: string;
  /** RFC 3339 as the server sent it. */
  timestamp: string;
  text: string;
}

export interface ContainerLogOptions {
  kc: KubeConfig;
  namespace: string;
  pod: string;
  container: string;
  follow: boolean;
  tailLines?: number;
  signal: AbortSignal;
  onLine(record: LogRecord): void;
  /** Reconnects and the reasons for them, for the log channel. */
  onNotice?(message: string): void;
  retryDelayMs?: { initial: number; max: number };
}

/**
 * Streams one container's log, and in follow mode resumes after every drop or container restart from the
 * last line seen (`sinceTime` + de-duplication), so no line is lost or shown twice. Ends when the pod is
 * gone (404), the signal aborts, or (without follow) the log has been read once; without follow, a log that
 * cannot be read rejects with the translated error.
 */
export async function followContainerLog(o: ContainerLogOptions): Promise<void> {
  const dedupe = new ResumeDeduper();
  const retry = o.retryDelayMs ?? { initial: 250, max: 5000 };
  let delay = retry.initial;
  let connectedOnce = false;
  let firstConnectAt = '';
  while (!o.signal.aborted) {
    let fresh = 0;
    try {
      const query: ContainerLogQuery = { follow: o.follow };
      if (!connectedOnce) query.tailLines = o.tailLines;
      else {
        query.sinceTime = resumeSinceTime(dedupe.lastTimestamp ?? firstConnectAt);
        dedupe.resume();
      }
      const body = await openContainerLog(o.kc, o.namespace, o.pod, o.container, query, o.signal);
      if (!connectedOnce) firstConnectAt = new Date().toISOString();
      if (connectedOnce) o.onNotice?.(`${o.pod}/${o.container}: log stream resumed from ${query.sinceTime}`);
      connectedOnce = true;
      await readLines(body, !o.follow, (line) => {
        const parsed = parseTimestampedLine(line);
        if (!dedupe.accept(parsed)) return;
        fresh++;
        o.onLine({ pod: o.pod, container: o.container, timestamp: parsed.timestamp, text: parsed.text });
      });
      if (!o.follow || o.signal.aborted) return;
      o.onNotice?.(`${o.pod}/${o.container}: log stream ended; reconnecting`);
    } catch (err) {
      if (o.signal.aborted) return;
      if (httpCode(err) === 404) return;
      // Through the one translator: client-node's own message is a dump of status, body and headers.
      const failure = kubeError(markCluster(err, clusterOf(o.kc)), `read the log of ${o.pod}/${o.container}`);
      // Read once (no follow): a log that cannot be read is a failure to report, not something to wait out.
      if (!o.follow) throw failure;
      o.onNotice?.(`${o.pod}/${o.container}: ${presentError(failure).message}; retrying`);
    }
    // A stream that ends at once with nothing new (a finished container) backs off instead of spinning.
    delay = fresh > 0 ? retry.initial : Math.min(delay * 2, retry.max);
    await sleep(fresh > 0 ? retry.initial : delay, o.signal);
  }
}

/**
 * Calls back once per complete line. A dropped stream's unterminated tail is not emitted in follow mode:
 * the resumed stream sends that line again in full.
 */
function readLines(body: Readable, flushTail: boolean, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    let rest = '';
    body.setEncoding('utf8');
    body.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const part of parts) onLine(part.endsWith('\r') ? part.slice(0, -1) : part);
      // One chunk per turn of the event loop: a fast log must not starve the editor (or the other streams).
      body.pause();
      setImmediate(() => body.resume());
    });
    const finish = () => {
      if (flushTail && rest) onLine(rest);
      rest = '';
      resolve();
    };
    body.once('end', finish);
    body.once('error', finish);
    body.once('close', finish);
  });
}

export interface ContainerLogQuery {
  follow: boolean;
  tailLines?: number;
  /** RFC 3339; the server sends lines at or after it. */
  sinceTime?: string;
}

/**
 * Opens `GET …/pods/<pod>/log` and hands back the body. client-node's `Log` pipes the body into a stream
 * without telling when the connection drops, and a silent drop is exactly what the follower must see.
 */
export async function openContainerLog(
  kc: KubeConfig,
  namespace: string,
  pod: string,
  container: string,
  query: ContainerLogQuery,
  signal: AbortSignal,
): Promise<Readable> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('No current cluster in the kubeconfig.');
  const url = new URL(
    `${server.replace(/\/$/, '')}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`,
  );
  url.searchParams.set('container', container);
  url.searchParams.set('timestamps', 'true');
  if (query.follow) url.searchParams.set('follow', 'true');
  if (query.tailLines !== undefined) url.searchParams.set('tailLines', String(query.tailLines));
  if (query.sinceTime) url.searchParams.set('sinceTime', query.sinceTime);
  const options: https.RequestOptions = { method: 'GET', signal };
  await kc.applyToHTTPSOptions(options);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<Readable>((resolve, reject) => {
    const req = transport.request(url, options, (res) => {
      if (res.statusCode === 200) return resolve(res);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        let message = body;
        try {
          message = (JSON.parse(body) as { message?: string }).message ?? body;
        } catch {
          // Not a Status object: keep the text.
        }
        reject(new ApiException(res.statusCode ?? 500, message, body, {}));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
