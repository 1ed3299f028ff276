// The real node's runtime: bridge + egress guard, a second containerd, CoreDNS, kubelet, kube-proxy, Traefik.
// Order (TESTBED.md, "A real node"): the bridge before CoreDNS and kubelet (both use its address), the egress guard
// before kube-proxy (its DNAT could otherwise send packets off the machine), Traefik after the Gateway API CRDs.
// Teardown and the host snapshot it restores are in ./teardown.mjs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  REALNODE_VERSIONS as RV,
  componentFailure,
  daemonAlive,
  daemonLogFile,
  httpOk,
  mkdirp,
  pidAlive,
  readPid,
  sh,
  startDaemon,
  stopPid,
  waitForDaemon,
  which,
} from '../lib.mjs';
import { moduleDir } from '../build.mjs';
import { NODE_BINS, corednsBin, kubeNodeBinDir, traefikBin } from './build.mjs';
import {
  BRIDGE,
  BRIDGE_IP,
  EGRESS_GUARD,
  GATEWAY_CLASS,
  NODE_NAME,
  POD_CIDR,
  SERVICE_CIDR,
  REDIRECTED_REGISTRIES,
  cniConflist,
  containerdToml,
  corefile,
  guardRules,
  kubeProxyYaml,
  kubeletYaml,
  registryHostsToml,
  resolvConf,
  traefikYaml,
} from './config.mjs';
import { recordHost } from './teardown.mjs';

const HERE = path.dirname(new URL(import.meta.url).pathname);

/**
 * Ports of the real node's listeners, allocated once into ports.json: all on 127.0.0.1 but the pod-access
 * forwarders (podApiServer, podPrometheus), which listen on the bridge address.
 */
export const REALNODE_PORTS = [
  'kubelet',
  'kubeletHealthz',
  'kubeProxyHealthz',
  'kubeProxyMetrics',
  'corednsHealth',
  'corednsReady',
  'gateway',
  'traefikPing',
  'traefikMetrics',
  'podApiServer',
  'podPrometheus',
];

/** The API server's certificate names `localhost` (not the bridge address): in-pod clients send it as TLS server name. */
export const POD_API_SERVER_NAME = 'localhost';
const POD_ACCESS = 'pod-access';

/** Every path of the real node under the testbed state dir. */
export function realNodeDirs(state) {
  const root = path.join(state, 'realnode');
  const run = path.join(root, 'run');
  return {
    root,
    run,
    config: path.join(root, 'config'),
    cniConfDir: path.join(root, 'config', 'net.d'),
    registryHostsDir: path.join(root, 'config', 'registry-hosts'),
    cniIpamDir: path.join(run, 'cni-ipam'),
    containerdRoot: path.join(run, 'containerd', 'root'),
    containerdState: path.join(run, 'containerd', 'state'),
    containerdSock: path.join(run, 'containerd', 'containerd.sock'),
    runcRoot: path.join(run, 'runc'),
    kubeletRoot: path.join(run, 'kubelet'),
    podLogsDir: path.join(run, 'pods-logs'),
    resolvConf: path.join(root, 'config', 'resolv.conf'),
    traefikDir: path.join(root, 'traefik'),
    hostBefore: path.join(root, 'host-before.json'),
  };
}

export function ctr(d, args, opts = {}) {
  return sh(which('ctr') || 'ctr', ['-a', d.containerdSock, '-n', 'k8s.io', ...args], opts);
}

function writeConfigs(d, ctx) {
  const vars = { ...d, ports: ctx.ports, kubeconfig: ctx.kubeconfig, registry: ctx.registry, pauseVersion: RV.pause };
  mkdirp(d.cniConfDir);
  mkdirp(d.traefikDir);
  mkdirp(d.podLogsDir);
  const files = {
    [path.join(d.config, 'containerd.toml')]: containerdToml(vars),
    [path.join(d.cniConfDir, '10-sandpiper.conflist')]: cniConflist(vars),
    [path.join(d.config, 'kubelet.yaml')]: kubeletYaml(vars),
    [path.join(d.config, 'kube-proxy.yaml')]: kubeProxyYaml(vars),
    [d.resolvConf]: resolvConf(),
    [path.join(d.config, 'Corefile')]: corefile(vars),
    [path.join(d.config, 'traefik.yaml')]: traefikYaml(vars),
  };
  for (const r of REDIRECTED_REGISTRIES)
    files[path.join(mkdirp(path.join(d.registryHostsDir, r)), 'hosts.toml')] = registryHostsToml(vars);
  // Only on change: kube-proxy exits when its config file is written, even with the same content.
  for (const [f, text] of Object.entries(files)) if (readText(f) !== text) fs.writeFileSync(f, text);
}

