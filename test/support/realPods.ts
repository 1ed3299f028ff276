// Workloads on the testbed's real node: pods that run real containers, pulled from the testbed registry.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { AppsV1Api } from '@kubernetes/client-node';
import { isPodReady } from '../../src/core/infra/kube/pods';
import { coreApi, kubeConfig, loadTestbed } from './testbed';
import { eventually } from './wait';

export interface RealNode {
  node: string;
  gateway: { className: string; port: number; url: string };
}

/** The real node's facts; throws (never falls back to KWOK) when the testbed was brought up without it. */
export function requireRealNode(): RealNode {
  const rn = (loadTestbed() as unknown as { realNode?: RealNode }).realNode;
  if (!rn)
    throw new Error(
      'This test needs the testbed real node (pods that run containers); testbed.json has none. ' +
        'Run `npm run testbed:down && npm run testbed:up` (the real node is the default).',
    );
  return rn;
}

export interface AppOptions {
  /** Container port serving HTTP (default 8080); the Service maps port 80 to it. */
  port?: number;
  replicas?: number;
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /** Pod annotations, e.g. prometheus.io/scrape. */
  annotations?: Record<string, string>;
  /** More container ports (name → port), e.g. { debug: 9229 }. */
  ports?: Record<string, number>;
  /** HTTP readiness path on `port` (default /healthz; null: no probe). */
  readinessPath?: string | null;
  /** Container name (default `name`). */
  container?: string;
  /** Wait for this many Ready pods (default replicas; 0: don't wait). */
  waitReady?: number;
  /** Extra container fields (securityContext, volumeMounts…). */
  containerExtra?: Partial<V1Container>;
}

/** Creates Deployment + Service `name` (selector app=name) running `image`; waits until its pods are Ready. */
export async function deployApp(namespace: string, name: string, image: string, o: AppOptions = {}): Promise<void> {
  requireRealNode();
  const port = o.port ?? 8080;
  const labels = { app: name, ...(o.labels ?? {}) };
  const container: V1Container = {
    name: o.container ?? name,
    image,
    imagePullPolicy: 'IfNotPresent',
    ...(o.command ? { command: o.command } : {}),
    ...(o.args ? { args: o.args } : {}),
    env: Object.entries(o.env ?? {}).map(([k, v]) => ({ name: k, value: v })),
    ports: [
      { name: 'http', containerPort: port },
      ...Object.entries(o.ports ?? {}).map(([n, p]) => ({ name: n, containerPort: p })),
    ],
    ...(o.readinessPath === null
      ? {}
      : { readinessProbe: { httpGet: { path: o.readinessPath ?? '/healthz', port }, periodSeconds: 1 } }),
    ...(o.containerExtra ?? {}),
  };
  const replicas = o.replicas ?? 1;
  await kubeConfig()
    .makeApiClient(AppsV1Api)
    .createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name, labels },
        spec: {
          replicas,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels, ...(o.annotations ? { annotations: o.annotations } : {}) },
            spec: { terminationGracePeriodSeconds: 2, containers: [container] },
          },
        },
      },
    });
  await coreApi().createNamespacedService({
    namespace,
    body: {
      metadata: { name, labels: { app: name } },
      spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: port }] },
    },
  });
  const want = o.waitReady ?? replicas;
  if (want > 0) await readyPods(namespace, `app=${name}`, want);
}

/** Pods matching a label selector, newest first. */
export async function podsOf(namespace: string, labelSelector: string): Promise<V1Pod[]> {
  const list = await coreApi().listNamespacedPod({ namespace, labelSelector });
  return list.items
    .filter((p) => !p.metadata?.deletionTimestamp)
    .sort((a, b) => +new Date(b.metadata!.creationTimestamp!) - +new Date(a.metadata!.creationTimestamp!));
}

/** Waits until at least `count` pods of the selector are Ready; names the pods' states when it gives up. */
export async function readyPods(
  namespace: string,
  labelSelector: string,
  count = 1,
  timeoutMs = 90_000,
): Promise<V1Pod[]> {
  let last: V1Pod[] = [];
  try {
    await eventually(
      `${count} Ready pod(s) ${labelSelector} in ${namespace}`,
      async () => {
        last = await podsOf(namespace, labelSelector);
        return last.filter(isPodReady).length >= count;
      },
      timeoutMs,
      250,
    );
  } catch (err) {
    const states = last.map((p) => {
      const cs = p.status?.containerStatuses?.[0];
      const why = cs?.state?.waiting?.reason ?? cs?.state?.terminated?.reason ?? p.status?.phase;
      return `${p.metadata?.name}: ${why}${p.spec?.nodeName ? ` on ${p.spec.nodeName}` : ''}`;
    });
    throw new Error(`${(err as Error).message}; pods: ${states.join(', ') || 'none'}`);
  }
  return last.filter(isPodReady);
}
