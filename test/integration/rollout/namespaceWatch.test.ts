import { strict as assert } from 'node:assert';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { RolloutModel, watchNamespace } from '../../../src/core/workloads/model';
import { canaryImage, createService, testbedKube } from '../../support/canaryWorkspace';
import { requireRealNode } from '../../support/realPods';
import { eventually } from '../../support/wait';
import { createNamespace } from '../../support/testbed';

const kube = testbedKube();

describe('namespace watch into the rollout model (testbed, pods on the real node)', function () {
  this.timeout(120_000);
  let ns: { name: string; dispose(): Promise<void> };
  let next = '';
  before(async function () {
    this.timeout(900_000); // the first run of a machine builds the example's images
    requireRealNode();
    next = await canaryImage('good');
  });
  beforeEach(async () => (ns = await createNamespace('rollout-watch')));
  afterEach(async () => ns.dispose());

  it('follows a Deployment through a rollout: counts, revision, pods, deletion', async () => {
    const model = new RolloutModel();
    const changed: string[] = [];
    const w = await watchNamespace(kube, ns.name, model, { onChange: (keys) => changed.push(...keys) });
    try {
      await createService(kube, ns.name, 'web', { replicas: 3 });
      const key = `${ns.name}/web`;
      await eventually('3 available, 3 pods', async () => {
        const s = model.summary(key);
        return s && s.available === 3 && s.pods === 3 && s.revision === '1';
      });
      await kube.apps.patchNamespacedDeployment(
        {
          namespace: ns.name,
          name: 'web',
          body: { spec: { template: { spec: { containers: [{ name: 'web', image: next }] } } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
      await eventually('revision 2 rolled out', async () => {
        const s = model.summary(key);
        return s && s.revision === '2' && s.updated === 3 && s.available === 3 && s.images[0] === next && s.pods === 3;
      });
      assert.ok(changed.includes(key));
      await kube.apps.deleteNamespacedDeployment({ namespace: ns.name, name: 'web' });
      await eventually('gone from the model', async () => model.summary(key) === undefined);
    } finally {
      w.dispose();
    }
  });

  it('resyncs by relisting on a timer without spurious changes, and keeps following the cluster', async () => {
    const model = new RolloutModel();
    const changed: string[] = [];
    const w = await watchNamespace(kube, ns.name, model, { onChange: (keys) => changed.push(...keys), resyncMs: 1000 });
    try {
      await createService(kube, ns.name, 'a', { replicas: 1 });
      await eventually('a available', async () => model.summary(`${ns.name}/a`)?.available === 1);
      await new Promise((r) => setTimeout(r, 1500));
      changed.length = 0;
      const before = w.watches.map((x) => x.relists);
      await eventually('two more relists', async () => w.watches.every((x, i) => x.relists >= before[i] + 2), 10_000);
      assert.deepEqual(changed, [], 'an unchanged relist reports nothing');
      await kube.apps.deleteNamespacedDeployment({ namespace: ns.name, name: 'a' });
      await eventually('a gone', async () => model.summary(`${ns.name}/a`) === undefined);
    } finally {
      w.dispose();
    }
  });
});
