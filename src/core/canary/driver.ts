import type { CanaryConfig } from '../config/types';
import { SandpiperError, cancelled, sleep } from '../errors';
import type { Kube } from '../infra/kube/client';
import { analyseCanary, type AnalysisResult } from './analysis';
import type { MetricsSource } from '../infra/prometheus';
import { finishAbort, finishPromote } from './control';
import { CanaryLease, liveDriver, takeOverHint } from './lease';
import { TERMINAL, canaryName, type CanaryState, readState, updateState, withEvent } from './state';
import { applyWeight } from './traffic';

export type DriverEvent =
  { kind: 'state'; state: CanaryState } | { kind: 'analysis'; result: AnalysisResult; state: CanaryState };

export interface DriverOptions {
  kube: Kube;
  namespace: string;
  deployment: string;
  /** The `service` label of the request metrics. */
  service: string;
  analysis: CanaryConfig['analysis'];
  metrics: MetricsSource;
  /** Who drives, for the lease and the history: e.g. "vscode@host" or "cli@host". */
  holder: string;
  leaseSeconds?: number;
  /** PromQL rate window; a few scrape intervals. */
  window?: string;
  /** How often a waiting driver re-reads the annotation to notice overrides from elsewhere. */
  tickMs?: number;
  /** Take over a paused canary: once the lease is ours, it goes on stepping (`rollout resume`, the panel's Resume). */
  resume?: boolean;
  /** Pause between lease renewal attempts after a failure (tests shorten it). */
  leaseRetryMs?: number;
  signal?: AbortSignal;
  onEvent?: (event: DriverEvent) => void;
}

/** Waits, then fails with the abort's reason (or a cancellation) if the driver was stopped meanwhile. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, signal);
  if (signal.aborted) throw signal.reason instanceof SandpiperError ? signal.reason : cancelled();
}

/** Refuses thresholds that are not numbers: a NaN limit compares false forever, so the canary would never abort. */
export function assertAnalysisValid(analysis: CanaryConfig['analysis']): void {
  const bad: string[] = [];
  if (!Number.isInteger(analysis.failureLimit) || analysis.failureLimit < 0)
    bad.push(`failureLimit ${analysis.failureLimit}`);
  const thresholds = [
    ['successRate', analysis.successRate],
    ['p99LatencyMs', analysis.p99LatencyMs],
    ...analysis.queries.map((q) => [q.name, q.threshold] as const),
  ] as const;
  for (const [name, t] of thresholds) if (t && !Number.isFinite(t.value)) bad.push(`${name} ${t.op} ${t.value}`);
  if (bad.length) {
    throw new SandpiperError(
      'invalid',
      `The canary analysis has settings that are not valid numbers: ${bad.join(', ')}.`,
      'Fix canary.analysis in sandpiper.yaml or the flag (e.g. --failure-limit 2).',
    );
  }
}

/**
 * Drives a built-in canary to its end from whatever step the annotation says: waits out each step, analyses,
 * steps, promotes or aborts. Holds the canary's Lease the whole time, so a second driver is refused.
 * Cancelling stops driving and leaves the canary where it is, for another window or the CLI to resume.
 * Losing the lease (renewals failing until it would expire) stops driving too, and records it on the canary.
 */
export async function driveCanary(o: DriverOptions): Promise<CanaryState> {
  assertAnalysisValid(o.analysis);
  const lease = await CanaryLease.acquire(o.kube, o.namespace, o.deployment, {
    holder: o.holder,
    durationSeconds: o.leaseSeconds ?? 15,
    retryMs: o.leaseRetryMs,
  });
  const signal = o.signal ? AbortSignal.any([o.signal, lease.lostSignal]) : lease.lostSignal;
  try {
    return await drive(o, signal);
  } catch (err) {
    if (lease.lostSignal.aborted) throw await recordLeaseLost(o, lease.lostSignal.reason as SandpiperError);
    throw err;
  } finally {
    await lease.release();
  }
}