function readText(f) {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch {
    return null;
  }
}

/** A recorded process that runs but does not answer is stopped before a new one starts (never two of a kind). */
async function stopStale(name) {
  const pid = readPid(name);
  if (pid && pidAlive(pid) && !(await stopPid(pid, 15000)))
    throw new Error(`${name} (pid ${pid}) does not answer and did not stop`);
}

function linkExists(name) {
  return sh('ip', ['link', 'show', name], { check: false }).status === 0;
}

/** The bridge with the node address, the Service range routed to it, and the egress guard. */
function phaseNetwork() {
  const did = [];
  if (!linkExists(BRIDGE)) {
    sh('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    did.push(`bridge ${BRIDGE}`);
  }
  const addrs = sh('ip', ['-o', '-4', 'addr', 'show', 'dev', BRIDGE]).stdout;
  if (!addrs.includes(`${BRIDGE_IP}/24`)) sh('ip', ['addr', 'add', `${BRIDGE_IP}/24`, 'dev', BRIDGE]);
  sh('ip', ['link', 'set', BRIDGE, 'up']);
  // Without it a pod packet to an unused ClusterIP followed the default route out of the machine.
  sh('ip', ['route', 'replace', SERVICE_CIDR, 'dev', BRIDGE]);
  const ipt = (args, check) => sh('iptables', ['-w', '5', '-t', 'mangle', ...args], { check });
  if (ipt(['-S', EGRESS_GUARD], false).status !== 0) {
    ipt(['-N', EGRESS_GUARD]);
    for (const r of guardRules()) ipt(['-A', EGRESS_GUARD, ...r]);
    did.push('egress guard');
  }
  if (ipt(['-C', 'POSTROUTING', '-j', EGRESS_GUARD], false).status !== 0)
    ipt(['-I', 'POSTROUTING', '1', '-j', EGRESS_GUARD]);
  return did.length ? did.join(', ') : 'present';
}

async function phaseContainerd(d) {
  const ready = () => ctr(d, ['version'], { check: false, timeout: 5000 }).status === 0;
  if (daemonAlive('containerd', 'containerd.toml') && ready()) return 'already running';
  const old = readPid('containerd');
  if (old)
    throw componentFailure(
      'containerd',
      `pid ${old} is recorded but does not answer; run testbed down first`,
      daemonLogFile('containerd'),
    );
  mkdirp(path.dirname(d.containerdSock));
  startDaemon('containerd', which('containerd'), ['--config', path.join(d.config, 'containerd.toml')]);
  await waitForDaemon('containerd', d.containerdSock, ready, 30000, 100);
  return `started (pid ${readPid('containerd')})`;
}

/** The pause image (a static C program in a FROM scratch image) and the base images, from the testbed's dockerd. */
async function phaseImages(d, ctx) {
  const pause = `registry.k8s.io/pause:${RV.pause}`;
  if (ctx.docker(['image', 'inspect', pause], { check: false }).status !== 0) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-pause-'));
    try {
      sh('gcc', ['-static', '-O2', '-o', path.join(dir, 'pause'), path.join(HERE, 'pause.c')]);
      fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n');
      ctx.docker(['build', '-q', '-t', pause, dir]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  // Also in the testbed registry under their own names: docker.io and registry.k8s.io pulls are served from there.
  for (const ref of [pause, ...ctx.images]) {
    const local = `${ctx.registry}/${fullRef(ref).replace(/^[^/]+\//, '')}`;
    ctx.docker(['tag', ref, local]);
    ctx.docker(['push', '-q', local]);
  }
  const have = ctr(d, ['images', 'ls', '-q']).stdout.split('\n');
  const want = [pause, ...ctx.images].filter((ref) => !have.includes(fullRef(ref)));
  if (!want.length) return 'present';
  const tar = ctx.docker(['save', ...want], { encoding: 'buffer', maxBuffer: 1 << 30 }).stdout;
  const r = ctr(d, ['images', 'import', '-'], { input: tar, check: false });
  if (r.status !== 0)
    throw componentFailure('containerd', `ctr images import failed: ${r.stderr.trim()}`, daemonLogFile('containerd'));
  return `imported ${want.join(', ')}`;
}

/** docker.io/library/x:tag form, as containerd lists images. */
function fullRef(ref) {
  const first = ref.split('/')[0];
  if (ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return ref;
  return ref.includes('/') ? `docker.io/${ref}` : `docker.io/library/${ref}`;
}

async function phaseCoreDNS(d, ctx) {
  const url = `http://127.0.0.1:${ctx.ports.corednsReady}/ready`;
  if (daemonAlive('coredns', 'coredns') && (await httpOk(url))) return 'already running';
  await stopStale('coredns');
  startDaemon('coredns', corednsBin(), ['-conf', path.join(d.config, 'Corefile')], { cwd: d.config });
  await waitForDaemon('coredns', url, () => httpOk(url), 30000, 200);
  return `started on ${BRIDGE_IP}:53 (pid ${readPid('coredns')})`;
}

/** The forwarders' `listen=target` arguments: bridge address → the loopback-only API server and Prometheus. */
function podAccessForwards(ports) {
  return [
    `${BRIDGE_IP}:${ports.podApiServer}=127.0.0.1:${ports.kubeApiserver}`,
    `${BRIDGE_IP}:${ports.podPrometheus}=127.0.0.1:${ports.prometheus}`,
  ];
}

/** Both answer through their forwarders: the API server's /readyz over TLS as `localhost`, Prometheus' /-/ready. */
async function podAccessReady(ctx) {
  const { ports } = ctx;
  if (!(await httpOk(`http://${BRIDGE_IP}:${ports.podPrometheus}/-/ready`))) return false;
  const server = ['--server', `https://${BRIDGE_IP}:${ports.podApiServer}`, '--tls-server-name', POD_API_SERVER_NAME];
  const r = ctx.kubectl([...server, 'get', '--raw', '/readyz'], { check: false, timeout: 5000 });
  return r.status === 0 && r.stdout.trim() === 'ok';
}

/**
 * Pods reach the API server and Prometheus (both on 127.0.0.1 only) through forward.mjs on the bridge address.
 * Restarted when its ports changed (its command line names them).
 */
export async function phasePodAccess(ctx) {
  const args = podAccessForwards(ctx.ports);
  const pid = daemonAlive(POD_ACCESS, 'forward.mjs');
  const cmdline = pid ? fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '';
  if (pid && args.every((a) => cmdline.includes(a)) && (await podAccessReady(ctx))) return 'already running';
  if (pid && !(await stopPid(pid, 10000))) throw new Error(`${POD_ACCESS} (pid ${pid}) did not stop`);
  await stopStale(POD_ACCESS);
  startDaemon(POD_ACCESS, process.execPath, [path.join(HERE, 'forward.mjs'), ...args]);
  await waitForDaemon(POD_ACCESS, `${BRIDGE_IP} forwarders`, () => podAccessReady(ctx), 30000, 100);
  return `API server https://${BRIDGE_IP}:${ctx.ports.podApiServer} (TLS name ${POD_API_SERVER_NAME}), Prometheus http://${BRIDGE_IP}:${ctx.ports.podPrometheus} (pid ${readPid(POD_ACCESS)})`;
}

function nodeReady(ctx) {
  const r = ctx.kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], {
    check: false,
  });
  return r.status === 0 && r.stdout.trim() === 'True';
}

async function phaseKubelet(d, ctx) {
  const healthz = `http://127.0.0.1:${ctx.ports.kubeletHealthz}/healthz`;
  if (daemonAlive('kubelet', 'kubelet') && nodeReady(ctx)) return 'already running';
  await stopStale('kubelet');
  startDaemon('kubelet', path.join(kubeNodeBinDir(), 'kubelet'), [
    `--config=${path.join(d.config, 'kubelet.yaml')}`,
    `--kubeconfig=${ctx.kubeconfig}`,
    `--root-dir=${d.kubeletRoot}`,
    `--cert-dir=${path.join(d.kubeletRoot, 'pki')}`,
    `--hostname-override=${NODE_NAME}`,
    `--node-ip=${BRIDGE_IP}`,
    '--v=2',
  ]);
  const t0 = Date.now();
  await waitForDaemon('kubelet', healthz, () => httpOk(healthz), 60000, 200);
  await waitForDaemon('kubelet', `node ${NODE_NAME} Ready`, () => nodeReady(ctx), 60000, 200);
  return `node ${NODE_NAME} Ready ${((Date.now() - t0) / 1000).toFixed(1)}s after start (pid ${readPid('kubelet')})`;
}

async function phaseKubeProxy(d, ctx) {
  const healthz = `http://127.0.0.1:${ctx.ports.kubeProxyHealthz}/healthz`;
  if (daemonAlive('kube-proxy', 'kube-proxy') && (await httpOk(healthz))) return 'already running';
  await stopStale('kube-proxy');
  startDaemon('kube-proxy', path.join(kubeNodeBinDir(), 'kube-proxy'), [
    `--config=${path.join(d.config, 'kube-proxy.yaml')}`,
    '--v=2',
  ]);
  await waitForDaemon('kube-proxy', healthz, () => httpOk(healthz), 60000, 200);
  return `started, iptables mode (pid ${readPid('kube-proxy')})`;
}

/**
 * Traefik's CRDs (Middleware, IngressRoute, …) from its module, for the kubernetesCRD provider: an HTTPRoute's
 * ExtensionRef filter names a Middleware. Skipped when a marker says this version's CRDs are applied.
 */
function applyTraefikCrds(ctx) {
  const marker = `traefik-v${RV.traefik}`;
  const name = 'sandpiper-testbed-traefik-crds';
  const cm = ctx.kubectl(['get', 'configmap', '-n', 'kube-public', name, '-o', 'jsonpath={.data.version}'], {
    check: false,
  });
  if (cm.status === 0 && cm.stdout.trim() === marker) return;
  const dir = moduleDir(`github.com/traefik/traefik/v3@v${RV.traefik}`);
  const file = path.join(
    dir,
    'docs',
    'content',
    'reference',
    'dynamic-configuration',
    'kubernetes-crd-definition-v1.yml',
  );
  // Server-side: the Middleware CRD is too large for client-side apply's last-applied annotation.
  ctx.kubectl(['apply', '--server-side', '--force-conflicts', '-f', file]);
  ctx.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/middlewares.traefik.io']);
  const data = { version: marker };
  const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'kube-public' }, data };
  ctx.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
}

