// A service on the testbed's real node for sync tests: a Deployment whose container runs a small Node server (its
// PID 1) that serves the files under /app from memory and reads them again only on SIGHUP, so a synced file is
// served only once the sync really wrote it into the container and the reload really reached the process.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { SandpiperConfig, ServiceConfig } from '../../../src/core/config/types';
import { execInPod, type ExecResult } from '../../../src/core/infra/kube/exec';
import { loadKube, type Kube } from '../../../src/core/infra/kube/client';
import { sleep } from '../../../src/core/errors';
import { EXAMPLE_DIR, TASKS_DIR, contextOf, exampleServiceImage, pushedImage } from '../../support/images';
import { deployApp, readyPods, requireRealNode } from '../../support/realPods';
import { createNamespace, loadTestbed, type Disposable } from '../../support/testbed';

/** The server in the container: /app snapshotted at start and on each SIGHUP; /healthz and /__reloads answered. */
export const FILE_SERVER = `const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const root = process.env.APP_DIR || '/app';
let files = new Map();
let reloads = 0;
function load() {
  const next = new Map();
  const walk = (d) => {
    let entries = [];
    try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) next.set('/' + path.relative(root, full), fs.readFileSync(full));
    }
  };
  walk(root);
  files = next;
}
fs.mkdirSync(root, { recursive: true });
load();
process.on('SIGHUP', () => { load(); reloads++; });
process.on('SIGTERM', () => process.exit(0));
http.createServer((req, res) => {
  const url = decodeURIComponent((req.url || '/').split('?')[0]);
  if (url === '/healthz') return res.end('ok');
  if (url === '/__reloads') return res.end(String(reloads));
  const body = files.get(url);
  if (!body) { res.statusCode = 404; return res.end('not found'); }
  res.end(body);
}).listen(8080);
`;

/** The Dockerfile of a workspace serving its src/ with the file server (what a rebuild builds). */
export const WORKSPACE_DOCKERFILE =
  'FROM sandpiper/node:20\nCOPY server/ /srv/\nCOPY src/ /app/\nCMD ["node", "/srv/server.js"]\n';

let serverImage: Promise<string> | undefined;

/** The file server's image, built and pushed once per run. */
export function fileServerImage(): Promise<string> {
  serverImage ??= pushedImage(
    contextOf({
      Dockerfile: 'FROM sandpiper/node:20\nCOPY server.js /srv/server.js\nCMD ["node", "/srv/server.js"]\n',
      'server.js': FILE_SERVER,
    }),
    'sp-test/sync-file-server',
  );
  return serverImage;
}

export class SyncFixture {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-sync-ws-'));
  readonly kube: Kube = loadKube({ kubeconfig: loadTestbed().kubeconfig });
  private readonly cleanups: Disposable[] = [];
  namespace = '';

