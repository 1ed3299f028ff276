import { DEFAULT_DRAIN_SECONDS, type CanaryConfig } from '../config/types';
import { SandpiperError, cancelled, isCancellation, sleep } from '../errors';
import type { Kube } from '../infra/kube/client';
import type { MetricsSource } from '../infra/prometheus';
import { analyseCanary, analysisTarget, type AnalysisResult, type QueryTarget } from './analysis';
import { finishAbort, finishPromote } from './finish';
import { CanaryLease, liveDriver, takeOverHint } from './lease';
import {
  TERMINAL,
  canaryName,
  type CanaryHistoryEntry,
  type CanarySpec,
  type CanaryState,
  readState,
  updateState,
  withEvent,
} from './state';
import { applyAnalysis, assertAnalysisValid, decideStep } from './steps';
import { applyWeight } from './traffic';

// Callers and tests import the step logic from here, where it is used.
export {
  applyAnalysis,
  assertAnalysisValid,
  decideStep,
  replicaSplit,
  type AnalysisOutcome,
  type StepDecision,
} from './steps';

/** What the driver decided, told before it acts (so a promote or abort is seen while the canary pods still run). */
export type DriverDecision = 'advance' | 'retry' | 'promote' | 'abort' | 'hold' | 'resume' | 'skip';

export type DriverEvent =
  | { kind: 'state'; state: CanaryState }
  | { kind: 'analysis'; result: AnalysisResult; state: CanaryState }
  | { kind: 'decision'; decision: DriverDecision; state: CanaryState; result?: AnalysisResult };

export interface DriverOptions {
  kube: Kube;
  namespace: string;
  deployment: string;
  /** The `service` label of the request metrics (default: the state's spec). */
  service?: string;
  /** Default: the state's spec (recorded by startCanary). */
  analysis?: CanaryConfig['analysis'];
  metrics: MetricsSource;
  /** Who drives, for the lease and the history: e.g. "vscode@host" or "cli@host". */
  holder: string;
  leaseSeconds?: number;
  /** PromQL rate window; a few scrape intervals (default: the state's spec, else 10s). */
  window?: string;
  /** How often a waiting driver re-reads the annotation to notice overrides from elsewhere. */
  tickMs?: number;
  /** Take over a paused canary: once the lease is ours, it goes on stepping (`rollout resume`, the panel's Resume). */
  resume?: boolean;
  /** Pause between lease renewal attempts after a failure (tests shorten it). */
  leaseRetryMs?: number;
  /**
   * On losing the lease, record the canary as paused (default). The controller passes false: the canary stays
   * progressing for the next controller replica, which takes it over by itself.
   */
  pauseOnLeaseLoss?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: DriverEvent) => void;
}

/** Waits, then fails with the abort's reason (or a cancellation) if the driver was stopped meanwhile. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, signal);
  if (signal.aborted) throw signal.reason instanceof SandpiperError ? signal.reason : cancelled();
}

/** What the driver measures, and against what: from the options, else the spec startCanary recorded. */
interface Plan {
  analysis: CanaryConfig['analysis'];
  target: QueryTarget;
}

async function planOf(o: DriverOptions): Promise<Plan> {
  const { state } = await readState(o.kube, o.namespace, o.deployment);
  if (!state)
    throw new SandpiperError('no-canary', `Deployment ${o.deployment} has no canary to drive.`, 'Start one first.');
  const analysis = o.analysis ?? state.spec?.analysis;
  const service = o.service ?? state.spec?.service;
  if (!analysis || !service)
    throw new SandpiperError(
      'invalid',
      `The canary of ${o.deployment} records no analysis settings: an older Sandpiper started it.`,
      `Drive it from the window or CLI with its sandpiper.yaml, or \`sandpiper rollout abort ${o.deployment}\` and start it again.`,
    );
  assertAnalysisValid(analysis);
  const spec: CanarySpec = {
    warmupMs: 0,
    drainSeconds: DEFAULT_DRAIN_SECONDS,
    ...state.spec,
    service,
    analysis,
    window: o.window ?? state.spec?.window ?? '10s',
  };
  return { analysis, target: analysisTarget(o.namespace, spec) };
}

