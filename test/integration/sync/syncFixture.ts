// A service on the testbed for sync tests: a Deployment of KWOK pods whose exec runs in one folder per pod
// on this machine, each with a small HTTP server (a child process) that serves that folder and reloads on SIGHUP.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SandpiperConfig, ServiceConfig } from '../../../src/core/config/types';
import { sleep } from '../../../src/core/errors';
import { loadKube, type Kube } from '../../../src/core/infra/kube/client';
import { createNamespace, execIntoDir, loadTestbed, type Disposable } from '../../support/testbed';

/** The fixture server, found from here upward: this file also runs bundled (out/exthost/suite.js). */
export const SERVER_SCRIPT = ((): string => {
  const rel = path.join('test', 'fixtures', 'sync', 'reloadingServer.js');
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, rel))) return path.join(dir, rel);
    if (path.dirname(dir) === dir) return path.resolve(rel);
  }
})();

export interface BoundPod {
  name: string;
  dir: string;
  url: string;
  server: ChildProcess;
}

export class SyncFixture {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-sync-ws-'));
  readonly podsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-sync-pods-'));
  readonly kube: Kube = loadKube({ kubeconfig: loadTestbed().kubeconfig });
  readonly pods = new Map<string, BoundPod>();
  private readonly cleanups: Disposable[] = [];
  namespace = '';

  static async create(prefix: string): Promise<SyncFixture> {
    const f = new SyncFixture();
    const ns = await createNamespace(prefix);
    f.namespace = ns.name;
    f.cleanups.push(ns);
    fs.mkdirSync(path.join(f.root, 'src'), { recursive: true });
    fs.writeFileSync(path.join(f.root, 'Dockerfile'), 'FROM sandpiper/busybox:latest\nCOPY src/ /app/\n');
    return f;
  }

  service(over: Partial<NonNullable<ServiceConfig['sync']>> = {}): ServiceConfig {
    return {
      name: 'web',
      manifests: [],
      image: { build: { context: '.', dockerfile: 'Dockerfile' } },
      container: 'web',
      dependencies: {},
      sync: {
        paths: ['src/'],
        target: '/app',
        exclude: ['**/*.secret'],
        rebuildOn: [],
        auto: true,
        debounceMs: 50,
        // exec runs on this machine here, so the "main process" is the pod's server, found by the pid it wrote.
        reload: { kind: 'command', command: ['sh', '-c', 'kill -HUP "$(cat server.pid)"'] },
        ...over,
      },
    };
  }

  config(service: ServiceConfig): SandpiperConfig {
    return {
      root: this.root,
      baseline: 'staging',
      ttlMs: 3_600_000,
      clusterDomain: 'cluster.local',
      registry: loadTestbed().registry,
      copySecrets: false,
      github: { maxReviewers: 3 },
      services: { [service.name]: service },
    };
  }

  async createDeployment(replicas: number, image = 'sandpiper/busybox:latest'): Promise<void> {
    await this.kube.apps.createNamespacedDeployment({
      namespace: this.namespace,
      body: {
        metadata: { name: 'web', labels: { app: 'web' } },
        spec: {
          replicas,
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } },
        },
      },
    });
  }

  /** Names of the ready pods once there are `count` of them. */
  async readyPods(count: number, timeoutMs = 150_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const list = await this.kube.core.listNamespacedPod({ namespace: this.namespace, labelSelector: 'app=web' });
      const ready = list.items.filter(
        (p) =>
          !p.metadata?.deletionTimestamp &&
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      if (ready.length === count) return ready.map((p) => p.metadata!.name!).sort();
      if (Date.now() > deadline) throw new Error(`expected ${count} ready pods, have ${ready.length}`);
      await sleep(250);
    }
  }

  /** Makes the pod's exec run in its own folder and starts its server there. */
  async bind(pod: string): Promise<BoundPod> {
    const existing = this.pods.get(pod);
    if (existing) return existing;
    const dir = path.join(this.podsDir, pod);
    fs.mkdirSync(path.join(dir, 'app'), { recursive: true });
    const server = spawn(process.execPath, [SERVER_SCRIPT, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<string>((resolve, reject) => {
      server.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
      server.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    const bound = { name: pod, dir, url: `http://127.0.0.1:${port}`, server };
    this.pods.set(pod, bound);
    this.cleanups.push({ dispose: async () => void server.kill() });
    // Exec is bound after the server runs: a sync landing earlier would find no pid file to signal.
    this.cleanups.push(await execIntoDir(this.namespace, pod, dir, { env: { SANDPIPER_SYNC_ROOT: dir } }));
    return bound;
  }

  write(rel: string, content: string | Buffer): string {
    const file = path.join(this.root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    return file;
  }

  async dispose(): Promise<void> {
    for (const c of this.cleanups.reverse()) await c.dispose().catch(() => undefined);
    fs.rmSync(this.root, { recursive: true, force: true });
    fs.rmSync(this.podsDir, { recursive: true, force: true });
  }
}

export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

/**
 * The hooks most sync suites share: before the suite, a fixture (namespace `prefix-…`) with a deployment of one
 * pod, handed to `ready`; after it, `cleanup` (the suite's engine and bindings), then the fixture disposed of.
 */
export function withSyncFixture(
  prefix: string,
  ready: (f: SyncFixture) => void,
  cleanup: () => unknown = () => undefined,
): void {
  let f: SyncFixture | undefined;
  before(async () => {
    f = await SyncFixture.create(prefix);
    ready(f);
    await f.createDeployment(1);
  });
  after(async () => {
    await cleanup();
    await f?.dispose();
  });
}
