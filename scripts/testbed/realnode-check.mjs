#!/usr/bin/env node
// Self-check of the real node (the testbed's default); test/integration/testbed/realNode.test.ts proves the same in npm test.
// Proves: the node is Ready; an image built with dockerode on the testbed's dockerd and pushed to the testbed registry
// runs there (imagePullPolicy Always) and answers HTTP through a Service (from a pod, by DNS name) and through the
// Gateway; an 80/20 HTTPRoute splits 1,000 requests within ±5 points; the routing/NAT/DNS configuration keeps every
// packet on this machine. It connects only to loopback, the bridge address and pods.
import Docker from 'dockerode';
import { pack } from 'tar-stream';
import http from 'node:http';
import path from 'node:path';
import { TESTBED_JSON, readJson, sh, waitFor } from './lib.mjs';
import { corednsBin } from './realnode/build.mjs';
import { NODE_NAME } from './realnode/config.mjs';
import { realNodeDirs } from './realnode/node.mjs';
import { checkNetworkRule } from './realnode/netcheck.mjs';

const NS = 'sp-realnode-check';
const REQUESTS = 1000;
const WEIGHTS = { v1: 80, v2: 20 };

const info = readJson(TESTBED_JSON);
if (!info?.realNode) {
  console.error(
    '[realnode-check] no real node in testbed.json (brought up with --no-real-node?): run `testbed.mjs down`, then `up`',
  );
  process.exit(2);
}
const kubectl = (args, opts = {}) =>
  sh(path.join(info.binDir, 'kubectl'), ['--kubeconfig', info.kubeconfig, ...args], opts);
const t0 = Date.now();
const secs = (from) => ((Date.now() - from) / 1000).toFixed(2);
const results = [];
function check(name, ok, detail = '') {
  results.push({ name, ok, detail });
  console.log(`[realnode-check] ${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ' — ' + detail : ''}`);
}

async function buildAndPush() {
  const docker = new Docker({ socketPath: info.dockerSocket });
  const ref = `${info.registry}/sandpiper-check/web:${Date.now().toString(36)}`;
  const ctx = pack();
  ctx.entry(
    { name: 'Dockerfile' },
    'FROM sandpiper/busybox:latest\nCOPY serve.sh /serve.sh\nCMD ["sh", "/serve.sh"]\n',
  );
  // httpd as a child so the shell's TERM trap ends the pod at once (busybox httpd as PID 1 ignores SIGTERM).
  ctx.entry(
    { name: 'serve.sh' },
    'mkdir -p /www && echo "$VERSION" > /www/index.html\n' + "trap 'exit 0' TERM\nhttpd -f -p 8080 -h /www &\nwait\n",
  );
  ctx.finalize();
  const follow = (stream) =>
    new Promise((resolve, reject) =>
      docker.modem.followProgress(stream, (err, out) => {
        const bad = err || out.find((e) => e.error);
        if (bad) reject(new Error(bad.error || bad.message || String(bad)));
        else resolve(out);
      }),
    );
  await follow(await docker.buildImage(ctx, { t: ref }));
  await follow(await docker.getImage(ref).push({ authconfig: {} })); // the registry has no auth; the header must still be sent
  return ref;
}

