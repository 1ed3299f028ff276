import { strict as assert } from 'node:assert';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { ARGO, runArgoAction } from '../../../src/core/workloads/actions';
import { RolloutModel, watchNamespace } from '../../../src/core/workloads/model';
import { canaryImage, testbedKube } from '../../support/canaryWorkspace';
import { exampleImage } from '../../support/images';
import { readyPods, requireRealNode } from '../../support/realPods';
import { eventually } from '../../support/wait';
import { createNamespace } from '../../support/testbed';

const kube = testbedKube();
const rollouts = (namespace: string) => ({
  group: ARGO.group,
  version: ARGO.version,
  namespace,
  plural: ARGO.rollouts,
});

interface RolloutStatus {
  phase?: string;
  currentStepIndex?: number;
  pauseConditions?: Array<{ reason: string }>;
  abort?: boolean;
  currentPodHash?: string;
  stableRS?: string;
  message?: string;
}

/** The Rollout's pod template: the example's tasks server, as a real cluster runs it. */
const template = (image: string) => ({
  metadata: { labels: { app: 'api' } },
  spec: {
    terminationGracePeriodSeconds: 2,
    containers: [
      {
        name: 'app',
        image,
        ports: [{ name: 'http', containerPort: 8080 }],
        readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
      },
    ],
  },
});

describe('Argo Rollouts steered through our code (testbed: the real rollouts controller, pods on the real node)', function () {
  this.timeout(120_000);
  let ns: { name: string; dispose(): Promise<void> };
  let model: RolloutModel;
  let stopWatch: () => void;
  let stable = '';
  let next = '';

  before(async function () {
    this.timeout(900_000); // the first run of a machine builds the example's images
    const node = requireRealNode();
    [stable, next] = await Promise.all([exampleImage(), canaryImage('good')]);
    assert.ok(node.node);
  });

  const status = async () =>
    ((await kube.custom.getNamespacedCustomObject({ ...rollouts(ns.name), name: 'api' })) as { status?: RolloutStatus })
      .status ?? {};

  beforeEach(async () => {
    ns = await createNamespace('argo');
    model = new RolloutModel();
    stopWatch = (await watchNamespace(kube, ns.name, model, { onChange: () => undefined })).dispose;
    await kube.custom.createNamespacedCustomObject({
      ...rollouts(ns.name),
      body: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Rollout',
        metadata: { name: 'api' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'api' } },
          template: template(stable),
          strategy: { canary: { steps: [{ setWeight: 50 }, { pause: {} }, { setWeight: 100 }] } },
        },
      },
    });
    await eventually('first revision healthy', async () => (await status()).phase === 'Healthy', 60_000);
    await kube.custom.patchNamespacedCustomObject(
      {
        ...rollouts(ns.name),
        name: 'api',
        body: { spec: { template: template(next) } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually('paused at the pause step', async () => {
      const s = await status();
      return s.currentStepIndex === 1 && (s.pauseConditions?.length ?? 0) > 0;
    });
  });

  afterEach(async () => {
    stopWatch();
    await ns.dispose();
  });

  it('the model shows the paused canary step from the watch', async () => {
    const c = await eventually('model caught up', async () => {
      const s = model.summary(`${ns.name}/api`);
      return s?.canary?.paused && s.canary.stepIndex === 1 ? s.canary : undefined;
    });
    assert.deepEqual({ of: c.stepCount, weight: c.weight, mode: c.trafficMode }, { of: 3, weight: 50, mode: 'argo' });
    // Without traffic routing the weight is the pod ratio: one pod of each revision, both running and Ready.
    const pods = await readyPods(ns.name, 'app=api', 2);
    assert.deepEqual(pods.map((p) => p.spec?.containers[0].image).sort(), [stable, next].sort());
    assert.ok(pods.every((p) => p.spec?.nodeName === requireRealNode().node));
  });

  it('promote: the controller moves past the pause and finishes', async () => {
    await runArgoAction(kube, ns.name, 'api', 'promote');
    const s = await eventually('promoted to healthy', async () => {
      const st = await status();
      return st.phase === 'Healthy' && st.currentStepIndex === 3 ? st : undefined;
    });
    assert.equal(s.stableRS, s.currentPodHash);
    assert.equal(s.pauseConditions, undefined);
  });

  it('promote --full skips the remaining steps', async () => {
    await runArgoAction(kube, ns.name, 'api', 'promote-full');
    const s = await eventually('fully promoted', async () => {
      const st = await status();
      return st.phase === 'Healthy' && st.stableRS === st.currentPodHash ? st : undefined;
    });
    assert.equal(s.currentStepIndex, 3);
  });

  it('abort: the controller reports the rollout aborted, retry resumes it', async () => {
    await runArgoAction(kube, ns.name, 'api', 'abort');
    const aborted = await eventually('aborted', async () => {
      const st = await status();
      return st.abort === true && st.phase === 'Degraded' ? st : undefined;
    });
    assert.match(aborted.message ?? '', /abort/i);
    await eventually('model shows aborted', async () => model.summary(`${ns.name}/api`)?.canary?.status === 'aborted');
    await runArgoAction(kube, ns.name, 'api', 'retry');
    await eventually('retried back to the pause step', async () => {
      const st = await status();
      return !st.abort && st.currentStepIndex === 1 && (st.pauseConditions?.length ?? 0) > 0;
    });
  });

  it('pause and resume set spec.paused as the plugin does', async () => {
    await runArgoAction(kube, ns.name, 'api', 'pause');
    const ro = (await kube.custom.getNamespacedCustomObject({ ...rollouts(ns.name), name: 'api' })) as {
      spec: { paused?: boolean };
    };
    assert.equal(ro.spec.paused, true);
    await runArgoAction(kube, ns.name, 'api', 'resume');
    const again = (await kube.custom.getNamespacedCustomObject({ ...rollouts(ns.name), name: 'api' })) as {
      spec: { paused?: boolean };
    };
    assert.equal(again.spec.paused, false);
  });
});
