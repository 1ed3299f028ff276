import { strict as assert } from 'node:assert';
import { formatProblem, parseConfig } from '../../../src/core/config/loader';
import type { CanaryConfig } from '../../../src/core/config/types';

function service(canary: string): string {
  return `services:\n  api:\n    manifests: k8s\n    canary: ${canary}\n`;
}

function canaryOf(canary: string): CanaryConfig {
  const r = parseConfig(service(canary), '/ws');
  assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
  return r.config.services.api.canary!;
}

function problems(text: string): string[] {
  const r = parseConfig(text, '/ws');
  assert.ok(!r.ok, 'expected the config to be refused');
  return r.problems.map((p) => formatProblem('sandpiper.yaml', p));
}

describe('sandpiper.yaml canary settings (issue 16)', () => {
  it('reads warmup, drainSeconds, analysis.source and notify', () => {
    const c = canaryOf(
      '{ warmup: 1m30s, drainSeconds: 25, analysis: { source: gateway, successRate: ">= 0.995" }, ' +
        'notify: { secret: hooks, key: slack, link: "https://ci.example/{{namespace}}/{{deployment}}" } }',
    );
    assert.equal(c.warmupMs, 90_000);
    assert.equal(c.drainSeconds, 25);
    assert.equal(c.analysis.source, 'gateway');
    assert.deepEqual(c.analysis.successRate, { op: '>=', value: 0.995 });
    assert.deepEqual(c.notify, {
      secret: 'hooks',
      key: 'slack',
      link: 'https://ci.example/{{namespace}}/{{deployment}}',
    });
  });

  it('leaves the new settings out when not written (defaults apply where they are used)', () => {
    const c = canaryOf('{ steps: [50, 100] }');
    assert.equal(c.warmupMs, undefined);
    assert.equal(c.drainSeconds, undefined);
    assert.equal(c.analysis.source, undefined);
    assert.equal(c.notify, undefined, 'no notify key = no notifications');
  });

  it('fills the Secret name and key of an empty notify', () => {
    assert.deepEqual(canaryOf('{ notify: {} }').notify, { secret: 'sandpiper-notify', key: 'url' });
    assert.deepEqual(canaryOf('{ notify: { link: "x" } }').notify, {
      secret: 'sandpiper-notify',
      key: 'url',
      link: 'x',
    });
  });

  it('accepts promql with queries, and a zero warmup and drain', () => {
    const c = canaryOf(
      '{ warmup: 0s, drainSeconds: 0, analysis: { source: promql, queries: ' +
        '[{ name: errors, query: "sum(rate(errors_total{track=\\"{{track}}\\"}[1m]))", threshold: "<= 1" }] } }',
    );
    assert.equal(c.warmupMs, 0);
    assert.equal(c.drainSeconds, 0);
    assert.equal(c.analysis.source, 'promql');
    assert.equal(c.analysis.queries.length, 1);
  });

  it('refuses promql without queries, naming the fix', () => {
    assert.deepEqual(problems(service('{ analysis: { source: promql } }')), [
      'sandpiper.yaml:4:25: services.api.canary.analysis.queries: analysis source promql checks only the custom queries, ' +
        'and there are none (add canary.analysis.queries, or use source app or gateway)',
    ]);
    assert.deepEqual(problems(service('{ analysis: { source: promql, queries: [] } }')), [
      'sandpiper.yaml:4:52: services.api.canary.analysis.queries: analysis source promql checks only the custom ' +
        'queries, and there are none (add canary.analysis.queries, or use source app or gateway)',
    ]);
  });

  it('refuses built-in thresholds with promql, which reads no request metrics', () => {
    const lines = problems(
      service(
        '{ analysis: { source: promql, successRate: ">= 0.9", queries: [{ name: q, query: up, threshold: "> 0" }] } }',
      ),
    );
    assert.equal(lines.length, 1);
    assert.match(lines[0], /services\.api\.canary\.analysis\.successRate: successRate needs request metrics/);
    assert.match(lines[0], /use source app or gateway/);
  });

  it('refuses a bad source, warmup, drainSeconds and notify with located messages', () => {
    const lines = problems(
      service(
        '{ warmup: soon, drainSeconds: -1, analysis: { source: istio }, notify: { secret: "Not A Name", colour: red } }',
      ),
    );
    assert.deepEqual(lines, [
      'sandpiper.yaml:4:23: services.api.canary.warmup: "soon" is not a duration (use e.g. 200ms, 30s, 8h)',
      'sandpiper.yaml:4:43: services.api.canary.drainSeconds: must be >= 0',
      'sandpiper.yaml:4:67: services.api.canary.analysis.source: must be one of "app", "gateway", "promql"',
      'sandpiper.yaml:4:94: services.api.canary.notify.secret: "Not A Name" does not match ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
      'sandpiper.yaml:4:108: services.api.canary.notify.colour: unknown key "colour" (allowed: secret, key, link)',
    ]);
  });

  it('refuses a drainSeconds that is not a whole number of seconds', () => {
    assert.deepEqual(problems(service('{ drainSeconds: 2.5 }')), [
      'sandpiper.yaml:4:29: services.api.canary.drainSeconds: must be integer, not number 2.5',
    ]);
  });
});
