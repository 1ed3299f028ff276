import { PatchStrategy, type KubernetesObject, type V1Deployment } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { SandpiperError, sleep } from '../errors';
import { FIELD_MANAGER, type Kube } from '../infra/kube/client';
import { httpCode, kubeError } from '../infra/kube/errors';
import { CONTROLLER_MANIFEST_YAML } from './controllerManifest';
import { leaseName } from './lease';
import { CONTROLLER_LEASE_KEY, CONTROLLER_NAME, CONTROLLER_NAMESPACE, liveController } from './presence';

/** What `sandpiper controller install` fills into resources/canary-controller.yaml. */
export interface ControllerInstallOptions {
  /** The CLI image (resources/janitor.Dockerfile) pinned by digest: `<repository>@sha256:<64 hex>`. */
  image: string;
  /** The Prometheus the controller queries, as seen from its pod; default: the manifest's. */
  prometheusUrl?: string;
  /** `https://host:port` when pods reach the API server elsewhere than the `kubernetes` Service. */
  apiServer?: string;
  /** The TLS server name to verify the API server's certificate against (with apiServer). */
  apiServerName?: string;
  /** The leader Lease's duration; default: the controller's (15 s). */
  leaseSeconds?: number;
}

export interface AppliedObject {
  kind: string;
  name: string;
  /** Why a dry run could not check it (its namespace does not exist yet); absent when the API server accepted it. */
  skipped?: string;
}

export interface ControllerStatus {
  installed: boolean;
  image?: string;
  replicas: number;
  readyReplicas: number;
  /** Pod name holding the leader Lease, when one is live. */
  leader?: string;
}

const IMAGE_PLACEHOLDER = 'sandpiper/cli@sha256:CONTROLLER_DIGEST';
const DIGEST_REF = /^[^\s@]+@sha256:[0-9a-f]{64}$/;

type Obj = KubernetesObject & Record<string, unknown>;
interface Container {
  image: string;
  args: string[];
  env: Array<{ name: string; value?: string }>;
}

/** The objects of resources/canary-controller.yaml, filled in: Namespace, RBAC, then the Deployment. */
export function controllerManifests(o: ControllerInstallOptions): Obj[] {
  if (!DIGEST_REF.test(o.image))
    throw new SandpiperError(
      'usage',
      `The controller image must be pinned by digest (<repository>@sha256:<64 hex digits>), not "${o.image}".`,
      'Push the CLI image (resources/janitor.Dockerfile) and pass the reference the push printed, e.g. ' +
        "`docker inspect --format '{{index .RepoDigests 0}}' <image>`.",
    );
  const docs = parseAllDocuments(CONTROLLER_MANIFEST_YAML).map((d) => d.toJS() as Obj);
  const deployment = docs.find((d) => d.kind === 'Deployment') as Obj & V1Deployment;
  const container = deployment.spec!.template.spec!.containers[0] as unknown as Container;
  if (container.image !== IMAGE_PLACEHOLDER) throw new Error(`canary-controller.yaml lost its image placeholder`);
  container.image = o.image;
  if (o.leaseSeconds !== undefined) container.args.push('--lease-seconds', String(o.leaseSeconds));
  const setEnv = (name: string, value: string) => {
    container.env = [...container.env.filter((e) => e.name !== name), { name, value }];
  };
  if (o.prometheusUrl) setEnv('PROMETHEUS_URL', o.prometheusUrl);
  if (o.apiServer) {
    const url = apiServerUrl(o.apiServer);
    // client-node's in-cluster config dials these (the container's env wins over the Service variables).
    setEnv('KUBERNETES_SERVICE_HOST', url.hostname.replace(/^\[|\]$/g, ''));
    setEnv('KUBERNETES_SERVICE_PORT', url.port || '443');
  }
  if (o.apiServerName) setEnv('SANDPIPER_KUBE_TLS_SERVER_NAME', o.apiServerName);
  return docs;
}

