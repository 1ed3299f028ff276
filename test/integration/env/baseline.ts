// Test fixtures on the real testbed: a baseline namespace with the Todo example's services (tasks depends on
// search, shared, and db, copied with its Secret db-credentials), configs pointing at it, and a kubeconfig with
// limited RBAC. Every pod runs on the real node, each the example's own image (built and pushed to the testbed
// registry): search and db from their folders' manifests, tasks from a copy of examples/todo/tasks.
import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
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
import { EXAMPLE_DIR, TASKS_DIR, buildExample, exampleImage, exampleServiceImage } from '../../support/images';
import { requireRealNode } from '../../support/realPods';
import { loadTestbed } from '../../support/testbed';

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
  containers: Array<{
    name: string;
    image?: string;
    command?: string[];
    env?: Array<{ name: string }>;
    readinessProbe?: { periodSeconds?: number };
  }>;
}
const podSpec = (o: KubeObject) => (o.spec as { template: { spec: PodSpec } }).template.spec;

/** The objects of `<folder>/k8s/*.yaml` of the example (search, db, tasks, or a copy of tasks). */
function manifestsOf(folder: string): KubeObject[] {
  const dir = path.join(folder, 'k8s');
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS() as KubeObject));
}

/**
 * One folder of the example (search or db) as the baseline runs it: its own manifests, its image built from the
 * folder and pushed, pods that stop within a second.
 */
async function baselineService(folder: string): Promise<KubeObject[]> {
  const image = await exampleServiceImage(folder);
  return manifestsOf(path.join(EXAMPLE_DIR, folder)).map((o) => {
    if (o.kind !== 'Deployment') return o;
    const spec = podSpec(o);
    spec.terminationGracePeriodSeconds = 1;
    spec.containers[0].image = image;
    return o;
  });
}

/** The Secret the example's db and tasks read their password from, with a random one (as npm start makes it). */
const dbCredentials = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'db-credentials' },
  stringData: { password: crypto.randomBytes(18).toString('hex') },
});

const inNamespace = (ns: string) => (o: KubeObject) => ({ ...o, metadata: { ...o.metadata, namespace: ns } });

/** The baseline's dependencies of tasks in `ns`: search and db (the example's own) and the Secret db-credentials. */
async function dependencyObjects(ns: string): Promise<KubeObject[]> {
  const [search, db] = await Promise.all([baselineService('search'), baselineService('db')]);
  return [dbCredentials(), ...search, ...db].map(inNamespace(ns));
}

/**
 * Namespace `ns` with the example's search and db and the Secret db-credentials, runnable on the real node (for
 * kubectl apply).
 */
export async function baselineYaml(ns: string): Promise<string> {
  const namespace: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } };
  return [namespace, ...(await dependencyObjects(ns))].map((o) => JSON.stringify(o)).join('\n---\n');
}

/**
 * The example's tasks Deployment as the tests apply it: the example's own image (pushed to the testbed registry)
 * instead of `sandpiper-example/tasks:latest`, readiness probed every second, a 2 s grace period. Without `db`, no
 * PG* variables: tasks keeps its tasks in memory (with them it is ready only once it reaches a db).
 */
export async function runnableTasks(deployment: KubeObject, o: { db?: boolean } = {}): Promise<KubeObject> {
  requireRealNode();
  const spec = podSpec(deployment);
  spec.terminationGracePeriodSeconds = 2;
  const c = spec.containers[0];
  c.image = await exampleImage();
  c.readinessProbe = { ...c.readinessProbe, periodSeconds: 1 };
  if (o.db === false) c.env = c.env?.filter((e) => !e.name.startsWith('PG'));
  return deployment;
}

const readManifest = (root: string, file: string) =>
  parseAllDocuments(fs.readFileSync(path.join(root, 'k8s', file), 'utf8'))[0].toJS() as KubeObject;

/**
 * A fresh namespace with the example's search, db (and its Secret db-credentials) and the stable tasks on them,
 * once all are ready.
 */
export async function createBaseline(kube: Kube): Promise<string> {
  const ns = uniqueName('sp-it-baseline');
  await applyAll(kube, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'sandpiper.dev/test': 'true' } } },
  ]);
  const tasks = [
    await runnableTasks(readManifest(TASKS_DIR, 'deployment.yaml')),
    readManifest(TASKS_DIR, 'service.yaml'),
  ];
  await waitForWorkloads(kube, await applyAll(kube, [...(await dependencyObjects(ns)), ...tasks.map(inNamespace(ns))]));
  return ns;
}

/** The config without the db copy (cases that need only the service; their tasks must run without PG*). */
export const dropDb = (t: string) =>
  t.replace('dependencies: { search: shared, db: copy }', 'dependencies: { search: shared }');

/** The example's tasks/sandpiper.yaml with its baseline set to `baseline` (and any text edits), rooted at `root`. */
export function exampleConfig(
  baseline: string,
  edit: (text: string) => string = (t) => t,
  root = TASKS_DIR,
): SandpiperConfig {
  const text = edit(
    fs
      .readFileSync(path.join(TASKS_DIR, 'sandpiper.yaml'), 'utf8')
      .replace('baseline: staging', `baseline: ${baseline}`),
  );
  const result = parseConfig(text, root);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

/**
 * A copy of the example's tasks folder (built: dist/ holds the bundle) in a temp folder whose tasks Deployment runs
 * on the real node (runnableTasks; without `db`, on its in-memory store), then is changed by `edit` (for failure
 * cases).
 */
export async function exampleWithDeployment(
  edit: (deployment: KubeObject) => void = () => undefined,
  o: { db?: boolean } = {},
): Promise<string> {
  await buildExample();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-env-example-'));
  fs.cpSync(TASKS_DIR, dir, { recursive: true });
  const dep = await runnableTasks(readManifest(dir, 'deployment.yaml'), o);
  edit(dep);
  fs.writeFileSync(path.join(dir, 'k8s/deployment.yaml'), JSON.stringify(dep));
  return dir;
}

const runnable = new Map<boolean, Promise<string>>();
/**
 * The example's tasks as it runs on the real node (exampleWithDeployment without edits), made once per process:
 * on the db (PG* set, the default) or, with `db: false`, on its in-memory store.
 */
export function runnableExample(o: { db?: boolean } = {}): Promise<string> {
  const db = o.db !== false;
  let dir = runnable.get(db);
  if (!dir) {
    dir = exampleWithDeployment(undefined, { db });
    runnable.set(db, dir);
  }
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
