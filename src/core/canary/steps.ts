import type { CanaryConfig } from '../config/types';
import { SandpiperError } from '../errors';
import type { AnalysisResult } from './analysis';
import { type CanaryState, withEvent } from './state';

// The canary driver's decisions, without I/O so every branch is unit-tested.

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
  | { kind: 'abort'; state: CanaryState }
  | { kind: 'hold'; state: CanaryState };

/**
 * Applies an analysis to the state: a pass moves one step (or promotes after the last), a fail or missing data
 * counts against failureLimit and aborts beyond it. Missing data never promotes. Metrics that cannot be read at
 * all (Prometheus down) say nothing about the canary: it is held (paused, resumed by its driver once they answer),
 * without counting a failure.
 */
export function applyAnalysis(
  state: CanaryState,
  result: AnalysisResult,
  failureLimit: number,
  now: Date,
): AnalysisOutcome {
  const at = now.toISOString();
  const metrics = result.metrics.map(({ name, canary, stable, threshold, verdict }) => ({
    name,
    canary,
    stable,
    threshold,
    verdict,
  }));
  state = {
    ...state,
    lastAnalysis: { verdict: result.verdict, summary: result.summary, at: result.at || at, metrics },
  };
  if (result.verdict === 'unavailable') {
    const why = `metrics unavailable: ${result.summary}`;
    return {
      kind: 'hold',
      state: withEvent({ ...state, status: 'paused', autoResume: true, reason: why }, now, 'metrics-unavailable', why),
    };
  }
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