/**
 * Traefik runs in a mount namespace of its own whose /etc/resolv.conf is the pods' (CoreDNS on the bridge): a
 * ForwardAuth `address` such as http://auth.staging.svc.cluster.local/check then resolves as it would for a Traefik
 * pod, to the Service's ClusterIP, which the host reaches through kube-proxy's nat OUTPUT rules. The host's own
 * resolver is untouched; the namespace goes away with the process.
 */
const TRAEFIK_LAUNCH = 'mount --bind "$0" /etc/resolv.conf && exec "$@"';

/** Whether the running Traefik was started with the cluster resolver (in a mount namespace other than ours). */
function ownMountNamespace(pid) {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/mnt`) !== fs.readlinkSync('/proc/self/ns/mnt');
  } catch {
    return false;
  }
}

async function phaseTraefik(d, ctx) {
  const ping = `http://127.0.0.1:${ctx.ports.traefikPing}/ping`;
  const config = path.join(d.config, 'traefik.yaml');
  // The config the running Traefik was started with: its static config is read at start only.
  const started = path.join(d.traefikDir, 'started-with.yaml');
  applyTraefikCrds(ctx);
  const pid = daemonAlive('traefik', 'traefik');
  const current = pid && ownMountNamespace(pid) && readText(started) === readText(config) && (await httpOk(ping));
  if (!current) {
    // One of an older config or launch is replaced: the Gateway is away for a second or two.
    if (pid && !(await stopPid(pid, 15000))) throw new Error(`traefik (pid ${pid}) did not stop`);
    await stopStale('traefik');
    fs.copyFileSync(config, started);
    const args = ['--mount', '--propagation', 'private', '--', 'sh', '-c', TRAEFIK_LAUNCH, d.resolvConf];
    startDaemon('traefik', which('unshare') || 'unshare', [...args, traefikBin(), `--configFile=${config}`], {
      cwd: d.traefikDir,
      env: { ...process.env, KUBECONFIG: ctx.kubeconfig, HOME: d.traefikDir },
    });
    await waitForDaemon('traefik', ping, () => httpOk(ping), 60000, 200);
  }
  ctx.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GatewayClass',
      metadata: { name: GATEWAY_CLASS },
      spec: { controllerName: 'traefik.io/gateway-controller' },
    }),
  });
  await waitForDaemon(
    'traefik',
    `GatewayClass ${GATEWAY_CLASS} Accepted`,
    () => {
      const r = ctx.kubectl(
        ['get', 'gatewayclass', GATEWAY_CLASS, '-o', 'jsonpath={.status.conditions[?(@.type=="Accepted")].status}'],
        { check: false },
      );
      return r.stdout.trim() === 'True';
    },
    60000,
    300,
  );
  return (
    `gateway listener 127.0.0.1:${ctx.ports.gateway}, metrics 127.0.0.1:${ctx.ports.traefikMetrics}, ` +
    `GatewayClass ${GATEWAY_CLASS} Accepted (pid ${readPid('traefik')})`
  );
}

