// Helpers for tests that use the local test bed (npm run testbed:up).
// The facts come from .sandpiper/testbed/testbed.json written by scripts/testbed/testbed.mjs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { testbedVariables } from '../../scripts/testbed/env.mjs';

export interface TestbedInfo {
  versions: { kubernetes: string; kwok: string; argoRollouts: string; gatewayApi: string; etcd: string };
  state: string;
  binDir: string;
  /** PYTHONPATH entry holding debugpy (installed by `testbed up`). */
  debugpyPath?: string;
  kubeconfig: string;
  kubeApiserver: string;
  clusterName: string;
  kwokWorkdir: string;
  kwokClusterDir: string;
  execWorkDir: string;
  nodes: string[];
  dockerHost: string;
  dockerSocket: string;
  registry: string;
  prometheusUrl: string;
  prometheusTargetsDir: string;
  prometheusConfig: string;
  argoRollouts: { enabled: boolean; metricsPort?: number; healthzPort?: number };
  images: string[];
  /** The real node (absent when the testbed was brought up with --no-real-node). */
  realNode?: {
    node: string;
    podCidr: string;
    serviceCidr: string;
    bridge: string;
    clusterDns: string;
    gateway: { className: string; port: number; url: string };
    pids: Record<string, number | null>;
  };
  ports: Record<string, number>;
  pids: Record<string, number | null>;
  logsDir: string;
  envFile: string;
  updatedAt: string;
}

export interface Disposable {
  dispose(): Promise<void>;
}

export const KWOK_GROUP = 'kwok.x-k8s.io';
export const KWOK_VERSION = 'v1alpha1';

function repoRoot(): string {
  // test/support/testbed.ts -> repo root (works from sources run by tsx; also walks up if bundled elsewhere)
  let dir = __dirnameSafe();
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'scripts', 'testbed')))
      return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

function __dirnameSafe(): string {
  // CommonJS (tsx/mocha default) has __dirname; fall back to cwd otherwise.
  return typeof __dirname === 'string' ? __dirname : process.cwd();
}

/** Path of testbed.json: $SANDPIPER_TESTBED_JSON or <repo>/.sandpiper/testbed/testbed.json. */
export function testbedJsonPath(): string {
  return process.env.SANDPIPER_TESTBED_JSON || path.join(repoRoot(), '.sandpiper', 'testbed', 'testbed.json');
}

let cached: TestbedInfo | undefined;

/** Reads testbed.json; throws a clear error if the test bed is not up. */
export function loadTestbed(): TestbedInfo {
  if (cached) return cached;
  const file = testbedJsonPath();
  if (!fs.existsSync(file)) {
    throw new Error(`Sandpiper test bed is not up (no ${file}): run npm run testbed:up`);
  }
  cached = JSON.parse(fs.readFileSync(file, 'utf8')) as TestbedInfo;
  return cached;
}

/** A KubeConfig loaded from the test bed's kubeconfig (cluster admin). */
export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(loadTestbed().kubeconfig);
  return kc;
}

export function coreApi(): CoreV1Api {
  return kubeConfig().makeApiClient(CoreV1Api);
}

export function customApi(): CustomObjectsApi {
  return kubeConfig().makeApiClient(CustomObjectsApi);
}

/** Creates a throwaway namespace `<prefix>-<random>`; dispose() deletes it (does not wait for it to be gone). */
export async function createNamespace(prefix: string): Promise<{ name: string; dispose(): Promise<void> }> {
  const core = coreApi();
  const safe =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'test';
  const name = `${safe}-${Math.random().toString(36).slice(2, 8)}`;
  await core.createNamespace({ body: { metadata: { name, labels: { 'sandpiper.dev/test': 'true' } } } });
  return {
    name,
    async dispose() {
      try {
        await core.deleteNamespace({ name, propagationPolicy: 'Background' });
      } catch (e: unknown) {
        if ((e as { code?: number }).code !== 404) throw e;
      }
    },
  };
}

