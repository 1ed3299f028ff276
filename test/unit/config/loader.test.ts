import { strict as assert } from 'node:assert';
import { formatProblem, parseConfig } from '../../../src/core/config/loader';
import { parseDuration, formatDuration } from '../../../src/core/config/types';

const GOOD = `baseline: staging
ttl: 8h
services:
  tasks:
    manifests: k8s/
    image: { build: ., dockerfile: Dockerfile }
    container: tasks
    sync: { paths: [src/], target: /app/src, exclude: ["**/*.test.ts"], reload: { signal: SIGHUP } }
    debug: { runtime: node, port: 9229, remoteRoot: /app }
    dependencies: { search: shared, mongo: copy }
    canary: { steps: [10, 25, 50, 100], interval: 30s, analysis: { successRate: ">= 0.99", p99LatencyMs: "<= 300" } }
`;

describe('sandpiper.yaml loader', () => {
  it('reads the product sketch with defaults applied', () => {
    const r = parseConfig(GOOD, '/ws');
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
    const tasks = r.config.services.tasks;
    assert.equal(r.config.ttlMs, 8 * 3_600_000);
    assert.deepEqual(tasks.manifests, ['k8s/']);
    assert.deepEqual(tasks.dependencies, { search: 'shared', mongo: 'copy' });
    assert.deepEqual(tasks.sync?.reload, { kind: 'signal', signal: 'SIGHUP', process: undefined });
    assert.deepEqual(tasks.canary?.analysis.successRate, { op: '>=', value: 0.99 });
    assert.equal(tasks.canary?.intervalMs, 30_000);
    assert.equal(tasks.debug?.port, 9229);
  });

  it('gives python its debugpy port by default', () => {
    const r = parseConfig('services:\n  api:\n    manifests: k8s\n    debug: { runtime: python }\n', '/ws');
    assert.ok(r.ok);
    assert.equal(r.config.services.api.debug?.port, 5678);
  });

  it('reports every problem with its path and line:column', () => {
    const text = `baseline: staging
ttl: soon
colour: blue
services:
  tasks:
    image: 3
    dependencies: { search: borrowed }
  web:
    manifests: k8s
    port: "eighty"
`;
    const r = parseConfig(text, '/ws');
    assert.ok(!r.ok);
    const lines = r.problems.map((p) => formatProblem('sandpiper.yaml', p));
    assert.deepEqual(lines, [
      'sandpiper.yaml:2:6: ttl: "soon" is not a duration (use e.g. 200ms, 30s, 8h)',
      'sandpiper.yaml:3:1: colour: unknown key "colour" (allowed: baseline, ttl, clusterDomain, registry, copySecrets, github, services)',
      'sandpiper.yaml:5:3: services.tasks: service "tasks" has no manifests (add manifests: <folder or files>)',
      'sandpiper.yaml:6:12: services.tasks.image: does not match any of the allowed forms',
      'sandpiper.yaml:7:29: services.tasks.dependencies.search: dependency mode must be shared or copy, not "borrowed"',
      'sandpiper.yaml:10:11: services.web.port: must be integer, not string "eighty"',
    ]);
  });

  it('reports YAML syntax errors at their position', () => {
    const r = parseConfig('services:\n  tasks: [unclosed\n', '/ws');
    assert.ok(!r.ok);
    assert.equal(r.problems.length >= 1, true);
    assert.equal(r.problems[0].line >= 1, true);
  });

  it('rejects an empty file and a service without manifests', () => {
    const r = parseConfig('', '/ws');
    assert.ok(!r.ok);
    assert.match(r.problems[0].message, /missing required key "services"/);
  });

  it('parses and formats durations', () => {
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('200ms'), 200);
    assert.equal(parseDuration('8 hours'), undefined);
    assert.equal(parseDuration(''), undefined);
    assert.equal(formatDuration(5_400_000), '1h30m');
  });
});
