import { strict as assert } from 'node:assert';
import { analyseCanary, combine, judge } from '../../../src/core/canary/analysis';
import { scalarOf, type MetricsSource } from '../../../src/core/infra/prometheus';
import { SandpiperError } from '../../../src/core/errors';

/** Answers queries from a table keyed by track, the way Prometheus would for these series. */
function source(
  values: { canary?: number; stable?: number; p99Canary?: number; reporting?: boolean },
  fail = false,
): MetricsSource {
  return {
    async scalar(query: string) {
      if (fail) throw new SandpiperError('metrics-unreachable', 'down');
      const canary = query.includes('track="canary"');
      if (query.startsWith('count(')) return values.reporting === false ? undefined : 2;
      if (query.startsWith('histogram_quantile')) return canary ? values.p99Canary : 100;
      return canary ? values.canary : values.stable;
    },
  };
}

const target = { namespace: 'shop', service: 'web', window: '10s' };
const analysis = {
  successRate: { op: '>=' as const, value: 0.99 },
  p99LatencyMs: { op: '<=' as const, value: 300 },
  failureLimit: 0,
  queries: [],
};
const now = new Date('2026-01-01T00:00:00Z');

describe('canary analysis verdicts', () => {
  it('passes a healthy canary', async () => {
    const r = await analyseCanary(source({ canary: 0.999, stable: 0.998, p99Canary: 120 }), analysis, target, now);
    assert.equal(r.verdict, 'pass');
    assert.deepEqual(
      r.metrics.map((m) => m.verdict),
      ['pass', 'pass'],
    );
    assert.equal(r.metrics[0].stable, 0.998);
  });

  it('fails on a bad error rate', async () => {
    const r = await analyseCanary(source({ canary: 0.8, stable: 1, p99Canary: 120 }), analysis, target, now);
    assert.equal(r.verdict, 'fail');
    assert.match(r.summary, /success rate 0\.8 \(>= 0\.99\): fail/);
  });

  it('fails on slow p99', async () => {
    const r = await analyseCanary(source({ canary: 1, stable: 1, p99Canary: 900 }), analysis, target, now);
    assert.equal(r.verdict, 'fail');
  });

  it('gives no-data (never pass) when the canary has no series', async () => {
    const r = await analyseCanary(source({ stable: 1, p99Canary: undefined }), analysis, target, now);
    assert.equal(r.verdict, 'no-data');
  });

  it('gives no-data when the canary stopped reporting, even while the rate window still holds good samples', async () => {
    const r = await analyseCanary(
      source({ canary: 1, stable: 1, p99Canary: 10, reporting: false }),
      analysis,
      target,
      now,
    );
    assert.equal(r.verdict, 'no-data');
    assert.match(r.summary, /reports no request metrics/);
  });

  it('gives unavailable (no judgement: never promotes, never counts as a failure) when Prometheus does not answer', async () => {
    const r = await analyseCanary(source({}, true), analysis, target, now);
    assert.equal(r.verdict, 'unavailable');
    assert.match(r.summary, /down/);
  });

  it('runs custom queries with {{track}} filled in', async () => {
    const seen: string[] = [];
    const src: MetricsSource = {
      async scalar(q) {
        seen.push(q);
        return q.startsWith('count(') ? 1 : q.includes('canary') ? 5 : 1;
      },
    };
    const r = await analyseCanary(
      src,
      {
        failureLimit: 0,
        queries: [
          {
            name: 'queue depth',
            query: 'max(queue{track="{{track}}",ns="{{namespace}}"})',
            threshold: { op: '<', value: 10 },
          },
        ],
      },
      target,
      now,
    );
    assert.ok(seen.includes('max(queue{track="canary",ns="shop"})'));
    assert.equal(r.metrics.find((m) => m.name === 'queue depth')?.verdict, 'pass');
  });

  it('judges and combines', () => {
    assert.equal(judge(undefined, { op: '>=', value: 1 }), 'no-data');
    assert.equal(judge(Number.NaN, { op: '>=', value: 1 }), 'no-data');
    assert.equal(judge(0.5, { op: '>', value: 0.5 }), 'fail');
    assert.equal(combine([]), 'no-data');
  });

  it('reads Prometheus results: empty vector and NaN are no data, several series are an error', () => {
    assert.equal(scalarOf({ resultType: 'vector', result: [] }), undefined);
    assert.equal(scalarOf({ resultType: 'vector', result: [{ value: [1, 'NaN'] }] }), undefined);
    assert.equal(scalarOf({ resultType: 'scalar', result: [1, '0.25'] }), 0.25);
    assert.throws(
      () => scalarOf({ resultType: 'vector', result: [{ value: [1, '1'] }, { value: [1, '2'] }] }),
      /2 series/,
    );
  });
});
