import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RolloutModel } from '../../../src/core/workloads/model';
import type { WatchEvent } from '../../../src/core/workloads/model';
import { canaryDeploymentOf, canaryState, deployment, pod, remove, replicaSet, upsert, withCanary } from './fixtures';

const FIXTURES = path.join(__dirname, 'fixtures');

describe('RolloutModel (the reducer over watch events)', () => {
  it('summarises a Deployment with its counts, revision and pods', () => {
    const m = new RolloutModel();
    m.apply(
      upsert('Deployment', deployment('web', { replicas: 3, updated: 2, ready: 1, available: 1, revision: '4' })),
    );
    m.apply(upsert('ReplicaSet', replicaSet('web-abc', 'web')));
    const touched = m.apply(upsert('Pod', pod('web-abc-1', 'web-abc')));
    assert.deepEqual(touched, ['shop/web']);
    m.apply(upsert('Pod', pod('web-abc-2', 'web-abc')));
    const s = m.summary('shop/web')!;
    assert.equal(s.revision, '4');
    assert.deepEqual([s.desired, s.updated, s.ready, s.available, s.pods], [3, 2, 1, 1, 2]);
    m.apply(remove('Pod', pod('web-abc-1', 'web-abc')));
    assert.equal(m.summary('shop/web')!.pods, 1);
  });

  it('counts pods that arrive before their ReplicaSet', () => {
    const m = new RolloutModel();
    m.apply(upsert('Deployment', deployment('web')));
    m.apply(upsert('Pod', pod('web-abc-1', 'web-abc')));
    m.apply(upsert('ReplicaSet', replicaSet('web-abc', 'web')));
    assert.equal(m.summary('shop/web')!.pods, 1);
  });

  it('flags an exceeded progress deadline', () => {
    const m = new RolloutModel();
    m.apply(
      upsert(
        'Deployment',
        deployment('web', {
          conditions: [
            { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'took too long' },
          ],
        }),
      ),
    );
    assert.equal(m.summary('shop/web')!.progressDeadlineExceeded, true);
  });

  it('folds the built-in canary Deployment into its stable one and reads the step from the annotation', () => {
    const m = new RolloutModel();
    m.apply(upsert('Deployment', withCanary(deployment('web'), canaryState({ stepIndex: 1, weight: 50 }))));
    const touched = m.apply(upsert('Deployment', canaryDeploymentOf('web')));
    assert.deepEqual(touched, ['shop/web']);
    const all = m.summaries();
    assert.deepEqual(
      all.map((w) => w.name),
      ['web'],
    );
    assert.deepEqual(
      {
        step: all[0].canary?.stepIndex,
        of: all[0].canary?.stepCount,
        weight: all[0].canary?.weight,
        mode: all[0].canary?.trafficMode,
      },
      { step: 1, of: 3, weight: 50, mode: 'replicas' },
    );
  });

  it('reports an annotation it cannot trust instead of failing', () => {
    const m = new RolloutModel();
    m.apply(
      upsert(
        'Deployment',
        deployment('web', { annotations: { 'sandpiper.dev/canary': '{"version":1,"status":"hacked"}' } }),
      ),
    );
    assert.equal(m.summary('shop/web')!.canary?.status, 'invalid');
  });

  it('reads an Argo Rollout: step, weight, pause, abort and its AnalysisRuns', () => {
    const m = new RolloutModel();
    const rollout = {
      metadata: { name: 'api', namespace: 'shop', annotations: { 'rollout.argoproj.io/revision': '2' } },
      spec: {
        replicas: 5,
        paused: false,
        strategy: {
          canary: { steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 60 }, { pause: { duration: '10s' } }] },
        },
      },
      status: {
        currentStepIndex: 1,
        pauseConditions: [{ reason: 'CanaryPauseStep' }],
        phase: 'Paused',
        updatedReplicas: 1,
        readyReplicas: 5,
        availableReplicas: 5,
      },
    };
    m.apply(upsert('Rollout', rollout));
    m.apply(
      upsert('AnalysisRun', {
        metadata: {
          name: 'api-1',
          namespace: 'shop',
          ownerReferences: [{ kind: 'Rollout', name: 'api', controller: true }],
        },
        status: {
          phase: 'Running',
          metricResults: [{ name: 'success', phase: 'Running', successful: 2, measurements: [{ value: '0.99' }] }],
        },
      }),
    );
    const c = m.summary('shop/api')!.canary!;
    assert.deepEqual(
      { step: c.stepIndex, of: c.stepCount, weight: c.weight, paused: c.paused, status: c.status },
      { step: 1, of: 4, weight: 20, paused: true, status: 'Paused' },
    );
    assert.equal(c.analysis[0].metrics[0].value, '0.99');
    m.apply(upsert('Rollout', { ...rollout, status: { ...rollout.status, abort: true, phase: 'Degraded' } }));
    assert.deepEqual([m.summary('shop/api')!.canary!.status, m.summary('shop/api')!.canary!.weight], ['aborted', 0]);
  });

  // recorded-rollout: a Deployment of 2 rolling web:1 → web:2 on the testbed (test/integration/rollout/recordWatch.ts);
  // deployment-rollout: a hand-written sequence with a stuck Deployment beside it.
  for (const name of ['recorded-rollout', 'deployment-rollout']) {
    it(`replays the ${name} watch sequence to the golden summaries`, () => {
      const events = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.events.json`), 'utf8')) as WatchEvent[];
      const m = new RolloutModel();
      for (const e of events) m.apply(e);
      const golden = path.join(FIXTURES, `${name}.summaries.json`);
      const actual = JSON.stringify(m.summaries(), null, 2) + '\n';
      if (process.env.UPDATE_GOLDEN) fs.writeFileSync(golden, actual);
      assert.equal(actual, fs.readFileSync(golden, 'utf8'));
    });
  }
});
