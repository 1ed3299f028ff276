// The in-cluster canary controller on the testbed: its image (the CLI image of resources/janitor.Dockerfile, from
// dist/cli.js) built on the testbed's dockerd and pushed to its registry, installed with the testbed's pod-access
// addresses (the API server and Prometheus listen on loopback; pods reach them through forwarders on the bridge).
// While it runs, `--driver auto` starts on the shared testbed hand off to it: install inside a test, uninstall after.
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import Docker from 'dockerode';
import type { ContextFile } from '../../src/core/build/context';
import {
  controllerPodNames,
  controllerStatus,
  installController,
  uninstallController,
} from '../../src/core/canary/install';
import { CONTROLLER_NAME, CONTROLLER_NAMESPACE, liveController } from '../../src/core/canary/presence';
import type { Kube } from '../../src/core/infra/kube/client';
import { DockerImageBuilder, buildContextTar } from '../../src/core/infra/docker';
import { loadTestbed } from './testbed';
import { eventually } from './wait';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const DOCKERFILE = 'resources/janitor.Dockerfile';
const REPOSITORY = 'sandpiper/cli';

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

/** Newest modification time of the files under `dir` (ms). */
function newest(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

let bundle: Promise<void> | undefined;

/** dist/cli.js as `npm run build` makes it, rebuilt when a source file is newer (once per process). */
function currentCliBundle(): Promise<void> {
  bundle ??= (async () => {
    const cli = path.join(REPO_ROOT, 'dist', 'cli.js');
    const sources = Math.max(newest(path.join(REPO_ROOT, 'src')), newest(path.join(REPO_ROOT, 'resources')));
    if (fs.existsSync(cli) && fs.statSync(cli).mtimeMs >= sources) return;
    await new Promise<void>((resolve, reject) =>
      execFile(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT }, (err, stdout, stderr) =>
        err ? reject(new Error(`node scripts/build.mjs failed: ${err.message}\n${stdout}${stderr}`)) : resolve(),
      ),
    );
  })();
  bundle.catch(() => (bundle = undefined));
  return bundle;
}

/** The pushed image's digest reference when the registry already has this tag (an earlier run built it). */
async function pushedDigest(registry: string, tag: string): Promise<string | undefined> {
  const res = await fetch(`http://${registry}/v2/${REPOSITORY}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  }).catch(() => undefined);
  const digest = res?.ok ? res.headers.get('docker-content-digest') : null;
  return digest ? `${registry}/${REPOSITORY}@${digest}` : undefined;
}

let image: Promise<string> | undefined;

/**
 * The CLI image (resources/janitor.Dockerfile: dist/cli.js and bin/sandpiper.js on node:20-slim) in the testbed
 * registry, as `<registry>/sandpiper/cli@sha256:…`. Tagged by its context's hash: built and pushed once per
 * content, across runs.
 */
export function controllerImage(): Promise<string> {
  image ??= (async () => {
    await currentCliBundle();
    const tb = loadTestbed();
    const files: ContextFile[] = [DOCKERFILE, 'dist/cli.js', 'bin/sandpiper.js'].map((rel) => ({
      rel,
      full: path.join(REPO_ROOT, rel),
      mode: 0o644,
    }));
    const tag = crypto
      .createHash('sha256')
      .update(await buildContextTar(REPO_ROOT, DOCKERFILE, files))
      .digest('hex')
      .slice(0, 16);
    const cached = await pushedDigest(tb.registry, tag);
    if (cached) return cached;
    const builder = new DockerImageBuilder(new Docker({ socketPath: tb.dockerSocket }));
    const log: string[] = [];
    const ref = `${tb.registry}/${REPOSITORY}:${tag}`;
    try {
      return await builder.buildAndPush({
        contextDir: REPO_ROOT,
        dockerfile: DOCKERFILE,
        ref,
        files,
        onProgress: (l) => log.push(l),
      });
    } catch (err) {
      throw new Error(`building ${ref} failed: ${(err as Error).message}\n${log.slice(-20).join('\n')}`);
    }
  })();
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
