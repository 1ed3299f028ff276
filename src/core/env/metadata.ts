import type { V1Namespace } from '@kubernetes/client-node';
import { MANAGED_BY, SANDPIPER } from '../infra/kube/client';
import { formatDuration, parseDuration } from '../config/types';

/** Labels and annotations that mark a namespace as a Sandpiper environment; the janitor trusts nothing else. */
export const LABEL_MANAGED_BY = MANAGED_BY;
export const MANAGED_BY_VALUE = SANDPIPER;
export const LABEL_OWNER = 'sandpiper.dev/owner';
export const LABEL_BRANCH = 'sandpiper.dev/branch';
export const LABEL_SERVICE = 'sandpiper.dev/service';
export const ANNOTATION_TTL = 'sandpiper.dev/ttl';
export const ANNOTATION_LAST_ACTIVITY = 'sandpiper.dev/last-activity';
export const ANNOTATION_OWNER = 'sandpiper.dev/owner-full';
export const ANNOTATION_BRANCH = 'sandpiper.dev/branch-full';
export const ANNOTATION_DEPENDENCIES = 'sandpiper.dev/dependencies';
export const ANNOTATION_BASELINE = 'sandpiper.dev/baseline';
export const ANNOTATION_ACTIVITY_REASON = 'sandpiper.dev/last-activity-reason';

export const MANAGED_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`;

/** What the cluster says about one environment, read back from its namespace. */
export interface EnvironmentInfo {
  name: string;
  owner: string;
  branch: string;
  service?: string;
  baseline?: string;
  dependencies: Record<string, 'shared' | 'copy'>;
  ttlMs?: number;
  lastActivity?: Date;
  /** Undefined when the TTL or last activity is missing or unreadable: such an env never expires on its own. */
  expiresAt?: Date;
  phase: string;
}

/** Label values allow 63 chars of [A-Za-z0-9-_.], starting and ending alphanumeric. */
export function labelValue(text: string): string {
  return (
    text
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .slice(0, 63)
      .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '') || 'unknown'
  );
}

export function isManaged(ns: V1Namespace): boolean {
  return ns.metadata?.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_VALUE;
}

/** The moment an environment expires, or undefined when its annotations do not say (then it is never collected). */
export function expiryOf(annotations: Record<string, string> | undefined): Date | undefined {
  const ttl = annotations?.[ANNOTATION_TTL] ? parseDuration(annotations[ANNOTATION_TTL]) : undefined;
  const last = annotations?.[ANNOTATION_LAST_ACTIVITY] ? Date.parse(annotations[ANNOTATION_LAST_ACTIVITY]) : NaN;
  if (ttl === undefined || ttl <= 0 || Number.isNaN(last)) return undefined;
  return new Date(last + ttl);
}

export function environmentInfo(ns: V1Namespace): EnvironmentInfo {
  const labels = ns.metadata?.labels ?? {};
  const annotations = ns.metadata?.annotations ?? {};
  let dependencies: Record<string, 'shared' | 'copy'> = {};
  try {
    dependencies = JSON.parse(annotations[ANNOTATION_DEPENDENCIES] ?? '{}') as Record<string, 'shared' | 'copy'>;
  } catch {
    // A hand-edited annotation shows as no dependencies rather than breaking the list.
  }
  const last = annotations[ANNOTATION_LAST_ACTIVITY] ? new Date(annotations[ANNOTATION_LAST_ACTIVITY]) : undefined;
  return {
    name: ns.metadata?.name ?? '',
    owner: annotations[ANNOTATION_OWNER] ?? labels[LABEL_OWNER] ?? '',
    branch: annotations[ANNOTATION_BRANCH] ?? labels[LABEL_BRANCH] ?? '',
    service: labels[LABEL_SERVICE],
    baseline: annotations[ANNOTATION_BASELINE],
    dependencies,
    ttlMs: annotations[ANNOTATION_TTL] ? parseDuration(annotations[ANNOTATION_TTL]) : undefined,
    lastActivity: last && !Number.isNaN(last.getTime()) ? last : undefined,
    expiresAt: expiryOf(annotations),
    phase: ns.status?.phase ?? 'Unknown',
  };
}

/** "expires in 1h20m" / "expired 5m ago" / "no expiry". */
export function describeExpiry(expiresAt: Date | undefined, now = Date.now()): string {
  if (!expiresAt) return 'no expiry';
  const left = expiresAt.getTime() - now;
  return left > 0 ? `expires in ${formatDuration(left)}` : `expired ${formatDuration(-left)} ago`;
}

/** One line of progress: a step started, finished, or a note; the UI and the CLI render it their way. */
export interface EnvironmentProgress {
  step: 'namespace' | 'dependency' | 'service' | 'build' | 'note';
  name: string;
  state: 'started' | 'ready' | 'info';
  message: string;
}

export type ProgressSink = (p: EnvironmentProgress) => void;
