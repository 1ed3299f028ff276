// The whole Todo example on the testbed's real node, deployed the way npm start deploys it (deployTodo: npm ci,
// the bundles, the Secrets, `sandpiper deploy` of db, search, auth, tasks and gateway), into a namespace of its own
// behind a hostname of its own, and used through the real gateway (Traefik with the auth service at the edge).
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { deployTodo, type TodoStack } from '../../../scripts/todo.mjs';
import { PrometheusClient } from '../../../src/core/infra/prometheus';
import { isPodReady } from '../../../src/core/infra/kube/pods';
import { podsOf, readyPods, requireRealNode } from '../../support/realPods';
import { coreApi, createNamespace, loadTestbed, testbedEnv } from '../../support/testbed';
import { eventually } from '../../support/wait';

interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

describe('Todo example: the whole stack through the gateway', function () {
  this.timeout(120_000);
  let ns: { name: string; dispose(): Promise<void> } | undefined;
  let stack: TodoStack;
  const deployLog: string[] = [];
  // A word no other run's task holds, so search and the logs can only find this run's task.
  const word = `pelican${Math.random().toString(36).slice(2, 8)}`;
  const title = `Feed the ${word} at noon`;
  let taskId: number;

  /** One request through the gateway with this namespace's Host; `auth: false` sends no credentials. */
  function call(method: string, path: string, o: { body?: unknown; auth?: boolean } = {}): Promise<Reply> {
    const { gatewayUrl, hostname, user, password } = stack;
    const headers: http.OutgoingHttpHeaders = { host: hostname };
    if (o.auth !== false) headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
    if (payload) headers['content-type'] = 'application/json';
    return new Promise((resolve, reject) => {
      const req = http.request(new URL(path, gatewayUrl), { method, headers, agent: false, timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  const tasksPod = async () => {
    const pods = await readyPods(ns!.name, 'app=tasks', 1);
    return pods[0].metadata!.name!;
  };

  before(async function () {
    // Cold: npm ci, five image builds and a database's first start on 2 shared cores.
    this.timeout(15 * 60_000);
    requireRealNode();
    ns = await createNamespace('todo-stack');
    try {
      stack = await deployTodo({
        namespace: ns.name,
        env: testbedEnv(),
        hostname: `todo.${ns.name}.stack.test`,
        log: (line) => deployLog.push(line),
      });
    } catch (err) {
      console.log(deployLog.join('\n'));
      throw err;
    }
    assert.ok(stack.gatewayUrl, 'deployTodo returned no gateway URL');
  });

  after(async () => {
    await ns?.dispose();
  });

  it('asks for credentials at the edge: 401 without them (with a Basic challenge), 200 with them', async () => {
    const anonymous = await call('GET', '/tasks', { auth: false });
    assert.equal(anonymous.status, 401, anonymous.body);
    assert.match(String(anonymous.headers['www-authenticate']), /^Basic realm="todo"/);
    const search = await call('GET', '/search?q=x', { auth: false });
    assert.equal(search.status, 401, 'search is behind the auth check too');
    const signedIn = await call('GET', '/tasks');
    assert.equal(signedIn.status, 200, signedIn.body);
    assert.ok(Array.isArray(JSON.parse(signedIn.body)), signedIn.body);
  });

  it('creates a task with POST /tasks and lists it with GET /tasks', async () => {
    const created = await call('POST', '/tasks', { body: { title } });
    assert.equal(created.status, 201, created.body);
    const task = JSON.parse(created.body) as { id: number; title: string; done: boolean };
    assert.equal(task.title, title);
    assert.equal(task.done, false);
    taskId = task.id;
    const list = await call('GET', '/tasks');
    assert.equal(list.status, 200, list.body);
    assert.deepEqual(
      (JSON.parse(list.body) as Array<{ id: number }>).filter((t) => t.id === taskId),
      [{ id: taskId, title, done: false }],
    );
  });

  it('search finds the task by a word of its title (GET /search?q= through the gateway)', async () => {
    // tasks indexes after answering: the index catches up within moments.
    const found = await eventually(
      `search to find "${word}"`,
      async () => {
        const r = await call('GET', `/search?q=${encodeURIComponent(word.toUpperCase())}`);
        const hits = r.status === 200 ? (JSON.parse(r.body) as Array<{ id: number }>) : [];
        return hits.some((t) => t.id === taskId) && hits;
      },
      30_000,
    );
    assert.deepEqual(found, [{ id: taskId, title, done: false }]);
    const none = await call('GET', `/search?q=${encodeURIComponent(`${word} nowhere`)}`);
    assert.equal(none.status, 200, none.body);
    assert.deepEqual(JSON.parse(none.body), [], 'every word must match');
  });

  it("logs the request line in the tasks pod's logs", async () => {
    const pod = await tasksPod();
    const text = await eventually(
      'the POST /tasks line in the tasks log',
      async () => {
        const log = await coreApi().readNamespacedPodLog({ namespace: ns!.name, name: pod, container: 'tasks' });
        return /tasks POST \/tasks 201 [0-9.]+ms/.test(log) && log;
      },
      20_000,
    );
    assert.match(text, /tasks GET \/tasks 200 [0-9.]+ms/);
  });

  it("has Prometheus series of tasks, search and auth in the namespace, and Traefik's own", async () => {
    const prometheus = new PrometheusClient(loadTestbed().prometheusUrl);
    for (const service of ['tasks', 'search', 'auth']) {
      const selector = `http_requests_total{namespace="${ns!.name}",service="${service}"}`;
      const total = await eventually(
        `${selector} in Prometheus`,
        async () => (await prometheus.scalar(`sum(${selector})`)) || undefined,
        60_000,
        1000,
      );
      assert.ok(total >= 1, `${selector} = ${total}`);
    }
    // Traefik's own series name the Kubernetes services it sent this namespace's requests to.
    const traefik = `traefik_service_requests_total{service=~".*-svc-${ns!.name}-tasks-.*"}`;
    const routed = await eventually(
      `${traefik} in Prometheus`,
      async () => (await prometheus.scalar(`sum(${traefik})`)) || undefined,
      60_000,
      1000,
    );
    assert.ok(routed >= 1, `${traefik} = ${routed}`);
  });

  it('keeps the task in PostgreSQL: after the tasks pod is deleted, the new pod still lists it', async () => {
    const old = await tasksPod();
    await coreApi().deleteNamespacedPod({ namespace: ns!.name, name: old, gracePeriodSeconds: 0 });
    await eventually(
      'a new Ready tasks pod',
      async () => (await podsOf(ns!.name, 'app=tasks')).some((p) => p.metadata!.name !== old && isPodReady(p)),
      90_000,
      500,
    );
    const list = await eventually(
      'GET /tasks through the gateway from the new pod',
      async () => {
        const r = await call('GET', '/tasks');
        return r.status === 200 && (JSON.parse(r.body) as Array<{ id: number; title: string }>);
      },
      30_000,
    );
    assert.ok(
      list.some((t) => t.id === taskId && t.title === title),
      `the new pod lists ${JSON.stringify(list)}`,
    );
  });
});