function manifests(image, gatewayPort) {
  const meta = (name, labels) => ({ name, namespace: NS, ...(labels ? { labels } : {}) });
  const web = (v) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(`web-${v}`),
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web', version: v } },
      template: {
        metadata: { labels: { app: 'web', version: v } },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: 'web',
              image,
              imagePullPolicy: 'Always',
              env: [{ name: 'VERSION', value: v }],
              ports: [{ containerPort: 8080, name: 'http' }],
              readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  });
  const svc = (name, selector) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(name),
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  const route = (name, hostname, rules) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: meta(name),
    spec: { parentRefs: [{ name: 'gw' }], hostnames: [hostname], rules },
  });
  const backend = (v, weight) => ({ name: `web-${v}`, port: 80, ...(weight === undefined ? {} : { weight }) });
  return [
    web('v1'),
    web('v2'),
    svc('web-v1', { app: 'web', version: 'v1' }),
    svc('web-v2', { app: 'web', version: 'v2' }),
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: meta('client'),
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'sh',
            image: 'sandpiper/busybox:latest',
            imagePullPolicy: 'IfNotPresent',
            command: ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 1; done"],
          },
        ],
      },
    },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: meta('gw'),
      spec: {
        gatewayClassName: info.realNode.gateway.className,
        listeners: [
          { name: 'http', protocol: 'HTTP', port: gatewayPort, allowedRoutes: { namespaces: { from: 'Same' } } },
        ],
      },
    },
    route('split', 'split.check.local', [{ backendRefs: [backend('v1', WEIGHTS.v1), backend('v2', WEIGHTS.v2)] }]),
    route('header', 'header.check.local', [
      { matches: [{ headers: [{ name: 'x-sandpiper-route', value: 'alice' }] }], backendRefs: [backend('v2')] },
      { backendRefs: [backend('v1')] },
    ]),
  ];
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
function get(host, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: info.realNode.gateway.port,
        path: '/',
        agent,
        headers: { host, ...headers },
        timeout: 5000,
      },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode, body: body.trim() }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function splitCounts(n) {
  const counts = {};
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const r = await get('split.check.local');
      const k = r.status === 200 ? r.body : `HTTP ${r.status}`;
      counts[k] = (counts[k] || 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return counts;
}

async function main() {
  console.log(
    `[realnode-check] testbed ${info.state}, node ${info.realNode.node}, gateway ${info.realNode.gateway.url}`,
  );
  const ready = kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], {
    check: false,
  }).stdout;
  check(`node ${NODE_NAME} Ready`, ready.trim() === 'True');
  kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true', '--timeout=60s'], { check: false });

  let t = Date.now();
  const image = await buildAndPush();
  check('image built with dockerode and pushed to the testbed registry', true, `${image} in ${secs(t)}s`);

  t = Date.now();
  kubectl(['create', 'namespace', NS]);
  kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests(image, info.realNode.gateway.port) }),
  });
  kubectl(['-n', NS, 'wait', '--for=condition=Ready', 'pod', '--all', '--timeout=120s']);
  const pods = JSON.parse(kubectl(['-n', NS, 'get', 'pods', '-o', 'json']).stdout).items;
  const onNode = pods.every((p) => p.spec.nodeName === NODE_NAME);
  check(
    'pods Ready on the real node (web image pulled with imagePullPolicy Always)',
    onNode,
    `${pods.length} pods Ready ${secs(t)}s after apply; nodes: ${[...new Set(pods.map((p) => p.spec.nodeName))].join(',')}`,
  );

  const inPod = (cmd) => kubectl(['-n', NS, 'exec', 'client', '--', 'sh', '-c', cmd], { check: false });
  t = Date.now();
  const short = inPod('timeout 5 wget -qO- http://web-v1/').stdout.trim();
  const fqdn = inPod(`timeout 5 wget -qO- http://web-v2.${NS}.svc.cluster.local/`).stdout.trim();
  check(
    'Service answers from a pod by DNS name',
    short === 'v1' && fqdn === 'v2',
    `web-v1 → ${JSON.stringify(short)}, web-v2.${NS}.svc.cluster.local → ${JSON.stringify(fqdn)} (${secs(t)}s)`,
  );

  // The loopback-only Prometheus and API server, through the pod-access forwarders on the bridge address.
  const access = info.realNode.podAccess;
  if (access) {
    t = Date.now();
    const prom = inPod(`timeout 5 wget -qO- ${access.prometheusUrl}/-/ready 2>&1`).stdout.trim();
    const api = new URL(access.apiServer);
    // Plain HTTP to the TLS port: the API server's Go TLS stack answers it in clear text (busybox has no TLS client);
    // busybox nc stops reading at its stdin's end, hence the sleep.
    const said = inPod(
      `(printf 'GET / HTTP/1.0\\r\\n\\r\\n'; sleep 2) | timeout 5 nc ${api.hostname} ${api.port} 2>&1`,
    ).stdout;
    check(
      'pods reach Prometheus and the API server through the bridge-address forwarders',
      /ready/i.test(prom) && /HTTPS server/.test(said),
      `${access.prometheusUrl}/-/ready → ${JSON.stringify(prom.slice(0, 60))}, ${access.apiServer} → ` +
        `${JSON.stringify(said.trim().split('\n').pop()?.slice(0, 60))} (${secs(t)}s)`,
    );
  } else check('pod access forwarders recorded in testbed.json (realNode.podAccess)', false);

  t = Date.now();
  kubectl(['-n', NS, 'wait', '--for=condition=Programmed', 'gateway/gw', '--timeout=60s']);
  // Converged when both backends answer and 20 requests in a row succeed (Traefik applies EndpointSlices throttled).
  await waitFor(
    'the split route to serve both backends',
    async () => {
      const seen = new Set();
      for (let i = 0; i < 20; i++) {
        const r = await get('split.check.local').catch(() => ({}));
        if (r.status !== 200) return false;
        seen.add(r.body);
      }
      return seen.has('v1') && seen.has('v2');
    },
    60000,
    200,
  );
  await waitFor(
    'the header route to serve',
    async () => (await get('header.check.local', { 'x-sandpiper-route': 'alice' }).catch(() => ({}))).body === 'v2',
    60000,
    200,
  );
  check('Gateway Programmed and routes serving', true, `${secs(t)}s`);

  t = Date.now();
  const counts = await splitCounts(REQUESTS);
  const v1Share = (100 * (counts.v1 || 0)) / REQUESTS;
  check(
    `80/20 HTTPRoute splits ${REQUESTS} requests within ±5 points`,
    Math.abs(v1Share - WEIGHTS.v1) <= 5 && (counts.v1 || 0) + (counts.v2 || 0) === REQUESTS,
    `${JSON.stringify(counts)} in ${secs(t)}s`,
  );
  const alice = await get('header.check.local', { 'x-sandpiper-route': 'alice' });
  const other = await get('header.check.local');
  check(
    'header match routes x-sandpiper-route: alice to v2, others to v1',
    alice.body === 'v2' && other.body === 'v1',
    `${alice.body}/${other.body}`,
  );

  for (const r of await checkNetworkRule({
    inPod,
    dirs: realNodeDirs(info.state),
    corednsBin: corednsBin(),
    pids: info.realNode.pids,
    ns: NS,
  })) {
    check(r.name, r.ok, r.detail);
  }

  t = Date.now();
  kubectl(['delete', 'namespace', NS, '--wait=true', '--timeout=90s'], { check: false });
  check('check namespace deleted (pods terminated on the node)', true, `${secs(t)}s`);
  agent.destroy();
}

main()
  .catch((e) => check('self-check ran to the end', false, e.message))
  .finally(async () => {
    const failed = results.filter((r) => !r.ok);
    console.log(`[realnode-check] ${results.length - failed.length}/${results.length} passed in ${secs(t0)}s`);
    process.exitCode = failed.length ? 1 : 0;
  });
