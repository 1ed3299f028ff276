// The in-cluster canary controller on the testbed: its image (the CLI image of resources/janitor.Dockerfile, from
// dist/cli.js) built on the testbed's dockerd and pushed to its registry, installed with the testbed's pod-access
// addresses (the API server and Prometheus listen on loopback; pods reach them through forwarders on the bridge).
// While it runs, `--driver auto` starts on the shared testbed hand off to it: install inside a test, uninstall after.
import type { V1Pod } from '@kubernetes/client-node';
import { controllerImage as buildControllerImage } from '../../scripts/controller.mjs';
import {
  controllerPodNames,
  controllerStatus,
  installController,
  uninstallController,
} from '../../src/core/canary/install';
import { CONTROLLER_NAME, CONTROLLER_NAMESPACE, liveController } from '../../src/core/canary/presence';
import type { Kube } from '../../src/core/infra/kube/client';
import { loadTestbed } from './testbed';
import { eventually } from './wait';

/** What pods dial for the loopback-only API server and Prometheus (testbed.json realNode.podAccess). */
export interface PodAccess {
  apiServer: string;
  apiServerName: string;
  prometheusUrl: string;
}

export function podAccess(): PodAccess {
  const access = (loadTestbed().realNode as { podAccess?: PodAccess } | undefined)?.podAccess;
  if (!access)
    throw new Error(
      'testbed.json has no realNode.podAccess (a testbed started before the pod-access forwarders): ' +
        'run node scripts/testbed/testbed.mjs up, which adds them to a running testbed',
    );
  return access;
}

let image: Promise<string> | undefined;

/**
 * The CLI image (resources/janitor.Dockerfile: dist/cli.js and bin/sandpiper.js on node:20-slim) in the testbed
 * registry, as `<registry>/sandpiper/cli@sha256:…`. Tagged by its context's hash: built and pushed once per
 * content, across runs.
 */
export function controllerImage(): Promise<string> {
  // scripts/controller.mjs builds it (npm run controller:install uses the same code).
  image ??= buildControllerImage({ testbed: loadTestbed() });
  image.catch(() => (image = undefined));
  return image;
}

/** The controller's pods that are not being deleted. */
export async function controllerPods(kube: Kube): Promise<V1Pod[]> {
  const pods = await kube.core.listNamespacedPod({
    namespace: CONTROLLER_NAMESPACE,
    labelSelector: `app=${CONTROLLER_NAME}`,
  });
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp);
}

/** What the pods say when the controller does not become ready: phase, waiting reasons and the last log lines. */
async function podReport(kube: Kube): Promise<string> {
  const out: string[] = [];
  for (const p of await controllerPods(kube).catch(() => [])) {
    const name = p.metadata!.name!;
    const states = (p.status?.containerStatuses ?? []).map((c) => JSON.stringify(c.state));
    const logText = await kube.core
      .readNamespacedPodLog({ namespace: CONTROLLER_NAMESPACE, name, tailLines: 20 })
      .catch((e: unknown) => `(no log: ${(e as Error).message})`);
    out.push(`${name} ${p.status?.phase} ${states.join(' ')}\n${logText}`);
  }
  return out.join('\n') || '(no pods)';
}

export interface InstalledController {
  image: string;
  /** Leader Lease holder (the pod's name). */
  leader: string;
  /** From the apply to Ready with a live leader Lease. */
  readyMs: number;
}

/** Installs the controller with the testbed's pod access and waits until it is Ready and holds the leader Lease. */
export async function installTestController(
  kube: Kube,
  { leaseSeconds, timeoutMs = 120_000 }: { leaseSeconds?: number; timeoutMs?: number } = {},
): Promise<InstalledController> {
  const ref = await controllerImage();
  const access = podAccess();
  const t0 = performance.now();
  await installController(kube, {
    image: ref,
    prometheusUrl: access.prometheusUrl,
    apiServer: access.apiServer,
    apiServerName: access.apiServerName,
    leaseSeconds,
  });
  try {
    const leader = await eventually(
      'the controller Ready and holding its leader Lease',
      async () => {
        const s = await controllerStatus(kube);
        return s.installed && s.image === ref && s.readyReplicas >= 1 && s.leader;
      },
      timeoutMs,
      250,
    );
    return { image: ref, leader, readyMs: performance.now() - t0 };
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await podReport(kube)}`);
  }
}

/** Uninstalls it and waits until its pods, its leader Lease and (when uninstall deleted it) its namespace are gone. */
export async function uninstallTestController(kube: Kube): Promise<void> {
  await uninstallController(kube);
  await eventually(
    'the controller pods gone, no live leader, the namespace not terminating',
    async () =>
      !(await controllerPodNames(kube)).length &&
      !(await liveController(kube)) &&
      (await kube.core.readNamespace({ name: CONTROLLER_NAMESPACE }).then(
        (n) => n.status?.phase !== 'Terminating',
        () => true,
      )),
    90_000,
    250,
  );
}
