// The PR body's canary line comes from the state the rollout feature keeps on the stable Deployment:
// read here from the real testbed API server.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadKube } from '../../../src/core/infra/kube/client';
import { latestCanary } from '../../../src/core/canary/state';
import { writeCanaryState, CANARY_STATE_ANNOTATION, type CanaryState } from '../../../src/core/canary/state';
import { createNamespace, loadTestbed } from '../../support/testbed';

function state(overrides: Partial<CanaryState>): CanaryState {
  return {
    version: 1,
    status: 'progressing',
    image: 'registry/tasks:2',
    container: 'tasks',
    steps: [10, 25, 50, 100],
    stepIndex: 1,
    weight: 25,
    intervalMs: 30_000,
    stepStartedAt: '2026-01-01T10:00:00.000Z',
    failures: 0,
    trafficMode: 'replicas',
    stableReplicas: 2,
    history: [],
    ...overrides,
  };
}

function deployment(name: string, s: CanaryState) {
  return {
    metadata: { name, annotations: { [CANARY_STATE_ANNOTATION]: writeCanaryState(s) } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image: 'registry.invalid/none:1' }] },
      },
    },
  };
}

describe('pr: latest canary from the cluster (testbed)', function () {
  this.timeout(60_000);

  it('picks the most recent canary of the services in the env and the baseline', async () => {
    const kube = loadKube({ kubeconfig: loadTestbed().kubeconfig });
    const env = await createNamespace('pr-canary-env');
    const baseline = await createNamespace('pr-canary-base');
    try {
      await kube.apps.createNamespacedDeployment({
        namespace: baseline.name,
        body: deployment(
          'tasks',
          state({
            status: 'promoted',
            stepIndex: 3,
            weight: 100,
            stepStartedAt: '2026-01-01T09:00:00.000Z',
            lastAnalysis: { verdict: 'pass', summary: 'success rate 99.9% ≥ 99%', at: '2026-01-01T09:05:00.000Z' },
          }),
        ),
      });
      await kube.apps.createNamespacedDeployment({
        namespace: env.name,
        body: deployment(
          'search',
          state({ lastAnalysis: { verdict: 'pass', summary: 'p99 120 ms ≤ 300 ms', at: '2026-01-01T10:01:00.000Z' } }),
        ),
      });
      const canary = await latestCanary(kube, [env.name, baseline.name], ['tasks', 'search', 'missing']);
      assert.deepEqual(canary, {
        service: 'search',
        verdict: 'progressing, analysis pass: p99 120 ms ≤ 300 ms',
        step: '2/4 (25%)',
      });
      const only = await latestCanary(kube, [baseline.name], ['tasks']);
      assert.deepEqual(only, {
        service: 'tasks',
        verdict: 'promoted, analysis pass: success rate 99.9% ≥ 99%',
        step: '4/4 (100%)',
      });
      assert.equal(await latestCanary(kube, [env.name], ['nothing-here']), undefined);
    } finally {
      await env.dispose();
      await baseline.dispose();
    }
  });

  it('gives up quietly when the cluster does not answer', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pr-kubeconfig-'));
    const file = path.join(dir, 'config');
    // A port that accepts nothing: the read fails, the PR goes on without a canary line.
    fs.writeFileSync(
      file,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
    const notes: string[] = [];
    try {
      assert.equal(
        await latestCanary(loadKube({ kubeconfig: file }), ['a'], ['tasks'], (m) => notes.push(m), 3000),
        undefined,
      );
      assert.ok(notes.length > 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
