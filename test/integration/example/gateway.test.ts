// The Todo example's gateway on the testbed's real node: the example's HTTPRoute `todo` and Middleware `auth`
// (examples/todo/gateway, deployed with `sandpiper deploy`) on its Gateway `todo`, in front of the example's auth
// service (its own image and manifests) and two small echo backends standing in for tasks and search. Through the
// gateway: 401 without or with wrong credentials, 200 with right ones, the backend sees X-Auth-User from auth (never
// the client's), each rule reaches its backend; and Traefik's own metrics of the route reach Prometheus (job traefik).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { PrometheusClient } from '../../../src/core/infra/prometheus';
import { sandpiper } from '../../support/cli';
import { EXAMPLE_DIR, contextOf, exampleServiceImage, pushedImage } from '../../support/images';
import { deployApp, requireRealNode } from '../../support/realPods';
import { coreApi, createNamespace, customApi, loadTestbed } from '../../support/testbed';
import { eventually } from '../../support/wait';

const GATEWAY_DIR = path.join(EXAMPLE_DIR, 'gateway');
const USER = 'todo';

/** Answers with its NAME, the path and the headers it got, so a test sees what the gateway passed on. */
const ECHO = {
  Dockerfile: 'FROM node:20-slim\nCOPY echo.js /app/echo.js\nCMD ["node", "/app/echo.js"]\n',
  'echo.js': [
    "require('node:http').createServer((req, res) => {",
    "  if (req.url === '/healthz') return res.end('ok');",
    "  res.setHeader('content-type', 'application/json');",
    '  res.end(JSON.stringify({ service: process.env.NAME, path: req.url, headers: req.headers }));',
    '}).listen(8080);',
    '',
  ].join('\n'),
};

interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

interface Echo {
  service: string;
  path: string;
  headers: Record<string, string>;
}

type Manifest = { kind: string; metadata: { name: string }; spec: Record<string, unknown> };

/** The YAML documents of a file. */
function docsOf(file: string): Manifest[] {
  return parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS() as Manifest);
}

/**
 * A copy of examples/todo/gateway whose manifests name this namespace's auth Service (Traefik resolves the
 * ForwardAuth address itself, outside any namespace) and route only `hostname`, beside staging's catch-all route.
 */
function gatewayFolderFor(namespace: string, hostname: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-gateway-'));
  fs.copyFileSync(path.join(GATEWAY_DIR, 'sandpiper.yaml'), path.join(dir, 'sandpiper.yaml'));
  fs.mkdirSync(path.join(dir, 'k8s'));
  for (const f of fs.readdirSync(path.join(GATEWAY_DIR, 'k8s'))) {
    const docs = docsOf(path.join(GATEWAY_DIR, 'k8s', f)).map((o) => {
      if (o.kind === 'Middleware') {
        const fa = o.spec.forwardAuth as { address: string };
        fa.address = fa.address.replace('.staging.svc.', `.${namespace}.svc.`);
      }
      if (o.kind === 'HTTPRoute') o.spec.hostnames = [hostname];
      return stringify(o);
    });
    fs.writeFileSync(path.join(dir, 'k8s', f), docs.join('---\n'));
  }
  return dir;
}

