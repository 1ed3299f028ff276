// Objects of a service a canary test works on: a Deployment on the KWOK nodes, its Service and, optionally,
// an HTTPRoute of the Gateway API sending traffic to the Service.
import { KubeConfig } from '@kubernetes/client-node';
import { Kube } from '../../src/core/infra/kube/client';
import { GATEWAY } from '../../src/core/canary/traffic';
import { loadTestbed } from './testbed';
import { eventually } from './wait';

export function testbedKube(): Kube {
  const kc = new KubeConfig();
  kc.loadFromFile(loadTestbed().kubeconfig);
  return new Kube(kc);
}

export async function createService(
  kube: Kube,
  namespace: string,
  name: string,
  o: { replicas?: number; image?: string; route?: boolean } = {},
): Promise<void> {
  const labels = { app: name };
  await kube.apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name, labels },
      spec: {
        replicas: o.replicas ?? 4,
        selector: { matchLabels: labels },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: '100%' } },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'app', image: o.image ?? `${name}:1`, ports: [{ containerPort: 8080 }] }] },
        },
      },
    },
  });
  await kube.core.createNamespacedService({
    namespace,
    body: { metadata: { name }, spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
  });
  if (o.route) {
    await kube.custom.createNamespacedCustomObject({
      ...GATEWAY,
      namespace,
      body: {
        apiVersion: `${GATEWAY.group}/${GATEWAY.version}`,
        kind: 'HTTPRoute',
        metadata: { name },
        spec: {
          parentRefs: [{ name: 'gateway' }],
          rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name, port: 80 }] }],
        },
      },
    });
  }
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
