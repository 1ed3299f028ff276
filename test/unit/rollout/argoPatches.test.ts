import { strict as assert } from 'node:assert';
import {
  abortPatches,
  pausePatches,
  promotePatches,
  retryPatches,
  undoPatch,
} from '../../../src/core/workloads/actions';
import { argoStepWeight } from '../../../src/core/workloads/summaries';

const canary = {
  strategy: { canary: { steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { analysis: {} }] } },
};

describe('Argo Rollouts patches (as kubectl-argo-rollouts makes them)', () => {
  it('promote clears pause conditions on status and unpauses spec', () => {
    assert.deepEqual(
      promotePatches(
        { spec: { ...canary, paused: true }, status: { pauseConditions: [{}], currentStepIndex: 1 } },
        false,
      ),
      {
        spec: { spec: { paused: false } },
        status: { status: { pauseConditions: null } },
        unified: { spec: { paused: false }, status: { pauseConditions: null } },
      },
    );
  });

  it('promote in the middle of an analysis step moves to the next step', () => {
    assert.deepEqual(promotePatches({ spec: canary, status: { currentStepIndex: 3 } }, false).status, {
      status: { pauseConditions: null, currentStepIndex: 4 },
    });
  });

  it('promote --full sets promoteFull on status, only when not already stable', () => {
    assert.deepEqual(promotePatches({ spec: canary, status: { currentPodHash: 'b', stableRS: 'a' } }, true), {
      status: { status: { promoteFull: true } },
    });
    assert.deepEqual(promotePatches({ spec: canary, status: { currentPodHash: 'a', stableRS: 'a' } }, true), {});
  });

  it('abort, retry and pause', () => {
    assert.deepEqual(abortPatches().status, { status: { abort: true } });
    assert.deepEqual(retryPatches().status, { status: { abort: false } });
    assert.deepEqual(pausePatches(), { spec: { spec: { paused: true } } });
  });

  it('undo puts the previous revision template back without its hash label', () => {
    const rs = (rev: string, image: string, owner = 'u1') => ({
      metadata: {
        annotations: { 'rollout.argoproj.io/revision': rev },
        ownerReferences: [{ uid: owner, controller: true }],
      },
      spec: {
        template: {
          metadata: { labels: { app: 'a', 'rollouts-pod-template-hash': 'h' + rev } },
          spec: { containers: [{ name: 'c', image }] },
        },
      },
    });
    const patch = undoPatch(
      [rs('3', 'v3'), rs('1', 'v1'), rs('2', 'v2'), rs('9', 'other', 'u2')],
      'u1',
      'rollout.argoproj.io/revision',
      'rollouts-pod-template-hash',
    );
    assert.deepEqual(patch, [
      {
        op: 'replace',
        path: '/spec/template',
        value: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'v2' }] } },
      },
    ]);
    assert.equal(undoPatch([rs('1', 'v1')], 'u1', 'rollout.argoproj.io/revision', 'x'), undefined);
  });

  it('reads the weight of the current step', () => {
    assert.equal(argoStepWeight(canary.strategy.canary.steps, 0), 20);
    assert.equal(argoStepWeight(canary.strategy.canary.steps, 1), 20);
    assert.equal(argoStepWeight(canary.strategy.canary.steps, 3), 50);
    assert.equal(argoStepWeight(canary.strategy.canary.steps, 4), 100);
  });
});
