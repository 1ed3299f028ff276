import { strict as assert } from 'node:assert';
import type { AnalysisResult } from '../../../src/core/canary/analysis';
import { EventRecorder, decisionEvent, transitionEvent } from '../../../src/core/canary/controllerEvents';
import type { DriverDecision } from '../../../src/core/canary/driver';
import type { CanaryState } from '../../../src/core/canary/state';
import { controllerState, FakeEvents } from './controllerFakes';

const state = controllerState;

const passed: AnalysisResult = { verdict: 'pass', at: '', summary: 'success rate 1 >= 0.99', metrics: [] };
const failed: AnalysisResult = { verdict: 'fail', at: '', summary: 'success rate 0.5 not >= 0.99', metrics: [] };

describe('canary controller Events', () => {
  it('one Event per decision, with the reason and type the contract names', () => {
    const cases: Array<[DriverDecision, CanaryState, AnalysisResult | undefined, string, string]> = [
      ['advance', state(), passed, 'CanaryStepAdvanced', 'Normal'],
      ['skip', state(), undefined, 'CanaryStepSkipped', 'Normal'],
      ['retry', state({ failures: 1 }), failed, 'CanaryAnalysisFailed', 'Warning'],
      ['hold', state({ status: 'paused', autoResume: true }), undefined, 'CanaryMetricsUnavailable', 'Warning'],
      ['resume', state(), undefined, 'CanaryResumed', 'Normal'],
      ['promote', state({ status: 'promoting' }), passed, 'CanaryPromoted', 'Normal'],
      ['abort', state({ status: 'aborting', reason: 'analysis failed' }), failed, 'CanaryAborted', 'Warning'],
    ];
    for (const [decision, s, result, reason, type] of cases) {
      const e = decisionEvent({ kind: 'decision', decision, state: s, result });
      assert.equal(e.reason, reason, decision);
      assert.equal(e.type, type, decision);
      assert.match(e.message, /step 2\/3 \(50%\)|web:2/, `${decision}: ${e.message}`);
    }
  });

  it('messages carry the step, weight and analysis summary', () => {
    const advance = decisionEvent({ kind: 'decision', decision: 'advance', state: state(), result: passed });
    assert.equal(advance.message, 'step 2/3 (50%); analysis pass: success rate 1 >= 0.99');
    const s = state({
      failures: 1,
      spec: {
        service: 'web',
        analysis: { failureLimit: 2, queries: [] },
        window: '10s',
        warmupMs: 0,
        drainSeconds: 10,
      },
    });
    const retry = decisionEvent({ kind: 'decision', decision: 'retry', state: s, result: failed });
    assert.equal(retry.message, 'step 2/3 (50%), failure 1/2; analysis fail: success rate 0.5 not >= 0.99');
    const abort = decisionEvent({ kind: 'decision', decision: 'abort', state: state({ reason: 'aborted by alice' }) });
    assert.equal(abort.message, 'rolling back web:2 at step 2/3 (50%): aborted by alice');
  });

  it("a user's pause and resume are Events; the driver's own hold is not a second one", () => {
    assert.equal(
      transitionEvent(state(), state({ status: 'paused', reason: 'paused by bob' }))?.reason,
      'CanaryPaused',
    );
    assert.equal(transitionEvent(state(), state({ status: 'paused', autoResume: true })), undefined);
    assert.equal(transitionEvent(state({ status: 'paused' }), state())?.reason, 'CanaryResumed');
    assert.equal(transitionEvent(state(), state({ weight: 100, stepIndex: 2 })), undefined);
    assert.equal(transitionEvent(undefined, state({ status: 'paused' })), undefined);
  });

  it('writes core/v1 Events on the Deployment (uid, source); an identical one is counted, not repeated', async () => {
    const api = new FakeEvents();
    const rec = new EventRecorder(api, 'pod-a');
    const target = { namespace: 'shop', name: 'web', uid: 'u-1' };
    const retry = decisionEvent({ kind: 'decision', decision: 'retry', state: state({ failures: 1 }), result: failed });
    await rec.record(target, retry);
    await rec.record(target, retry);
    await rec.record(target, retry);
    assert.equal(api.created.length, 1, 'one Event, counted');
    assert.equal(api.created[0].count, 3);
    const e = api.created[0];
    assert.deepEqual(e.involvedObject, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'shop',
      name: 'web',
      uid: 'u-1',
    });
    assert.equal(e.type, 'Warning');
    assert.equal(e.source?.component, 'sandpiper-canary-controller');
    assert.equal(e.reportingComponent, 'sandpiper-canary-controller');
    assert.equal(e.reportingInstance, 'pod-a');
    await rec.record(target, decisionEvent({ kind: 'decision', decision: 'advance', state: state(), result: passed }));
    await rec.record(target, retry);
    assert.deepEqual(api.reasons, ['CanaryAnalysisFailed', 'CanaryStepAdvanced', 'CanaryAnalysisFailed']);
    // The counted Event expired (deleted by the API server): the next identical one is written anew.
    api.created.splice(2, 1);
    await rec.record(target, retry);
    assert.equal(api.created.length, 3);
  });

  it('a failed write is logged, never thrown', async () => {
    const api = new FakeEvents();
    api.failCreate = () => new Error('connect ECONNREFUSED');
    const logged: string[] = [];
    const rec = new EventRecorder(api, 'pod-a', (m) => logged.push(m));
    await rec.record({ namespace: 'shop', name: 'web' }, { reason: 'CanaryFailed', type: 'Warning', message: 'x' });
    assert.match(logged.join('\n'), /CanaryFailed on shop\/web not written: connect ECONNREFUSED/);
  });
});
