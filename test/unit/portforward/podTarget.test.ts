import { strict as assert } from 'node:assert';
import type * as k8s from '@kubernetes/client-node';
import { isPodReady, newestReadyPod } from '../../../src/core/infra/kube/pods';

function pod(name: string, created: string, ready: boolean, extra: Partial<k8s.V1ObjectMeta> = {}): k8s.V1Pod {
  return {
    metadata: { name, creationTimestamp: new Date(created), ...extra },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

describe('pod choice for a port-forward', () => {
  it('takes the newest ready pod', () => {
    const pods = [
      pod('old', '2024-01-01', true),
      pod('new', '2024-01-02', true),
      pod('newest-unready', '2024-01-03', false),
    ];
    assert.equal(newestReadyPod(pods)?.metadata?.name, 'new');
  });

  it('skips terminating and excluded pods', () => {
    const pods = [pod('a', '2024-01-01', true), pod('b', '2024-01-02', true, { deletionTimestamp: new Date() })];
    assert.equal(isPodReady(pods[1]), false);
    assert.equal(newestReadyPod(pods)?.metadata?.name, 'a');
    assert.equal(newestReadyPod(pods, new Set(['a'])), undefined);
  });
});
