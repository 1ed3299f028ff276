// Test fixtures on the real testbed: a baseline namespace with the Todo example's three services
// (tasks depends on search and mongo), configs pointing at it, and a kubeconfig with limited RBAC.
// Every pod runs on the real node: tasks is the example's own image (built and pushed to the testbed registry),
// mongo and search (images the testbed has no copy of) are busybox stand-ins that run until told to stop.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { parseConfig } from '../../../src/core/config/loader';
import type { SandpiperConfig } from '../../../src/core/config/types';
import { EnvironmentCreateError } from '../../../src/core/env/create';
import { applyAll } from '../../../src/core/env/deploy';
import type { KubeObject } from '../../../src/core/env/plan';
import { waitForWorkloads } from '../../../src/core/env/readiness';
import { Kube, loadKube } from '../../../src/core/infra/kube/client';
import { exampleImage } from '../../support/images';
import { requireRealNode } from '../../support/realPods';
import { loadTestbed } from '../../support/testbed';

export const EXAMPLE = path.resolve(__dirname, '../../../examples/todo');

export function adminKube(): Kube {
  return loadKube({ kubeconfig: loadTestbed().kubeconfig });
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

export const BUSYBOX = 'sandpiper/busybox:latest';
/** A shell entrypoint that stops at once on SIGTERM (busybox as PID 1 would ignore it). */
export const untilStopped = (cmd = 'while :; do sleep 1; done') => ['sh', '-c', `trap 'exit 0' TERM; ${cmd} & wait`];

interface PodSpec {
  terminationGracePeriodSeconds?: number;
  containers: Array<{ name: string; image?: string; command?: string[]; readinessProbe?: { periodSeconds?: number } }>;
}
const podSpec = (o: KubeObject) => (o.spec as { template: { spec: PodSpec } }).template.spec;

/**
 * The baseline's workloads made runnable on the real node: mongo and search become busybox stand-ins (search
 * serves HTTP on its port), pods stop within a second or two.
 */
function runnableBaseline(o: KubeObject): KubeObject {
  if (o.kind !== 'StatefulSet' && o.kind !== 'Deployment') return o;
  const spec = podSpec(o);
  spec.terminationGracePeriodSeconds = 1;
  const c = spec.containers[0];
  if (o.metadata?.name === 'mongo') Object.assign(c, { image: BUSYBOX, command: untilStopped() });
  if (o.metadata?.name === 'search')
    Object.assign(c, { image: BUSYBOX, command: untilStopped('mkdir -p /www && httpd -f -p 8080 -h /www') });
  return o;
}

/** examples/todo/baseline/staging.yaml for namespace `ns`, runnable on the real node (for kubectl apply). */
export function baselineYaml(ns: string): string {
  return parseAllDocuments(fs.readFileSync(path.join(EXAMPLE, 'baseline/staging.yaml'), 'utf8'))
    .map((d) => d.toJS() as KubeObject)
    .map((o) =>
      runnableBaseline(
        o.kind === 'Namespace'
          ? { ...o, metadata: { name: ns } }
          : { ...o, metadata: { ...o.metadata, namespace: ns } },
      ),
    )
    .map((o) => JSON.stringify(o))
    .join('\n---\n');
}

/**
 * The example's tasks Deployment as the tests apply it: the example's own image (pushed to the testbed registry)
 * instead of `sandpiper-example/tasks:latest`, readiness probed every second, a 2 s grace period.
 */
export async function runnableTasks(deployment: KubeObject): Promise<KubeObject> {
  requireRealNode();
  const spec = podSpec(deployment);
  spec.terminationGracePeriodSeconds = 2;
  spec.containers[0].image = await exampleImage();
  spec.containers[0].readinessProbe = { ...spec.containers[0].readinessProbe, periodSeconds: 1 };
  return deployment;
}

const readManifest = (root: string, file: string) =>
  parseAllDocuments(fs.readFileSync(path.join(root, 'k8s', file), 'utf8'))[0].toJS() as KubeObject;

/** Applies examples/todo/baseline (search, mongo) plus the stable tasks into a fresh namespace and waits for them. */
export async function createBaseline(kube: Kube): Promise<string> {
  const ns = uniqueName('sp-it-baseline');
  const docs = parseAllDocuments(fs.readFileSync(path.join(EXAMPLE, 'baseline/staging.yaml'), 'utf8')).map((d) =>
    runnableBaseline(d.toJS() as KubeObject),
  );
  const tasks = [await runnableTasks(readManifest(EXAMPLE, 'deployment.yaml')), readManifest(EXAMPLE, 'service.yaml')];
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

/**
 * A copy of the example in a temp folder whose tasks Deployment runs on the real node (runnableTasks), then is
 * changed by `edit` (for failure cases).
 */
export async function exampleWithDeployment(edit: (deployment: KubeObject) => void = () => undefined): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-env-example-'));
  fs.cpSync(EXAMPLE, dir, { recursive: true });
  const dep = await runnableTasks(readManifest(dir, 'deployment.yaml'));
  edit(dep);
  fs.writeFileSync(path.join(dir, 'k8s/deployment.yaml'), JSON.stringify(dep));
  return dir;
}

let runnable: Promise<string> | undefined;
/** The example as it runs on the real node (exampleWithDeployment without edits), made once per process. */
export function runnableExample(): Promise<string> {
  runnable ??= exampleWithDeployment();
  return runnable;
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
  if (rules.length) await bindRules(admin, namespace, name, rules, { clusterWide: false });
  return new Kube(await serviceAccountKubeConfig(admin, namespace, name, 3600, namespace));
}

/**
 * Binds the ServiceAccount `name` of `namespace` to a role of the same name with these rules: a Role in that
 * namespace, or a ClusterRole (cluster-wide).
 */
export async function bindRules(
  admin: Kube,
  namespace: string,
  name: string,
  rules: unknown[],
  o: { clusterWide: boolean },
): Promise<void> {
  const kind = o.clusterWide ? 'ClusterRole' : 'Role';
  const create = (plural: string, body: object) => {
    const api = {
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      plural: o.clusterWide ? `cluster${plural}` : plural,
    };
    return o.clusterWide
      ? admin.custom.createClusterCustomObject({ ...api, body })
      : admin.custom.createNamespacedCustomObject({ ...api, namespace, body });
  };
  await create('roles', { apiVersion: 'rbac.authorization.k8s.io/v1', kind, metadata: { name }, rules });
  await create('rolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: `${kind}Binding`,
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
  });
}