/**
 * Drives a built-in canary to its end from whatever step the annotation says: waits out each step, analyses,
 * steps, promotes or aborts. Holds the canary's Lease the whole time, so a second driver is refused.
 * Cancelling stops driving and leaves the canary where it is, for another window or the CLI to resume.
 * Losing the lease (renewals failing until it would expire) stops driving too, and records it on the canary.
 */
export async function driveCanary(o: DriverOptions): Promise<CanaryState> {
  const plan = await planOf(o);
  const lease = await CanaryLease.acquire(o.kube, o.namespace, o.deployment, {
    holder: o.holder,
    durationSeconds: o.leaseSeconds ?? 15,
    retryMs: o.leaseRetryMs,
  });
  const signal = o.signal ? AbortSignal.any([o.signal, lease.lostSignal]) : lease.lostSignal;
  try {
    return await drive(o, plan, signal);
  } catch (err) {
    if (lease.lostSignal.aborted) {
      const lost = lease.lostSignal.reason as SandpiperError;
      throw o.pauseOnLeaseLoss === false ? lost : await recordLeaseLost(o, lost);
    }
    throw err;
  } finally {
    await lease.release();
  }
}

async function drive(o: DriverOptions, plan: Plan, signal: AbortSignal): Promise<CanaryState> {
  const tick = o.tickMs ?? 1000;
  const decide = (decision: DriverDecision, state: CanaryState, result?: AnalysisResult) =>
    o.onEvent?.({ kind: 'decision', decision, state, ...(result ? { result } : {}) });
  let { state } = await readState(o.kube, o.namespace, o.deployment);
  if (!state) throw new SandpiperError('no-canary', `The canary state of ${o.deployment} was removed.`);
  if (o.resume && TERMINAL.has(state.status)) {
    throw new SandpiperError(
      'no-canary',
      `Deployment ${o.deployment} has no canary in progress (the last one was ${state.status}).`,
      'Start one with "Sandpiper: Start Canary Rollout" or `sandpiper rollout start`.',
    );
  }
  if (o.resume && state.status === 'paused') state = await resumed(o, 'resumed', o.holder);
  // What this driver last set on the cluster; whoever stopped last may have recorded a step without setting it.
  let applied: number | undefined;
  if (state.status === 'progressing' || state.status === 'paused') {
    await applyWeight(o.kube, o.namespace, o.deployment, canaryName(o.deployment), state, signal);
    applied = state.weight;
  }
  let seen = state.history.at(-1);
  for (;;) {
    if (signal.aborted) throw signal.reason instanceof SandpiperError ? signal.reason : cancelled();
    state = (await readState(o.kube, o.namespace, o.deployment)).state;
    if (!state) throw new SandpiperError('no-canary', `The canary state of ${o.deployment} was removed.`);
    o.onEvent?.({ kind: 'state', state });
    const news = newEntries(state.history, seen);
    seen = state.history.at(-1);
    switch (state.status) {
      case 'promoted':
      case 'aborted':
        return state;
      case 'promoting':
        decide('promote', state);
        return finishPromote(o.kube, o.namespace, o.deployment, state, signal);
      case 'aborting':
        decide('abort', state);
        return finishAbort(o.kube, o.namespace, o.deployment, state, signal);
      default:
        break;
    }
    if (state.weight !== applied) {
      // A skipped step, or a weight changed elsewhere: the cluster follows the annotation.
      if (news.some((h) => h.event === 'step-skipped')) decide('skip', state);
      await applyWeight(o.kube, o.namespace, o.deployment, canaryName(o.deployment), state, signal);
      applied = state.weight;
      continue;
    }
    if (state.status === 'paused') {
      if (state.autoResume && (await metricsAnswer(o.metrics, signal))) {
        const back = await resumed(o, 'resumed', 'metrics answer again', true).catch((err) => {
          if (err instanceof StaleAnalysis) return undefined;
          throw err;
        });
        if (back) decide('resume', back);
        continue;
      }
      await pause(tick, signal);
      continue;
    }
    const next = decideStep(state, new Date());
    if (next.kind === 'wait') {
      await pause(Math.min(next.ms, tick), signal);
      continue;
    }
    const result = await analyseCanary(o.metrics, plan.analysis, plan.target, new Date(), signal);
    const measured = state;
    const outcome = applyAnalysis(measured, result, plan.analysis.failureLimit, new Date());
    // Only if nobody changed the canary while we measured (an override from the panel or the CLI wins).
    const written = await updateState(o.kube, o.namespace, o.deployment, (cur) => {
      if (
        !cur ||
        cur.status !== measured.status ||
        cur.stepIndex !== measured.stepIndex ||
        cur.stepStartedAt !== measured.stepStartedAt
      )
        throw new StaleAnalysis();
      return outcome.state;
    }).catch((err) => {
      if (err instanceof StaleAnalysis) return undefined;
      throw err;
    });
    if (!written) continue;
    seen = written.history.at(-1);
    o.onEvent?.({ kind: 'analysis', result, state: written });
    decide(outcome.kind, written, result);
    if (outcome.kind === 'advance') {
      await applyWeight(o.kube, o.namespace, o.deployment, canaryName(o.deployment), written, signal);
      applied = written.weight;
    } else if (outcome.kind === 'promote') return finishPromote(o.kube, o.namespace, o.deployment, written, signal);
    else if (outcome.kind === 'abort') return finishAbort(o.kube, o.namespace, o.deployment, written, signal);
  }
}

