import { SandpiperError } from '../errors';
import type { TrafficMode } from '../workloads/model';
import type { AppsV1Api, V1Deployment } from '@kubernetes/client-node';
import { mergePatch, type Kube } from '../infra/kube/client';
import { httpCode, kubeError } from '../infra/kube/errors';
import type { SandpiperSummary } from '../pr/body';
import type { CanaryConfig, CanaryNotify } from '../config/types';

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

/** What a driver needs without sandpiper.yaml (the in-cluster controller has none); written by startCanary. */
export interface CanarySpec {
  /** The `service` label of app metrics; the Service name for gateway metrics. */
  service: string;
  analysis: CanaryConfig['analysis'];
  /** PromQL rate window, e.g. '10s'. */
  window: string;
  warmupMs: number;
  drainSeconds: number;
  notify?: CanaryNotify;
}

export type CanaryDriverKind = 'controller' | 'client';

export type AnalysisVerdict = 'pass' | 'fail' | 'no-data' | 'unavailable';

export interface CanaryAnalysisRecord {
  verdict: AnalysisVerdict;
  summary: string;
  at: string;
  metrics?: Array<{ name: string; canary?: number; stable?: number; threshold: string; verdict: string }>;
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
  lastAnalysis?: CanaryAnalysisRecord;
  /** Absent on canaries started before the spec was recorded: their driver passes the analysis itself. */
  spec?: CanarySpec;
  /** Who drives it: the in-cluster controller, or the window/CLI that started it (absent = client). */
  driver?: CanaryDriverKind;
  /** Paused by its driver because metrics were unavailable: resumed by the driver once they answer again. */
  autoResume?: boolean;
  history: CanaryHistoryEntry[];
}

export const TERMINAL: ReadonlySet<CanaryStatus> = new Set(['promoted', 'aborted']);

const STATUSES: ReadonlySet<string> = new Set([
  'progressing',
  'paused',
  'promoting',
  'promoted',
  'aborting',
  'aborted',
]);
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
    throw new SandpiperError(
      'canary-state-invalid',
      `The ${CANARY_STATE_ANNOTATION} annotation is not JSON.`,
      'Remove the annotation and start the canary again.',
    );
  }
  if (!isCanaryState(raw)) {
    throw new SandpiperError(
      'canary-state-invalid',
      `The ${CANARY_STATE_ANNOTATION} annotation does not describe a canary.`,
      'Remove the annotation and start the canary again.',
    );
  }
  return raw;
}

export function isCanaryState(v: unknown): v is CanaryState {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  const num = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  return (
    s.version === 1 &&
    typeof s.status === 'string' &&
    STATUSES.has(s.status) &&
    typeof s.image === 'string' &&
    typeof s.container === 'string' &&
    Array.isArray(s.steps) &&
    s.steps.every((x) => num(x) && (x as number) >= 0 && (x as number) <= 100) &&
    num(s.stepIndex) &&
    num(s.weight) &&
    num(s.intervalMs) &&
    num(s.failures) &&
    num(s.stableReplicas) &&
    typeof s.stepStartedAt === 'string' &&
    typeof s.trafficMode === 'string' &&
    MODES.has(s.trafficMode) &&
    Array.isArray(s.history) &&
    (s.spec === undefined || isCanarySpec(s.spec)) &&
    (s.driver === undefined || DRIVERS.has(s.driver as string)) &&
    (s.autoResume === undefined || typeof s.autoResume === 'boolean')
  );
}

