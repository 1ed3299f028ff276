import { strict as assert } from 'node:assert';
import type { AnalysisResult } from '../../../src/core/canary/analysis';
import { ControllerMetrics, serveMetrics, verdictValue } from '../../../src/core/canary/controllerMetrics';
import type { DriverEvent } from '../../../src/core/canary/driver';
import { controllerState, parseMetrics, valueOf, type Sample } from './controllerFakes';

const state = controllerState;

const result = (): AnalysisResult => ({
  verdict: 'fail',
  at: new Date().toISOString(),
  summary: 'success rate 0.5 (stable 1) not >= 0.99',
  metrics: [
    { name: 'success rate', query: 'q1', canary: 0.5, stable: 1, threshold: '>= 0.99', verdict: 'fail' },
    { name: 'p99 latency (ms)', query: 'q2', canary: undefined, stable: 12, threshold: '<= 300', verdict: 'no-data' },
  ],
});

const rollout = { rollout_namespace: 'shop', rollout: 'web' };

async function scrape(m: ControllerMetrics): Promise<Sample[]> {
  return parseMetrics(await m.registry.metrics());
}

describe('canary controller metrics', () => {
  it('exports weight, step, phase, analysis values and verdicts, decisions and leadership per rollout', async () => {
    const m = new ControllerMetrics({ processMetrics: false });
    m.setLeader(true);
    m.observe('shop', 'web', { kind: 'state', state: state() });
    const decided: DriverEvent = {
      kind: 'decision',
      decision: 'retry',
      state: state({ failures: 1 }),
      result: result(),
    };
    m.observe('shop', 'web', decided);
    m.observe('shop', 'web', { ...decided });
    const s = await scrape(m);
    assert.equal(valueOf(s, 'sandpiper_canary_weight', rollout), 50);
    assert.equal(valueOf(s, 'sandpiper_canary_step', rollout), 2, 'counted from 1');
    assert.equal(valueOf(s, 'sandpiper_canary_phase', { ...rollout, phase: 'progressing' }), 1);
    for (const phase of ['paused', 'promoting', 'promoted', 'aborting', 'aborted'])
      assert.equal(valueOf(s, 'sandpiper_canary_phase', { ...rollout, phase }), 0, phase);
    assert.equal(valueOf(s, 'sandpiper_canary_decisions_total', { ...rollout, decision: 'retry' }), 2);
    assert.equal(valueOf(s, 'sandpiper_canary_decisions_total', { ...rollout, decision: 'advance' }), undefined);
    const success = { ...rollout, metric: 'success rate' };
    assert.equal(valueOf(s, 'sandpiper_canary_analysis_value', { ...success, track: 'canary' }), 0.5);
    assert.equal(valueOf(s, 'sandpiper_canary_analysis_value', { ...success, track: 'stable' }), 1);
    assert.equal(valueOf(s, 'sandpiper_canary_analysis_verdict', success), 0);
    const latency = { ...rollout, metric: 'p99 latency (ms)' };
    assert.equal(valueOf(s, 'sandpiper_canary_analysis_verdict', latency), -1, 'no data is -1');
    assert.equal(valueOf(s, 'sandpiper_canary_analysis_value', { ...latency, track: 'canary' }), undefined);
    assert.equal(valueOf(s, 'sandpiper_canary_analysis_value', { ...latency, track: 'stable' }), 12);
    assert.equal(valueOf(s, 'sandpiper_canary_controller_leader'), 1);
    m.setLeader(false);
    assert.equal(valueOf(await scrape(m), 'sandpiper_canary_controller_leader'), 0);
    m.dispose();
  });

  it('moves the phase to the new status and forgets an ended rollout after a while', async () => {
    const m = new ControllerMetrics({ processMetrics: false, forgetAfterMs: 50 });
    m.observe('shop', 'web', { kind: 'state', state: state() });
    m.observe('shop', 'api', { kind: 'state', state: state({ weight: 25, stepIndex: 0 }) });
    m.observe('shop', 'web', {
      kind: 'decision',
      decision: 'abort',
      state: state({ status: 'aborting' }),
      result: result(),
    });
    m.state('shop', 'web', state({ status: 'aborted', weight: 0 }));
    let s = await scrape(m);
    assert.equal(valueOf(s, 'sandpiper_canary_phase', { ...rollout, phase: 'aborted' }), 1);
    assert.equal(valueOf(s, 'sandpiper_canary_phase', { ...rollout, phase: 'progressing' }), 0);
    assert.equal(valueOf(s, 'sandpiper_canary_weight', rollout), 0);
    m.ended('shop', 'web');
    assert.equal(valueOf(await scrape(m), 'sandpiper_canary_decisions_total', { ...rollout, decision: 'abort' }), 1);
    await new Promise((r) => setTimeout(r, 120));
    s = await scrape(m);
    assert.deepEqual(
      s.filter((x) => x.labels.rollout === 'web'),
      [],
      'every series of the ended rollout is gone',
    );
    assert.equal(valueOf(s, 'sandpiper_canary_weight', { rollout_namespace: 'shop', rollout: 'api' }), 25);
    m.dispose();
  });

  it('a new canary of the same Deployment keeps its series (the pending forget is cancelled)', async () => {
    const m = new ControllerMetrics({ processMetrics: false, forgetAfterMs: 50 });
    m.state('shop', 'web', state({ status: 'promoted' }));
    m.ended('shop', 'web');
    m.state('shop', 'web', state({ stepIndex: 0, weight: 25 }));
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(valueOf(await scrape(m), 'sandpiper_canary_weight', rollout), 25);
    m.dispose();
  });

  it('verdict values: 1 pass, 0 fail, -1 no data or unavailable', () => {
    assert.deepEqual(['pass', 'fail', 'no-data', 'unavailable'].map(verdictValue), [1, 0, -1, -1]);
  });

  it('serves /metrics with process metrics and /healthz with the health it is given', async () => {
    const m = new ControllerMetrics();
    m.observe('shop', 'web', { kind: 'decision', decision: 'advance', state: state() });
    let health = { ok: true, leader: true };
    const server = await serveMetrics(m, { port: 0, host: '127.0.0.1', health: () => health });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const res = await fetch(`${base}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const s = parseMetrics(await res.text());
      assert.equal(valueOf(s, 'sandpiper_canary_decisions_total', { ...rollout, decision: 'advance' }), 1);
      assert.ok(valueOf(s, 'process_cpu_user_seconds_total') !== undefined, 'default process metrics');
      const ok = await fetch(`${base}/healthz`);
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { ok: true, leader: true });
      health = { ok: false, leader: false };
      assert.equal((await fetch(`${base}/healthz`)).status, 503);
      assert.equal((await fetch(`${base}/nothing`)).status, 404);
    } finally {
      await server.close();
      m.dispose();
    }
  });
});
