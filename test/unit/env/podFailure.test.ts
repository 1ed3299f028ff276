import { strict as assert } from 'node:assert';
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { podFailure } from '../../../src/core/env/readiness';
import { workloadReady } from '../../../src/core/env/readiness';
import { ActivityRecorder } from '../../../src/core/env/lifecycle';

function pod(status: V1Pod['status']): V1Pod {
  return { metadata: { name: 'tasks-abc' }, status };
}

/** A container status that is not ready: name 'tasks', image 'i', no restarts, unless said otherwise. */
function container(s: Partial<V1ContainerStatus>): V1ContainerStatus {
  return { name: 'tasks', image: 'i', imageID: '', ready: false, restartCount: 0, ...s };
}

describe('podFailure', () => {
  it('names the image of an ImagePullBackOff', () => {
    const f = podFailure(
      pod({
        containerStatuses: [
          container({
            image: 'registry/tasks:nope',
            state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } },
          }),
        ],
      }),
    );
    assert.equal(f?.reason, 'ImagePullBackOff');
    assert.equal(f?.image, 'registry/tasks:nope');
    assert.match(f?.message ?? '', /registry\/tasks:nope/);
  });

  it('reports CrashLoopBackOff with the last exit code', () => {
    const f = podFailure(
      pod({
        containerStatuses: [
          container({
            restartCount: 4,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 3, reason: 'Error' } },
          }),
        ],
      }),
    );
    assert.equal(f?.reason, 'CrashLoopBackOff');
    assert.match(f?.message ?? '', /exit code 3/);
  });

  it('reports an unschedulable pod with the scheduler message', () => {
    const f = podFailure(
      pod({
        phase: 'Pending',
        conditions: [
          { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/2 nodes are available' },
        ],
      }),
    );
    assert.equal(f?.reason, 'Unschedulable');
    assert.match(f?.message ?? '', /0\/2 nodes/);
  });

  it('says nothing about a pod that is still starting', () => {
    assert.equal(
      podFailure(
        pod({
          phase: 'Pending',
          containerStatuses: [container({ name: 't', state: { waiting: { reason: 'ContainerCreating' } } })],
        }),
      ),
      undefined,
    );
  });
});

describe('workloadReady', () => {
  const dep = (status: object, generation = 2, replicas = 2) => ({
    kind: 'Deployment',
    metadata: { name: 'd', generation },
    spec: { replicas },
    status,
  });
  it('waits for the controller to see the latest generation', () => {
    assert.equal(
      workloadReady(dep({ observedGeneration: 1, readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2 })),
      false,
    );
    assert.equal(
      workloadReady(dep({ observedGeneration: 2, readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2 })),
      true,
    );
  });
  it('needs every replica updated and ready', () => {
    assert.equal(workloadReady(dep({ observedGeneration: 2, readyReplicas: 1, updatedReplicas: 2 })), false);
    assert.equal(workloadReady(dep({ observedGeneration: 2, readyReplicas: 2, updatedReplicas: 1 })), false);
  });
  it('waits for replicas to be available (minReadySeconds), as rollout status does', () => {
    assert.equal(
      workloadReady(dep({ observedGeneration: 2, readyReplicas: 2, updatedReplicas: 2, availableReplicas: 1 })),
      false,
    );
    assert.equal(
      workloadReady(dep({ observedGeneration: 2, readyReplicas: 2, updatedReplicas: 2 })),
      false,
      'no availableReplicas means none',
    );
    assert.equal(
      workloadReady(dep({ observedGeneration: 2, readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2 })),
      true,
    );
  });
});

describe('ActivityRecorder', () => {
  it('sends at most one patch per interval per environment', async () => {
    let now = 0;
    const sent: string[] = [];
    const recorder = new ActivityRecorder(
      async (ns) => {
        sent.push(ns);
      },
      60_000,
      () => now,
    );
    assert.equal(await recorder.record('a', 'sync'), true);
    now = 30_000;
    assert.equal(await recorder.record('a', 'sync'), false);
    assert.equal(await recorder.record('b', 'logs'), true);
    now = 60_000;
    assert.equal(await recorder.record('a', 'debug'), true);
    assert.deepEqual(sent, ['a', 'b', 'a']);
  });
});
