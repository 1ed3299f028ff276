// The testbed's real node (issue 13): pods run real containers; an image built with dockerode and pushed to the
// testbed registry answers HTTP through a Service (by DNS name, from a pod) and through the Gateway (Traefik), whose
// HTTPRoute weights and header matches are honoured, counted over real responses; and the routing/NAT/DNS
// configuration keeps every packet on this machine (checked from configuration: no outside connection is made).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { checkTestbedNetworkRule, listeners, localAddress } from '../../../scripts/testbed/realnode/netcheck.mjs';
import { contextOf, pushedImage } from '../../support/images';
import { deployApp, requireRealNode } from '../../support/realPods';
import { coreApi, createNamespace, customApi, loadTestbed } from '../../support/testbed';
import { eventually } from '../../support/wait';

const GW = { group: 'gateway.networking.k8s.io', version: 'v1' };
const REQUESTS = 1000;
const WEIGHTS = { v1: 80, v2: 20 };

/** A busybox httpd answering its VERSION; the shell's TERM trap ends the pod at once (httpd as PID 1 ignores it). */
const WEB_CONTEXT = {
  Dockerfile: 'FROM sandpiper/busybox:latest\nCOPY serve.sh /serve.sh\nCMD ["sh", "/serve.sh"]\n',
  'serve.sh':
    'mkdir -p /www && echo "$VERSION" > /www/index.html\ntrap \'exit 0\' TERM\nhttpd -f -p 8080 -h /www &\nwait\n',
};

