// Installing the in-cluster canary controller on the real-node testbed (issue 16): the manifests pass the API
// server's own validation (server-side dry run), its ServiceAccount may do what the driver does and no more
// (SubjectAccessReview), the project's CLI image runs on the real node, reaches the API server and Prometheus
// through the testbed's pod-access forwarders, takes the leader Lease and is scraped; uninstall removes it all.
// While it runs, `auto` starts on the shared testbed hand off to it: it is removed in after().
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { AuthorizationV1Api, PatchStrategy } from '@kubernetes/client-node';
import { controllerManifests, controllerStatus, type AppliedObject } from '../../../src/core/canary/install';
import { leaseName } from '../../../src/core/canary/lease';
import {
  CONTROLLER_LEASE_KEY,
  CONTROLLER_NAME,
  CONTROLLER_NAMESPACE,
  liveController,
} from '../../../src/core/canary/presence';
import { PrometheusClient } from '../../../src/core/infra/prometheus';
import { testbedKube } from '../../support/canaryWorkspace';
import {
  controllerImage,
  controllerPods,
  installTestController,
  podAccess,
  uninstallTestController,
  type InstalledController,
} from '../../support/controller';
import { requireRealNode } from '../../support/realPods';
import { createNamespace, loadTestbed, testbedEnv } from '../../support/testbed';
import { eventually } from '../../support/wait';

const kube = testbedKube();
const BIN = path.resolve(__dirname, '../../../bin/sandpiper.js');
const SA_USER = `system:serviceaccount:${CONTROLLER_NAMESPACE}:${CONTROLLER_NAME}`;
const notFound = (e: { code?: number }) => e.code === 404;