function apiServerUrl(text: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    // Said below.
  }
  if (!url || url.protocol !== 'https:' || (url.pathname !== '/' && url.pathname !== ''))
    throw new SandpiperError(
      'usage',
      `--api-server must be an https://host:port URL, not "${text}".`,
      'Give the address pods reach the API server at, e.g. https://10.0.0.1:443.',
    );
  return url;
}

/**
 * Applies the manifests server-side (field manager `sandpiper`, conflicts forced: the install owns them). With
 * dryRun the API server validates and admits every object and stores nothing; objects of a namespace that does
 * not exist yet cannot be checked that way and are reported as skipped.
 */
export async function installController(
  kube: Kube,
  o: ControllerInstallOptions,
  { dryRun = false }: { dryRun?: boolean } = {},
): Promise<AppliedObject[]> {
  const objects = controllerManifests(o);
  const namespaceExists = dryRun ? await exists(kube, CONTROLLER_NAMESPACE) : await namespaceGoneIfTerminating(kube);
  const out: AppliedObject[] = [];
  for (const obj of objects) {
    const kind = obj.kind!;
    const name = obj.metadata!.name!;
    if (!namespaceExists && obj.metadata?.namespace) {
      out.push({ kind, name, skipped: `namespace ${CONTROLLER_NAMESPACE} does not exist yet` });
      continue;
    }
    await kube.objects
      .patch(obj, undefined, dryRun ? 'All' : undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply)
      .catch((err: unknown) => {
        throw installError(err, `${dryRun ? 'dry-run apply' : 'apply'} ${kind} ${name}`);
      });
    out.push({ kind, name });
  }
  return out;
}

/** A just-uninstalled namespace takes no new objects while it terminates: waits until it is gone. */
async function namespaceGoneIfTerminating(kube: Kube, timeoutMs = 60_000): Promise<true> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ns = await kube.core.readNamespace({ name: CONTROLLER_NAMESPACE }).catch((err: unknown) => {
      if (httpCode(err) === 404) return undefined;
      throw installError(err, `read Namespace ${CONTROLLER_NAMESPACE}`);
    });
    if (ns?.status?.phase !== 'Terminating') return true;
    if (Date.now() > end)
      throw new SandpiperError(
        'not-ready',
        `Namespace ${CONTROLLER_NAMESPACE} is still being deleted after ${timeoutMs / 1000} s.`,
        `Look at \`kubectl get namespace ${CONTROLLER_NAMESPACE} -o yaml\` (its conditions), then install again.`,
      );
    await sleep(500);
  }
}

async function exists(kube: Kube, namespace: string): Promise<boolean> {
  try {
    await kube.core.readNamespace({ name: namespace });
    return true;
  } catch (err) {
    if (httpCode(err) === 404) return false;
    throw installError(err, `read Namespace ${namespace}`);
  }
}

/** A refusal says which permission was missing (kubeError) and that installing takes a cluster admin. */
function installError(err: unknown, doing: string): SandpiperError {
  const e = kubeError(err, doing);
  if (e.code !== 'forbidden') return e;
  return new SandpiperError(
    'forbidden',
    e.message,
    'Installing the controller takes rights to create Namespaces, ClusterRoles, ClusterRoleBindings and ' +
      'Deployments, and to hold every permission its ClusterRole grants (RBAC lets no one grant more than they ' +
      'have): run it as a cluster admin.',
    e.details,
  );
}

/**
 * Removes what install made: the Deployment (waiting until its pods are gone, so no replica renews the leader
 * Lease afterwards), the leader Lease, the ServiceAccount, the ClusterRole and its binding, and the Namespace when
 * nothing else lives there (the janitor shares it). Returns what it deleted.
 */