/** A component binary the node needs; a missing one means its build has not run (or failed). */
function requireBinaries() {
  const bins = [...NODE_BINS.map((b) => path.join(kubeNodeBinDir(), b)), corednsBin(), traefikBin()];
  const missing = bins.filter((b) => !fs.existsSync(b));
  if (missing.length) throw new Error(`real-node binaries missing (build first): ${missing.join(', ')}`);
}

/**
 * Brings the real node up beside the running control plane. ctx: { state, kubeconfig, ports, images,
 * kubectl(args, opts), docker(args, opts), timed(label, fn) }.
 */
export async function upRealNode(ctx) {
  requireBinaries();
  const d = realNodeDirs(ctx.state);
  mkdirp(d.run);
  recordHost(d);
  writeConfigs(d, ctx);
  await ctx.timed('real node: bridge, Service route, egress guard', async () => phaseNetwork());
  await ctx.timed('real node: containerd', () => phaseContainerd(d));
  await ctx.timed('real node: pause + base images', () => phaseImages(d, ctx));
  await ctx.timed('real node: CoreDNS', () => phaseCoreDNS(d, ctx));
  await ctx.timed('real node: pod access (API server, Prometheus)', () => phasePodAccess(ctx));
  await ctx.timed('real node: kubelet', () => phaseKubelet(d, ctx));
  await ctx.timed('real node: kube-proxy', () => phaseKubeProxy(d, ctx));
  await ctx.timed('real node: Traefik (Gateway)', () => phaseTraefik(d, ctx));
}

