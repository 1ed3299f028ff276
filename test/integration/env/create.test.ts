import { strict as assert } from 'node:assert';
import { createEnvironment } from '../../../src/core/env/create';
import { deleteEnvironment } from '../../../src/core/env/lifecycle';
import type { EnvironmentProgress } from '../../../src/core/env/metadata';
import { SandpiperError } from '../../../src/core/errors';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { contextOf, exampleImage, pushedImage } from '../../support/images';
import { requireRealNode } from '../../support/realPods';
import { loadTestbed } from '../../support/testbed';
import {
  adminKube,
  createBaseline,
  deleteNamespace,
  dropDb,
  expectCreateError,
  exampleConfig,
  exampleWithDeployment,
  limitedKube,
  runnableExample,
  uniqueName,
} from './baseline';

const kube = adminKube();
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('environment create on the testbed', function () {
  this.timeout(180_000);
  let baseline: string;
  let root: string;
  /** The example's tasks on its in-memory store: for the cases without the db copy (dropDb). */
  let rootWithoutDb: string;
  const made: string[] = [];

  before(async () => {
    requireRealNode();
    baseline = await createBaseline(kube);
    root = await runnableExample();
    rootWithoutDb = await runnableExample({ db: false });
  });
  after(async () => {
    for (const ns of [...made, baseline]) await deleteNamespace(kube, ns);
  });

  describe('with search shared and db copied', () => {
    const progress: EnvironmentProgress[] = [];
    let namespace: string;

    before(async () => {
      const created = await createEnvironment(kube, exampleConfig(baseline, undefined, root), {
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
        'started dependency db',
        'ready dependency db',
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

    it('copies db (Deployment, Service, Secret) with fresh server fields, managed by sandpiper', async () => {
      const [dep, base] = await Promise.all([
        kube.apps.readNamespacedDeployment({ name: 'db', namespace }),
        kube.apps.readNamespacedDeployment({ name: 'db', namespace: baseline }),
      ]);
      assert.notEqual(dep.metadata?.uid, base.metadata?.uid);
      assert.equal(dep.status?.readyReplicas, 1);
      assert.equal(dep.metadata?.labels?.['app.kubernetes.io/managed-by'], 'sandpiper');
      assert.ok(dep.metadata?.managedFields?.some((f) => f.manager === 'sandpiper' && f.operation === 'Apply'));
      const [svc, baseSvc] = await Promise.all([
        kube.core.readNamespacedService({ name: 'db', namespace }),
        kube.core.readNamespacedService({ name: 'db', namespace: baseline }),
      ]);
      assert.ok(svc.spec?.clusterIP);
      assert.notEqual(svc.spec?.clusterIP, baseSvc.spec?.clusterIP);
      const [secret, baseSecret] = await Promise.all([
        kube.core.readNamespacedSecret({ name: 'db-credentials', namespace }),
        kube.core.readNamespacedSecret({ name: 'db-credentials', namespace: baseline }),
      ]);
      assert.ok(baseSecret.data?.password);
      assert.equal(secret.data?.password, baseSecret.data?.password);
    });

    it('keeps the copies independent of the baseline', async () => {
      const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
      const password = (ns: string) =>
        kube.core.readNamespacedSecret({ name: 'db-credentials', namespace: ns }).then((s) => s.data?.password);
      const before = await password(baseline);
      await kube.core.patchNamespacedSecret(
        { name: 'db-credentials', namespace, body: { stringData: { password: 'changed in env' } } },
        merge,
      );
      assert.equal(await password(namespace), Buffer.from('changed in env').toString('base64'));
      assert.equal(await password(baseline), before);
      await kube.apps.patchNamespacedDeployment(
        { name: 'db', namespace: baseline, body: { metadata: { labels: { edited: 'baseline' } } } },
        merge,
      );
      assert.equal(
        (await kube.apps.readNamespacedDeployment({ name: 'db', namespace })).metadata?.labels?.edited,
        undefined,
      );
    });

    it('deploys the service with its manifests and the image built from the workspace, pinned by digest, pulled and Ready on the real node', async () => {
      const dep = await kube.apps.readNamespacedDeployment({ name: 'tasks', namespace });
      assert.equal(dep.status?.readyReplicas, 1);
      // image: { build: . } builds the example's tasks (the same content as the example image, so the same digest),
      // pushed to the testbed registry under the name its sandpiper.yaml gives (image.name).
      const digest = (await exampleImage()).split('@')[1];
      assert.equal(
        dep.spec?.template.spec?.containers[0].image,
        `${loadTestbed().registry}/sandpiper-example/tasks@${digest}`,
      );
      assert.ok(dep.metadata?.managedFields?.some((f) => f.manager === 'sandpiper'));
      const [pod] = (await kube.core.listNamespacedPod({ namespace, labelSelector: 'app=tasks' })).items;
      assert.equal(pod.spec?.nodeName, requireRealNode().node);
      const status = pod.status?.containerStatuses?.[0];
      assert.equal(status?.ready, true);
      assert.match(status?.imageID ?? '', /sha256:[0-9a-f]{64}$/, 'the node pulled the image');
      assert.ok(status?.state?.running, JSON.stringify(status?.state));
    });

    it('uses an image override for the service container', async () => {
      // Another real image: busybox serving the probe's /healthz on the service's port.
      const image = await pushedImage(
        contextOf({
          Dockerfile:
            'FROM sandpiper/busybox:latest\n' +
            'CMD ["sh", "-c", "mkdir -p /www && echo ok > /www/healthz && trap \'exit 0\' TERM; httpd -f -p 8080 -h /www & wait"]\n',
        }),
        'sp-it/tasks-override',
      );
      const created = await createEnvironment(kube, exampleConfig(baseline, dropDb, rootWithoutDb), {
        service: 'tasks',
        owner: 'ada@example.com',
        branch: uniqueName('img'),
        image,
      });
      made.push(created.namespace);
      const dep = await kube.apps.readNamespacedDeployment({ name: 'tasks', namespace: created.namespace });
      assert.equal(dep.spec?.template.spec?.containers[0].image, image);
      assert.equal(dep.status?.readyReplicas, 1);
    });
  });

  it('cancelled mid-way and deleted, leaves nothing behind', async () => {
    const abort = new AbortController();
    const err = await expectCreateError(
      createEnvironment(kube, exampleConfig(baseline, undefined, root), {
        service: 'tasks',
        owner: 'bob@example.com',
        branch: uniqueName('cancel'),
        signal: abort.signal,
        progress: (p) => {
          if (p.step === 'dependency' && p.name === 'db' && p.state === 'started') abort.abort();
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
      t.replace('dependencies: { search: shared, db: copy }', 'dependencies: { search: shared, payments: copy }'),
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
        resources: ['services', 'configmaps', 'secrets', 'deployments', 'statefulsets'],
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
        `^Forbidden: "system:serviceaccount:${baseline}:sp-it-limited-[a-z0-9]+" cannot get services in namespace "${baseline}" \\(while trying to read Service "(search|db)"`,
      ),
    );
  });

  it('names the workload, pod and reason of an unschedulable service', async () => {
    const unschedulable = await exampleWithDeployment(
      (d) => {
        (d.spec as { template: { spec: Record<string, unknown> } }).template.spec.nodeSelector = {
          'sandpiper.dev/no-such-node': 'true',
        };
      },
      { db: false },
    );
    const config = exampleConfig(baseline, dropDb, unschedulable);
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

  it('names the pod, the image and the fix of a real image-pull failure, without waiting it out', async () => {
    // An image the testbed registry does not have: the node's containerd really fails to pull it.
    const image = `${loadTestbed().registry}/nope:1`;
    const config = exampleConfig(baseline, dropDb, rootWithoutDb);
    const t0 = Date.now();
    const err = await expectCreateError(
      createEnvironment(kube, config, {
        service: 'tasks',
        owner: 'ada@example.com',
        branch: uniqueName('pull'),
        image,
      }),
    );
    made.push(err.namespace);
    assert.ok(Date.now() - t0 < 60_000, `took ${Date.now() - t0} ms to report it`);
    assert.equal(err.code, 'ImagePullBackOff');
    assert.match(
      err.message,
      new RegExp(
        `^Deployment "tasks" in "${err.namespace}" is not ready: pod "tasks-[a-z0-9-]+" ` +
          `(ErrImagePull|ImagePullBackOff): cannot pull image "${escape(image)}": .*not found`,
      ),
    );
    assert.match(err.hint ?? '', new RegExp(`Check that the image "${escape(image)}" exists`));
    const pod = (await kube.core.listNamespacedPod({ namespace: err.namespace, labelSelector: 'app=tasks' })).items[0];
    assert.equal(pod.spec?.nodeName, requireRealNode().node, 'the pull failed on the real node');
    assert.match(err.message, new RegExp(`pod "${pod.metadata?.name}"`));
  });

  it("reports a real CrashLoopBackOff with the crashed container's last log lines", async () => {
    // The example's image, started with a command that logs and exits 1: the kubelet backs off restarting it.
    const root = await exampleWithDeployment(
      (d) => {
        const c = (d.spec as { template: { spec: { containers: Array<Record<string, unknown>> } } }).template.spec
          .containers[0];
        c.command = [
          'sh',
          '-c',
          'echo tasks listening on 8080; sleep 0.2; echo "Error: connect ECONNREFUSED db:5432" >&2; exit 1',
        ];
      },
      { db: false },
    );
    const config = exampleConfig(baseline, dropDb, root);
    const t0 = Date.now();
    const err = await expectCreateError(
      createEnvironment(kube, config, { service: 'tasks', owner: 'ada@example.com', branch: uniqueName('crash') }),
    );
    made.push(err.namespace);
    assert.ok(Date.now() - t0 < 90_000, `took ${Date.now() - t0} ms to report it`);
    assert.equal(err.code, 'CrashLoopBackOff');
    assert.match(
      err.message,
      new RegExp(
        `^Deployment "tasks" in "${err.namespace}" is not ready: pod "tasks-[a-z0-9-]+" CrashLoopBackOff: container "tasks" keeps crashing \\(last exit code 1, Error\\)\nLast log lines:\n`,
      ),
    );
    assert.match(err.message, /tasks listening on 8080\nError: connect ECONNREFUSED db:5432$/);
    assert.match(err.hint ?? '', /fix the crash/);
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