  static async create(prefix: string): Promise<SyncFixture> {
    requireRealNode();
    const f = new SyncFixture();
    const ns = await createNamespace(prefix);
    f.namespace = ns.name;
    f.cleanups.push(ns);
    fs.mkdirSync(path.join(f.root, 'src'), { recursive: true });
    f.write('server/server.js', FILE_SERVER);
    f.write('Dockerfile', WORKSPACE_DOCKERFILE);
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
        // The server is the container's PID 1: `kill -s HUP 1`, as a user's config would say it.
        reload: { kind: 'signal', signal: 'SIGHUP' },
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

  /** Deployment + Service `web` (container `web`) of the file server, or of `image` (then with no HTTP probe). */
  async createDeployment(replicas: number, image?: string): Promise<void> {
    await deployApp(this.namespace, 'web', image ?? (await fileServerImage()), {
      replicas,
      waitReady: 0,
      ...(image ? { readinessPath: null } : {}),
    });
  }

  /** Names of the ready pods once there are exactly `count` of them. */
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

  /** http://<pod IP>:8080 (the host reaches pod addresses over the testbed's bridge). */
  async url(pod: string): Promise<string> {
    const p = await this.kube.core.readNamespacedPod({ name: pod, namespace: this.namespace });
    if (!p.status?.podIP) throw new Error(`pod ${pod} has no IP`);
    return `http://${p.status.podIP}:8080`;
  }

  async get(pod: string, rel: string): Promise<{ status: number; body: string }> {
    return httpGet(`${await this.url(pod)}/${rel}`);
  }

  /** Runs a shell script in the pod's container (real exec through the API server and kubelet). */
  async sh(pod: string, script: string, stdin?: Buffer, timeoutMs = 60_000): Promise<ExecResult> {
    return execInPod(this.kube, {
      namespace: this.namespace,
      pod,
      container: 'web',
      command: ['sh', '-c', script],
      stdin,
      timeoutMs,
    });
  }

  /** Like sh, but fails unless the script exits 0; resolves to its stdout. */
  async run(pod: string, script: string): Promise<string> {
    const r = await this.sh(pod, script);
    if (r.exitCode !== 0) throw new Error(`${script} in ${pod}: exit ${r.exitCode}: ${r.stderr} ${r.message ?? ''}`);
    return r.stdout;
  }

  /** A file's content in the container, or undefined when it is not there. */
  async read(pod: string, file: string): Promise<string | undefined> {
    const r = await this.sh(pod, `[ -f '${file}' ] || exit 9; cat '${file}'`);
    if (r.exitCode === 9) return undefined;
    if (r.exitCode !== 0) throw new Error(`reading ${file} in ${pod}: ${r.stderr} ${r.message ?? ''}`);
    return r.stdout;
  }

  async exists(pod: string, file: string): Promise<boolean> {
    return (await this.sh(pod, `test -e '${file}' || test -L '${file}'`)).exitCode === 0;
  }

  /** How many files are under `dir` in the container (0 when it is missing). */
  async countFiles(pod: string, dir: string): Promise<number> {
    const out = await this.run(pod, `if [ -d '${dir}' ]; then find '${dir}' -type f | wc -l; else echo 0; fi`);
    return Number(out.trim());
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
  }
}

export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

/**
 * The hooks most sync suites share: before the suite, a fixture (namespace `prefix-…`) with a deployment of one
 * pod, handed to `ready`; after it, `cleanup` (the suite's engine), then the fixture disposed of.
 */
export function withSyncFixture(
  prefix: string,
  ready: (f: SyncFixture) => void,
  cleanup: () => unknown = () => undefined,
  image?: () => Promise<string>,
): void {
  let f: SyncFixture | undefined;
  before(async () => {
    f = await SyncFixture.create(prefix);
    ready(f);
    await f.createDeployment(1, image ? await image() : undefined);
  });
  after(async () => {
    await cleanup();
    await f?.dispose();
  });
}

type Manifest = KubernetesObject & {
  spec?: { template?: { spec?: { containers?: Array<{ image: string; env?: Array<{ name: string }> }> } } };
};

/** The objects of `dir`/k8s/*.yaml in `namespace`, each container image `<name>:<tag>` of `images` replaced. */
function manifestsOf(dir: string, namespace: string, images: Record<string, string>): Manifest[] {
  const objects: Manifest[] = [];
  for (const file of fs.readdirSync(path.join(dir, 'k8s')).sort())
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(dir, 'k8s', file), 'utf8'))) {
      const obj = doc.toJS() as Manifest;
      for (const c of obj.spec?.template?.spec?.containers ?? []) {
        const name = c.image.replace(/:[^/:]+$/, '');
        if (images[name]) c.image = images[name];
      }
      objects.push({ ...obj, metadata: { ...obj.metadata, namespace } });
    }
  return objects;
}

/**
 * Applies the Todo example's tasks manifests (k8s/ of `dir`, a tasks folder) in `namespace`, its image name replaced
 * by `image` (the pushed reference); resolves to the Ready pod's name once the Deployment `tasks` has one.
 * With `db`, the example's db beside it (its own image and manifests, a Secret db-credentials with a random
 * password, as npm start makes it): tasks keeps its tasks in PostgreSQL. Without, tasks runs without the PG*
 * variables, on its in-memory store.
 */
export async function deployExample(
  kube: Kube,
  namespace: string,
  image: string,
  dir = TASKS_DIR,
  o: { db?: boolean } = {},
): Promise<string> {
  requireRealNode();
  const tasks = manifestsOf(dir, namespace, { 'sandpiper-example/tasks': image });
  if (o.db) {
    await kube.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'db-credentials' }, stringData: { password: crypto.randomBytes(18).toString('hex') } },
    });
    const db = path.join(EXAMPLE_DIR, 'db');
    const images = { 'sandpiper-example/db': await exampleServiceImage('db') };
    for (const obj of manifestsOf(db, namespace, images)) await kube.objects.create(obj);
  } else {
    for (const obj of tasks)
      for (const c of obj.spec?.template?.spec?.containers ?? [])
        c.env = c.env?.filter((e) => !e.name.startsWith('PG'));
  }
  for (const obj of tasks) await kube.objects.create(obj);
  const [pod] = await readyPods(namespace, 'app=tasks', 1);
  return pod.metadata!.name!;
}
