// Debuggees in pods on the testbed's real node: the Todo example's tasks image (its bundle with source maps under
// `node --inspect --watch dist/server.js`), the TypeScript sample service (compiled with source maps, the same
// command) and a small Python service under debugpy. Tests attach through Sandpiper's port-forward, send HTTP to the pod's own
// address (the host routes the pod network), restart the container in place or have the Deployment replace the pod.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { Kube } from '../../src/core/infra/kube/client';
import { execInPod } from '../../src/core/infra/kube/exec';
import { TASKS_DIR, contextOf, exampleImage, pushedImage } from './images';
import { deployApp, podsOf, readyPods, type AppOptions } from './realPods';
import { coreApi, createNamespace, kubeConfig } from './testbed';
import { eventually } from './wait';

/** One runtime's debuggee: what runs in the pod and where a breakpoint goes in the workspace's copy of it. */
export interface DebuggeeApp {
  runtime: 'node' | 'python';
  /** Deployment, Service and container name. */
  service: string;
  debugPort: number;
  httpPort: number;
  /** Where the image holds the workspace's files. */
  remoteRoot: string;
  /** The workspace folder whose files the image holds under remoteRoot. */
  localRoot: string;
  /** The handler's breakpoint: a workspace file, a 1-based line, the function it is in, a local there. */
  breakpoint: { file: string; line: number; functionName: string; local: string };
  /** An expression that names the pod from inside the stopped frame (HOSTNAME is the pod's name). */
  podNameExpression: string;
  /** The request that runs through the breakpoint, and what its answer looks like. */
  requestPath: string;
  response: RegExp;
  image(): Promise<string>;
  deployment: AppOptions;
}

/** The 1-based line of the first line of `file` that contains `marker`; fails loudly when the source moved on. */
function lineOf(file: string, marker: string): number {
  const index = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(marker));
  if (index < 0) throw new Error(`${file} has no line with ${JSON.stringify(marker)}: the debug tests need one`);
  return index + 1;
}

const STORE_TS = path.join(TASKS_DIR, 'src', 'store.ts');

/**
 * The example's tasks service, exactly as its Dockerfile builds it: `node --inspect=0.0.0.0:9229 --watch
 * dist/server.js`, the bundle's map pointing at src/*.ts. The breakpoint is in the in-memory store's list(), which
 * every GET /tasks runs (the pod has no PGHOST): a line of its own in a .ts file other than the entry.
 */
export const NODE_APP: DebuggeeApp = {
  runtime: 'node',
  service: 'tasks',
  debugPort: 9229,
  httpPort: 8080,
  remoteRoot: '/app',
  localRoot: TASKS_DIR,
  // Read when a test asks, so a change of the example fails the debug tests, not every importer of this file.
  get breakpoint() {
    const line = lineOf(STORE_TS, 'return [...this.tasks.values()]');
    return { file: STORE_TS, line, functionName: 'list', local: 'this' };
  },
  podNameExpression: 'process.env.HOSTNAME',
  requestPath: '/tasks',
  response: /^\[.*\]$/,
  image: exampleImage,
  deployment: { port: 8080, ports: { debug: 9229 } },
};

/** The TypeScript sample workspace (helper E2E's fixture): Deployment and Service `hello`, no sandpiper.yaml. */
// Two folders up is the repository both from test/support and from the exthost bundle in out/exthost.
export const TS_SERVICE_DIR = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'workspaces', 'ts-service');
const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Copies the TypeScript sample into `dir` (a fresh temp folder by default) and compiles it with the repository's
 * typescript into dist/ with source maps, as a user's `npx tsc` does; node_modules is a link to the repository's
 * (for @types/node) and stays out of the image (.dockerignore).
 */
export function compiledTsService(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-ts-service-'))): string {
  fs.cpSync(TS_SERVICE_DIR, dir, { recursive: true });
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  compileTs(dir);
  return dir;
}