describe('testbed: the real node', function () {
  this.timeout(180_000);
  const tb = loadTestbed();
  let ns: { name: string; dispose(): Promise<void> };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

  /** Runs a shell command in the client pod (synchronously: netcheck's probes are synchronous). */
  const inPod = (cmd: string): { stdout: string; status: number | null } => {
    const r = spawnSync(
      path.join(tb.binDir, 'kubectl'),
      ['--kubeconfig', tb.kubeconfig, '-n', ns.name, 'exec', 'client', '--', 'sh', '-c', cmd],
      { encoding: 'utf8', timeout: 20_000 },
    );
    return { stdout: r.stdout ?? '', status: r.status };
  };

  /** One GET through the Gateway's listener with the given Host header. */
  const viaGateway = (host: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: requireRealNode().gateway.port, path: '/', agent, headers: { host, ...headers } },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
        },
      );
      req.setTimeout(5000, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });

  before(async function () {
    const rn = requireRealNode();
    ns = await createNamespace('realnode');
    const image = await pushedImage(contextOf(WEB_CONTEXT), 'sandpiper-test/realnode-web');
    const common = { readinessPath: '/', labels: { 'sandpiper.dev/part-of': 'web' } };
    await Promise.all([
      deployApp(ns.name, 'web-v1', image, { ...common, env: { VERSION: 'v1' } }),
      deployApp(ns.name, 'web-v2', image, { ...common, env: { VERSION: 'v2' } }),
    ]);
    const core = coreApi();
    await core.createNamespacedService({
      namespace: ns.name,
      body: {
        metadata: { name: 'web' },
        spec: { selector: { 'sandpiper.dev/part-of': 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: 'client' },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'sh',
              image: 'sandpiper/busybox:latest',
              command: ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 1; done"],
            },
          ],
        },
      },
    });
    const custom = customApi();
    const create = (plural: string, body: object): Promise<unknown> =>
      custom.createNamespacedCustomObject({ ...GW, namespace: ns.name, plural, body });
    await create('gateways', {
      apiVersion: `${GW.group}/${GW.version}`,
      kind: 'Gateway',
      metadata: { name: 'gw' },
      spec: {
        gatewayClassName: rn.gateway.className,
        listeners: [
          { name: 'http', protocol: 'HTTP', port: rn.gateway.port, allowedRoutes: { namespaces: { from: 'Same' } } },
        ],
      },
    });
    const route = (name: string, hostname: string, rules: object[]): Promise<unknown> =>
      create('httproutes', {
        apiVersion: `${GW.group}/${GW.version}`,
        kind: 'HTTPRoute',
        metadata: { name },
        spec: { parentRefs: [{ name: 'gw' }], hostnames: [hostname], rules },
      });
    const backend = (v: 'v1' | 'v2', weight?: number): object => ({
      name: `web-${v}`,
      port: 80,
      ...(weight === undefined ? {} : { weight }),
    });
    await route('split', 'split.realnode.test', [
      { backendRefs: [backend('v1', WEIGHTS.v1), backend('v2', WEIGHTS.v2)] },
    ]);
    await route('header', 'header.realnode.test', [
      { matches: [{ headers: [{ name: 'x-sandpiper-route', value: 'alice' }] }], backendRefs: [backend('v2')] },
      { backendRefs: [backend('v1')] },
    ]);
    await eventually(
      'the client pod Running',
      async () => (await core.readNamespacedPod({ name: 'client', namespace: ns.name })).status?.phase === 'Running',
      90_000,
      250,
    );
  });

  after(async () => {
    agent.destroy();
    await ns?.dispose();
  });

  it('has the node Ready and schedules ordinary pods there, not on the KWOK nodes', async () => {
    const rn = requireRealNode();
    const node = await coreApi().readNode({ name: rn.node });
    assert.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    const pods = await coreApi().listNamespacedPod({ namespace: ns.name });
    assert.deepEqual([...new Set(pods.items.map((p) => p.spec?.nodeName))], [rn.node]);
  });

  it('serves the pushed image through a Service, from a pod, by DNS name', async () => {
    const seen = await eventually(
      'http://web from the client pod',
      () => {
        const out = inPod('timeout 5 wget -qO- http://web/').stdout.trim();
        return ['v1', 'v2'].includes(out) ? out : false;
      },
      30_000,
      250,
    );
    assert.ok(['v1', 'v2'].includes(seen));
    assert.equal(inPod('timeout 5 wget -qO- http://web-v1/').stdout.trim(), 'v1');
    assert.equal(inPod(`timeout 5 wget -qO- http://web-v2.${ns.name}.svc.cluster.local/`).stdout.trim(), 'v2');
  });

  it('splits 1,000 requests 80/20 through the Gateway (counted) and routes by header', async () => {
    // Converged when both backends answer 20 requests in a row (Traefik applies EndpointSlices throttled).
    await eventually(
      'the split route serving both backends',
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 20; i++) {
          const r = await viaGateway('split.realnode.test');
          if (r.status !== 200) return false;
          seen.add(r.body);
        }
        return seen.has('v1') && seen.has('v2');
      },
      90_000,
      250,
    );
    const counts: Record<string, number> = {};
    let sent = 0;
    const worker = async (): Promise<void> => {
      while (sent < REQUESTS) {
        sent++;
        const r = await viaGateway('split.realnode.test');
        const key = r.status === 200 ? r.body : `HTTP ${r.status}`;
        counts[key] = (counts[key] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    assert.equal((counts.v1 ?? 0) + (counts.v2 ?? 0), REQUESTS, JSON.stringify(counts));
    const v1Share = (100 * counts.v1!) / REQUESTS;
    assert.ok(Math.abs(v1Share - WEIGHTS.v1) <= 5, `v1 got ${v1Share}% of ${REQUESTS}: ${JSON.stringify(counts)}`);

    await eventually(
      'the header route serving',
      async () => (await viaGateway('header.realnode.test', { 'x-sandpiper-route': 'alice' })).body === 'v2',
      60_000,
      250,
    );
    for (let i = 0; i < 10; i++) {
      assert.equal((await viaGateway('header.realnode.test', { 'x-sandpiper-route': 'alice' })).body, 'v2');
      assert.equal((await viaGateway('header.realnode.test', { 'x-sandpiper-route': 'bob' })).body, 'v1');
      assert.equal((await viaGateway('header.realnode.test')).body, 'v1');
    }
  });

  it('keeps pod and Service traffic on this machine (routes, NAT, egress guard, DNS without forward)', async () => {
    const checks = await checkTestbedNetworkRule(tb, { ns: ns.name, inPod, knownService: 'web' });
    assert.ok(checks.length >= 9, `only ${checks.length} checks ran`);
    const failed = checks.filter((c) => !c.ok);
    assert.deepEqual(
      failed.map((c) => `${c.name}: ${c.detail}`),
      [],
    );
  });

  it("binds every host listener of ours to loopback or the bridge (Argo's two hard-coded ports excepted)", () => {
    const pids = [...Object.values(tb.pids), ...Object.values(tb.realNode?.pids ?? {})].filter(
      (p): p is number => typeof p === 'number',
    );
    const socks = listeners(pids);
    assert.ok(socks.length >= 10, `only ${socks.length} listening sockets found for pids ${pids.join(',')}`);
    // The Argo Rollouts controller hard-codes 0.0.0.0 for its metrics and healthz listeners (README, "Caveat").
    const argo = tb.pids['rollouts-controller'];
    const argoPorts = [tb.ports.argoMetrics, tb.ports.argoHealthz].map(String);
    const wide = socks.filter(
      (s) => !localAddress(s.addr) && !(s.pid === argo && argoPorts.includes(s.addr.split(':').pop()!)),
    );
    assert.deepEqual(
      wide.map((s) => `${s.proc}(${s.pid}) ${s.addr}`),
      [],
    );
  });
});