/** Whether the controller's ServiceAccount may do this, as the API server's authorizer answers. */
async function may(attrs: {
  verb: string;
  resource: string;
  group?: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}) {
  const review = await kube.config.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: SA_USER,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${CONTROLLER_NAMESPACE}`, 'system:authenticated'],
        resourceAttributes: attrs,
      },
    },
  });
  return review.status?.allowed === true;
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [BIN, ...args], { env: testbedEnv() }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe('canary controller install on the real node', function () {
  this.timeout(180_000);
  let installed: InstalledController | undefined;

  before(async function () {
    this.timeout(600_000); // the first run builds dist/cli.js and the image
    requireRealNode();
    const s = await controllerStatus(kube);
    assert.ok(!s.installed, 'a controller is already installed on the shared testbed: another test left it there');
    await controllerImage();
  });

  after(async function () {
    this.timeout(120_000);
    await uninstallTestController(kube);
  });

  it('the manifests pass a server-side dry run; a dry-run install stores nothing', async () => {
    const image = await controllerImage();
    // Namespaced objects into a scratch namespace: a dry-run Namespace is not created, so nothing could hold them.
    const scratch = await createNamespace('sp-it-ctl-dry');
    try {
      for (const obj of controllerManifests({ image, ...podAccess(), leaseSeconds: 6 })) {
        const target = obj.metadata?.namespace
          ? { ...obj, metadata: { ...obj.metadata, namespace: scratch.name } }
          : obj;
        await kube.objects.patch(target, undefined, 'All', 'sandpiper-test', true, PatchStrategy.ServerSideApply);
      }
    } finally {
      await scratch.dispose();
    }
    const out = await cli(['controller', 'install', '--image', image, '--dry-run', '--json']);
    assert.equal(out.code, 0, out.stderr);
    const applied = (JSON.parse(out.stdout) as { applied: AppliedObject[] }).applied;
    assert.deepEqual(
      applied.map((a) => a.kind),
      ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Deployment'],
    );
    await assert.rejects(
      kube.apps.readNamespacedDeployment({ namespace: CONTROLLER_NAMESPACE, name: CONTROLLER_NAME }),
      notFound,
    );
    await assert.rejects(
      kube.custom.getClusterCustomObject({
        group: 'rbac.authorization.k8s.io',
        version: 'v1',
        plural: 'clusterroles',
        name: CONTROLLER_NAME,
      }),
      notFound,
    );
  });

  it('install refuses a missing or movable image and names the fix', async () => {
    const none = await cli(['controller', 'install']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /--image <repository>@sha256:<digest>/);
    const tag = await cli(['controller', 'install', '--image', `${loadTestbed().registry}/sandpiper/cli:latest`]);
    assert.notEqual(tag.code, 0);
    assert.match(tag.stderr, /pinned by digest/);
  });

  it('runs on the real node, becomes Ready and takes the leader Lease', async () => {
    installed = await installTestController(kube, { leaseSeconds: 6 });
    const pods = await controllerPods(kube);
    assert.equal(pods.length, 1);
    assert.equal(pods[0].spec?.nodeName, loadTestbed().realNode!.node);
    assert.equal(pods[0].spec?.containers[0].image, installed.image);
    assert.equal(await liveController(kube), pods[0].metadata!.name, 'the pod holds the leader Lease');
    const status = await cli(['controller', 'status', '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(JSON.parse(status.stdout), {
      installed: true,
      image: installed.image,
      replicas: 1,
      readyReplicas: 1,
      leader: pods[0].metadata!.name,
    });
    console.log(
      `      controller Ready with the leader Lease ${(installed.readyMs / 1000).toFixed(1)} s after the apply`,
    );
  });

  it('its ServiceAccount may do what the driver does, and no more', async () => {
    assert.ok(installed, 'installed by the test before');
    const ns = 'some-team';
    const allowed = [
      { verb: 'patch', group: 'apps', resource: 'deployments', namespace: ns },
      { verb: 'watch', group: 'apps', resource: 'deployments' },
      { verb: 'update', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: ns },
      { verb: 'list', group: 'discovery.k8s.io', resource: 'endpointslices', namespace: ns },
      { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: ns },
      { verb: 'get', resource: 'pods', subresource: 'log', namespace: ns },
      { verb: 'create', resource: 'events', namespace: ns },
      { verb: 'get', resource: 'secrets', namespace: ns, name: 'sandpiper-notify' },
    ];
    const refused = [
      { verb: 'delete', resource: 'namespaces', name: ns },
      { verb: 'get', resource: 'secrets', namespace: ns, name: 'db-credentials' },
      { verb: 'list', resource: 'secrets', namespace: ns },
      { verb: 'create', resource: 'pods', namespace: ns },
      { verb: 'create', resource: 'pods', subresource: 'exec', namespace: ns },
      { verb: 'delete', group: 'apps', resource: 'replicasets', namespace: ns },
      { verb: 'patch', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: CONTROLLER_NAME },
    ];
    for (const a of allowed) assert.equal(await may(a), true, `may ${JSON.stringify(a)}`);
    for (const a of refused) assert.equal(await may(a), false, `may not ${JSON.stringify(a)}`);
  });

  it('Prometheus scrapes its /metrics: sandpiper_canary_controller_leader is 1', async () => {
    assert.ok(installed, 'installed by the test before');
    const prometheus = new PrometheusClient(loadTestbed().prometheusUrl);
    const pod = installed.leader;
    await eventually(
      `sandpiper_canary_controller_leader{pod="${pod}"} == 1 in Prometheus`,
      async () =>
        (await prometheus.scalar(
          `sandpiper_canary_controller_leader{namespace="${CONTROLLER_NAMESPACE}",pod="${pod}"}`,
        )) === 1,
      60_000,
      1000,
    );
  });

  it('uninstall removes the Deployment, its pods, the RBAC, the Lease and the namespace', async () => {
    const out = await cli(['controller', 'uninstall']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /deleted: Deployment sandpiper-canary-controller/);
    assert.deepEqual(await controllerPods(kube).catch(() => []), []);
    const rbac = (plural: string) => ({
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      plural,
      name: CONTROLLER_NAME,
    });
    await assert.rejects(kube.custom.getClusterCustomObject(rbac('clusterroles')), notFound);
    await assert.rejects(kube.custom.getClusterCustomObject(rbac('clusterrolebindings')), notFound);
    await assert.rejects(
      kube.apps.readNamespacedDeployment({ namespace: CONTROLLER_NAMESPACE, name: CONTROLLER_NAME }),
      notFound,
    );
    await assert.rejects(
      kube.coordination.readNamespacedLease({ namespace: CONTROLLER_NAMESPACE, name: leaseName(CONTROLLER_LEASE_KEY) }),
      notFound,
    );
    assert.equal(await liveController(kube), undefined);
    const ns = await kube.core.readNamespace({ name: CONTROLLER_NAMESPACE }).catch(() => undefined);
    assert.ok(
      !ns || ns.status?.phase === 'Terminating',
      `namespace ${CONTROLLER_NAMESPACE} left: ${ns?.status?.phase}`,
    );
    assert.deepEqual(JSON.parse((await cli(['controller', 'status', '--json'])).stdout).installed, false);
  });
});