/** History lines written after `last` (all of them when it scrolled out of the capped history). */
function newEntries(history: CanaryHistoryEntry[], last: CanaryHistoryEntry | undefined): CanaryHistoryEntry[] {
  if (!last) return history;
  for (let i = history.length - 1; i >= 0; i--)
    if (history[i].at === last.at && history[i].event === last.event) return history.slice(i + 1);
  return history;
}

/** Whether Prometheus answers at all (a query that always has a value), for a canary held on unavailable metrics. */
async function metricsAnswer(metrics: MetricsSource, signal: AbortSignal): Promise<boolean> {
  try {
    return (await metrics.scalar('vector(1)', signal)) !== undefined;
  } catch (err) {
    if (isCancellation(err) || signal.aborted) throw signal.reason instanceof SandpiperError ? signal.reason : err;
    return false;
  }
}

/**
 * Paused → progressing; the step's interval starts again (the metrics while paused, or driverless, do not count).
 * `onlyHeld`: only a canary its driver held for unavailable metrics (a user's pause stays).
 */
async function resumed(o: DriverOptions, event: string, detail: string, onlyHeld = false): Promise<CanaryState> {
  const at = new Date();
  const state = await updateState(o.kube, o.namespace, o.deployment, (cur) => {
    if (!cur) throw new SandpiperError('no-canary', `The canary state of ${o.deployment} was removed.`);
    if (cur.status !== 'paused' || (onlyHeld && !cur.autoResume)) {
      if (onlyHeld) throw new StaleAnalysis();
      return cur;
    }
    const back = { ...cur, status: 'progressing' as const, stepStartedAt: at.toISOString(), reason: undefined };
    return withEvent({ ...back, autoResume: undefined }, at, event, detail);
  });
  return state!;
}

/**
 * The driver gave up its lease: say so on the canary (a progressing one is left paused, with the reason), unless
 * someone else already drives it. Best effort: when the cluster does not answer, the error says so instead.
 */
async function recordLeaseLost(o: DriverOptions, lost: SandpiperError): Promise<SandpiperError> {
  const hint = takeOverHint(o.deployment);
  const now = new Date();
  try {
    const other = await liveDriver(o.kube, o.namespace, o.deployment, now);
    if (other && other !== o.holder)
      return new SandpiperError(
        'canary-lease-lost',
        `${lost.message}; ${other} drives the canary of ${o.deployment} now.`,
      );
    const reason = `driver ${o.holder} stopped: ${lost.message}`;
    const left = await updateState(o.kube, o.namespace, o.deployment, (cur) => {
      if (!cur || TERMINAL.has(cur.status)) throw new StaleAnalysis();
      return withEvent(
        { ...cur, status: cur.status === 'progressing' ? 'paused' : cur.status, reason },
        now,
        'driver-lost',
        reason,
      );
    });
    return new SandpiperError(
      'canary-lease-lost',
      `${lost.message}. The canary of ${o.deployment} is left ${left!.status} at ${left!.weight}% with nobody driving it.`,
      hint,
    );
  } catch (err) {
    if (err instanceof StaleAnalysis) return lost;
    return new SandpiperError(
      'canary-lease-lost',
      `${lost.message}. The canary of ${o.deployment} is left at its step with nobody driving it (recording that failed too: ${(err as Error).message}).`,
      hint,
    );
  }
}

class StaleAnalysis extends Error {}
