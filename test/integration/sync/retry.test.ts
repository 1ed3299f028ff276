import { strict as assert } from 'node:assert';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { Kube } from '../../../src/core/infra/kube/client';
import { SyncEngine, type FileSyncState } from '../../../src/core/sync/syncEngine';
import { kubeConfig } from '../../support/testbed';
import { eventually } from '../../support/wait';
import { type SyncFixture, withSyncFixture } from './syncFixture';

/** A kube client acting as ServiceAccount `syncer` of the namespace (its own token, so RBAC applies to it). */
async function asServiceAccount(namespace: string): Promise<Kube> {
  const admin = kubeConfig();
  const core = admin.makeApiClient(CoreV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'syncer' } } });
  const token = await core.createNamespacedServiceAccountToken({
    namespace,
    name: 'syncer',
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const cluster = admin.getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'syncer', token: token.status!.token }],
    contexts: [{ name: 'syncer', cluster: cluster.name, user: 'syncer', namespace }],
    currentContext: 'syncer',
  });
  return new Kube(kc);
}

describe('a failed exec is retried with backoff and reported, never dropped (real node)', function () {
  this.timeout(180_000);
  let f: SyncFixture;
  let engine: SyncEngine;

  withSyncFixture(
    'sync-retry',
    (made) => (f = made),
    () => engine?.dispose(),
  );

  it('reports the failure, keeps the change, and delivers it once the pod answers exec', async () => {
    const [pod] = await f.readyPods(1);
    const rbac = kubeConfig().makeApiClient(RbacAuthorizationV1Api);
    const rule = (
      resources: string[],
      verbs: string[],
      apiGroups = [''],
    ): { apiGroups: string[]; resources: string[]; verbs: string[] } => ({ apiGroups, resources, verbs });
    // The sync's identity may read pods and deployments, but the API server refuses it exec (403) for now.
    await rbac.createNamespacedRole({
      namespace: f.namespace,
      body: {
        metadata: { name: 'read' },
        rules: [
          rule(['pods', 'services'], ['get', 'list', 'watch']),
          rule(['deployments', 'replicasets'], ['get', 'list', 'watch'], ['apps']),
        ],
      },
    });
    const bind = (name: string) => ({
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name: 'syncer', namespace: f.namespace }],
    });
    await rbac.createNamespacedRoleBinding({ namespace: f.namespace, body: bind('read') });
    const kube = await asServiceAccount(f.namespace);

    const states: FileSyncState[] = [];
    const logs: string[] = [];
    engine = new SyncEngine({ kube, namespace: f.namespace, configRoot: f.root, service: f.service() });
    engine.on('file', (local, _r, state) => {
      if (local.endsWith('late.txt')) states.push(state);
    });
    engine.on('log', (l) => logs.push(l));
    await engine.start();
    engine.notify({ local: f.write('src/late.txt', 'delivered late'), kind: 'change' });
    await eventually(
      'the failure to be reported',
      () => states.includes('failed') && engine.status.state === 'error',
      30_000,
    );
    assert.match(engine.status.error ?? '', /.+/);
    assert.ok(
      logs.some((l) => /retrying in \d+ ms/.test(l)),
      logs.join('\n'),
    );
    assert.equal(await f.exists(pod, '/app/late.txt'), false);

    // Exec is granted: the pending change lands on the next try, without another save.
    await rbac.createNamespacedRole({
      namespace: f.namespace,
      body: { metadata: { name: 'exec' }, rules: [rule(['pods/exec'], ['create', 'get'])] },
    });
    await rbac.createNamespacedRoleBinding({ namespace: f.namespace, body: bind('exec') });
    await eventually('the retried batch', () => states.at(-1) === 'synced', 60_000);
    await engine.idle();
    assert.equal(await f.read(pod, '/app/late.txt'), 'delivered late');
    assert.deepEqual(await f.get(pod, 'late.txt'), { status: 200, body: 'delivered late' });
    assert.equal(engine.status.state, 'idle');
  });
});
