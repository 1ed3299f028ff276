// Pods on the real node whose containers print what a test tells them to: the lines reach the container runtime's
// log (containerd's CRI log files), which the apiserver serves through the kubelet — nothing is faked.
import { execFile } from 'node:child_process';
import type { V1Container, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { requireRealNode } from '../../support/realPods';
import { coreApi, testbedEnv } from '../../support/testbed';
import { eventually } from '../../support/wait';

export const BUSYBOX = 'sandpiper/busybox:latest';
/** The pause image: on the node, and it has no shell, so nothing can be exec'd in it. */
export const NO_SHELL_IMAGE = 'registry.k8s.io/pause:3.6';
/** A busybox command: httpd on 8080 whose index page is the pod's name; stops at once on SIGTERM. */
export const NAMED_HTTPD = [
  'sh',
  '-c',
  "mkdir -p /www && echo $HOSTNAME > /www/index.html && trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait",
];

/**
 * A shell script for PID 1 that prints `preface` (double-quoted: `$HOSTNAME` expands to the pod's name), then
 * copies every line written into /tmp/out (stdout) or /tmp/err (stderr) to its own output. It stops at once on
 * SIGTERM.
 */
export function talkerScript(preface: string[] = []): string {
  const echo = preface.map((l) => `echo "${l.replace(/["\\`]/g, '\\$&')}"`).join('; ');
  return [
    "trap 'exit 0' TERM",
    'mkfifo /tmp/out /tmp/err',
    ...(echo ? [echo] : []),
    // One reader per FIFO for the container's life, opened read-write so it never sees EOF: a reader that ends
    // between two writers would drop what the second one wrote while it closed.
    'cat <>/tmp/out &',
    'cat <>/tmp/err >&2 &',
    'wait',
  ].join('\n');
}

export interface PodOptions {
  labels?: Record<string, string>;
  /** Container name → shell script (default: one container `app` running talkerScript()). */
  containers?: Record<string, string>;
  /** Wait until the pod is Running (default), or not at all. */
  wait?: 'Running' | 'none';
  spec?: Partial<V1PodSpec>;
  image?: string;
}

export function talkerContainers(o: PodOptions): V1Container[] {
  return Object.entries(o.containers ?? { app: talkerScript() }).map(([name, script]) => ({
    name,
    image: o.image ?? BUSYBOX,
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', '-c', script],
  }));
}

/** A bare pod on the real node (the KWOK nodes are tainted); waits until it runs. */
export async function createRealPod(namespace: string, name: string, o: PodOptions = {}): Promise<V1Pod> {
  requireRealNode();
  const body: V1Pod = {
    metadata: { name, labels: o.labels ?? { app: name } },
    spec: { terminationGracePeriodSeconds: 1, containers: talkerContainers(o), ...o.spec },
  };
  // A fresh namespace gets its `default` ServiceAccount a moment after it is created.
  await eventually(`pod ${name} created`, () => coreApi().createNamespacedPod({ namespace, body }), 20_000);
  if (o.wait === 'none') return body;
  return eventually(
    `pod ${name} Running`,
    async () => {
      const pod = await coreApi().readNamespacedPod({ namespace, name });
      return pod.status?.phase === 'Running' && pod;
    },
    90_000,
    200,
  );
}

/** Makes the talker container print `lines` (through its FIFO), by a real exec into the container. */
export function say(
  namespace: string,
  pod: string,
  lines: string[],
  o: { container?: string; stream?: 'stdout' | 'stderr' } = {},
): Promise<void> {
  const fifo = o.stream === 'stderr' ? '/tmp/err' : '/tmp/out';
  // The lines travel as arguments, not on stdin: kubectl exec can end the session before stdin is delivered.
  const script = `printf '%s\\n' "$@" > ${fifo}`;
  const args = ['exec', '-n', namespace, pod, '-c', o.container ?? 'app', '--', 'sh', '-c', script, 'say', ...lines];
  return new Promise((resolve, reject) => {
    execFile('kubectl', args, { env: testbedEnv(), timeout: 30_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(),
    );
  });
}

/** Deletes a pod (1 s grace) and waits until it is gone. */
export async function deletePod(namespace: string, name: string): Promise<void> {
  await coreApi().deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 1 });
  await eventually(
    `pod ${name} gone`,
    () =>
      coreApi()
        .readNamespacedPod({ namespace, name })
        .then(
          () => false,
          (e: { code?: number }) => e.code === 404,
        ),
    60_000,
  );
}
