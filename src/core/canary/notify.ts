import type { AppsV1Api, CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { presentError, redact, sleep } from '../errors';
import { httpCode, kubeError } from '../infra/kube/errors';
import type { CanaryNotify } from '../config/types';
import { notificationPayload, type NotificationInput } from './notifyPayload';
import { canaryName } from './state';

// Notifications of a finished canary (seed 001): a Slack-compatible webhook gets the verdict, the failing metric
// and its threshold, the canary pods' last log lines and a link back. Best effort by design: a notification is
// never worth delaying or failing a rollback, so nothing here throws and every wait is bounded.

export interface NotifyResult {
  sent: boolean;
  attempts: number;
  /** Why it was not sent; never contains the webhook URL. */
  error?: string;
}

/** What happened (the message's content), and how to send it. */
export interface NotifyRequest extends NotificationInput {
  log?: (m: string) => void;
  /** POST attempts (default 3). */
  attempts?: number;
  fetch?: typeof fetch;
  /** First retry delay; doubles each retry (default 1000 ms). */
  backoffMs?: number;
  /** Per-attempt limit (default 5000 ms). */
  timeoutMs?: number;
}

/** The slices of the API notifications use: `Kube` fits them, unit tests pass fakes. */
export interface SecretApi {
  core: Pick<CoreV1Api, 'readNamespacedSecret'>;
}
export interface CanaryLogApi {
  core: Pick<CoreV1Api, 'listNamespacedPod' | 'readNamespacedPodLog'>;
  apps: Pick<AppsV1Api, 'readNamespacedDeployment'>;
}

const ATTEMPTS = 3;
const BACKOFF_MS = 1000;
const TIMEOUT_MS = 5000;
/** A Retry-After longer than this is not waited for in full: the rollout's other work goes on meanwhile. */
const RETRY_AFTER_CAP_MS = 10_000;
const LOG_PODS = 2;
const LOG_LINE_CHARS = 500;

/**
 * The last `lines` log lines of each canary pod (at most two), each prefixed `<pod>: `. Best effort within
 * `timeoutMs`: whatever fails is passed to `log` and yields no lines rather than an error.
 */
export async function captureCanaryLogs(
  kube: CanaryLogApi,
  namespace: string,
  deployment: string,
  lines = 20,
  o: { container?: string; timeoutMs?: number; log?: (m: string) => void } = {},
): Promise<string[]> {
  const timeoutMs = o.timeoutMs ?? TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<string[]>((resolve) => {
    timer = setTimeout(() => {
      o.log?.(`No canary log lines: the cluster did not answer within ${timeoutMs} ms.`);
      resolve([]);
    }, timeoutMs);
  });
  const read = readCanaryLogs(kube, namespace, deployment, Math.max(0, Math.floor(lines)), o.container).catch(
    (err: unknown) => {
      o.log?.(`No canary log lines of ${namespace}/${canaryName(deployment)}: ${presentError(err).message}`);
      return [];
    },
  );
  try {
    return await Promise.race([read, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function readCanaryLogs(
  kube: CanaryLogApi,
  namespace: string,
  deployment: string,
  lines: number,
  container: string | undefined,
): Promise<string[]> {
  if (lines === 0) return [];
  // Requests left running past the deadline end by the Kube client's own request timeout.
  const name = canaryName(deployment);
  const canary = await kube.apps.readNamespacedDeployment({ namespace, name }).catch((err: unknown) => {
    throw kubeError(err, `read Deployment ${namespace}/${name}`);
  });
  const labels = canary.spec?.selector.matchLabels ?? {};
  const labelSelector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  if (!labelSelector) throw new Error(`Deployment ${name} has no label selector`);
  const pods = await kube.core.listNamespacedPod({ namespace, labelSelector }).then(
    (list) => list.items,
    (err: unknown) => {
      throw kubeError(err, `list the pods of Deployment ${namespace}/${name}`);
    },
  );
  const chosen = pods.sort(byLiveness).slice(0, LOG_PODS);
  const per = await Promise.all(chosen.map((pod) => podTail(kube, namespace, pod, lines, container)));
  return per.flat();
}

/** Running pods first, then the newest: those are the ones whose logs say what the canary did. */
function byLiveness(a: V1Pod, b: V1Pod): number {
  const running = (p: V1Pod) => (p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp ? 0 : 1);
  const created = (p: V1Pod) => Date.parse(String(p.metadata?.creationTimestamp ?? '')) || 0;
  return running(a) - running(b) || created(b) - created(a);
}

async function podTail(
  kube: CanaryLogApi,
  namespace: string,
  pod: V1Pod,
  lines: number,
  wanted: string | undefined,
): Promise<string[]> {
  const name = pod.metadata?.name ?? '';
  const containers = pod.spec?.containers.map((c) => c.name) ?? [];
  const container =
    wanted && containers.includes(wanted)
      ? wanted
      : (pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'] ?? containers[0]);
  // A crash-looping canary has an empty current container: the previous one holds the crash.
  for (const previous of [false, true]) {
    try {
      const text = await kube.core.readNamespacedPodLog({ name, namespace, container, previous, tailLines: lines });
      const got = String(text ?? '')
        .split(/\r?\n/)
        .filter((l) => l.trim() !== '')
        .slice(-lines);
      if (got.length)
        return got.map((l) => `${name}: ${l.length > LOG_LINE_CHARS ? `${l.slice(0, LOG_LINE_CHARS)}…` : l}`);
    } catch {
      // No log of this container instance (not started, or no previous one): try the other, else none.
    }
  }
  return [];
}

/**
 * Posts the outcome of a canary to the webhook of `state.spec.notify` (no-op without one). Retries network errors,
 * 429 and 5xx with backoff; never throws; the URL, being a credential, appears in no log line or error.
 */
export async function notifyCanary(kube: SecretApi, n: NotifyRequest): Promise<NotifyResult> {
  const notify = n.state.spec?.notify;
  if (!notify) return { sent: false, attempts: 0 };
  try {
    return await sendNotification(kube, n, notify);
  } catch (err) {
    // Nothing above should throw; if it does, the rollout still must not.
    return fail(n, `Canary notification not sent: ${presentError(err).message}`);
  }
}

async function sendNotification(kube: SecretApi, n: NotifyRequest, notify: CanaryNotify): Promise<NotifyResult> {
  let url: string;
  try {
    const found = await webhookUrl(kube, n.namespace, notify, n.timeoutMs ?? TIMEOUT_MS);
    if (typeof found !== 'string') return fail(n, found.error);
    url = found;
  } catch (err) {
    return fail(n, `Cannot send the canary notification: ${presentError(err).message}`);
  }
  const body = JSON.stringify(notificationPayload(n));
  const scrub = (text: string) => redact(scrubUrl(text, url));
  const target = `the webhook of Secret ${n.namespace}/${notify.secret}`;
  const attempts = Math.max(1, n.attempts ?? ATTEMPTS);
  const doFetch = n.fetch ?? fetch;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let wait = (n.backoffMs ?? BACKOFF_MS) * 2 ** (attempt - 1);
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(n.timeoutMs ?? TIMEOUT_MS),
        redirect: 'error',
      });
      if (res.ok) {
        await res.body?.cancel().catch(() => undefined);
        n.log?.(`Canary notification sent to ${target} (attempt ${attempt}).`);
        return { sent: true, attempts: attempt };
      }
      const answer = (await res.text().catch(() => '')).trim().slice(0, 200);
      last = `${target} answered HTTP ${res.status}${answer ? `: ${scrub(answer)}` : ''}`;
      if (res.status !== 429 && res.status < 500) return fail(n, `Canary notification not sent: ${last}.`, attempt);
      if (res.status === 429) wait = retryAfterMs(res.headers.get('retry-after')) ?? wait;
    } catch (err) {
      const e = err as Error & { cause?: Error };
      const why = e.name === 'TimeoutError' ? `no answer within ${n.timeoutMs ?? TIMEOUT_MS} ms` : describeNetwork(e);
      last = `${target} did not answer: ${scrub(why)}`;
    }
    if (attempt < attempts) {
      n.log?.(`Canary notification attempt ${attempt}/${attempts}: ${last}; retrying in ${wait} ms.`);
      await sleep(wait);
    }
  }
  return fail(n, `Canary notification not sent after ${attempts} attempt(s): ${last}.`, attempts);
}

function fail(n: NotifyRequest, error: string, attempts = 0): NotifyResult {
  n.log?.(error);
  return { sent: false, attempts, error };
}

function describeNetwork(e: Error & { cause?: Error & { code?: string } }): string {
  const cause = e.cause;
  return cause ? `${e.message} (${cause.code ?? cause.message})` : e.message;
}

/** Seconds or an HTTP date, capped; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(0, ms), RETRY_AFTER_CAP_MS);
}

/** Every form of the URL a message could echo (whole, without query, its path) replaced by `***`. */
function scrubUrl(text: string, url: string): string {
  const u = new URL(url);
  const forms = [url, u.href, `${u.origin}${u.pathname}`, u.pathname, u.search, u.username, u.password]
    .filter((f) => f.length > 1)
    .sort((a, b) => b.length - a.length);
  return forms.reduce((t, f) => t.split(f).join('***'), text);
}

/** The webhook URL from the Secret, or an error that says how to create it (never echoing what was found). */
async function webhookUrl(
  kube: SecretApi,
  namespace: string,
  notify: CanaryNotify,
  timeoutMs: number,
): Promise<string | { error: string }> {
  const fix =
    `kubectl -n ${namespace} create secret generic ${notify.secret} ` +
    `--from-literal=${notify.key}=https://hooks.slack.com/services/…`;
  let data: Record<string, string> | undefined;
  try {
    const secret = await withDeadline(kube.core.readNamespacedSecret({ namespace, name: notify.secret }), timeoutMs);
    data = secret.data;
  } catch (err) {
    if (httpCode(err) === 404)
      return {
        error: `Canary notification not sent: there is no Secret ${namespace}/${notify.secret}. Create it: ${fix}`,
      };
    throw httpCode(err) ? kubeError(err, `read Secret ${namespace}/${notify.secret}`) : err;
  }
  const encoded = data?.[notify.key];
  const url = encoded ? Buffer.from(encoded, 'base64').toString('utf8').trim() : '';
  if (!url)
    return {
      error: `Canary notification not sent: Secret ${namespace}/${notify.secret} has no key "${notify.key}". Create it: ${fix}`,
    };
  let protocol = '';
  try {
    protocol = new URL(url).protocol;
  } catch {
    // Not a URL: reported below without its text.
  }
  if (protocol !== 'http:' && protocol !== 'https:')
    return {
      error:
        `Canary notification not sent: key "${notify.key}" of Secret ${namespace}/${notify.secret} ` +
        `is not an http(s) URL. Set it: ${fix}`,
    };
  return url;
}

/** `promise`, or a rejection once `ms` passed (the request itself ends by the Kube client's timeout). */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the cluster did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
