import { strict as assert } from 'node:assert';
import type { BaselineDependency } from '../../../src/core/env/create';
import { referencedConfig } from '../../../src/core/env/create';
import type { KubeObject } from '../../../src/core/env/plan';
import { planEnvironment } from '../../../src/core/env/plan';
import { environmentInfo } from '../../../src/core/env/metadata';

function dependency(name: string, skippedSecrets: string[] = []): BaselineDependency {
  return {
    name,
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'staging', uid: 'x' },
      spec: { clusterIP: '10.1.1.1', selector: { app: name }, ports: [{ port: 80 }] },
    },
    workloads: [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace: 'staging', uid: 'y', resourceVersion: '1' },
        spec: { selector: { matchLabels: { app: name } } },
        status: { replicas: 1 },
      } as KubeObject,
    ],
    configMaps: [{ metadata: { name: `${name}-config`, namespace: 'staging', uid: 'z' }, data: { a: 'b' } }],
    secrets: [],
    skippedSecrets,
  };
}

const NOW = new Date('2026-01-01T10:00:00Z');

describe('planEnvironment', () => {
  const plan = planEnvironment({
    namespace: 'sp-ada-main-0123456789',
    owner: 'ada@example.com',
    branch: 'main',
    service: 'tasks',
    baseline: 'staging',
    clusterDomain: 'cluster.local',
    ttlMs: 2 * 3_600_000,
    now: NOW,
    dependencies: [
      { mode: 'shared', baseline: dependency('search') },
      { mode: 'copy', baseline: dependency('mongo', ['mongo-password']) },
    ],
    serviceObjects: [
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'tasks', namespace: 'sp-ada-main-0123456789' } },
    ],
  });

  it('orders the steps: namespace, each dependency, then the service', () => {
    assert.deepEqual(
      plan.steps.map((s) => `${s.kind}:${s.name}${s.mode ? `:${s.mode}` : ''}`),
      ['namespace:sp-ada-main-0123456789', 'dependency:search:shared', 'dependency:mongo:copy', 'service:tasks'],
    );
  });

  it('labels and annotates the namespace so list, extend and the janitor can read it back', () => {
    const ns = plan.steps[0].objects[0];
    assert.deepEqual(ns.metadata?.labels, {
      'app.kubernetes.io/managed-by': 'sandpiper',
      'sandpiper.dev/owner': 'ada',
      'sandpiper.dev/branch': 'main',
      'sandpiper.dev/service': 'tasks',
    });
    const info = environmentInfo(ns);
    assert.equal(info.owner, 'ada@example.com');
    assert.equal(info.ttlMs, 2 * 3_600_000);
    assert.equal(info.expiresAt?.toISOString(), '2026-01-01T12:00:00.000Z');
    assert.deepEqual(info.dependencies, { search: 'shared', mongo: 'copy' });
  });

  it('routes a shared dependency to the baseline and copies a copied one', () => {
    const shared = plan.steps[1].objects;
    assert.deepEqual(
      shared.map((o) => `${o.kind}/${o.metadata?.name}`),
      ['Service/search'],
    );
    assert.equal(shared[0].spec?.type, 'ExternalName');
    const copied = plan.steps[2].objects;
    assert.deepEqual(copied.map((o) => `${o.kind}/${o.metadata?.name}`).sort(), [
      'ConfigMap/mongo-config',
      'Deployment/mongo',
      'Service/mongo',
    ]);
    for (const o of copied) {
      assert.equal(o.metadata?.namespace, 'sp-ada-main-0123456789');
      assert.equal(o.metadata?.uid, undefined);
      assert.equal(o.metadata?.labels?.['app.kubernetes.io/managed-by'], 'sandpiper');
    }
  });

  it('warns about Secrets it did not copy', () => {
    assert.equal(plan.warnings.length, 1);
    assert.match(plan.warnings[0], /mongo-password.*copySecrets/);
  });
});

describe('referencedConfig', () => {
  it('finds ConfigMaps and Secrets in volumes, envFrom, env and pull secrets', () => {
    const refs = referencedConfig({
      spec: {
        volumes: [
          { name: 'a', configMap: { name: 'cm1' } },
          { name: 'b', secret: { secretName: 's1' } },
          { name: 'c', projected: { sources: [{ configMap: { name: 'cm2' } }, { secret: { name: 's2' } }] } },
        ],
        imagePullSecrets: [{ name: 'pull' }],
        containers: [
          {
            name: 'x',
            envFrom: [{ configMapRef: { name: 'cm3' } }, { secretRef: { name: 's3' } }],
            env: [
              { name: 'E', valueFrom: { configMapKeyRef: { name: 'cm4', key: 'k' } } },
              { name: 'F', valueFrom: { secretKeyRef: { name: 's4', key: 'k' } } },
            ],
          },
        ],
      },
    });
    assert.deepEqual([...refs.configMaps].sort(), ['cm1', 'cm2', 'cm3', 'cm4']);
    assert.deepEqual([...refs.secrets].sort(), ['pull', 's1', 's2', 's3', 's4']);
  });
});