/**
 * A kubeconfig that acts as the ServiceAccount `name` of `namespace` with a token from the TokenRequest API, so
 * the apiserver authenticates it as itself; its context's namespace is `contextNamespace` when given.
 */
export async function serviceAccountKubeConfig(
  admin: Kube,
  namespace: string,
  name: string,
  expirationSeconds: number,
  contextNamespace?: string,
): Promise<KubeConfig> {
  const token = await admin.core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds } },
  });
  const cluster = admin.config.getCurrentCluster();
  if (!cluster) throw new Error('admin kubeconfig has no cluster');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name, token: token.status?.token }],
    contexts: [
      { name, cluster: cluster.name, user: name, ...(contextNamespace ? { namespace: contextNamespace } : {}) },
    ],
    currentContext: name,
  });
  return kc;
}

export function writeKubeconfig(kube: Kube): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sp-kubeconfig-')), 'config');
  fs.writeFileSync(file, kube.config.exportConfig());
  return file;
}

/** The EnvironmentCreateError a create that must fail ends with. */
export async function expectCreateError(run: Promise<unknown>): Promise<EnvironmentCreateError> {
  try {
    await run;
  } catch (err) {
    assert.ok(err instanceof EnvironmentCreateError, `expected EnvironmentCreateError, got ${String(err)}`);
    return err;
  }
  assert.fail('creation should have failed');
}