/** What testbed.json says about the real node. */
export function realNodeInfo(ctx) {
  const d = realNodeDirs(ctx.state);
  return {
    enabled: true,
    node: NODE_NAME,
    podCidr: POD_CIDR,
    serviceCidr: SERVICE_CIDR,
    bridge: BRIDGE,
    clusterDns: BRIDGE_IP,
    egressGuardChain: EGRESS_GUARD,
    containerdSocket: d.containerdSock,
    gateway: {
      className: GATEWAY_CLASS,
      port: ctx.ports.gateway,
      url: `http://127.0.0.1:${ctx.ports.gateway}`,
      // Traefik's own Prometheus metrics; the testbed's Prometheus scrapes them as job "traefik".
      metricsUrl: `http://127.0.0.1:${ctx.ports.traefikMetrics}/metrics`,
    },
    // What an in-cluster client (the canary controller) dials: the loopback-only services through forward.mjs.
    podAccess: {
      apiServer: `https://${BRIDGE_IP}:${ctx.ports.podApiServer}`,
      apiServerName: POD_API_SERVER_NAME,
      prometheusUrl: `http://${BRIDGE_IP}:${ctx.ports.podPrometheus}`,
    },
    versions: { ...RV, containerd: containerdVersion() },
    pids: Object.fromEntries(
      ['containerd', 'coredns', 'kubelet', 'kube-proxy', 'traefik', POD_ACCESS].map((n) => [n, readPid(n)]),
    ),
  };
}

function containerdVersion() {
  const r = sh(which('containerd') || 'containerd', ['--version'], { check: false });
  // `containerd github.com/containerd/containerd 1.6.20~ds1 <commit>`: the third word.
  return ((r.stdout || '').match(/^containerd\s+\S+\s+v?(\S+)/) || [])[1] || 'unknown';
}

/** Status rows: [name, pid, ok]. */
export async function realNodeStatus(ctx) {
  const rows = [];
  for (const [n, exe] of [
    ['containerd', 'containerd.toml'],
    ['coredns', 'coredns'],
    ['kubelet', 'kubelet'],
    ['kube-proxy', 'kube-proxy'],
    ['traefik', 'traefik'],
    [POD_ACCESS, 'forward.mjs'],
  ]) {
    const pid = readPid(n);
    rows.push([`real node: ${n}`, pid || '-', Boolean(daemonAlive(n, exe))]);
  }
  rows.push([`real node: node ${NODE_NAME} Ready`, '', nodeReady(ctx)]);
  rows.push([
    `real node: gateway ping :${ctx.ports.traefikPing}`,
    '',
    await httpOk(`http://127.0.0.1:${ctx.ports.traefikPing}/ping`),
  ]);
  if (ctx.ports.podApiServer)
    rows.push([
      `real node: pod access ${BRIDGE_IP}:${ctx.ports.podApiServer} (API server), :${ctx.ports.podPrometheus} (Prometheus)`,
      '',
      await podAccessReady(ctx),
    ]);
  if (ctx.ports.traefikMetrics)
    rows.push([
      `real node: gateway metrics :${ctx.ports.traefikMetrics}`,
      '',
      await httpOk(`http://127.0.0.1:${ctx.ports.traefikMetrics}/metrics`),
    ]);
  return rows;
}
