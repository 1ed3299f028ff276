import { strict as assert } from 'node:assert';
import type { V1Service } from '@kubernetes/client-node';
import { cloneForEnvironment, sharedServiceFor, type KubeObject } from '../../../src/core/env/plan';

const LABELS = { 'app.kubernetes.io/managed-by': 'sandpiper' };

function baselineDeployment(): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'mongo',
      namespace: 'staging',
      uid: 'u-1',
      resourceVersion: '42',
      generation: 3,
      creationTimestamp: new Date(0),
      managedFields: [{ manager: 'kubectl' }],
      ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'o', uid: 'u' }],
      labels: { app: 'mongo' },
      annotations: { 'deployment.kubernetes.io/revision': '3', team: 'data' },
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'mongo' } },
      template: { metadata: { labels: { app: 'mongo' } }, spec: { containers: [{ name: 'mongo', image: 'mongo:7' }] } },
    },
    status: { readyReplicas: 1 },
  } as KubeObject;
}

describe('cloneForEnvironment', () => {
  it('strips everything the API server assigned and moves the object into the env', () => {
    const copy = cloneForEnvironment(baselineDeployment(), 'sp-env', LABELS);
    const meta = copy.metadata as Record<string, unknown>;
    for (const key of ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'ownerReferences'])
      assert.equal(meta[key], undefined, key);
    assert.equal(copy.status, undefined);
    assert.equal(copy.metadata?.namespace, 'sp-env');
    assert.deepEqual(copy.metadata?.labels, { app: 'mongo', 'app.kubernetes.io/managed-by': 'sandpiper' });
    assert.deepEqual(copy.metadata?.annotations, { team: 'data' });
    assert.deepEqual(copy.spec, baselineDeployment().spec);
  });

  it('does not change the source object', () => {
    const source = baselineDeployment();
    cloneForEnvironment(source, 'sp-env', LABELS);
    assert.deepEqual(source, baselineDeployment());
  });

  it('drops cluster IPs and node ports of a Service but keeps a headless one headless', () => {
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'mongo', namespace: 'staging' },
      spec: {
        clusterIP: '10.0.0.7',
        clusterIPs: ['10.0.0.7'],
        type: 'NodePort',
        ports: [{ port: 27017, nodePort: 30017 }],
        selector: { app: 'mongo' },
      },
    } as KubeObject;
    const copy = cloneForEnvironment(svc, 'sp-env', LABELS);
    assert.equal(copy.spec?.clusterIP, undefined);
    assert.equal(copy.spec?.clusterIPs, undefined);
    assert.deepEqual(copy.spec?.ports, [{ port: 27017 }]);
    const headless = cloneForEnvironment(
      { ...svc, spec: { clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 1 }] } } as KubeObject,
      'sp-env',
      LABELS,
    );
    assert.equal(headless.spec?.clusterIP, 'None');
  });
});

describe('sharedServiceFor', () => {
  const baseline: V1Service = {
    metadata: { name: 'search', namespace: 'staging' },
    spec: {
      clusterIP: '10.0.0.9',
      selector: { app: 'search' },
      ports: [
        { name: 'http', port: 80, targetPort: 8080 as never, protocol: 'TCP' },
        { name: 'grpc', port: 9090, targetPort: 'grpc' as never },
      ],
    },
  };

  it('points an ExternalName at the baseline Service with the same ports', () => {
    const svc = sharedServiceFor(baseline, 'staging', 'sp-env', 'cluster.local', LABELS);
    assert.equal(svc.metadata?.name, 'search');
    assert.equal(svc.metadata?.namespace, 'sp-env');
    assert.equal(svc.spec?.type, 'ExternalName');
    assert.equal(svc.spec?.externalName, 'search.staging.svc.cluster.local');
    assert.deepEqual(
      svc.spec?.ports?.map((p) => [p.name, p.port, p.protocol]),
      [
        ['http', 80, 'TCP'],
        ['grpc', 9090, 'TCP'],
      ],
    );
    assert.equal(svc.spec?.selector, undefined);
    assert.equal(svc.spec?.clusterIP, undefined);
    assert.equal(svc.metadata?.labels?.['app.kubernetes.io/managed-by'], 'sandpiper');
  });

  it('honours the cluster domain', () => {
    assert.equal(
      sharedServiceFor(baseline, 'prod', 'e', 'corp.internal', {}).spec?.externalName,
      'search.prod.svc.corp.internal',
    );
  });
});