describe('Todo example: the gateway (Traefik ForwardAuth to the auth service at the edge)', function () {
  this.timeout(180_000);
  let ns: { name: string; dispose(): Promise<void> };
  let host: string;
  let folder: string;
  const password = `pw-${Math.random().toString(36).slice(2, 14)}`;

  /** One GET through the Gateway's listener with this namespace's Host. */
  function get(urlPath: string, headers: Record<string, string> = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const { port } = requireRealNode().gateway;
      const opts = { host: '127.0.0.1', port, path: urlPath, agent: false, headers: { host, ...headers } };
      const req = http.get(opts, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      });
      req.setTimeout(10_000, () => req.destroy(new Error(`GET ${urlPath}: timeout`)));
      req.on('error', reject);
    });
  }

  const basic = (user: string, pw: string) => ({
    authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`,
  });

  const echoOf = (r: Reply): Echo => {
    assert.equal(r.status, 200, `expected the backend's answer, got ${r.status}: ${r.body}`);
    return JSON.parse(r.body) as Echo;
  };

  before(async function () {
    // Cold: the example's npm ci and bundles, two image builds, four pods on 2 shared cores.
    this.timeout(10 * 60_000);
    const rn = requireRealNode();
    ns = await createNamespace('todo-gateway');
    host = `todo.${ns.name}.gateway.test`;
    await coreApi().createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name: 'todo-users' }, stringData: { users: `${USER}:${password}\n` } },
    });
    const [authImage, echoImage] = await Promise.all([
      exampleServiceImage('auth'),
      pushedImage(contextOf(ECHO), 'sandpiper-test/echo'),
    ]);
    const auth = await sandpiper(
      ['deploy', '-n', ns.name, '-s', 'auth', '--image', authImage],
      path.join(EXAMPLE_DIR, 'auth'),
    );
    assert.equal(auth.code, 0, `sandpiper deploy (auth) failed:\n${auth.stdout}\n${auth.stderr}`);
    await Promise.all(['tasks', 'search'].map((name) => deployApp(ns.name, name, echoImage, { env: { NAME: name } })));
    // The cluster's side: the example's Gateway with the testbed's listener port.
    const [gateway] = docsOf(path.join(GATEWAY_DIR, 'gateway.yaml'));
    (gateway.spec.listeners as Array<{ port: number }>)[0].port = rn.gateway.port;
    await customApi().createNamespacedCustomObject({
      group: 'gateway.networking.k8s.io',
      version: 'v1',
      plural: 'gateways',
      namespace: ns.name,
      body: gateway,
    });
    folder = gatewayFolderFor(ns.name, host);
    const gw = await sandpiper(['deploy', '-n', ns.name], folder);
    assert.equal(gw.code, 0, `sandpiper deploy (gateway) failed:\n${gw.stdout}\n${gw.stderr}`);
    // Traefik applies a new route within a second or two; until then the Host matches nothing (404).
    await eventually(`the gateway answering for ${host}`, async () => (await get('/tasks')).status !== 404, 30_000);
  });

  after(async () => {
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
    await ns?.dispose();
  });

  it('answers 401 with the Basic challenge without credentials, on every rule, and never reaches a backend', async () => {
    for (const p of ['/tasks', '/search?q=milk', '/']) {
      const r = await get(p);
      assert.equal(r.status, 401, `${p}: ${r.status} ${r.body}`);
      assert.equal(r.headers['www-authenticate'], 'Basic realm="todo"', p);
      assert.doesNotMatch(r.body, /"service"/, `${p} reached a backend: ${r.body}`);
    }
  });

  it('answers 401 to a wrong password and to an unknown user', async () => {
    for (const creds of [basic(USER, `${password}x`), basic('mallory', password), basic(USER, '')]) {
      const r = await get('/tasks', creds);
      assert.equal(r.status, 401, `${creds.authorization}: ${r.status} ${r.body}`);
      assert.doesNotMatch(r.body, /"service"/);
    }
  });

  it('passes the right credentials on with X-Auth-User from auth, each rule to its backend', async () => {
    const tasks = echoOf(await get('/tasks/7', basic(USER, password)));
    assert.deepEqual([tasks.service, tasks.path, tasks.headers['x-auth-user']], ['tasks', '/tasks/7', USER]);
    const search = echoOf(await get('/search?q=milk', basic(USER, password)));
    assert.deepEqual([search.service, search.path, search.headers['x-auth-user']], ['search', '/search?q=milk', USER]);
    const page = echoOf(await get('/', basic(USER, password)));
    assert.deepEqual([page.service, page.headers['x-auth-user']], ['tasks', USER]);
  });

  it("replaces a client's own X-Auth-User and drops headers that alias it", async () => {
    const r = echoOf(await get('/tasks', { ...basic(USER, password), 'x-auth-user': 'mallory', x_auth_user: 'eve' }));
    assert.equal(r.headers['x-auth-user'], USER);
    assert.equal(r.headers.x_auth_user, undefined, JSON.stringify(r.headers));
  });

  it("exports the route's answers in Traefik's metrics, scraped by Prometheus (job traefik)", async () => {
    assert.equal((await get('/tasks')).status, 401);
    assert.equal((await get('/tasks', basic(USER, password))).status, 200);
    const prom = new PrometheusClient(loadTestbed().prometheusUrl);
    // Router names: httproute-<namespace>-<route>-gw-<namespace>-<gateway>-ep-<entrypoint>-<rule>-<hash>.
    const router = `httproute-${ns.name}-todo-gw-${ns.name}-todo-ep-web-.*`;
    for (const code of ['200', '401']) {
      const query = `sum(traefik_router_requests_total{job="traefik",router=~"${router}",code="${code}"})`;
      await eventually(`Prometheus: ${query} >= 1`, async () => ((await prom.scalar(query)) ?? 0) >= 1, 30_000, 500);
    }
  });
});
