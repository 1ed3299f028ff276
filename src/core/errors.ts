/**
 * Every code a SandpiperError may carry: callers branch on these (`err.code === 'not-found'`), so a typo must
 * fail to compile. Add a code here when a new expected failure needs one.
 */
export type ErrorCode =
  | 'usage'
  | 'cancelled'
  | 'deleted'
  | 'not-found'
  | 'not-ours'
  | 'not-ready'
  | 'invalid'
  | 'conflict'
  // the cluster
  | 'api'
  | 'unreachable'
  | 'unauthenticated'
  | 'forbidden'
  | 'no-cluster'
  | 'exec-broken'
  | 'exec-timeout'
  | 'no-ready-pod'
  | 'port-in-use'
  // sandpiper.yaml and manifests
  | 'config-missing'
  | 'config-invalid'
  | 'no-workspace'
  | 'unknown-service'
  | 'unknown-dependency'
  | 'no-debug-config'
  | 'manifests-missing'
  | 'manifests-empty'
  | 'manifests-invalid'
  | 'manifests-kustomize'
  // environments and images
  | 'no-environment'
  | 'baseline-missing'
  | 'janitor-failed'
  | 'no-registry'
  | 'no-image-build'
  | 'image-failed'
  | 'docker-unreachable'
  | 'rollout-timeout'
  | 'rollout-stuck'
  | 'no-revision'
  | PodFailureCode
  // sync
  | 'sync-failed'
  | 'sync-no-pods'
  | 'sync-no-workload'
  | 'sync-no-container'
  | 'sync-not-configured'
  | 'sync-path-refused'
  | 'sync-reload-failed'
  | 'sync-tools-missing'
  // canaries and metrics
  | 'no-canary'
  | 'canary-active'
  | 'canary-busy'
  | 'canary-container'
  | 'canary-lease-lost'
  | 'canary-rolled-back'
  | 'canary-state'
  | 'canary-state-invalid'
  | 'canary-steps'
  | 'metrics-query'
  | 'metrics-unconfigured'
  | 'metrics-unreachable'
  | 'no-controller'
  // git, GitHub and pull requests
  | 'git-missing'
  | 'git-failed'
  | 'git-not-repository'
  | 'git-bad-branch'
  | 'github-no-token'
  | 'github-no-session'
  | 'github-unreachable'
  | 'github-unauthorized'
  | 'github-forbidden'
  | 'github-not-found'
  | 'github-rate-limited'
  | 'github-rejected'
  | 'github-server-error'
  | 'github-failed'
  | 'pr-no-remote'
  | 'pr-remote-not-github'
  | 'pr-bad-base-url'
  | 'pr-no-base'
  | 'pr-default-branch'
  | 'pr-detached'
  | 'pr-no-commits'
  | 'pr-no-template'
  | 'pr-push-failed'
  | 'github-host-not-approved'
  | 'github-insecure-url';

/** Why Kubernetes says a pod cannot run, kept as the code: hints and tests key on the reason itself. */
export type PodFailureCode =
  | 'ImagePullBackOff'
  | 'InvalidImageName'
  | 'ErrImageNeverPull'
  | 'CrashLoopBackOff'
  | 'CreateContainerConfigError'
  | 'CreateContainerError'
  | 'RunContainerError'
  | 'Unschedulable'
  | 'Evicted'
  | 'DeadlineExceeded'
  | 'Failed';

const POD_FAILURE_CODES = new Set<string>([
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'Unschedulable',
  'Evicted',
  'DeadlineExceeded',
  'Failed',
] satisfies PodFailureCode[]);

/** A pod's waiting or status reason as a code: a pull error is a pull back-off, a reason we do not know is 'Failed'. */
export function podFailureCode(reason: string): PodFailureCode {
  if (reason === 'ErrImagePull') return 'ImagePullBackOff';
  return POD_FAILURE_CODES.has(reason) ? (reason as PodFailureCode) : 'Failed';
}

/** Expected failures carry a code, a message for people and, when there is one, the next step. */
export class SandpiperError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
    readonly details?: string,
  ) {
    super(message);
    this.name = 'SandpiperError';
  }
}

const SECRET_PATTERNS: RegExp[] = [
  /\b(gh[pousr]_[A-Za-z0-9]{20,})\b/g,
  /\b(github_pat_[A-Za-z0-9_]{20,})\b/g,
  /(authorization:\s*(?:bearer|token|basic)\s+)[^\s"']+/gi,
  /(token[=:]\s*)[^\s"'&]+/gi,
  /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{5,}\b/g,
];

/** Removes anything that looks like a credential before text reaches a log or a notification. */
export function redact(text: string): string {
  return SECRET_PATTERNS.reduce(
    (t, re) => t.replace(re, (_m, keep?: string) => (typeof keep === 'string' && keep !== _m ? `${keep}***` : '***')),
    text,
  );
}

/** One line (plus hint) a person can act on, whatever was thrown. */
export function presentError(err: unknown): { message: string; hint?: string; code?: ErrorCode } {
  if (err instanceof SandpiperError) return { message: redact(err.message), hint: err.hint, code: err.code };
  if (err instanceof Error) return { message: redact(err.message) };
  return { message: redact(String(err)) };
}

export function isCancellation(err: unknown): boolean {
  return (
    err instanceof Error && (err.name === 'AbortError' || (err instanceof SandpiperError && err.code === 'cancelled'))
  );
}

export function cancelled(): SandpiperError {
  return new SandpiperError('cancelled', 'Cancelled.');
}

/** Waits `ms`, or less when `signal` aborts: it never rejects, so callers check `signal.aborted` after. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