const DRIVERS: ReadonlySet<string> = new Set(['controller', 'client']);
const SOURCES: ReadonlySet<string> = new Set(['app', 'gateway', 'promql']);
const OPS: ReadonlySet<string> = new Set(['>=', '<=', '>', '<']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isThreshold(v: unknown): boolean {
  return isRecord(v) && typeof v.op === 'string' && OPS.has(v.op) && typeof v.value === 'number';
}

/** A spec a controller can drive from alone: a half-written one would analyse the wrong series or never notify. */
export function isCanarySpec(v: unknown): v is CanarySpec {
  if (!isRecord(v) || !isRecord(v.analysis)) return false;
  const a = v.analysis;
  const count = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  const notify = v.notify;
  return (
    typeof v.service === 'string' &&
    v.service.length > 0 &&
    typeof v.window === 'string' &&
    v.window.length > 0 &&
    count(v.warmupMs) &&
    count(v.drainSeconds) &&
    (a.source === undefined || (typeof a.source === 'string' && SOURCES.has(a.source))) &&
    (a.successRate === undefined || isThreshold(a.successRate)) &&
    (a.p99LatencyMs === undefined || isThreshold(a.p99LatencyMs)) &&
    count(a.failureLimit) &&
    Array.isArray(a.queries) &&
    a.queries.every(
      (q) => isRecord(q) && typeof q.name === 'string' && typeof q.query === 'string' && isThreshold(q.threshold),
    ) &&
    (notify === undefined ||
      (isRecord(notify) &&
        typeof notify.secret === 'string' &&
        typeof notify.key === 'string' &&
        (notify.link === undefined || typeof notify.link === 'string')))
  );
}

export function writeCanaryState(state: CanaryState): string {
  return JSON.stringify({ ...state, history: state.history.slice(-HISTORY_LIMIT) });
}

/** A copy with one more history line; the state is never mutated in place (it may be a cached watch object). */
export function withEvent(state: CanaryState, at: Date, event: string, detail?: string): CanaryState {
  return {
    ...state,
    history: [...state.history, { at: at.toISOString(), event, ...(detail ? { detail } : {}) }].slice(-HISTORY_LIMIT),
  };
}

export function canaryName(stable: string): string {
  return `${stable}-canary`;
}

const ATTEMPTS = 5;

/** The slice of the API the canary state uses: `Kube` fits it, unit tests pass an in-memory fake. */
export interface StateApi {
  apps: Pick<AppsV1Api, 'readNamespacedDeployment' | 'patchNamespacedDeployment'>;
}

export async function readDeployment(kube: StateApi, namespace: string, name: string): Promise<V1Deployment> {
  try {
    return await kube.apps.readNamespacedDeployment({ namespace, name });
  } catch (err) {
    throw kubeError(err, `read Deployment ${namespace}/${name}`);
  }
}

export async function readState(
  kube: StateApi,
  namespace: string,
  name: string,
): Promise<{ deployment: V1Deployment; state?: CanaryState }> {
  const deployment = await readDeployment(kube, namespace, name);
  return { deployment, state: readCanaryState(deployment.metadata?.annotations) };
}

/**
 * Rewrites the canary annotation with optimistic concurrency: the patch carries the resourceVersion it was computed
 * from, so a write by another window or CLI in between makes ours fail with 409 and we recompute from theirs.
 * `change` returns the new state, or throws to refuse (e.g. the canary was promoted meanwhile).
 */
export async function updateState(
  kube: StateApi,
  namespace: string,
  name: string,
  change: (state: CanaryState | undefined, deployment: V1Deployment) => CanaryState | null,
): Promise<CanaryState | null> {
  for (let attempt = 0; ; attempt++) {
    const { deployment, state } = await readState(kube, namespace, name);
    const next = change(state, deployment);
    const body = {
      metadata: {
        resourceVersion: deployment.metadata?.resourceVersion,
        annotations: { [CANARY_STATE_ANNOTATION]: next ? writeCanaryState(next) : null },
      },
    };
    try {
      await kube.apps.patchNamespacedDeployment({ namespace, name, body }, mergePatch());
      return next;
    } catch (err) {
      if (httpCode(err) === 409 && attempt < ATTEMPTS) continue;
      if (httpCode(err) === 409)
        throw new SandpiperError(
          'conflict',
          `Deployment ${name} keeps changing under us; another Sandpiper is driving this canary.`,
          'Wait for it, or stop the other window/CLI.',
        );
      throw kubeError(err, `record the canary state on Deployment ${namespace}/${name}`);
    }
  }
}

type CanarySummary = NonNullable<SandpiperSummary['canary']>;

function lastEventTime(state: CanaryState): number {
  const times = [state.stepStartedAt, state.lastAnalysis?.at, ...state.history.map((h) => h.at)].map((t) =>
    t ? Date.parse(t) : 0,
  );
  return Math.max(0, ...times.filter((t) => Number.isFinite(t)));
}

export function describeCanary(service: string, state: CanaryState): CanarySummary {
  const verdict = state.lastAnalysis
    ? `${state.status}, analysis ${state.lastAnalysis.verdict}: ${state.lastAnalysis.summary}`
    : state.status;
  return {
    service,
    verdict: state.reason ? `${verdict} (${state.reason})` : verdict,
    step: `${Math.min(state.stepIndex + 1, state.steps.length)}/${state.steps.length} (${state.weight}%)`,
  };
}

/**
 * The most recent built-in canary of `services` in `namespaces` (the env, then the baseline), read from the
 * state the rollout feature keeps on the stable Deployment. Best effort: anything unreadable is skipped,
 * a PR never waits on or fails because of the cluster.
 */
export async function latestCanary(
  kube: Kube,
  namespaces: string[],
  services: string[],
  log?: (m: string) => void,
  timeoutMs = 5000,
): Promise<CanarySummary | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      log?.(`No canary results: the cluster did not answer within ${timeoutMs} ms.`);
      resolve(undefined);
    }, timeoutMs);
  });
  try {
    return await Promise.race([readLatest(kube, [...new Set(namespaces)], services, log), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function readLatest(
  kube: Kube,
  namespaces: string[],
  services: string[],
  log?: (m: string) => void,
): Promise<CanarySummary | undefined> {
  let best: { at: number; summary: CanarySummary } | undefined;
  for (const namespace of namespaces) {
    for (const service of services) {
      try {
        const { state } = await readState(kube, namespace, service);
        if (!state) continue;
        const at = lastEventTime(state);
        if (!best || at > best.at) best = { at, summary: describeCanary(service, state) };
      } catch (err) {
        log?.(`No canary read for ${namespace}/${service}: ${(err as Error).message}`);
      }
    }
  }
  return best?.summary;
}
