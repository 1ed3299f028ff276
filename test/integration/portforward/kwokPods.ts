// Pods and Services on the testbed's KWOK nodes for the port-forward, logs and debug tests.
import type * as k8s from '@kubernetes/client-node';
import { Kube } from '../../../src/core/infra/kube/client';
import { PortForwarder } from '../../../src/core/portforward/portForwarder';
import { coreApi, kubeConfig, loadTestbed, portForwardTo, type Disposable } from '../../support/testbed';

export async function createService(namespace: string, name: string, port: number): Promise<void> {
  await coreApi().createNamespacedService({
    namespace,
    body: { metadata: { name }, spec: { selector: { app: name }, ports: [{ port, targetPort: port }] } },
  });
}

/** A pod of `app` on a KWOK node (no containers run: kwok only reports it Running and Ready). */
export async function createPod(
  namespace: string,
  name: string,
  app: string,
  containers: string[] = ['app'],
): Promise<void> {
  const body: k8s.V1Pod = {
    metadata: { name, labels: { app } },
    spec: {
      nodeName: loadTestbed().nodes[0],
      containers: containers.map((c) => ({ name: c, image: 'sandpiper.test/fake:1' })),
      tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
    },
  };
  // A fresh namespace gets its `default` service account a moment after it is created: retry until then.
  for (let attempt = 0; ; attempt++) {
    try {
      await coreApi().createNamespacedPod({ namespace, body });
      break;
    } catch (err) {
      if (attempt > 50 || !/serviceaccount .* not found/.test(String((err as { body?: unknown }).body ?? err)))
        throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await waitForPod(
    namespace,
    name,
    (p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
  );
}

export async function deletePod(namespace: string, name: string): Promise<void> {
  await coreApi().deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      await coreApi().readNamespacedPod({ namespace, name });
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`pod ${name} was not deleted in time`);
}

export async function waitForPod(
  namespace: string,
  name: string,
  test: (pod: k8s.V1Pod) => boolean,
  timeoutMs = 30_000,
): Promise<k8s.V1Pod> {
  const deadline = Date.now() + timeoutMs;
  let last: k8s.V1Pod | undefined;
  while (Date.now() < deadline) {
    try {
      last = await coreApi().readNamespacedPod({ namespace, name });
      if (test(last)) return last;
    } catch {
      // Not there yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`pod ${name} did not get there in time: ${JSON.stringify(last?.status ?? {})}`);
}

/**
 * A Service `tasks` on port 9229 with one pod `tasks-1` in the namespace, kwok forwarding that pod's port 9229 to
 * the inspector on this host (`inspectPort`). Returns the forwarding, to be disposed of.
 */
export async function tasksPodForwardedTo(namespace: string, inspectPort: number): Promise<Disposable> {
  await createService(namespace, 'tasks', 9229);
  await createPod(namespace, 'tasks-1', 'tasks');
  return portForwardTo(namespace, 'tasks-1', 9229, '127.0.0.1', inspectPort);
}

/** A PortForwarder (not started) through the testbed's apiserver to `service:remotePort` in the namespace. */
export function testbedPortForwarder(namespace: string, service: string, remotePort: number): PortForwarder {
  return new PortForwarder({ kube: new Kube(kubeConfig()), namespace, service, remotePort });
}
