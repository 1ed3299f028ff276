import type { CoreV1Api, CoreV1Event } from '@kubernetes/client-node';
import { mergePatch } from '../infra/kube/client';
import { httpCode } from '../infra/kube/errors';
import type { DriverEvent } from './driver';
import { CONTROLLER_NAME } from './presence';
import type { CanaryState } from './state';

// Kubernetes Events the controller writes on the stable Deployment, so `kubectl describe deployment` and any
// Event-based tooling show what the rollout did without Sandpiper.

export type CanaryEventReason =
  | 'CanaryDriving'
  | 'CanaryStepAdvanced'
  | 'CanaryStepSkipped'
  | 'CanaryAnalysisFailed'
  | 'CanaryMetricsUnavailable'
  | 'CanaryPaused'
  | 'CanaryResumed'
  | 'CanaryPromoted'
  | 'CanaryAborted'
  | 'CanaryFailed';

export interface CanaryEvent {
  reason: CanaryEventReason;
  type: 'Normal' | 'Warning';
  message: string;
}

/** The Deployment an Event is about: the uid makes `kubectl describe` match it to this object, not a namesake. */
export interface EventTarget {
  namespace: string;
  name: string;
  uid?: string;
}

function step(state: CanaryState): string {
  return `step ${Math.min(state.stepIndex + 1, state.steps.length)}/${state.steps.length} (${state.weight}%)`;
}

function analysisOf(e: Extract<DriverEvent, { kind: 'decision' }>): string {
  const a = e.result ?? e.state.lastAnalysis;
  return a ? `analysis ${a.verdict}: ${a.summary}` : (e.state.reason ?? 'no analysis');
}

/** The Event for a decision of the driver: one per decision, named as the brief of issue 16 lists them. */
export function decisionEvent(e: Extract<DriverEvent, { kind: 'decision' }>): CanaryEvent {
  const s = e.state;
  switch (e.decision) {
    case 'advance':
      return { reason: 'CanaryStepAdvanced', type: 'Normal', message: `${step(s)}; ${analysisOf(e)}` };
    case 'skip':
      return { reason: 'CanaryStepSkipped', type: 'Normal', message: `${step(s)}, step skipped without analysis` };
    case 'retry': {
      const limit = s.spec?.analysis.failureLimit;
      const count = limit === undefined ? `${s.failures}` : `${s.failures}/${limit}`;
      return {
        reason: 'CanaryAnalysisFailed',
        type: 'Warning',
        message: `${step(s)}, failure ${count}; ${analysisOf(e)}`,
      };
    }
    case 'hold':
      return {
        reason: 'CanaryMetricsUnavailable',
        type: 'Warning',
        message: `${step(s)} paused until Prometheus answers; ${s.reason ?? analysisOf(e)}`,
      };
    case 'resume':
      return { reason: 'CanaryResumed', type: 'Normal', message: `${step(s)} resumed` };
    case 'promote':
      return { reason: 'CanaryPromoted', type: 'Normal', message: `promoting ${s.image}; ${analysisOf(e)}` };
    case 'abort':
      return {
        reason: 'CanaryAborted',
        type: 'Warning',
        message: `rolling back ${s.image} at ${step(s)}: ${s.reason ?? analysisOf(e)}`,
      };
  }
}

/**
 * Events that are changes of the state rather than decisions of ours: a user's pause or resume from the panel or
 * the CLI. A pause of our own for missing metrics (autoResume) has its Event from the `hold` decision already.
 */
export function transitionEvent(before: CanaryState | undefined, after: CanaryState): CanaryEvent | undefined {
  if (!before || before.status === after.status) return undefined;
  if (after.status === 'paused' && !after.autoResume)
    return {
      reason: 'CanaryPaused',
      type: 'Normal',
      message: `${step(after)} paused${after.reason ? `: ${after.reason}` : ''}`,
    };
  if (before.status === 'paused' && after.status === 'progressing')
    return { reason: 'CanaryResumed', type: 'Normal', message: `${step(after)} resumed` };
  return undefined;
}

export function drivingEvent(state: CanaryState, holder: string): CanaryEvent {
  return {
    reason: 'CanaryDriving',
    type: 'Normal',
    message: `${holder} drives the canary of ${state.image} at ${step(state)}`,
  };
}

export function failedEvent(message: string): CanaryEvent {
  return { reason: 'CanaryFailed', type: 'Warning', message };
}

export type EventsApi = { core: Pick<CoreV1Api, 'createNamespacedEvent' | 'patchNamespacedEvent'> };

/** The API server refuses messages over 1 kB in some versions; the summary is what matters, at the start. */
const MESSAGE_LIMIT = 1000;

/**
 * Writes Events on stable Deployments. The same Event twice in a row on one Deployment (a retry failing the same
 * way) bumps the count of the first instead of adding another, as kubelet's recorder does. Best effort: a failed
 * write is logged, never thrown — the rollout does not depend on its Events.
 */
export class EventRecorder {
  private readonly last = new Map<string, { reason: string; message: string; name: string; count: number }>();

  constructor(
    private readonly kube: EventsApi,
    private readonly instance: string,
    private readonly log: (m: string) => void = () => undefined,
  ) {}

  async record(target: EventTarget, e: CanaryEvent, now = new Date()): Promise<void> {
    const key = `${target.namespace}/${target.name}`;
    const message = e.message.length > MESSAGE_LIMIT ? `${e.message.slice(0, MESSAGE_LIMIT - 1)}…` : e.message;
    const prev = this.last.get(key);
    try {
      if (prev && prev.reason === e.reason && prev.message === message) {
        const count = prev.count + 1;
        const patched = await this.kube.core
          .patchNamespacedEvent(
            { namespace: target.namespace, name: prev.name, body: { count, lastTimestamp: now } },
            mergePatch(),
          )
          .then(() => true)
          .catch((err: unknown) => {
            if (httpCode(err) === 404) return false; // expired (an hour by default): write it anew
            throw err;
          });
        if (patched) {
          prev.count = count;
          return;
        }
      }
      const body: CoreV1Event = {
        metadata: { generateName: `${target.name}.`, namespace: target.namespace },
        involvedObject: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: target.namespace,
          name: target.name,
          uid: target.uid,
        },
        reason: e.reason,
        message,
        type: e.type,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: CONTROLLER_NAME },
        reportingComponent: CONTROLLER_NAME,
        reportingInstance: this.instance.slice(0, 128),
      };
      const created = await this.kube.core.createNamespacedEvent({ namespace: target.namespace, body });
      this.last.set(key, { reason: e.reason, message, name: created.metadata?.name ?? '', count: 1 });
    } catch (err) {
      this.log(`Event ${e.reason} on ${key} not written: ${(err as Error).message}`);
    }
  }

  /** Forgets what was last written for a Deployment (its rollout ended), so memory stays bounded. */
  forget(target: EventTarget): void {
    this.last.delete(`${target.namespace}/${target.name}`);
  }
}
