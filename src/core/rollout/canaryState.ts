import { SandpiperError } from '../errors';
import type { TrafficMode } from './types';

/** Annotations on the stable Deployment: the built-in canary's whole state lives on the cluster, so any window or the CLI can resume it. */
export const CANARY_STATE_ANNOTATION = 'sandpiper.dev/canary';
/** On the canary Deployment and Service: the stable workload they belong to. */
export const CANARY_OF_ANNOTATION = 'sandpiper.dev/canary-of';
export const TRACK_LABEL = 'sandpiper.dev/track';

export type CanaryStatus = 'progressing' | 'paused' | 'promoting' | 'promoted' | 'aborting' | 'aborted';

export interface CanaryHistoryEntry {
  at: string;
  event: string;
  detail?: string;
}

export interface CanaryState {
  version: 1;
  status: CanaryStatus;
  image: string;
  container: string;
  /** Traffic percentages per step, e.g. [10, 25, 50, 100]. */
  steps: number[];
  stepIndex: number;
  weight: number;
  intervalMs: number;
  stepStartedAt: string;
  failures: number;
  trafficMode: TrafficMode;
  route?: string;
  /** The stable Deployment's replicas before the canary, to restore them in replica-ratio mode. */
  stableReplicas: number;
  /** The stable pods' pod-template-hash pinned into the stable Service's selector during an HTTPRoute canary. */
  pinnedHash?: string;
  reason?: string;
  /** The latest analysis, so every window (and the CLI) shows the verdict whoever drove it. */
  lastAnalysis?: { verdict: 'pass' | 'fail' | 'no-data'; summary: string; at: string };
  history: CanaryHistoryEntry[];
}

export const TERMINAL: ReadonlySet<CanaryStatus> = new Set(['promoted', 'aborted']);

const STATUSES: ReadonlySet<string> = new Set(['progressing', 'paused', 'promoting', 'promoted', 'aborting', 'aborted']);
const MODES: ReadonlySet<string> = new Set(['httproute', 'replicas']);
const HISTORY_LIMIT = 30;

/** Reads the annotation; undefined when there is none, an error when someone wrote something we cannot trust. */
export function readCanaryState(annotations: Record<string, string> | undefined): CanaryState | undefined {
  const text = annotations?.[CANARY_STATE_ANNOTATION];
  if (!text) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new SandpiperError('canary-state-invalid', `The ${CANARY_STATE_ANNOTATION} annotation is not JSON.`, 'Remove the annotation and start the canary again.');
  }
  if (!isCanaryState(raw)) {
    throw new SandpiperError('canary-state-invalid', `The ${CANARY_STATE_ANNOTATION} annotation does not describe a canary.`, 'Remove the annotation and start the canary again.');
  }
  return raw;
}

export function isCanaryState(v: unknown): v is CanaryState {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  const num = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  return (
    s.version === 1 &&
    typeof s.status === 'string' && STATUSES.has(s.status) &&
    typeof s.image === 'string' && typeof s.container === 'string' &&
    Array.isArray(s.steps) && s.steps.every((x) => num(x) && (x as number) >= 0 && (x as number) <= 100) &&
    num(s.stepIndex) && num(s.weight) && num(s.intervalMs) && num(s.failures) && num(s.stableReplicas) &&
    typeof s.stepStartedAt === 'string' &&
    typeof s.trafficMode === 'string' && MODES.has(s.trafficMode) &&
    Array.isArray(s.history)
  );
}

export function writeCanaryState(state: CanaryState): string {
  return JSON.stringify({ ...state, history: state.history.slice(-HISTORY_LIMIT) });
}

/** A copy with one more history line; the state is never mutated in place (it may be a cached watch object). */
export function withEvent(state: CanaryState, at: Date, event: string, detail?: string): CanaryState {
  return { ...state, history: [...state.history, { at: at.toISOString(), event, ...(detail ? { detail } : {}) }].slice(-HISTORY_LIMIT) };
}

export function canaryName(stable: string): string {
  return `${stable}-canary`;
}
