import type * as k8s from '@kubernetes/client-node';
import { SandpiperError } from '../errors';
import type { Kube } from '../infra/kube/client';
import { httpCode, kubeError } from '../infra/kube/errors';
import { LABEL_SERVICE } from '../env/metadata';
import { PortForwarder, type PortForwardEvent } from './portForwarder';

// "Open in Browser": a service's HTTP port in an environment, forwarded to 127.0.0.1 for as long as it is held.

export interface ServiceForwardOptions {
  kube: Kube;
  /** The environment (namespace). */
  namespace: string;
  service: string;
  /** The HTTP port in the container; default: the container's first containerPort of the workload. */
  port?: number;
  /** The container whose first port is the HTTP port (default: the pod template's first container). */
  container?: string;
  /** 0 / undefined: a free local port. */
  localPort?: number;
  onEvent?: (event: PortForwardEvent) => void;
}

/** A live forward of one service's HTTP port; `dispose()` stops it and frees the local port. */
export class ServiceForward {
  private constructor(
    readonly namespace: string,
    readonly service: string,
    readonly remotePort: number,
    readonly localPort: number,
    private readonly forwarder: PortForwarder,
  ) {}

  /** Checks the environment and the service, resolves the port, and starts listening. */
  static async open(o: ServiceForwardOptions): Promise<ServiceForward> {
    await requireEnvironment(o.kube, o.namespace);
    const template = await podTemplateOf(o.kube, o.namespace, o.service);
    const remotePort = o.port ?? httpPortOf(template, o.namespace, o.service, o.container);
    const forwarder = new PortForwarder({
      kube: o.kube,
      namespace: o.namespace,
      service: o.service,
      remotePort,
      localPort: o.localPort,
    });
    if (o.onEvent) forwarder.onEvent(o.onEvent);
    try {
      const localPort = await forwarder.start();
      return new ServiceForward(o.namespace, o.service, remotePort, localPort, forwarder);
    } catch (err) {
      await forwarder.dispose();
      throw err;
    }
  }

  /** Where a browser on this machine reaches the service. */
  get url(): string {
    return `http://127.0.0.1:${this.localPort}/`;
  }

  /** The pod the forward goes to now (it moves to a replacement pod). */
  get pod(): string | undefined {
    return this.forwarder.currentPod;
  }

  dispose(): Promise<void> {
    return this.forwarder.dispose();
  }
}

/** The workloads of an environment a user can open (Deployments and StatefulSets), by name. */
export async function servicesOf(kube: Kube, namespace: string): Promise<string[]> {
  try {
    const [deployments, statefulSets] = await Promise.all([
      kube.apps.listNamespacedDeployment({ namespace }),
      kube.apps.listNamespacedStatefulSet({ namespace }),
    ]);
    const names = [...deployments.items, ...statefulSets.items].map((w) => w.metadata?.name ?? '').filter(Boolean);
    return [...new Set(names)].sort();
  } catch (err) {
    throw kubeError(err, `list the workloads of "${namespace}"`);
  }
}

/** What an environment offers to open: its workloads, and the service it was created for (if labelled). */
export async function openableServices(
  kube: Kube,
  namespace: string,
): Promise<{ services: string[]; primary?: string }> {
  const ns = await requireEnvironment(kube, namespace);
  const services = await servicesOf(kube, namespace);
  const primary = ns.metadata?.labels?.[LABEL_SERVICE];
  return { services, primary: primary && services.includes(primary) ? primary : undefined };
}

/** The service to open when none was named: the only one, else the environment's own; an error says which exist. */
export function defaultService(namespace: string, offer: { services: string[]; primary?: string }): string {
  if (offer.services.length === 1) return offer.services[0];
  if (offer.primary) return offer.primary;
  throw new SandpiperError(
    offer.services.length ? 'usage' : 'unknown-service',
    offer.services.length
      ? `Which service of "${namespace}"? It runs ${offer.services.join(', ')}.`
      : `Environment "${namespace}" runs no service yet.`,
    offer.services.length ? 'Name one (--service <name>).' : 'Deploy the service into it first.',
  );
}

async function requireEnvironment(kube: Kube, namespace: string): Promise<k8s.V1Namespace> {
  try {
    return await kube.core.readNamespace({ name: namespace });
  } catch (err) {
    if (httpCode(err) === 404)
      throw new SandpiperError(
        'no-environment',
        `No environment "${namespace}" in context "${kube.contextName}".`,
        'List them with `sandpiper env list`, or pick another context.',
      );
    throw kubeError(err, `read the environment "${namespace}"`);
  }
}

/** The pod template of the Deployment (else StatefulSet) named after the service. */
async function podTemplateOf(kube: Kube, namespace: string, service: string): Promise<k8s.V1PodTemplateSpec> {
  const reads = [
    () => kube.apps.readNamespacedDeployment({ name: service, namespace }),
    () => kube.apps.readNamespacedStatefulSet({ name: service, namespace }),
  ];
  for (const read of reads) {
    try {
      const workload = await read();
      if (workload.spec?.template) return workload.spec.template;
    } catch (err) {
      if (httpCode(err) !== 404) throw kubeError(err, `read the workload "${service}" in "${namespace}"`);
    }
  }
  const names = await servicesOf(kube, namespace);
  throw new SandpiperError(
    'unknown-service',
    `Environment "${namespace}" has no service "${service}".`,
    names.length ? `Use one of: ${names.join(', ')}.` : 'Nothing is deployed in it yet.',
  );
}

/** The container's first containerPort: what a service listens on for HTTP unless the config says `port`. */
export function httpPortOf(
  template: k8s.V1PodTemplateSpec,
  namespace: string,
  service: string,
  container?: string,
): number {
  const containers = template.spec?.containers ?? [];
  const chosen = container ? containers.find((c) => c.name === container) : containers[0];
  if (!chosen)
    throw new SandpiperError(
      'unknown-service',
      `Service "${service}" in "${namespace}" has no container "${container}".`,
      `Its containers: ${containers.map((c) => c.name).join(', ') || 'none'}.`,
    );
  const port = chosen.ports?.[0]?.containerPort;
  if (!port)
    throw new SandpiperError(
      'invalid',
      `Service "${service}" in "${namespace}" declares no port (container "${chosen.name}" has no containerPort).`,
      'Set `port` for the service in sandpiper.yaml, or pass the port.',
    );
  return port;
}
