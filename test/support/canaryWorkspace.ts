// Objects of a service a canary test works on, on the testbed's real node: the Todo example's tasks service as
// Deployment + Service (its pods annotated so Prometheus scrapes their own /metrics), canary builds of it (its
// TypeScript edited, bundled again by the example's build) that differ in what they serve, and a Gateway + HTTPRoute
// that send one hostname's traffic to the Service.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Kube } from '../../src/core/infra/kube/client';
import { httpCode } from '../../src/core/infra/kube/errors';
import { GATEWAY } from '../../src/core/canary/traffic';
import { exampleCopy, exampleImage, pushedImage, rebuildExampleCopy } from './images';
import { deployApp, requireRealNode } from './realPods';
import { loadTestbed } from './testbed';
import { eventually } from './wait';

export function testbedKube(): Kube {
  const kc = new KubeConfig();
  kc.loadFromFile(loadTestbed().kubeconfig);
  return new Kube(kc);
}

/** What the example's tasks/k8s/deployment.yaml puts on its pods: Prometheus scrapes their /metrics on 8080. */
export const SCRAPED = { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080' };

/**
 * The one task the good canary build's in-memory store starts with (the pods run without PGHOST), so its GET /tasks
 * tells it apart from the example's `[]`: the build is told by what it serves, not by a marker added for the test.
 */
export const CANARY_TASK = 'served by the canary build';

/**
 * Builds of the example's tasks service beside its own image, each a real changed build pushed to the testbed
 * registry:
 * - good: its in-memory store starts with one task (CANARY_TASK), otherwise the example;
 * - bad: GET /tasks fails with 500 (the handler throws; /healthz and /metrics still answer);
 * - silent: the good build without its /metrics route (Prometheus gets 404: the canary reports nothing).
 */
export type CanaryBuild = 'good' | 'bad' | 'silent';

const builds = new Map<CanaryBuild, Promise<string>>();

export function canaryImage(build: CanaryBuild): Promise<string> {
  let image = builds.get(build);
  if (!image) {
    image = buildCanary(build);
    builds.set(build, image);
    image.catch(() => builds.delete(build));
  }
  return image;
}

async function buildCanary(build: CanaryBuild): Promise<string> {
  const dir = await exampleCopy(fs.mkdtempSync(path.join(os.tmpdir(), `sp-canary-${build}-`)));
  try {
    const edit = (file: string, from: string, to: string) => {
      const p = path.join(dir, file);
      const text = fs.readFileSync(p, 'utf8');
      // The example changed under us: fail loudly rather than build a canary identical to stable.
      if (!text.includes(from)) throw new Error(`examples/todo/${file} no longer has ${JSON.stringify(from)}`);
      fs.writeFileSync(p, text.replace(from, to));
    };
    if (build === 'bad')
      edit(
        'tasks/src/routes.ts',
        ".on('GET', '/tasks', async (_req, res) => sendJson(res, 200, await store.list()))",
        ".on('GET', '/tasks', async () => {\n      throw new Error('bad build');\n    })",
      );
    else
      edit(
        'tasks/src/store.ts',
        'private readonly tasks = new Map<number, Task>();',
        `private readonly tasks = new Map<number, Task>([[0, { id: 0, title: '${CANARY_TASK}', done: false }]]);`,
      );
    if (build === 'silent') edit('lib/server.ts', "if (path === '/metrics') {", 'if (false as boolean) {');
    await rebuildExampleCopy(dir);
    return await pushedImage(path.join(dir, 'tasks'), `sandpiper-example/tasks-canary-${build}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Creates Deployment + Service `name` running the example's tasks image (or `image`) on the real node, scraped by
 * Prometheus, and waits for its pods to be Ready. With `route`, an HTTPRoute of the namespace's Gateway sends
 * the returned hostname's traffic to the Service.
 */
export async function createService(
  kube: Kube,
  namespace: string,
  name: string,
  o: { replicas?: number; image?: string; route?: boolean } = {},
): Promise<string | undefined> {
  await deployApp(namespace, name, o.image ?? (await exampleImage()), {
    replicas: o.replicas ?? 4,
    annotations: SCRAPED,
  });
  return o.route ? routeThroughGateway(kube, namespace, name) : undefined;
}

/**
 * A Gateway (`gateway`, on the testbed Gateway's port) in `routeNamespace` and an HTTPRoute there sending the
 * returned hostname to Service `service` of `namespace`. From another namespace (with a ReferenceGrant) the
 * canary finds no route of the Service in its own namespace, so it splits by replica ratio while the test still
 * reaches the pods through the Gateway — as with a shared ingress namespace.
 */
export async function routeThroughGateway(
  kube: Kube,
  namespace: string,
  service: string,
  routeNamespace = namespace,
): Promise<string> {
  const gw = requireRealNode().gateway;
  const host = `${service}.${namespace}.canary.test`;
  const group = GATEWAY.group;
  await kube.custom
    .createNamespacedCustomObject({
      group,
      version: 'v1',
      plural: 'gateways',
      namespace: routeNamespace,
      body: {
        apiVersion: `${group}/v1`,
        kind: 'Gateway',
        metadata: { name: 'gateway' },
        spec: {
          gatewayClassName: gw.className,
          listeners: [
            { name: 'http', protocol: 'HTTP', port: gw.port, allowedRoutes: { namespaces: { from: 'Same' } } },
          ],
        },
      },
    })
    .catch((err) => {
      if (httpCode(err) !== 409) throw err;
    });
  if (routeNamespace !== namespace)
    await kube.custom.createNamespacedCustomObject({
      group,
      version: 'v1beta1',
      plural: 'referencegrants',
      namespace,
      body: {
        apiVersion: `${group}/v1beta1`,
        kind: 'ReferenceGrant',
        metadata: { name: `${service}-from-${routeNamespace}`.slice(0, 63).replace(/-+$/, '') },
        spec: {
          from: [{ group, kind: 'HTTPRoute', namespace: routeNamespace }],
          to: [{ group: '', kind: 'Service', name: service }],
        },
      },
    });
  await kube.custom.createNamespacedCustomObject({
    ...GATEWAY,
    namespace: routeNamespace,
    body: {
      apiVersion: `${group}/${GATEWAY.version}`,
      kind: 'HTTPRoute',
      metadata: { name: service },
      spec: {
        parentRefs: [{ name: 'gateway' }],
        hostnames: [host],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/' } }],
            backendRefs: [{ name: service, port: 80, ...(routeNamespace === namespace ? {} : { namespace }) }],
          },
        ],
      },
    },
  });
  return host;
}

/** Waits (`eventually`) until the Deployment has at least `replicas` available. */
export async function deploymentAvailable(
  kube: Kube,
  namespace: string,
  name: string,
  replicas: number,
): Promise<void> {
  await eventually(`${name} available`, async () => {
    const d = await kube.apps.readNamespacedDeployment({ namespace, name });
    return (d.status?.availableReplicas ?? 0) >= replicas;
  });
}

/** Waits until the testbed's Prometheus answers `query` with at least one series. */
export async function waitForSeries(query: string, timeoutMs = 60_000): Promise<void> {
  const url = new URL(`/api/v1/query?query=${encodeURIComponent(query)}`, loadTestbed().prometheusUrl);
  await eventually(
    `Prometheus data for ${query}`,
    async () => {
      const body = (await (await fetch(url)).json()) as { data?: { result?: unknown[] } };
      return (body.data?.result?.length ?? 0) > 0;
    },
    timeoutMs,
    500,
  );
}

/**
 * Waits until Prometheus has a request rate scraped from the canary pods of `service` (two scrapes within the
 * analysis window), so the first analysis judges real data rather than a pod not yet discovered.
 */
export function waitForCanarySeries(namespace: string, service: string): Promise<void> {
  return waitForSeries(
    `rate(http_requests_total{namespace="${namespace}",service="${service}",track="canary"}[10s]) > 0`,
  );
}