async function drive(o: DriverOptions, signal: AbortSignal): Promise<CanaryState> {
  const tick = o.tickMs ?? 1000;
  let { state } = await readState(o.kube, o.namespace, o.deployment);
  if (!state)
    throw new SandpiperError('no-canary', `Deployment ${o.deployment} has no canary to drive.`, 'Start one first.');
  if (o.resume && TERMINAL.has(state.status)) {
    throw new SandpiperError(
      'no-canary',
      `Deployment ${o.deployment} has no canary in progress (the last one was ${state.status}).`,
      'Start one with "Sandpiper: Start Canary Rollout" or `sandpiper rollout start`.',
    );
  }
  if (o.resume && state.status === 'paused') {
    // The step's interval starts again: the metrics while paused (or driverless) do not count.
    const at = new Date();
    state = (await updateState(o.kube, o.namespace, o.deployment, (cur) => {
      if (!cur) throw new SandpiperError('no-canary', `The canary state of ${o.deployment} was removed.`);
      return cur.status === 'paused'
        ? withEvent(
            { ...cur, status: 'progressing', stepStartedAt: at.toISOString(), reason: undefined },
            at,
            'resumed',
            o.holder,
          )
        : cur;
    }))!;
  }
  // Whoever stopped last may have recorded a step without setting its weight: make the cluster match.
  if (state.status === 'progressing' || state.status === 'paused')
    await applyWeight(o.kube, o.namespace, o.deployment, canaryName(o.deployment), state, signal);
  for (;;) {
    if (signal.aborted) throw signal.reason instanceof SandpiperError ? signal.reason : cancelled();
    state = (await readState(o.kube, o.namespace, o.deployment)).state;
    if (!state) throw new SandpiperError('no-canary', `The canary state of ${o.deployment} was removed.`);
    o.onEvent?.({ kind: 'state', state });
    switch (state.status) {
      case 'promoted':
      case 'aborted':
        return state;
      case 'promoting':
        return finishPromote(o.kube, o.namespace, o.deployment, state, signal);
      case 'aborting':
        return finishAbort(o.kube, o.namespace, o.deployment, state);
      case 'paused':
        await pause(tick, signal);
        continue;
      case 'progressing':
        break;
    }
    const decision = decideStep(state, new Date());
    if (decision.kind === 'wait') {
      await pause(Math.min(decision.ms, tick), signal);
      continue;
    }
    const result = await analyseCanary(
      o.metrics,
      o.analysis,
      { namespace: o.namespace, service: o.service, window: o.window ?? '10s' },
      new Date(),
      signal,
    );
    const seen = state;
    const outcome = applyAnalysis(seen, result, o.analysis.failureLimit, new Date());
    // Only if nobody changed the canary while we measured (an override from the panel or the CLI wins).
    const written = await updateState(o.kube, o.namespace, o.deployment, (cur) => {
      if (
        !cur ||
        cur.status !== seen.status ||
        cur.stepIndex !== seen.stepIndex ||
        cur.stepStartedAt !== seen.stepStartedAt
      )
        throw new StaleAnalysis();
      return outcome.state;
    }).catch((err) => {
      if (err instanceof StaleAnalysis) return undefined;
      throw err;
    });
    if (!written) continue;
    o.onEvent?.({ kind: 'analysis', result, state: written });
    if (outcome.kind === 'advance')
      await applyWeight(o.kube, o.namespace, o.deployment, canaryName(o.deployment), written, signal);
    else if (outcome.kind === 'promote') return finishPromote(o.kube, o.namespace, o.deployment, written, signal);
    else if (outcome.kind === 'abort') return finishAbort(o.kube, o.namespace, o.deployment, written);
  }
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

/** What the driver does next for a canary; decided without I/O so every branch is unit-tested. */
export type StepDecision = { kind: 'idle' } | { kind: 'wait'; ms: number } | { kind: 'analyse' };

export function decideStep(state: CanaryState, now: Date): StepDecision {
  if (state.status !== 'progressing') return { kind: 'idle' };
  const due = Date.parse(state.stepStartedAt) + state.intervalMs;
  const ms = due - now.getTime();
  return ms > 0 ? { kind: 'wait', ms } : { kind: 'analyse' };
}

export type AnalysisOutcome =
  | { kind: 'advance'; state: CanaryState }
  | { kind: 'promote'; state: CanaryState }
  | { kind: 'retry'; state: CanaryState }
  | { kind: 'abort'; state: CanaryState };

/**
 * Applies an analysis to the state: a pass moves one step (or promotes after the last), a fail or missing data
 * counts against failureLimit and aborts beyond it. Missing data never promotes.
 */
export function applyAnalysis(
  state: CanaryState,
  result: AnalysisResult,
  failureLimit: number,
  now: Date,
): AnalysisOutcome {
  const at = now.toISOString();
  state = { ...state, lastAnalysis: { verdict: result.verdict, summary: result.summary, at: result.at || at } };
  if (result.verdict === 'pass') {
    const next = state.stepIndex + 1;
    if (next >= state.steps.length) {
      return {
        kind: 'promote',
        state: withEvent(
          { ...state, status: 'promoting', reason: 'analysis passed at every step' },
          now,
          'analysis-passed',
          result.summary,
        ),
      };
    }
    return {
      kind: 'advance',
      state: withEvent(
        { ...state, stepIndex: next, weight: state.steps[next], stepStartedAt: at, reason: undefined },
        now,
        `step ${next + 1}/${state.steps.length}: ${state.steps[next]}%`,
        result.summary,
      ),
    };
  }
  const failures = state.failures + 1;
  const why =
    result.verdict === 'no-data'
      ? `no metrics for the canary (${result.summary})`
      : `analysis failed (${result.summary})`;
  if (failures > failureLimit) {
    return {
      kind: 'abort',
      state: withEvent({ ...state, failures, status: 'aborting', reason: why }, now, 'analysis-aborted', why),
    };
  }
  return {
    kind: 'retry',
    state: withEvent(
      { ...state, failures, stepStartedAt: at, reason: why },
      now,
      `analysis-failure ${failures}/${failureLimit}`,
      why,
    ),
  };
}

/** Canary and stable replica counts for a weight: in replica-ratio mode the split of pods is the split of traffic. */
export function replicaSplit(
  total: number,
  weight: number,
  mode: 'httproute' | 'replicas',
): { canary: number; stable: number } {
  const share = Math.max(0, Math.min(100, weight)) / 100;
  const canary = weight <= 0 ? 0 : Math.max(1, Math.ceil(total * share));
  if (mode === 'httproute') return { canary, stable: total };
  return { canary: Math.min(canary, total), stable: weight >= 100 ? 0 : Math.max(1, total - canary) };
}
