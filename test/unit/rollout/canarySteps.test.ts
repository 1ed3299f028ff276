import { strict as assert } from 'node:assert';
import type { AnalysisResult } from '../../../src/core/canary/analysis';
import { applyAnalysis, decideStep, replicaSplit } from '../../../src/core/canary/driver';
import { isCanaryState, readCanaryState, writeCanaryState } from '../../../src/core/canary/state';
import { canaryState } from './fixtures';

const result = (verdict: AnalysisResult['verdict']): AnalysisResult => ({
  verdict,
  metrics: [],
  at: '',
  summary: verdict,
});
const t0 = new Date('2026-01-01T00:00:00.000Z');
const later = new Date(t0.getTime() + 31_000);

describe('canary steps', () => {
  it('waits out the interval, then analyses', () => {
    assert.deepEqual(decideStep(canaryState(), new Date(t0.getTime() + 10_000)), { kind: 'wait', ms: 20_000 });
    assert.deepEqual(decideStep(canaryState(), later), { kind: 'analyse' });
    assert.deepEqual(decideStep(canaryState({ status: 'paused' }), later), { kind: 'idle' });
  });

  it('advances one step on a pass and promotes after the last', () => {
    const a = applyAnalysis(canaryState(), result('pass'), 0, later);
    assert.equal(a.kind, 'advance');
    assert.deepEqual([a.state.stepIndex, a.state.weight, a.state.stepStartedAt], [1, 50, later.toISOString()]);
    const last = applyAnalysis(canaryState({ stepIndex: 2, weight: 100 }), result('pass'), 0, later);
    assert.equal(last.kind, 'promote');
    assert.equal(last.state.status, 'promoting');
  });

  it('aborts on a failed analysis beyond the failure limit', () => {
    const a = applyAnalysis(canaryState(), result('fail'), 0, later);
    assert.equal(a.kind, 'abort');
    assert.equal(a.state.status, 'aborting');
    assert.match(a.state.reason ?? '', /analysis failed/);
  });

  it('aborts on missing data — and never promotes on it, even at the last step', () => {
    const a = applyAnalysis(canaryState({ stepIndex: 2, weight: 100 }), result('no-data'), 0, later);
    assert.equal(a.kind, 'abort');
    assert.match(a.state.reason ?? '', /no metrics/);
  });

  it('tolerates failures up to failureLimit, retrying the same step', () => {
    const first = applyAnalysis(canaryState(), result('no-data'), 1, later);
    assert.equal(first.kind, 'retry');
    assert.deepEqual([first.state.stepIndex, first.state.failures], [0, 1]);
    assert.equal(applyAnalysis(first.state, result('fail'), 1, later).kind, 'abort');
  });

  it('splits replicas by weight', () => {
    assert.deepEqual(replicaSplit(4, 10, 'replicas'), { canary: 1, stable: 3 });
    assert.deepEqual(replicaSplit(4, 50, 'replicas'), { canary: 2, stable: 2 });
    assert.deepEqual(replicaSplit(4, 100, 'replicas'), { canary: 4, stable: 0 });
    assert.deepEqual(replicaSplit(4, 10, 'httproute'), { canary: 1, stable: 4 });
    assert.deepEqual(replicaSplit(4, 0, 'replicas'), { canary: 0, stable: 4 });
  });

  it('round-trips the annotation and refuses a forged one', () => {
    const s = canaryState();
    assert.deepEqual(readCanaryState({ 'sandpiper.dev/canary': writeCanaryState(s) }), s);
    assert.equal(isCanaryState({ ...s, steps: [10, 500] }), false);
    assert.equal(isCanaryState({ ...s, status: 'rm -rf' }), false);
    assert.throws(() => readCanaryState({ 'sandpiper.dev/canary': '{' }), /not JSON/);
  });
});
