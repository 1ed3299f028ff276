import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { createEnvironment, EnvironmentCreateError } from '../../../src/core/env/create';
import { deleteEnvironment } from '../../../src/core/env/lifecycle';
import type { EnvironmentProgress } from '../../../src/core/env/metadata';
import { SandpiperError } from '../../../src/core/errors';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { logsFrom, writeCriLogLine } from '../../support/testbed';
import {
  adminKube,
  createBaseline,
  deleteNamespace,
  exampleConfig,
  exampleWithDeployment,
  limitedKube,
  uniqueName,
} from './baseline';

const kube = adminKube();

async function expectCreateError(run: Promise<unknown>): Promise<EnvironmentCreateError> {
  try {
    await run;
  } catch (err) {
    assert.ok(err instanceof EnvironmentCreateError, `expected EnvironmentCreateError, got ${String(err)}`);
    return err;
  }
  assert.fail('creation should have failed');
}

describe('environment create on the testbed', function () {
  this.timeout(180_000);
  let baseline: string;
  const made: string[] = [];

  before(async () => {
    baseline = await createBaseline(kube);
  });
  after(async () => {
    for (const ns of [...made, baseline]) await deleteNamespace(kube, ns);
  });

  describe('with search shared and mongo copied', () => {
    const progress: EnvironmentProgress[] = [];
    let namespace: string;

    before(async () => {
      const created = await createEnvironment(kube, exampleConfig(baseline), {
        service: 'tasks',
        owner: `ada-${uniqueName('it')}@example.com`,
        branch: 'feature/env-it',
        progress: (p) => progress.push(p),
      });
      namespace = created.namespace;
      made.push(namespace);
    });

    it('reports each step as it starts and becomes ready, in order', () => {
      const steps = progress.filter((p) => p.state !== 'info').map((p) => `${p.state} ${p.step} ${p.name}`);
      assert.deepEqual(steps, [
        `started namespace ${namespace}`,
        `ready namespace ${namespace}`,
        'started dependency search',
        'ready dependency search',
        'started dependency mongo',
        'ready dependency mongo',
        'started service tasks',
        'ready service tasks',
      ]);
    });

    it('labels and annotates the namespace', async () => {
      const ns = await kube.core.readNamespace({ name: namespace });
      assert.match(namespace, /^sp-ada-it-[a-z0-9]+-feature-env-it-[0-9a-f]{10}$/);
      assert.equal(ns.metadata?.labels?.['app.kubernetes.io/managed-by'], 'sandpiper');
      assert.equal(ns.metadata?.labels?.['sandpiper.dev/branch'], 'feature-env-it');
      assert.match(ns.metadata?.labels?.['sandpiper.dev/owner'] ?? '', /^ada-it-/);
      assert.equal(ns.metadata?.annotations?.['sandpiper.dev/ttl'], '8h');
      assert.ok(Date.now() - Date.parse(ns.metadata?.annotations?.['sandpiper.dev/last-activity'] ?? '') < 120_000);
    });

    it('routes search to the baseline with an ExternalName Service of the same ports', async () => {
      const svc = await kube.core.readNamespacedService({ name: 'search', namespace });
      assert.equal(svc.spec?.type, 'ExternalName');
      assert.equal(svc.spec?.externalName, `search.${baseline}.svc.cluster.local`);
      assert.deepEqual(
        svc.spec?.ports?.map((p) => [p.name, p.port]),
        [['http', 80]],
      );
      await assert.rejects(
        kube.apps.readNamespacedDeployment({ name: 'search', namespace }),
        (e: { code?: number }) => e.code === 404,
      );
    });

    it('copies mongo (StatefulSet, Service, ConfigMap) with fresh server fields, managed by sandpiper', async () => {
      const [sts, base] = await Promise.all([
        kube.apps.readNamespacedStatefulSet({ name: 'mongo', namespace }),
        kube.apps.readNamespacedStatefulSet({ name: 'mongo', namespace: baseline }),
      ]);
      assert.notEqual(sts.metadata?.uid, base.metadata?.uid);
      assert.equal(sts.status?.readyReplicas, 1);
      assert.equal(sts.metadata?.labels?.['app.kubernetes.io/managed-by'], 'sandpiper');
      assert.ok(sts.metadata?.managedFields?.some((f) => f.manager === 'sandpiper' && f.operation === 'Apply'));
      const [svc, baseSvc] = await Promise.all([
        kube.core.readNamespacedService({ name: 'mongo', namespace }),
        kube.core.readNamespacedService({ name: 'mongo', namespace: baseline }),
      ]);
      assert.ok(svc.spec?.clusterIP);
      assert.notEqual(svc.spec?.clusterIP, baseSvc.spec?.clusterIP);
      const cm = await kube.core.readNamespacedConfigMap({ name: 'mongo-config', namespace });
      assert.equal(cm.data?.['mongod.conf'], 'storage:\n  dbPath: /data/db\n');
    });

    it('keeps the copies independent of the baseline', async () => {
      const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
      await kube.core.patchNamespacedConfigMap(
        { name: 'mongo-config', namespace, body: { data: { 'mongod.conf': 'changed in env' } } },
        merge,
      );
      assert.equal(
        (await kube.core.readNamespacedConfigMap({ name: 'mongo-config', namespace: baseline })).data?.['mongod.conf'],
        'storage:\n  dbPath: /data/db\n',
      );
      await kube.apps.patchNamespacedStatefulSet(
        { name: 'mongo', namespace: baseline, body: { metadata: { labels: { edited: 'baseline' } } } },
        merge,
      );
      assert.equal(
        (await kube.apps.readNamespacedStatefulSet({ name: 'mongo', namespace })).metadata?.labels?.edited,
        undefined,
      );
    });

    it('deploys the service with its manifests and the image from config', async () => {
      const dep = await kube.apps.readNamespacedDeployment({ name: 'tasks', namespace });
      assert.equal(dep.status?.readyReplicas, 1);
      assert.equal(dep.spec?.template.spec?.containers[0].image, 'sandpiper-example/tasks:latest');
      assert.ok(dep.metadata?.managedFields?.some((f) => f.manager === 'sandpiper'));
    });

    it('uses an image override for the service container', async () => {
      const created = await createEnvironment(kube, exampleConfig(baseline), {
        service: 'tasks',
        owner: 'ada@example.com',
        branch: uniqueName('img'),
        image: 'registry.local/tasks:abc123',
      });
      made.push(created.namespace);
      const dep = await kube.apps.readNamespacedDeployment({ name: 'tasks', namespace: created.namespace });
      assert.equal(dep.spec?.template.spec?.containers[0].image, 'registry.local/tasks:abc123');
    });
  });

  it('cancelled mid-way and deleted, leaves nothing behind', async () => {
    const abort = new AbortController();
    const err = await expectCreateError(
      createEnvironment(kube, exampleConfig(baseline), {
        service: 'tasks',
        owner: 'bob@example.com',
        branch: uniqueName('cancel'),
        signal: abort.signal,
        progress: (p) => {
          if (p.step === 'dependency' && p.name === 'mongo' && p.state === 'started') abort.abort();
        },
      }),
    );
    assert.equal(err.code, 'cancelled');
    assert.equal(err.namespaceCreated, true);
    assert.ok((await kube.core.readNamespace({ name: err.namespace })).metadata);
    assert.equal(await deleteEnvironment(kube, err.namespace, { wait: true }), true);
    await assert.rejects(kube.core.readNamespace({ name: err.namespace }), (e: { code?: number }) => e.code === 404);
  });

  it('names a missing baseline object before making anything', async () => {
    const config = exampleConfig(baseline, (t) =>
      t.replace('dependencies: { search: shared, mongo: copy }', 'dependencies: { search: shared, payments: copy }'),
    );
    const branch = uniqueName('missing');
    const err = await expectCreateError(
      createEnvironment(kube, config, { service: 'tasks', owner: 'ada@example.com', branch }),
    );
    assert.equal(err.code, 'baseline-missing');
    assert.equal(
      err.message,
      `The baseline namespace "${baseline}" has no Service "payments" (needed by dependency "payments").`,
    );
    assert.equal(err.namespaceCreated, false);
    await assert.rejects(kube.core.readNamespace({ name: err.namespace }), (e: { code?: number }) => e.code === 404);
  });

  it('reports Forbidden with the verb, resource and namespace (real RBAC)', async () => {
    /** Eve's environment of tasks on a fresh branch, created with these credentials: the error it fails with. */
    const createAsEve = (as: typeof kube) =>
      expectCreateError(
        createEnvironment(as, exampleConfig(baseline), {
          service: 'tasks',
          owner: 'eve@example.com',
          branch: uniqueName('rbac'),
        }),
      );
    // May read the baseline but nothing cluster-wide: reading the env namespace is refused, and create stops there
    // (it cannot tell whether the namespace is someone else's; see createForbidden.test.ts).
    const limited = await limitedKube(kube, baseline, [
      {
        apiGroups: ['', 'apps'],
        resources: ['services', 'configmaps', 'deployments', 'statefulsets'],
        verbs: ['get', 'list'],
      },
    ]);
    const err = await createAsEve(limited);
    assert.equal(err.code, 'forbidden');
    assert.match(
      err.message,
      /^Forbidden: "system:serviceaccount:[^"]+" cannot get namespaces named "sp-eve-rbac-[a-z0-9-]+" \(while trying to read namespace "sp-eve-rbac-/,
    );
    assert.equal(err.namespaceCreated, false);

    const none = await limitedKube(kube, baseline, []);
    const err2 = await createAsEve(none);
    assert.equal(err2.code, 'forbidden');
    assert.match(
      err2.message,
      new RegExp(
        `^Forbidden: "system:serviceaccount:${baseline}:sp-it-limited-[a-z0-9]+" cannot get services in namespace "${baseline}" \\(while trying to read Service "(search|mongo)"`,
      ),
    );
  });

  it('names the workload, pod and reason of an unschedulable service', async () => {
    const root = exampleWithDeployment((d) => {
      (d.spec as { template: { spec: Record<string, unknown> } }).template.spec.nodeSelector = {
        'sandpiper.dev/no-such-node': 'true',
      };
    });
    const config = exampleConfig(
      baseline,
      (t) => t.replace('dependencies: { search: shared, mongo: copy }', 'dependencies: { search: shared }'),
      root,
    );
    const err = await expectCreateError(
      createEnvironment(kube, config, { service: 'tasks', owner: 'ada@example.com', branch: uniqueName('unsched') }),
    );
    made.push(err.namespace);
    assert.equal(err.code, 'Unschedulable');
    assert.match(
      err.message,
      new RegExp(
        `^Deployment "tasks" in "${err.namespace}" is not ready: pod "tasks-[a-z0-9-]+" Unschedulable: 0/\\d+ nodes are available`,
      ),
    );
    assert.equal(err.namespaceCreated, true);
  });

  it('names the image of an ImagePullBackOff', async () => {
    // A pod bound to a node that does not exist: no kubelet (and no kwok, which manages every real node)
    // writes its status, so we write it as a kubelet would. (Pod GC removes it only after ~40 s.)
    const node = uniqueName('sp-it-ghost-node');
    {
      const root = exampleWithDeployment((d) => {
        (d.spec as { template: { spec: Record<string, unknown> } }).template.spec.nodeName = node;
      });
      const config = exampleConfig(
        baseline,
        (t) => t.replace('dependencies: { search: shared, mongo: copy }', 'dependencies: { search: shared }'),
        root,
      );
      const image = 'registry.invalid/tasks:does-not-exist';
      const branch = uniqueName('pull');
      const creating = createEnvironment(kube, config, {
        service: 'tasks',
        owner: 'ada@example.com',
        branch,
        image,
        progress: (p) => {
          if (p.step === 'service' && p.state === 'started') void playKubelet(p.message);
        },
      });
      let namespace = '';
      const playKubelet = async (_msg: string) => {
        namespace = (await kube.core.listNamespace({ labelSelector: `sandpiper.dev/branch=${branch}` })).items[0]
          .metadata!.name!;
        for (let i = 0; i < 100; i++) {
          const pods = await kube.core.listNamespacedPod({ namespace, labelSelector: 'app=tasks' });
          const pod = pods.items[0];
          if (pod) return writePullBackOff(namespace, pod, image);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      const err = await expectCreateError(creating);
      made.push(err.namespace);
      assert.equal(err.code, 'ImagePullBackOff');
      assert.match(
        err.message,
        new RegExp(
          `^Deployment "tasks" in "${err.namespace}" is not ready: pod "tasks-[a-z0-9-]+" ImagePullBackOff: cannot pull image "registry.invalid/tasks:does-not-exist"`,
        ),
      );
      assert.match(err.hint ?? '', /registry\.invalid\/tasks:does-not-exist/);
    }
  });

  it('reports a CrashLoopBackOff with the last log lines', async () => {
    // kwok makes the pod Running; minReadySeconds keeps the Deployment from counting it available, so
    // the test can then write the status a kubelet writes for a crashing container (kwok leaves a pod
    // with an IP alone) and serve its log through kwok's Logs object.
    const root = exampleWithDeployment((d) => {
      (d.spec as Record<string, unknown>).minReadySeconds = 300;
    });
    const config = exampleConfig(
      baseline,
      (t) => t.replace('dependencies: { search: shared, mongo: copy }', 'dependencies: { search: shared }'),
      root,
    );
    const branch = uniqueName('crash');
    const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sp-crash-')), 'tasks.log');
    const cleanups: Array<{ dispose(): Promise<void> }> = [];
    const crash = async () => {
      const namespace = (await kube.core.listNamespace({ labelSelector: `sandpiper.dev/branch=${branch}` })).items[0]
        .metadata!.name!;
      for (let i = 0; i < 200; i++) {
        const pod = (await kube.core.listNamespacedPod({ namespace, labelSelector: 'app=tasks' })).items.find(
          (p) => p.status?.podIP,
        );
        if (pod) {
          writeCriLogLine(logFile, 'tasks listening on 8080');
          writeCriLogLine(logFile, 'Error: connect ECONNREFUSED mongo:27017', 'stderr');
          cleanups.push(await logsFrom(namespace, pod.metadata!.name!, 'tasks', logFile, false));
          return writeContainerStatus(namespace, pod, {
            name: 'tasks',
            image: pod.spec!.containers[0].image!,
            imageID: '',
            ready: false,
            restartCount: 5,
            started: false,
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s restarting failed container' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error' } },
          });
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      const err = await expectCreateError(
        createEnvironment(kube, config, {
          service: 'tasks',
          owner: 'ada@example.com',
          branch,
          progress: (p) => {
            if (p.step === 'service' && p.state === 'started') void crash();
          },
        }),
      );
      made.push(err.namespace);
      assert.equal(err.code, 'CrashLoopBackOff');
      assert.match(
        err.message,
        new RegExp(
          `^Deployment "tasks" in "${err.namespace}" is not ready: pod "tasks-[a-z0-9-]+" CrashLoopBackOff: container "tasks" keeps crashing \\(last exit code 1, Error\\)\nLast log lines:\n`,
        ),
      );
      assert.match(err.message, /tasks listening on 8080\nError: connect ECONNREFUSED mongo:27017$/);
    } finally {
      for (const c of cleanups) await c.dispose().catch(() => undefined);
    }
  });

  it('fails with a clear error when the cluster does not answer', async () => {
    const config = exampleConfig(baseline);
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'gone', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'gone', cluster: 'gone', user: 'u' }],
      currentContext: 'gone',
    });
    const { Kube } = await import('../../../src/core/infra/kube/client');
    const err = await expectCreateError(
      createEnvironment(new Kube(kc), config, { service: 'tasks', owner: 'ada@example.com', branch: 'main' }),
    );
    assert.equal(err.code, 'unreachable');
    assert.ok(err instanceof SandpiperError);
    assert.match(err.message, /does not answer \(ECONNREFUSED\)/);
  });
});

async function writePullBackOff(namespace: string, pod: V1Pod, image: string): Promise<void> {
  const status = {
    phase: 'Pending',
    conditions: [{ type: 'PodScheduled', status: 'True' }],
    containerStatuses: [
      {
        name: 'tasks',
        image,
        imageID: '',
        ready: false,
        restartCount: 0,
        started: false,
        state: { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` } },
      },
    ],
  };
  await kube.core.patchNamespacedPodStatus(
    { name: pod.metadata!.name!, namespace, body: { status } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

async function writeContainerStatus(namespace: string, pod: V1Pod, containerStatus: V1ContainerStatus): Promise<void> {
  const status = {
    containerStatuses: [containerStatus],
    conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }],
  };
  await kube.core.patchNamespacedPodStatus(
    { name: pod.metadata!.name!, namespace, body: { status } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
}
