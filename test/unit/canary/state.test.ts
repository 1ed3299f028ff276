import { strict as assert } from 'node:assert';
import {
  CANARY_STATE_ANNOTATION,
  isCanaryState,
  readCanaryState,
  writeCanaryState,
  type CanarySpec,
  type CanaryState,
} from '../../../src/core/canary/state';

/** A state as the annotation held it before issue 16: no spec, driver or autoResume. */
const OLD = {
  version: 1,
  status: 'progressing',
  image: 'reg/web:2',
  container: 'web',
  steps: [10, 50, 100],
  stepIndex: 0,
  weight: 10,
  intervalMs: 30000,
  stepStartedAt: '2026-01-01T00:00:00.000Z',
  failures: 0,
  trafficMode: 'httproute',
  route: 'web/web',
  stableReplicas: 2,
  lastAnalysis: {
    verdict: 'no-data',
    summary: 'the canary reports no request metrics',
    at: '2026-01-01T00:00:30.000Z',
  },
  history: [{ at: '2026-01-01T00:00:00.000Z', event: 'started: reg/web:2' }],
};

const SPEC: CanarySpec = {
  service: 'web',
  analysis: {
    source: 'gateway',
    successRate: { op: '>=', value: 0.99 },
    failureLimit: 1,
    queries: [{ name: 'q', query: 'up', threshold: { op: '>', value: 0 } }],
  },
  window: '10s',
  warmupMs: 5000,
  drainSeconds: 10,
  notify: { secret: 'sandpiper-notify', key: 'url', link: 'https://x/{{deployment}}' },
};

function withSpec(spec: unknown, extra: Record<string, unknown> = {}): unknown {
  return { ...OLD, spec, ...extra };
}

describe('canary state annotation (issue 16 fields)', () => {
  it('still reads an annotation written before the spec existed', () => {
    const state = readCanaryState({ [CANARY_STATE_ANNOTATION]: JSON.stringify(OLD) });
    assert.ok(state);
    assert.equal(state.spec, undefined);
    assert.equal(state.driver, undefined);
  });

  it('reads and writes the spec, driver, autoResume and an unavailable verdict with its metrics', () => {
    const state = {
      ...OLD,
      spec: SPEC,
      driver: 'controller',
      autoResume: true,
      status: 'paused',
      lastAnalysis: {
        verdict: 'unavailable',
        summary: 'Prometheus at http://p does not answer',
        at: '2026-01-01T00:01:00.000Z',
        metrics: [{ name: 'success rate', threshold: '>= 0.99', verdict: 'unavailable' }],
      },
    } as CanaryState;
    const back = readCanaryState({ [CANARY_STATE_ANNOTATION]: writeCanaryState(state) });
    assert.deepEqual(back, state);
  });

  it('accepts a spec without the optional parts (source, thresholds, notify)', () => {
    assert.ok(
      isCanaryState(
        withSpec({
          service: 'web',
          analysis: { failureLimit: 0, queries: [] },
          window: '10s',
          warmupMs: 0,
          drainSeconds: 0,
        }),
      ),
    );
  });

  it('rejects a malformed spec, driver or autoResume', () => {
    const bad: Array<[string, unknown]> = [
      ['spec not an object', withSpec('web')],
      ['spec without service', withSpec({ ...SPEC, service: undefined })],
      ['empty service', withSpec({ ...SPEC, service: '' })],
      ['no window', withSpec({ ...SPEC, window: undefined })],
      ['negative warmup', withSpec({ ...SPEC, warmupMs: -1 })],
      ['drain as text', withSpec({ ...SPEC, drainSeconds: '10' })],
      ['no analysis', withSpec({ ...SPEC, analysis: undefined })],
      ['unknown source', withSpec({ ...SPEC, analysis: { ...SPEC.analysis, source: 'istio' } })],
      ['queries not a list', withSpec({ ...SPEC, analysis: { ...SPEC.analysis, queries: {} } })],
      [
        'query without threshold',
        withSpec({ ...SPEC, analysis: { ...SPEC.analysis, queries: [{ name: 'q', query: 'up' }] } }),
      ],
      ['threshold op', withSpec({ ...SPEC, analysis: { ...SPEC.analysis, successRate: { op: '=', value: 1 } } })],
      ['failureLimit missing', withSpec({ ...SPEC, analysis: { ...SPEC.analysis, failureLimit: undefined } })],
      ['notify without secret', withSpec({ ...SPEC, notify: { key: 'url' } })],
      ['notify link a number', withSpec({ ...SPEC, notify: { ...SPEC.notify, link: 3 } })],
      ['driver', withSpec(SPEC, { driver: 'laptop' })],
      ['autoResume', withSpec(SPEC, { autoResume: 'yes' })],
    ];
    for (const [why, v] of bad) assert.equal(isCanaryState(v), false, why);
    assert.throws(
      () => readCanaryState({ [CANARY_STATE_ANNOTATION]: JSON.stringify(withSpec({ ...SPEC, window: 10 })) }),
      /does not describe a canary/,
    );
  });
});