export async function uninstallController(
  kube: Kube,
  { timeoutMs = 90_000, signal }: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<string[]> {
  const deleted: string[] = [];
  const del = async (what: string, call: () => Promise<unknown>) => {
    try {
      await call();
      deleted.push(what);
    } catch (err) {
      if (httpCode(err) !== 404) throw installError(err, `delete ${what}`);
    }
  };
  const ns = CONTROLLER_NAMESPACE;
  await del(`Deployment ${CONTROLLER_NAME}`, () =>
    kube.apps.deleteNamespacedDeployment({ namespace: ns, name: CONTROLLER_NAME, propagationPolicy: 'Foreground' }),
  );
  const end = Date.now() + timeoutMs;
  while ((await controllerPodNames(kube)).length) {
    if (Date.now() > end)
      throw new SandpiperError(
        'not-ready',
        `The controller's pods in ${ns} did not go away within ${timeoutMs / 1000} s.`,
        `Look at \`kubectl -n ${ns} get pods -l app=${CONTROLLER_NAME}\`.`,
      );
    await sleep(500, signal);
  }
  await del(`Lease ${leaseName(CONTROLLER_LEASE_KEY)}`, () =>
    kube.coordination.deleteNamespacedLease({ namespace: ns, name: leaseName(CONTROLLER_LEASE_KEY) }),
  );
  await del(`ServiceAccount ${CONTROLLER_NAME}`, () =>
    kube.core.deleteNamespacedServiceAccount({ namespace: ns, name: CONTROLLER_NAME }),
  );
  const rbac = { group: 'rbac.authorization.k8s.io', version: 'v1' };
  await del(`ClusterRoleBinding ${CONTROLLER_NAME}`, () =>
    kube.custom.deleteClusterCustomObject({ ...rbac, plural: 'clusterrolebindings', name: CONTROLLER_NAME }),
  );
  await del(`ClusterRole ${CONTROLLER_NAME}`, () =>
    kube.custom.deleteClusterCustomObject({ ...rbac, plural: 'clusterroles', name: CONTROLLER_NAME }),
  );
  if (await namespaceUnused(kube)) await del(`Namespace ${ns}`, () => kube.core.deleteNamespace({ name: ns }));
  return deleted;
}

/** Our namespace with no workload or ServiceAccount of anyone else's in it (the janitor's lives there too). */
async function namespaceUnused(kube: Kube): Promise<boolean> {
  const ns = CONTROLLER_NAMESPACE;
  try {
    const n = await kube.core.readNamespace({ name: ns });
    if (n.metadata?.labels?.['app.kubernetes.io/part-of'] !== 'sandpiper' || n.status?.phase === 'Terminating')
      return false;
    const accounts = await kube.core.listNamespacedServiceAccount({ namespace: ns });
    const deployments = await kube.apps.listNamespacedDeployment({ namespace: ns });
    return (
      accounts.items.every((a) => a.metadata?.name === 'default' || a.metadata?.name === CONTROLLER_NAME) &&
      deployments.items.every((d) => d.metadata?.name === CONTROLLER_NAME)
    );
  } catch (err) {
    if (httpCode(err) === 404) return false;
    throw installError(err, `look into Namespace ${ns}`);
  }
}

/** The names of the controller's pods (any phase, terminating ones included). */
export async function controllerPodNames(kube: Kube): Promise<string[]> {
  const pods = await kube.core
    .listNamespacedPod({ namespace: CONTROLLER_NAMESPACE, labelSelector: `app=${CONTROLLER_NAME}` })
    .catch((err: unknown) => {
      if (httpCode(err) === 404) return { items: [] };
      throw kubeError(err, `list the controller's pods in ${CONTROLLER_NAMESPACE}`);
    });
  return pods.items.map((p) => p.metadata!.name!);
}

/** Whether the controller is installed, its Deployment's readiness and the live leader, if any. */
export async function controllerStatus(kube: Kube): Promise<ControllerStatus> {
  let d: V1Deployment;
  try {
    d = await kube.apps.readNamespacedDeployment({ namespace: CONTROLLER_NAMESPACE, name: CONTROLLER_NAME });
  } catch (err) {
    if (httpCode(err) === 404) return { installed: false, replicas: 0, readyReplicas: 0 };
    throw kubeError(err, `read Deployment ${CONTROLLER_NAMESPACE}/${CONTROLLER_NAME}`);
  }
  return {
    installed: true,
    image: d.spec?.template.spec?.containers[0]?.image,
    replicas: d.spec?.replicas ?? 0,
    readyReplicas: d.status?.readyReplicas ?? 0,
    leader: await liveController(kube),
  };
}
