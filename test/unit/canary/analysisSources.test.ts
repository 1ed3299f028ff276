import { strict as assert } from 'node:assert';
import {
  analyseCanary,
  analysisTarget,
  CanarySampler,
  combine,
  customQuery,
  errorRateQuery,
  gatewayServicePattern,
  p99LatencyMsQuery,
  presenceQuery,
  requestRateQuery,
  successRateQuery,
  type MetricResult,
  type QueryTarget,
} from '../../../src/core/canary/analysis';
import type { CanaryConfig } from '../../../src/core/config/types';
import { SandpiperError } from '../../../src/core/errors';
import type { MetricsSource } from '../../../src/core/infra/prometheus';

const app: QueryTarget = { namespace: 'shop', service: 'web', window: '10s' };
const gateway: QueryTarget = { ...app, source: 'gateway' };
const promql: QueryTarget = { ...app, source: 'promql' };
const now = new Date('2026-01-01T00:00:00Z');
const analysis: CanaryConfig['analysis'] = {
  successRate: { op: '>=', value: 0.99 },
  p99LatencyMs: { op: '<=', value: 300 },
  failureLimit: 0,
  queries: [],
};

/** Label values as Traefik 3.7 on the testbed writes them (taken from its Prometheus), plus the older 3.x form. */
const ROUTE = 'httproute-shop-web-gw-shop-gateway-ep-web-0-01a4bac7a4519e134c48';
const LABELS = {
  stable: `${ROUTE}-svc-shop-web-0@kubernetesgateway`,
  canary: `${ROUTE}-svc-shop-web-canary-1@kubernetesgateway`,
  wrr: `${ROUTE}-wrr@kubernetesgateway`,
  otherNamespace: `${ROUTE}-svc-myshop-web-0@kubernetesgateway`,
  otherService: `${ROUTE}-svc-shop-shop-web-0@kubernetesgateway`,
  longerService: `${ROUTE}-svc-shop-webapp-0@kubernetesgateway`,
  neighbour: `${ROUTE}-svc-shop-web-http-2@kubernetesgateway`,
  v375Stable: 'shop-web-http-80@kubernetesgateway',
  v375Canary: 'shop-web-canary-http-80@kubernetesgateway',
  olderStable: 'shop-web-80@kubernetesgateway',
  olderCanary: 'shop-web-canary-80@kubernetesgateway',
  otherProvider: `${ROUTE}-svc-shop-web-0@file`,
};

/** PromQL's =~ is anchored at both ends. */
function matches(pattern: string, label: string): boolean {
  return new RegExp(`^(?:${pattern})$`).test(label);
}

function patternIn(query: string): string {
  const m = /service=~"([^"]+)"/.exec(query);
  assert.ok(m, `no service matcher in ${query}`);
  return m[1];
}

