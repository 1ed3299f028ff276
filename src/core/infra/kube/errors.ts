import * as k8s from '@kubernetes/client-node';
import { SandpiperError } from '../../errors';

// The one translator of Kubernetes API failures into errors that say what we tried and what to do.

interface Status {
  message?: string;
  reason?: string;
  details?: { kind?: string; name?: string; group?: string };
}

function statusOf(err: k8s.ApiException<unknown>): Status {
  const body = err.body;
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as Status;
    } catch {
      return { message: body };
    }
  }
  return (body ?? {}) as Status;
}

export function httpCode(err: unknown): number | undefined {
  if (err instanceof k8s.ApiException) return err.code;
  const code = (err as { code?: unknown; statusCode?: unknown })?.statusCode ?? (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Turns a client-node failure into an error that says what we tried and what to do. */
export function kubeError(err: unknown, doing: string): SandpiperError {
  if (err instanceof SandpiperError) return err;
  if (err instanceof k8s.ApiException) {
    const status = statusOf(err);
    const message = status.message ?? err.message.split('\n')[0];
    switch (err.code) {
      case 401:
        return new SandpiperError(
          'unauthenticated',
          `The cluster refused our credentials while trying to ${doing}.`,
          'Log in again or refresh the kubeconfig credentials.',
          message,
        );
      case 403:
        return forbiddenError(message, doing);
      case 404:
        return new SandpiperError('not-found', `Not found while trying to ${doing}: ${message}`, undefined, message);
      case 409:
        return new SandpiperError('conflict', `Conflict while trying to ${doing}: ${message}`, undefined, message);
      case 422:
        return new SandpiperError(
          'invalid',
          `The cluster rejected an object while trying to ${doing}: ${message}`,
          undefined,
          message,
        );
      default:
        return new SandpiperError('api', `Could not ${doing}: HTTP ${err.code}: ${message}`, undefined, message);
    }
  }
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = connectionCode(err);
  // `Kube` (client.ts) marks the failures of its requests with the context and server they went to.
  const marked = err as { timeoutMs?: number; cluster?: string };
  const cluster = marked.cluster ? `the cluster ${marked.cluster}` : 'the cluster';
  if (code === 'ETIMEDOUT' && marked.timeoutMs) {
    return new SandpiperError(
      'unreachable',
      `Cannot ${doing}: ${cluster} does not answer (timed out after ${marked.timeoutMs / 1000} s).`,
      UNREACHABLE_HINT,
    );
  }
  if (code && UNREACHABLE_CODES.has(String(code)))
    return new SandpiperError(
      'unreachable',
      `Cannot ${doing}: ${cluster} does not answer (${code}).`,
      UNREACHABLE_HINT,
    );
  if (code && TLS_CODE.test(String(code))) {
    const reason = (e.cause?.message ?? e.message ?? '').replace(/^.*reason: /, '');
    return new SandpiperError(
      'unreachable',
      `Cannot ${doing}: the TLS connection to ${cluster} failed (${code}${reason ? `: ${reason}` : ''}).`,
      "Check the server address and the cluster's certificate-authority in the kubeconfig, or pick another context.",
    );
  }
  if (e?.name === 'AbortError') return new SandpiperError('cancelled', 'Cancelled.');
  return new SandpiperError('api', `Could not ${doing}: ${e?.message ?? String(err)}`);
}

const UNREACHABLE_HINT = 'Check that the cluster is running and the kubeconfig points at it, or pick another context.';

/** Network failures: the server refused, is not there (DNS), or the connection died or hung. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** OpenSSL / Node TLS failures: untrusted or expired certificate, wrong host name, not TLS at all. */
const TLS_CODE =
  /^(EPROTO|ERR_TLS_\w+|ERR_SSL_\w+|ERR_OSSL_\w+|CERT_\w+|UNABLE_TO_\w+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH)$/;

/** Whether an error is a failure to talk to the cluster at all (network or TLS), which kubeError explains. */
export function isConnectionFailure(err: unknown): boolean {
  const code = connectionCode(err) ?? '';
  return UNREACHABLE_CODES.has(code) || TLS_CODE.test(code);
}

/** The system error code of a failure: on it, its cause (fetch), or the error a websocket's ErrorEvent carries. */
function connectionCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown }; error?: { code?: unknown } } | undefined;
  const code = e?.code ?? e?.cause?.code ?? e?.error?.code;
  return code === undefined ? undefined : String(code);
}

/** Marks a failed request with the cluster it went to (`of context "x" (https://…)`), for kubeError's message. */
/** Which cluster a kubeconfig talks to, for messages: `of context "x" (https://server:6443)`. */
export function clusterOf(config: k8s.KubeConfig): string {
  return `of context "${config.getCurrentContext()}" (${config.getCurrentCluster()?.server ?? ''})`;
}

export function markCluster<T>(err: T, cluster: string): T {
  if (err && typeof err === 'object' && !(err as { cluster?: string }).cluster && isConnectionFailure(err))
    Object.assign(err, { cluster });
  return err;
}

const FORBIDDEN =
  /cannot (\w+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)"| at the cluster scope)?/;

/** A 403 turned into a message that names the verb, the resource and the namespace, and who was refused. */
function forbiddenError(message: string, doing: string): SandpiperError {
  const m = FORBIDDEN.exec(message);
  const user = /User "([^"]+)"/.exec(message)?.[1];
  if (!m)
    return new SandpiperError(
      'forbidden',
      `Forbidden while trying to ${doing}: ${message}`,
      'Ask for the missing RBAC permission, or use another context.',
      message,
    );
  const [, verb, resource, group, namespace] = m;
  // For a Namespace object the apiserver reports its own name as "the namespace".
  const where = !namespace
    ? 'at the cluster scope'
    : resource === 'namespaces'
      ? `named "${namespace}"`
      : `in namespace "${namespace}"`;
  const res = group ? `${resource}.${group}` : resource;
  return new SandpiperError(
    'forbidden',
    `Forbidden: ${user ? `"${user}"` : 'you'} cannot ${verb} ${res} ${where} (while trying to ${doing}).`,
    `Ask a cluster admin for RBAC permission to ${verb} ${res} ${where}, or use another context.`,
    message,
  );
}
