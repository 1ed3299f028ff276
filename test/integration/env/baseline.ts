// Test fixtures on the real testbed: a baseline namespace with the Todo example's three services
// (tasks depends on search and mongo), configs pointing at it, and a kubeconfig with limited RBAC.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { parseConfig } from '../../../src/core/config/loader';
import type { SandpiperConfig } from '../../../src/core/config/types';
import { applyAll } from '../../../src/core/env/deploy';
import type { KubeObject } from '../../../src/core/env/plan';
import { waitForWorkloads } from '../../../src/core/env/readiness';
import { Kube, loadKube } from '../../../src/core/infra/kube/client';
import { loadTestbed } from '../../support/testbed';

export const EXAMPLE = path.resolve(__dirname, '../../../examples/todo');

export function adminKube(): Kube {
  return loadKube({ kubeconfig: loadTestbed().kubeconfig });
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Applies examples/todo/baseline (search, mongo) plus the stable tasks into a fresh namespace and waits for them. */
export async function createBaseline(kube: Kube): Promise<string> {
  const ns = uniqueName('sp-it-baseline');
  const docs = parseAllDocuments(fs.readFileSync(path.join(EXAMPLE, 'baseline/staging.yaml'), 'utf8')).map(
    (d) => d.toJS() as KubeObject,
  );
  const tasks = ['deployment.yaml', 'service.yaml'].map(
    (f) => parseAllDocuments(fs.readFileSync(path.join(EXAMPLE, 'k8s', f), 'utf8'))[0].toJS() as KubeObject,
  );
  const objects = [...docs, ...tasks].map((o) =>
    o.kind === 'Namespace'
      ? { ...o, metadata: { name: ns, labels: { 'sandpiper.dev/test': 'true' } } }
      : { ...o, metadata: { ...o.metadata, namespace: ns } },
  );
  const applied = await applyAll(
    kube,
    objects.filter((o) => o.kind === 'Namespace'),
  );
  void applied;
  await waitForWorkloads(
    kube,
    await applyAll(
      kube,
      objects.filter((o) => o.kind !== 'Namespace'),
    ),
  );
  return ns;
}

/** The example's sandpiper.yaml with its baseline set to `baseline` (and any text edits). */
export function exampleConfig(
  baseline: string,
  edit: (text: string) => string = (t) => t,
  root = EXAMPLE,
): SandpiperConfig {
  const text = edit(
    fs.readFileSync(path.join(EXAMPLE, 'sandpiper.yaml'), 'utf8').replace('baseline: staging', `baseline: ${baseline}`),
  );
  const result = parseConfig(text, root);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

/** A copy of the example in a temp folder whose tasks Deployment is changed by `edit` (for failure cases). */
export function exampleWithDeployment(edit: (deployment: KubeObject) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-env-example-'));
  fs.cpSync(EXAMPLE, dir, { recursive: true });
  const file = path.join(dir, 'k8s/deployment.yaml');
  const dep = parseAllDocuments(fs.readFileSync(file, 'utf8'))[0].toJS() as KubeObject;
  edit(dep);
  fs.writeFileSync(file, JSON.stringify(dep));
  return dir;
}

export async function deleteNamespace(kube: Kube, name: string): Promise<void> {
  await kube.core.deleteNamespace({ name, propagationPolicy: 'Background' }).catch(() => undefined);
}

/**
 * A kubeconfig for a fresh ServiceAccount bound to `rules` in `namespace` only (no cluster-wide rights),
 * using a token from the TokenRequest API: the apiserver's real RBAC decides.
 */
export async function limitedKube(
  admin: Kube,
  namespace: string,
  rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>,
): Promise<Kube> {
  const name = uniqueName('sp-it-limited');
  await admin.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  if (rules.length) {
    await admin.custom.createNamespacedCustomObject({
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      namespace,
      plural: 'roles',
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name }, rules },
    });
    await admin.custom.createNamespacedCustomObject({
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      namespace,
      plural: 'rolebindings',
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      },
    });
  }
  const token = await admin.core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const cluster = admin.config.getCurrentCluster();
  if (!cluster) throw new Error('admin kubeconfig has no cluster');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name, token: token.status?.token }],
    contexts: [{ name, cluster: cluster.name, user: name, namespace }],
    currentContext: name,
  });
  return new Kube(kc);
}

export function writeKubeconfig(kube: Kube): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sp-kubeconfig-')), 'config');
  fs.writeFileSync(file, kube.config.exportConfig());
  return file;
}