/** `tsc -p dir` with the repository's typescript. */
export function compileTs(dir: string): void {
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], {
    stdio: 'pipe',
  });
}

let tsWorkspace: string | undefined;

/**
 * The TypeScript service: dist/ compiled from src/*.ts with source maps, run by `node --inspect=0.0.0.0:9229
 * --enable-source-maps --watch dist/server.js`; the breakpoint is in src/greeting.ts (a file other than the entry).
 */
export function tsApp(localRoot?: string): DebuggeeApp {
  const root = () => (localRoot ??= tsWorkspace ??= compiledTsService());
  return {
    runtime: 'node',
    service: 'hello',
    debugPort: 9229,
    httpPort: 8080,
    remoteRoot: '/app',
    get localRoot() {
      return root();
    },
    get breakpoint() {
      const file = path.join(root(), 'src', 'greeting.ts');
      // The `return` after the fixture's marked line: js-debug (1.100) does not always offer the marked line, a
      // `const` initialised by a template literal, as a breakpoint location and then binds the breakpoint one
      // line down (seen in 3 of 4 runs); the return line is always offered.
      const line = lineOf(file, 'BREAKPOINT: greeting') + 1;
      return { file, line, functionName: 'greeting', local: 'message' };
    },
    podNameExpression: 'process.env.HOSTNAME',
    requestPath: '/',
    response: /^\{"message":"Hello from hello!"/,
    image: () => pushedImage(root(), 'sandpiper-test/ts-service'),
    deployment: { port: 8080, ports: { debug: 9229 } },
  };
}

/** The Python service's handler: the breakpoint is the `greeting = ...` line. */
export const PYTHON_APP_SOURCE = `import http.server
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == '/healthz':
            greeting = 'ok'
        else:
            greeting = 'hello from %s' % os.environ['HOSTNAME']
        self.send_response(200)
        self.end_headers()
        self.wfile.write(greeting.encode())

    def log_message(self, *args):
        pass


# Threads: the readiness probe is answered while a request is stopped at a breakpoint.
server = http.server.ThreadingHTTPServer(('0.0.0.0', 8080), Handler)
print('listening on', server.server_port, flush=True)
server.serve_forever()
`;

const PYTHON_DOCKERFILE = `FROM sandpiper/python:3.11
WORKDIR /app
COPY app.py ./
EXPOSE 8080 5678
CMD ["python3", "-Xfrozen_modules=off", "-m", "debugpy", "--listen", "0.0.0.0:5678", "/app/app.py"]
`;

let pythonWorkspace: string | undefined;

/** A workspace folder holding app.py, as the image holds it under /app (written once per run). */
function pythonLocalRoot(): string {
  if (!pythonWorkspace) pythonWorkspace = contextOf({ 'app.py': PYTHON_APP_SOURCE, Dockerfile: PYTHON_DOCKERFILE });
  return pythonWorkspace;
}

/** The Python service: app.py under `python3 -m debugpy --listen 0.0.0.0:5678`, built FROM sandpiper/python:3.11. */
export const PYTHON_APP: DebuggeeApp = {
  runtime: 'python',
  service: 'api',
  debugPort: 5678,
  httpPort: 8080,
  remoteRoot: '/app',
  get localRoot() {
    return pythonLocalRoot();
  },
  get breakpoint() {
    const file = path.join(pythonLocalRoot(), 'app.py');
    return { file, line: lineOf(file, "greeting = 'hello from"), functionName: 'do_GET', local: 'self' };
  },
  podNameExpression: "os.environ['HOSTNAME']",
  requestPath: '/',
  response: /^hello from \S+$/,
  image: () => pushedImage(pythonLocalRoot(), 'sandpiper-test/debugpy-api'),
  deployment: {
    port: 8080,
    ports: { debug: 5678 },
    // A shell as PID 1 that ends on TERM (python as PID 1 would ignore it): `kill 1` restarts the container.
    command: ['sh', '-c', 'trap \'exit 0\' TERM; "$@" & wait', 'sh'],
    args: ['python3', '-Xfrozen_modules=off', '-m', 'debugpy', '--listen', '0.0.0.0:5678', '/app/app.py'],
  },
};

/** A debuggee's Deployment in a fresh namespace on the real node. */
export class PodDebuggee {
  private constructor(
    readonly app: DebuggeeApp,
    private readonly ns: { name: string; dispose(): Promise<void> },
  ) {}

  /** Builds (once per run) and deploys the app; resolves once its pod is Ready. */
  static async deploy(app: DebuggeeApp, namespacePrefix: string): Promise<PodDebuggee> {
    const image = await app.image();
    const ns = await createNamespace(namespacePrefix);
    const debuggee = new PodDebuggee(app, ns);
    try {
      await deployApp(ns.name, app.service, image, app.deployment);
    } catch (err) {
      await ns.dispose();
      throw err;
    }
    return debuggee;
  }

  get namespace(): string {
    return this.ns.name;
  }

  /** The newest Ready pod: the one a request (and Sandpiper's forward) goes to. */
  async pod(): Promise<V1Pod> {
    return (await readyPods(this.namespace, `app=${this.app.service}`))[0];
  }

  async podName(): Promise<string> {
    return (await this.pod()).metadata!.name!;
  }

  /** GET requestPath on the newest Ready pod's own address; resolves with the body once it answers. */
  async request(): Promise<string> {
    const pod = await this.pod();
    const res = await fetch(`http://${pod.status!.podIP}:${this.app.httpPort}${this.app.requestPath}`);
    const body = await res.text();
    if (!res.ok) throw new Error(`${pod.metadata!.name} answered ${res.status}: ${body}`);
    return body;
  }

  /** Runs a shell command in the app's container of the current pod; `okCodes` are the exit codes that succeed. */
  async exec(script: string, okCodes = [0]): Promise<string> {
    const pod = await this.podName();
    const r = await execInPod(new Kube(kubeConfig()), {
      namespace: this.namespace,
      pod,
      container: this.app.service,
      command: ['sh', '-c', script],
      timeoutMs: 20_000,
    });
    if (!okCodes.includes(r.exitCode))
      throw new Error(`\`${script}\` in ${pod} exited ${r.exitCode}: ${r.stderr}${r.message ?? ''}`);
    return r.stdout;
  }

  /** SIGTERM to the container's PID 1: the process ends and kubelet starts the container again in the same pod. */
  async restartContainer(): Promise<void> {
    const pod = await this.pod();
    const restarts = pod.status?.containerStatuses?.[0]?.restartCount ?? 0;
    // The exec's own shell may be killed with the container before it exits (137).
    await this.exec('kill 1', [0, 137]);
    await eventually(
      `the container of ${pod.metadata!.name} restarted and Ready`,
      async () => {
        const now = (await podsOf(this.namespace, `app=${this.app.service}`)).find(
          (p) => p.metadata!.name === pod.metadata!.name,
        );
        const cs = now?.status?.containerStatuses?.[0];
        return !!cs && cs.restartCount > restarts && cs.ready;
      },
      60_000,
      250,
    );
  }

  /** Deletes the current pod; the Deployment's new pod takes its place. Resolves with its name once it is Ready. */
  async replacePod(): Promise<string> {
    const old = await this.podName();
    await coreApi().deleteNamespacedPod({ namespace: this.namespace, name: old });
    return eventually(
      `a Ready pod of ${this.app.service} other than ${old}`,
      async () => {
        const ready = await readyPods(this.namespace, `app=${this.app.service}`, 1, 2_000).catch(() => []);
        return ready.find((p) => p.metadata!.name !== old)?.metadata!.name;
      },
      90_000,
      250,
    );
  }

  async dispose(): Promise<void> {
    await this.ns.dispose();
  }
}
