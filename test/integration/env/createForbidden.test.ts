// env create with an account that may patch namespaces but not read them: it must stop at the 403 on the read,
// never go on to apply (and so label as Sandpiper's) a namespace it could not look at.
import { strict as assert } from 'node:assert';
import { createEnvironment, EnvironmentCreateError } from '../../../src/core/env/create';
import { adminKube, createBaseline, deleteNamespace, exampleConfig, limitedKube, uniqueName } from './baseline';

const kube = adminKube();
const rbac = (plural: string) => ({ group: 'rbac.authorization.k8s.io', version: 'v1', plural });

describe('environment create stops on a 403 reading its namespace (testbed)', function () {
  this.timeout(180_000);
  let baseline: string;
  const foreign = uniqueName('sp-it-foreign-team');
  const role = uniqueName('sp-it-no-get-ns');

  /** Creates the cluster-wide RBAC object of this kind named `role`. */
  const createClusterRbac = (plural: string, kind: string, rest: object) =>
    kube.custom.createClusterCustomObject({
      ...rbac(plural),
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind, metadata: { name: role }, ...rest },
    });

  before(async () => {
    baseline = await createBaseline(kube);
    await kube.core.createNamespace({ body: { metadata: { name: foreign, labels: { team: 'payments' } } } });
  });
  after(async () => {
    await kube.custom.deleteClusterCustomObject({ ...rbac('clusterrolebindings'), name: role }).catch(() => undefined);
    await kube.custom.deleteClusterCustomObject({ ...rbac('clusterroles'), name: role }).catch(() => undefined);
    for (const ns of [foreign, baseline]) await deleteNamespace(kube, ns);
  });

  it('reports Forbidden for the read and leaves the existing namespace untouched', async () => {
    // May read the baseline, and create or patch namespaces, but not get them.
    const limited = await limitedKube(kube, baseline, [
      {
        apiGroups: ['', 'apps'],
        resources: ['services', 'configmaps', 'secrets', 'deployments', 'statefulsets'],
        verbs: ['get', 'list'],
      },
    ]);
    const subject = limited.config.getCurrentUser()!.name;
    await createClusterRbac('clusterroles', 'ClusterRole', {
      rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['create', 'patch'] }],
    });
    await createClusterRbac('clusterrolebindings', 'ClusterRoleBinding', {
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ kind: 'ServiceAccount', name: subject, namespace: baseline }],
    });
    let err: unknown;
    try {
      await createEnvironment(limited, exampleConfig(baseline), {
        service: 'tasks',
        owner: 'eve@example.com',
        branch: 'x',
        namespace: foreign,
      });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof EnvironmentCreateError, `expected EnvironmentCreateError, got ${String(err)}`);
    assert.equal(err.code, 'forbidden');
    assert.match(
      err.message,
      new RegExp(
        `^Forbidden: "system:serviceaccount:${baseline}:${subject}" cannot get namespaces named "${foreign}" \\(while trying to read namespace "${foreign}"\\)`,
      ),
    );
    assert.equal(err.namespaceCreated, false);
    const ns = await kube.core.readNamespace({ name: foreign });
    assert.deepEqual(
      ns.metadata?.labels,
      { team: 'payments', 'kubernetes.io/metadata.name': foreign },
      "not labelled as Sandpiper's",
    );
    assert.equal(ns.metadata?.annotations?.['sandpiper.dev/owner-full'], undefined);
  });
});