describe('canary analysis sources (issue 16)', () => {
  describe('app source', () => {
    it('selects the app series by namespace, service and track', () => {
      const sel = '{namespace="shop",service="web",track="canary"}';
      assert.equal(presenceQuery(app, 'canary'), `count(http_requests_total${sel})`);
      assert.equal(requestRateQuery(app, 'canary'), `sum(rate(http_requests_total${sel}[10s]))`);
      assert.equal(
        successRateQuery(app, 'stable'),
        '(sum(rate(http_requests_total{namespace="shop",service="web",track="stable",code!~"5.."}[10s])) or vector(0))' +
          ' / sum(rate(http_requests_total{namespace="shop",service="web",track="stable"}[10s]))',
      );
      assert.match(errorRateQuery(app, 'canary'), /code=~"5\.\."/);
      assert.equal(
        p99LatencyMsQuery(app, 'canary'),
        `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket${sel}[10s]))) * 1000`,
      );
    });

    it('is the default when a target names no source', () => {
      assert.equal(presenceQuery({ ...app, source: 'app' }, 'canary'), presenceQuery(app, 'canary'));
    });
  });

  describe('gateway source', () => {
    it("reads Traefik's per-backend series: <service> for stable, <service>-canary for canary", () => {
      const stable = patternIn(requestRateQuery(gateway, 'stable'));
      const canary = patternIn(requestRateQuery(gateway, 'canary'));
      assert.ok(requestRateQuery(gateway, 'stable').startsWith('sum(rate(traefik_service_requests_total{service=~"'));
      assert.ok(matches(stable, LABELS.stable));
      assert.ok(matches(canary, LABELS.canary));
      assert.ok(matches(stable, LABELS.v375Stable), 'the Traefik 3.7.0–3.7.5 form');
      assert.ok(matches(canary, LABELS.v375Canary));
      assert.ok(matches(stable, LABELS.olderStable), 'the older 3.x form');
      assert.ok(matches(canary, LABELS.olderCanary));
    });

    it('never mixes stable with canary, another namespace, another service or the route total', () => {
      const stable = patternIn(presenceQuery(gateway, 'stable')!);
      const canary = patternIn(presenceQuery(gateway, 'canary')!);
      for (const label of [
        LABELS.canary,
        LABELS.v375Canary,
        LABELS.olderCanary,
        LABELS.neighbour,
        LABELS.wrr,
        LABELS.otherNamespace,
        LABELS.otherService,
        LABELS.longerService,
        LABELS.otherProvider,
      ])
        assert.ok(!matches(stable, label), `stable took in ${label}`);
      for (const label of [LABELS.stable, LABELS.v375Stable, LABELS.olderStable, LABELS.wrr, LABELS.otherNamespace])
        assert.ok(!matches(canary, label), `canary took in ${label}`);
    });

    it('normalises names the way Traefik does', () => {
      assert.equal(gatewayServicePattern('a.b', 'c'), '(.*-svc-a-b-c-[0-9]+|a-b-c(-http)?-[0-9]+)@kubernetesgateway');
    });

    it('computes success rate from the code label and p99 from the histogram', () => {
      const success = successRateQuery(gateway, 'canary');
      assert.match(
        success,
        /^\(sum\(rate\(traefik_service_requests_total\{service=~"[^"]+",code!~"5\.\."\}\[10s\]\)\) or vector\(0\)\) \/ sum\(rate\(traefik_service_requests_total\{service=~"[^"]+"\}\[10s\]\)\)$/,
      );
      assert.match(
        errorRateQuery(gateway, 'canary'),
        /traefik_service_requests_total\{service=~"[^"]+",code=~"5\.\."\}/,
      );
      assert.match(
        p99LatencyMsQuery(gateway, 'stable'),
        /^histogram_quantile\(0\.99, sum by \(le\) \(rate\(traefik_service_request_duration_seconds_bucket\{service=~"[^"]+"\}\[10s\]\)\)\) \* 1000$/,
      );
      assert.equal(
        presenceQuery(gateway, 'canary'),
        `count(traefik_service_requests_total{service=~"${gatewayServicePattern('shop', 'web-canary')}"})`,
      );
    });
  });

  describe('promql source', () => {
    it('has no request series: no presence query, no built-in checks, only the custom queries', async () => {
      assert.equal(presenceQuery(promql, 'canary'), undefined);
      assert.throws(() => successRateQuery(promql, 'canary'), /promql has no request series/);
      const seen: string[] = [];
      const src: MetricsSource = {
        async scalar(q) {
          seen.push(q);
          return q.includes('"canary"') ? 2 : 1;
        },
      };
      const r = await analyseCanary(
        src,
        {
          ...analysis,
          source: 'promql',
          queries: [
            {
              name: 'errors',
              query: 'sum(errors{track="{{track}}",svc="{{service}}"})',
              threshold: { op: '<', value: 5 },
            },
          ],
        },
        promql,
        now,
      );
      assert.deepEqual(seen.sort(), ['sum(errors{track="canary",svc="web"})', 'sum(errors{track="stable",svc="web"})']);
      assert.deepEqual(
        r.metrics.map((m) => [m.name, m.verdict, m.canary, m.stable]),
        [['errors', 'pass', 2, 1]],
      );
      assert.equal(r.verdict, 'pass');
    });

    it('gives no-data (never a pass) with no queries at all', async () => {
      const r = await analyseCanary({ scalar: async () => 1 }, { failureLimit: 0, queries: [] }, promql, now);
      assert.equal(r.verdict, 'no-data');
    });
  });

  it('fills {{namespace}}, {{service}} and {{track}} in custom queries for every source', () => {
    for (const t of [app, gateway, promql])
      assert.equal(
        customQuery('x{a="{{namespace}}",b="{{service}}",c="{{track}}"}', t, 'canary'),
        'x{a="shop",b="web",c="canary"}',
      );
  });

  it('builds the target from the spec a canary carries', () => {
    const spec = {
      service: 'api',
      analysis: { ...analysis, source: 'gateway' as const },
      window: '30s',
      warmupMs: 0,
      drainSeconds: 10,
    };
    assert.deepEqual(analysisTarget('shop', spec), {
      namespace: 'shop',
      service: 'api',
      window: '30s',
      source: 'gateway',
    });
    const { source: _unused, ...appAnalysis } = spec.analysis;
    assert.equal(analysisTarget('shop', { ...spec, analysis: appAnalysis }).source, 'app');
  });

  describe('verdicts', () => {
    const down = new SandpiperError('metrics-unreachable', 'Prometheus at http://p does not answer: HTTP 503');
    const bad = new SandpiperError('metrics-query', 'Prometheus rejected the query: parse error');

    it('unavailable when the presence query finds Prometheus down', async () => {
      const r = await analyseCanary({ scalar: async () => Promise.reject(down) }, analysis, gateway, now);
      assert.equal(r.verdict, 'unavailable');
      assert.equal(r.summary, down.message);
      assert.deepEqual(
        r.metrics.map((m) => m.verdict),
        ['unavailable'],
      );
    });

    it('unavailable when Prometheus goes down between queries, even beside a failing metric', async () => {
      const src: MetricsSource = {
        async scalar(q) {
          if (q.startsWith('count(')) return 1;
          if (q.startsWith('histogram_quantile')) throw down;
          return 0.5; // a failing success rate
        },
      };
      const r = await analyseCanary(src, analysis, app, now);
      assert.deepEqual(
        r.metrics.map((m) => m.verdict),
        ['fail', 'unavailable'],
      );
      assert.equal(r.verdict, 'unavailable');
      assert.match(r.summary, /does not answer/);
    });

    it('a query Prometheus rejects stays no-data, as a broken query must never promote', async () => {
      const src: MetricsSource = {
        async scalar(q) {
          if (q.startsWith('count(')) return 1;
          if (q.startsWith('histogram_quantile')) throw bad;
          return 1;
        },
      };
      const r = await analyseCanary(src, analysis, gateway, now);
      assert.deepEqual(
        r.metrics.map((m) => m.verdict),
        ['pass', 'no-data'],
      );
      assert.equal(r.verdict, 'no-data');
    });

    it('a rejected presence query is no data, not unavailable', async () => {
      const r = await analyseCanary({ scalar: async () => Promise.reject(bad) }, analysis, app, now);
      assert.equal(r.verdict, 'no-data');
    });

    it('combines: unavailable over fail over no-data over pass', () => {
      const m = (verdict: MetricResult['verdict']): MetricResult => ({
        name: 'x',
        query: 'q',
        threshold: '> 0',
        verdict,
      });
      assert.equal(combine([m('pass'), m('fail'), m('unavailable')]), 'unavailable');
      assert.equal(combine([m('no-data'), m('unavailable')]), 'unavailable');
      assert.equal(combine([m('no-data'), m('fail')]), 'fail');
      assert.equal(combine([m('pass'), m('no-data')]), 'no-data');
      assert.equal(combine([m('pass'), m('pass')]), 'pass');
    });
  });

  describe('CanarySampler', () => {
    it("samples the target's source", async () => {
      const seen: string[] = [];
      const sampler = new CanarySampler({
        async scalar(q) {
          seen.push(q);
          return 1;
        },
      });
      await sampler.sample('shop/web', gateway, now);
      assert.ok(seen.length > 0);
      assert.ok(
        seen.every((q) => q.includes('traefik_service_request')),
        seen.join('\n'),
      );
      seen.length = 0;
      await sampler.sample('shop/app', app, now);
      assert.ok(
        seen.every((q) => q.includes('http_request')),
        seen.join('\n'),
      );
    });

    it('charts nothing for promql, without asking Prometheus', async () => {
      const sampler = new CanarySampler({ scalar: async () => assert.fail('no query expected') });
      const [s] = await sampler.sample('shop/web', promql, now);
      assert.deepEqual([s.canary, s.stable], [{}, {}]);
    });
  });
});
