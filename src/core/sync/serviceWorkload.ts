import type { V1Deployment } from '@kubernetes/client-node';
import type { ServiceConfig } from '../config/types';
import { SandpiperError } from '../errors';
import { httpCode, kubeError, type Kube } from '../kube/client';

/** The Deployment that runs a service in an environment, and the container the sync writes into. */
export interface ServiceWorkload {
  namespace: string;
  deployment: string;
  selector: string;
  container: string;
}

/** Finds the service's Deployment: named after the service, else labelled app.kubernetes.io/name or app with its name. */
export async function findServiceWorkload(kube: Kube, namespace: string, service: ServiceConfig): Promise<ServiceWorkload> {
  let deployment: V1Deployment | undefined;
  try {
    deployment = await kube.apps.readNamespacedDeployment({ name: service.name, namespace });
  } catch (err) {
    if (httpCode(err) !== 404) throw kubeError(err, `read Deployment ${namespace}/${service.name}`);
  }
  for (const label of ['app.kubernetes.io/name', 'app']) {
    if (deployment) break;
    try {
      const list = await kube.apps.listNamespacedDeployment({ namespace, labelSelector: `${label}=${service.name}` });
      deployment = list.items[0];
    } catch (err) {
      throw kubeError(err, `list Deployments in ${namespace}`);
    }
  }
  if (!deployment?.metadata?.name) {
    throw new SandpiperError('sync-no-workload', `No Deployment of service "${service.name}" in namespace ${namespace}.`, 'Deploy the service into the environment first (sandpiper deploy).');
  }
  const labels = deployment.spec?.selector?.matchLabels ?? {};
  const selector = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
  if (!selector) throw new SandpiperError('sync-no-workload', `Deployment ${deployment.metadata.name} has no matchLabels selector.`, 'Give the Deployment a spec.selector.matchLabels.');
  const containers = deployment.spec?.template?.spec?.containers ?? [];
  const container = service.container ?? containers[0]?.name;
  if (!container || !containers.some((c) => c.name === container)) {
    throw new SandpiperError('sync-no-container', `Deployment ${deployment.metadata.name} has no container "${container ?? ''}".`, `Set "container" of service ${service.name} in sandpiper.yaml to one of: ${containers.map((c) => c.name).join(', ')}.`);
  }
  return { namespace, deployment: deployment.metadata.name, selector, container };
}