async function createKwokObject(
  namespace: string,
  plural: string,
  kind: string,
  name: string,
  spec: unknown,
): Promise<Disposable> {
  const api = customApi();
  const body = { apiVersion: `${KWOK_GROUP}/${KWOK_VERSION}`, kind, metadata: { name, namespace }, spec };
  try {
    await api.createNamespacedCustomObject({ group: KWOK_GROUP, version: KWOK_VERSION, namespace, plural, body });
  } catch (e: unknown) {
    if ((e as { code?: number }).code !== 409) throw e;
    // Replace an existing one (same pod name).
    const cur = (await api.getNamespacedCustomObject({
      group: KWOK_GROUP,
      version: KWOK_VERSION,
      namespace,
      plural,
      name,
    })) as {
      metadata: { resourceVersion: string };
    };
    await api.replaceNamespacedCustomObject({
      group: KWOK_GROUP,
      version: KWOK_VERSION,
      namespace,
      plural,
      name,
      body: { ...body, metadata: { ...body.metadata, resourceVersion: cur.metadata.resourceVersion } },
    });
  }
  return {
    async dispose() {
      try {
        await api.deleteNamespacedCustomObject({ group: KWOK_GROUP, version: KWOK_VERSION, namespace, plural, name });
      } catch (e: unknown) {
        if ((e as { code?: number }).code !== 404) throw e;
      }
    },
  };
}

/**
 * Makes `kubectl exec` into the (fake, kwok) pod run the command on the HOST in `dir`
 * (kwok Exec object named after the pod). Note: kwok never closes the exec stdin pipe,
 * so a tar stream piped in must be padded to tar's 10240-byte record (or use `tar -b 1`).
 */
export async function execIntoDir(
  namespace: string,
  podName: string,
  dir: string,
  opts: { containers?: string[]; env?: Record<string, string> } = {},
): Promise<Disposable> {
  fs.mkdirSync(dir, { recursive: true });
  const local: Record<string, unknown> = { workDir: path.resolve(dir) };
  if (opts.env) local.envs = Object.entries(opts.env).map(([name, value]) => ({ name, value }));
  return createKwokObject(namespace, 'execs', 'Exec', podName, {
    execs: [{ ...(opts.containers ? { containers: opts.containers } : {}), local }],
  });
}

/**
 * Makes `kubectl port-forward pod/<podName> <local>:<port>` reach `targetAddress:targetPort` on the host
 * (targetPort defaults to port). targetAddress is "host:port" or just "host".
 */
export async function portForwardTo(
  namespace: string,
  podName: string,
  port: number,
  targetAddress: string,
  targetPort?: number,
): Promise<Disposable> {
  let address = targetAddress;
  let tport = targetPort ?? port;
  const m = /^(.*):(\d+)$/.exec(targetAddress);
  if (m && targetPort === undefined) {
    address = m[1];
    tport = Number(m[2]);
  }
  return createKwokObject(namespace, 'portforwards', 'PortForward', podName, {
    forwards: [{ ports: [port], target: { address, port: tport } }],
  });
}

/**
 * Makes `kubectl logs <podName> [-c container] [-f]` serve the CRI-format file `filePath`
 * (lines like `2024-01-01T00:00:00.000000000Z stdout F message`; see writeCriLogLine).
 */
export async function logsFrom(
  namespace: string,
  podName: string,
  container: string | string[] | undefined,
  filePath: string,
  follow = true,
): Promise<Disposable> {
  const containers = container === undefined ? undefined : Array.isArray(container) ? container : [container];
  if (!fs.existsSync(filePath)) {
    fs.mkdirSync(path.dirname(filePath), { recursive: true });
    fs.writeFileSync(filePath, '');
  }
  return createKwokObject(namespace, 'logs', 'Logs', podName, {
    logs: [{ ...(containers ? { containers } : {}), logsFile: path.resolve(filePath), follow }],
  });
}

/** Appends one CRI-format log line to a file served by logsFrom(). */
export function writeCriLogLine(filePath: string, message: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
  fs.appendFileSync(filePath, `${new Date().toISOString()} ${stream} F ${message}\n`);
}

/** Adds a Prometheus scrape target (file_sd); returns a Disposable removing it. Prometheus picks it up within ~1-2 s. */
export function addPrometheusTarget(name: string, target: string, labels: Record<string, string> = {}): Disposable {
  const file = path.join(loadTestbed().prometheusTargetsDir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
  fs.writeFileSync(file + '.tmp', JSON.stringify([{ targets: [target], labels: { job: name, ...labels } }]));
  fs.renameSync(file + '.tmp', file);
  return {
    async dispose() {
      fs.rmSync(file, { force: true });
    },
  };
}

/** Environment for child processes (kubectl, docker, sandpiper CLI) pointed at the test bed: what npm test sets. */
export function testbedEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, ...testbedVariables(loadTestbed(), base.PATH ?? '') };
}
