import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiException, type V1ClusterRole, type V1Deployment } from '@kubernetes/client-node';
import { controllerManifests, installController } from '../../../src/core/canary/install';
import { CONTROLLER_NAME, CONTROLLER_NAMESPACE } from '../../../src/core/canary/presence';
import type { SandpiperError } from '../../../src/core/errors';
import { loadKube, type Kube } from '../../../src/core/infra/kube/client';

const ROOT = path.resolve(__dirname, '../../..');
const IMAGE = `registry.example:5000/sandpiper/cli@sha256:${'ab12'.repeat(16)}`;

/** What the driver, the controller and notifications call — and nothing else. */
const MINIMAL_RULES = [
  {
    apiGroups: ['apps'],
    resources: ['deployments'],
    verbs: ['get', 'list', 'watch', 'patch', 'create', 'delete', 'update'],
  },
  { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['list'] },
  { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'create', 'delete', 'patch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list'] },
  { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: ['get', 'list', 'update'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update', 'delete'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: [''], resources: ['secrets'], resourceNames: ['sandpiper-notify'], verbs: ['get'] },
];

function deploymentOf(objs: ReturnType<typeof controllerManifests>): V1Deployment {
  return objs.find((o) => o.kind === 'Deployment') as V1Deployment;
}

function envOf(d: V1Deployment): Record<string, unknown> {
  const env = d.spec!.template.spec!.containers[0].env ?? [];
  return Object.fromEntries(env.map((e) => [e.name, e.value ?? e.valueFrom]));
}

describe('canary controller manifests (resources/canary-controller.yaml)', () => {
  it('are the embedded YAML as it is now (scripts/canaryManifest.mjs --check)', () => {
    const r = spawnSync(process.execPath, ['scripts/canaryManifest.mjs', '--check'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('hold a Namespace, ServiceAccount, ClusterRole, its binding and the Deployment, in that order', () => {
    const objs = controllerManifests({ image: IMAGE });
    assert.deepEqual(
      objs.map((o) => `${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`),
      [
        `Namespace /${CONTROLLER_NAMESPACE}`,
        `ServiceAccount ${CONTROLLER_NAMESPACE}/${CONTROLLER_NAME}`,
        `ClusterRole /${CONTROLLER_NAME}`,
        `ClusterRoleBinding /${CONTROLLER_NAME}`,
        `Deployment ${CONTROLLER_NAMESPACE}/${CONTROLLER_NAME}`,
      ],
    );
    const binding = objs.find((o) => o.kind === 'ClusterRoleBinding') as unknown as {
      roleRef: { kind: string; name: string };
      subjects: Array<{ kind: string; name: string; namespace: string }>;
    };
    assert.deepEqual(binding.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: CONTROLLER_NAME,
    });
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: CONTROLLER_NAME, namespace: CONTROLLER_NAMESPACE },
    ]);
    assert.equal(deploymentOf(objs).spec!.template.spec!.serviceAccountName, CONTROLLER_NAME);
  });

  it('grant exactly the minimal rules: no wildcard, secrets by name only', () => {
    const role = controllerManifests({ image: IMAGE }).find((o) => o.kind === 'ClusterRole') as V1ClusterRole;
    assert.deepEqual(role.rules, MINIMAL_RULES);
    assert.ok(!JSON.stringify(role.rules).includes('*'));
  });

  it('run the CLI image by digest as `controller run`: one non-root replica, read-only, probed, scraped', () => {
    const d = deploymentOf(controllerManifests({ image: IMAGE }));
    const pod = d.spec!.template;
    const c = pod.spec!.containers[0];
    assert.equal(d.spec!.replicas, 1);
    assert.deepEqual(d.metadata!.labels?.app, CONTROLLER_NAME);
    assert.deepEqual(d.spec!.selector.matchLabels, { app: CONTROLLER_NAME });
    assert.equal(pod.metadata!.labels!.app, CONTROLLER_NAME);
    assert.equal(c.image, IMAGE);
    assert.deepEqual(c.args, ['controller', 'run']);
    assert.deepEqual(envOf(d).POD_NAME, { fieldRef: { fieldPath: 'metadata.name' } });
    assert.ok(envOf(d).PROMETHEUS_URL, 'a default Prometheus');
    assert.equal(pod.spec!.securityContext!.runAsNonRoot, true);
    assert.equal(c.securityContext!.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext!.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext!.capabilities!.drop, ['ALL']);
    assert.ok(c.resources!.requests!.cpu && c.resources!.requests!.memory && c.resources!.limits!.memory);
    for (const probe of [c.readinessProbe!, c.livenessProbe!])
      assert.deepEqual(probe.httpGet, { path: '/healthz', port: 9464 });
    assert.deepEqual(pod.metadata!.annotations, { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9464' });
    assert.equal(pod.spec!.terminationGracePeriodSeconds, 30);
  });

  it('refuse an image that is not pinned by digest, the placeholder included', () => {
    for (const image of [
      'registry.example:5000/sandpiper/cli:0.1.0',
      'sandpiper/cli',
      'sandpiper/cli@sha256:CONTROLLER_DIGEST',
      `sandpiper/cli@sha256:${'AB12'.repeat(16)}`,
      '',
    ])
      assert.throws(
        () => controllerManifests({ image }),
        (e: SandpiperError) => e.code === 'usage' && /pinned by digest/.test(e.message),
        image,
      );
  });

  it('fill Prometheus, the API server address and TLS name, and the lease duration', () => {
    const d = deploymentOf(
      controllerManifests({
        image: IMAGE,
        prometheusUrl: 'http://10.244.0.1:9090',
        apiServer: 'https://10.244.0.1:6443',
        apiServerName: 'localhost',
        leaseSeconds: 6,
      }),
    );
    const env = envOf(d);
    assert.equal(env.PROMETHEUS_URL, 'http://10.244.0.1:9090');
    assert.equal(env.KUBERNETES_SERVICE_HOST, '10.244.0.1');
    assert.equal(env.KUBERNETES_SERVICE_PORT, '6443');
    assert.equal(env.SANDPIPER_KUBE_TLS_SERVER_NAME, 'localhost');
    assert.equal(d.spec!.template.spec!.containers[0].env!.filter((e) => e.name === 'PROMETHEUS_URL').length, 1);
    assert.deepEqual(d.spec!.template.spec!.containers[0].args, ['controller', 'run', '--lease-seconds', '6']);
    // Without them, the pod uses the kubernetes Service and its own defaults.
    const plain = envOf(deploymentOf(controllerManifests({ image: IMAGE })));
    assert.deepEqual(Object.keys(plain).sort(), ['POD_NAME', 'PROMETHEUS_URL']);
    assert.throws(
      () => controllerManifests({ image: IMAGE, apiServer: 'http://10.244.0.1:6443' }),
      (e: SandpiperError) => e.code === 'usage' && /https:\/\/host:port/.test(e.message),
    );
  });
});

/** Records server-side applies; `namespaceExists` answers the dry run's look-up. */
function recordingKube(namespaceExists: boolean, refuse?: number) {
  const calls: Array<{ kind: string; dryRun?: string; fieldManager?: string; force?: boolean; strategy?: string }> = [];
  const kube = {
    objects: {
      patch: async (obj: { kind: string }, _p: unknown, dryRun?: string, fm?: string, force?: boolean, s?: string) => {
        if (refuse)
          throw new ApiException(
            refuse,
            'no',
            {
              message:
                'clusterroles.rbac.authorization.k8s.io is forbidden: User "dev" cannot patch resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope',
            },
            {},
          );
        calls.push({ kind: obj.kind, dryRun, fieldManager: fm, force, strategy: s });
        return obj;
      },
    },
    core: {
      readNamespace: async () => {
        if (!namespaceExists) throw new ApiException(404, 'not found', {}, {});
        return {};
      },
    },
  };
  return { kube: kube as unknown as Kube, calls };
}

describe('installController', () => {
  it('applies every object server-side as sandpiper, forcing conflicts', async () => {
    const { kube, calls } = recordingKube(true);
    const applied = await installController(kube, { image: IMAGE });
    assert.equal(applied.length, 5);
    assert.ok(calls.every((c) => c.dryRun === undefined && c.fieldManager === 'sandpiper' && c.force === true));
    assert.ok(
      calls.every((c) => c.strategy === 'application/apply-patch+yaml'),
      JSON.stringify(calls),
    );
  });

  it('a dry run sends dryRun=All; without the namespace its objects are reported unchecked', async () => {
    const { kube, calls } = recordingKube(false);
    const applied = await installController(kube, { image: IMAGE }, { dryRun: true });
    assert.deepEqual(
      calls.map((c) => [c.kind, c.dryRun]),
      [
        ['Namespace', 'All'],
        ['ClusterRole', 'All'],
        ['ClusterRoleBinding', 'All'],
      ],
    );
    assert.deepEqual(
      applied.filter((a) => a.skipped).map((a) => a.kind),
      ['ServiceAccount', 'Deployment'],
    );
  });

  it('a refusal names the missing permission and says a cluster admin installs it', async () => {
    const { kube } = recordingKube(true, 403);
    await assert.rejects(installController(kube, { image: IMAGE }), (e: SandpiperError) => {
      assert.equal(e.code, 'forbidden');
      assert.match(e.message, /cannot patch clusterroles\.rbac\.authorization\.k8s\.io at the cluster scope/);
      assert.match(e.hint ?? '', /cluster admin/);
      return true;
    });
  });
});

describe('loadKube tlsServerName', () => {
  it("sets the current cluster's TLS server name (an in-pod client dialling another address)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-kc-'));
    const file = path.join(dir, 'config');
    fs.writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{ name: c, cluster: { server: "https://10.244.0.1:6443" } }, { name: other, cluster: { server: "https://x" } }]',
        'users: [{ name: u, user: { token: t } }]',
        'contexts: [{ name: ctx, context: { cluster: c, user: u } }]',
        'current-context: ctx',
      ].join('\n'),
    );
    try {
      const kube = loadKube({ kubeconfig: file, tlsServerName: 'localhost' });
      assert.equal(kube.config.getCurrentCluster()?.tlsServerName, 'localhost');
      assert.equal(kube.config.getCluster('other')?.tlsServerName, undefined);
      assert.equal(loadKube({ kubeconfig: file }).config.getCurrentCluster()?.tlsServerName, undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
