#!/usr/bin/env node
// Sandpiper local test bed: node scripts/testbed/testbed.mjs up|down|status
// Plain Node ESM, built-ins only. See scripts/testbed/README.md.
import fs from 'node:fs';
import path from 'node:path';
import {
  CLUSTER_NAME,
  HERE,
  REALNODE_VERSIONS,
  REPO,
  STATE,
  TESTBED_JSON,
  VERSIONS,
  componentFailure,
  daemonAlive,
  daemonLogFile,
  freePort,
  httpOk,
  log,
  mkdirp,
  mountsUnder,
  pidAlive,
  withFileLock,
  readJson,
  readPid,
  sh,
  startDaemon,
  stopPid,
  timed,
  waitFor,
  waitForDaemon,
  which,
  writeJson,
} from './lib.mjs';
import { BASE_IMAGES, buildBaseImages } from './images.mjs';
import {
  K8S_BINS,
  argoBinDir,
  buildArgoRollouts,
  buildKubernetes,
  buildKwok,
  k8sBinDir,
  kwokBinDir,
  moduleDir,
} from './build.mjs';
import { debugpyPath, installDebugpy } from './lib/debugpy.mjs';
import { buildRealNode } from './realnode/build.mjs';
import { FAKE_NODE_TAINT, kwokctlRealNodeDocs } from './realnode/config.mjs';
import { REALNODE_PORTS, realNodeDirs, realNodeInfo, realNodeStatus, upRealNode } from './realnode/node.mjs';
import { downRealNode } from './realnode/teardown.mjs';

const ARGO_ENABLED = process.env.SANDPIPER_TESTBED_ARGO !== '0';
const BIN = path.join(STATE, 'bin');
const KWOK_WORKDIR = path.join(STATE, 'kwok');
const CLUSTER_DIR = path.join(KWOK_WORKDIR, 'clusters', CLUSTER_NAME);
const KUBECONFIG = path.join(STATE, 'kubeconfig');
const EXEC_WORKDIR = path.join(STATE, 'exec');
const DOCKER_DIR = path.join(STATE, 'docker');
const DOCKER_SOCK = path.join(DOCKER_DIR, 'docker.sock');
const REGISTRY_DIR = path.join(STATE, 'registry');
const PROM_DIR = path.join(STATE, 'prometheus');
const PROM_TARGETS = path.join(PROM_DIR, 'targets');
const ARGO_DIR = path.join(STATE, 'argo-rollouts');
const NODES = ['kwok-node-0', 'kwok-node-1'];
// The real node (the default): a kubelet node with containerd, kube-proxy, CoreDNS and Traefik as the Gateway.
// `--no-real-node` / SANDPIPER_REAL_NODE=0 leave it out (KWOK nodes only; the test tiers refuse such a testbed).
// A cluster created for it stays in that mode (kwok must leave the real node alone), marked by this file.
const REALNODE_MARKER = path.join(KWOK_WORKDIR, 'real-node');
const REAL_NODE_OPTED_OUT = process.argv.includes('--no-real-node') || process.env.SANDPIPER_REAL_NODE === '0';
const REAL_NODE = !REAL_NODE_OPTED_OUT || fs.existsSync(REALNODE_MARKER);
const POD_TARGETS = 'pod-targets';
const POD_TARGETS_FILE = path.join(PROM_TARGETS, 'pods.json');

const APT_PACKAGES = {
  dockerd: 'docker.io',
  etcd: 'etcd-server',
  prometheus: 'prometheus',
  'docker-registry': 'docker-registry',
  busybox: 'busybox-static',
  '/usr/bin/python3.11': 'python3.11', // the sandpiper/python:3.11 base image is made from it
  '/usr/lib/postgresql/15/bin/postgres': 'postgresql-15', // and sandpiper/postgres:15 from this
};
// Commands (or files) the real node needs, and the Debian package of each.
const REALNODE_APT_PACKAGES = {
  containerd: 'containerd',
  ctr: 'containerd',
  runc: 'runc',
  '/usr/lib/cni/bridge': 'containernetworking-plugins',
  '/usr/lib/cni/host-local': 'containernetworking-plugins',
  iptables: 'iptables',
  ip: 'iproute2', // bridge, routes; `ss` for the listener check
  ss: 'iproute2',
  nft: 'nftables',
  conntrack: 'conntrack',
  gcc: 'gcc',
  '/usr/lib/x86_64-linux-gnu/libc.a': 'libc6-dev',
};

function kwokEnv() {
  return {
    ...process.env,
    KWOK_WORKDIR,
    // Tell kwokctl which versions the local binaries are, so it generates matching flags.
    KWOK_KUBE_VERSION: `v${VERSIONS.kubernetes}`,
    KWOK_ETCD_VERSION: etcdVersion(),
    KWOK_KUBECTL_BINARY: path.join(BIN, 'kubectl'),
    PATH: `${BIN}:${process.env.PATH}`,
  };
}
function kubectl(args, opts = {}) {
  return sh(path.join(BIN, 'kubectl'), ['--kubeconfig', KUBECONFIG, ...args], opts);
}
function docker(args, opts = {}) {
  return sh(which('docker') || 'docker', ['-H', `unix://${DOCKER_SOCK}`, ...args], {
    ...opts,
    env: { ...process.env, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: path.join(DOCKER_DIR, 'client'), ...(opts.env || {}) },
  });
}

// ---------------------------------------------------------------- ports / state
async function loadPorts() {
  const file = path.join(STATE, 'ports.json');
  const ports = readJson(file, {});
  const want = [
    'kubeApiserver',
    'registry',
    'prometheus',
    'argoMetrics',
    'argoHealthz',
    ...(REAL_NODE ? REALNODE_PORTS : []),
  ];
  let changed = false;
  for (const k of want) {
    if (!ports[k]) {
      let p;
      do p = await freePort();
      while (Object.values(ports).includes(p));
      ports[k] = p;
      changed = true;
    }
  }
  if (changed) writeJson(file, ports);
  return ports;
}

// ---------------------------------------------------------------- phase: host packages
async function phaseHostPackages() {
  const wanted = { ...APT_PACKAGES, ...(REAL_NODE ? REALNODE_APT_PACKAGES : {}) };
  const missing = Object.entries(wanted)
    .filter(([bin]) => !(bin.startsWith('/') ? fs.existsSync(bin) : which(bin)))
    .map(([, pkg]) => pkg);
  if (!which('docker')) missing.push('docker.io');
  if (!missing.length) return 'all present';
  const pkgs = [...new Set(missing)];
  log(`missing Debian packages: ${pkgs.join(' ')} — installing with apt-get`);
  const args = ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '--no-install-recommends', ...pkgs];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = sh('apt-get', args, { env, check: false, stdio: 'inherit' });
  if (r.status !== 0) {
    sh('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update'], { env, stdio: 'inherit' });
    sh('apt-get', args, { env, stdio: 'inherit' });
  }
  return `installed ${pkgs.join(' ')}`;
}

// ---------------------------------------------------------------- phase: binaries
function linkBins() {
  mkdirp(BIN);
  const links = {};
  for (const b of K8S_BINS) links[b] = path.join(k8sBinDir(), b);
  links.kwok = path.join(kwokBinDir(), 'kwok');
  links.kwokctl = path.join(kwokBinDir(), 'kwokctl');
  if (fs.existsSync(path.join(argoBinDir(), 'rollouts-controller')))
    links['rollouts-controller'] = path.join(argoBinDir(), 'rollouts-controller');
  for (const [name, target] of Object.entries(links)) {
    const l = path.join(BIN, name);
    try {
      if (fs.readlinkSync(l) === target) continue;
    } catch {}
    fs.rmSync(l, { force: true });
    fs.symlinkSync(target, l);
  }
}

// ---------------------------------------------------------------- phase: cluster
async function apiserverReady() {
  if (!fs.existsSync(KUBECONFIG)) return false;
  const r = kubectl(['get', '--raw', '/readyz'], { check: false, timeout: 5000 });
  return r.status === 0 && r.stdout.trim() === 'ok';
}

function clusterPids() {
  const dir = path.join(CLUSTER_DIR, 'pids');
  const out = {};
  try {
    for (const f of fs.readdirSync(dir)) {
      const pid = parseInt(fs.readFileSync(path.join(dir, f), 'utf8'), 10);
      if (pid) out[f.replace(/\.pid$/, '')] = pid;
    }
  } catch {}
  return out;
}

/** Names the first kwok component whose process is gone (else kube-apiserver) and shows the end of its log. */
function clusterFailure(why) {
  const dead = Object.entries(clusterPids()).find(([, pid]) => !pidAlive(pid))?.[0];
  const name = dead ?? 'kube-apiserver';
  return componentFailure(
    name,
    dead ? `${why}; its process has exited` : why,
    path.join(CLUSTER_DIR, 'logs', `${name}.log`),
  );
}

async function waitForApiserver() {
  await waitFor('kube-apiserver /readyz', apiserverReady, 60000, 500).catch((e) => {
    throw clusterFailure(e.message);
  });
}

async function phaseCluster(ports) {
  const kwokctl = path.join(BIN, 'kwokctl');
  const pids = clusterPids();
  refuseKwokOnlyCluster();
  const allAlive = Object.keys(pids).length > 0 && Object.values(pids).every((p) => pidAlive(p));
  if (allAlive && (await apiserverReady())) return 'already running';
  if (fs.existsSync(path.join(CLUSTER_DIR, 'kwok.yaml')) && Object.keys(pids).length) {
    // Exists but (partly) stopped: start it again.
    log('cluster exists but is not fully running — restarting it');
    sh(kwokctl, ['stop', 'cluster', '--name', CLUSTER_NAME], { env: kwokEnv(), check: false, stdio: 'inherit' });
    const r = sh(kwokctl, ['start', 'cluster', '--name', CLUSTER_NAME, '--wait', '120s'], {
      env: kwokEnv(),
      check: false,
      stdio: 'inherit',
    });
    if (r.status === 0) {
      await waitForApiserver();
      return 'restarted';
    }
    log('restart failed — deleting and recreating the cluster');
    sh(kwokctl, ['delete', 'cluster', '--name', CLUSTER_NAME], { env: kwokEnv(), check: false, stdio: 'inherit' });
  }
  mkdirp(KWOK_WORKDIR);
  // kwokctl binds every component to 0.0.0.0 by default; keep them on loopback.
  const kwokctlConfig = path.join(KWOK_WORKDIR, 'kwokctl-options.yaml');
  fs.writeFileSync(
    kwokctlConfig,
    [
      'apiVersion: config.kwok.x-k8s.io/v1alpha1',
      'kind: KwokctlConfiguration',
      'options:',
      '  bindAddress: 127.0.0.1',
      ...(REAL_NODE ? kwokctlRealNodeDocs() : ['']),
    ].join('\n'),
  );
  const args = [
    '-c',
    kwokctlConfig,
    'create',
    'cluster',
    '--name',
    CLUSTER_NAME,
    '--runtime',
    'binary',
    '--kube-apiserver-port',
    String(ports.kubeApiserver),
    '--kube-authorization',
    '--kube-apiserver-binary',
    path.join(BIN, 'kube-apiserver'),
    '--kube-controller-manager-binary',
    path.join(BIN, 'kube-controller-manager'),
    '--kube-scheduler-binary',
    path.join(BIN, 'kube-scheduler'),
    '--kwok-controller-binary',
    path.join(BIN, 'kwok'),
    '--etcd-binary',
    which('etcd'),
    '--enable-crds',
    'Logs,ClusterLogs,Exec,ClusterExec,PortForward,ClusterPortForward',
    '--kubeconfig',
    KUBECONFIG,
    '--wait',
    '120s',
  ];
  const r = sh(kwokctl, args, { env: kwokEnv(), check: false });
  fs.writeFileSync(
    path.join(mkdirp(path.join(STATE, 'logs')), 'kwokctl-create.log'),
    (r.stdout || '') + (r.stderr || ''),
  );
  if (r.status !== 0) {
    const said = (r.stderr || '').trimEnd().split('\n').slice(-15).join('\n');
    throw clusterFailure(
      `kwokctl create cluster failed (log: ${path.join(STATE, 'logs', 'kwokctl-create.log')}):\n${said}\n`,
    );
  }
  await waitForApiserver();
  if (REAL_NODE) fs.writeFileSync(REALNODE_MARKER, `created ${new Date().toISOString()}\n`);
  return REAL_NODE ? 'created (kwok manages annotated fake nodes only)' : 'created';
}

/** A cluster created with --no-real-node cannot get the real node: its kwok-controller manages every node. */
function refuseKwokOnlyCluster() {
  if (!REAL_NODE || !Object.keys(clusterPids()).length || fs.existsSync(REALNODE_MARKER)) return;
  const err = new Error(
    'the existing kwok cluster was created without the real node (--no-real-node); run `testbed down` first',
  );
  err.plain = true; // said as is, without a stack
  throw err;
}

function nodeManifest(name) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/role': 'agent',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    // Untainted in the KWOK-only tier: every test pod can land here without a toleration. With the real node they
    // are tainted, so ordinary pods run real containers there and only the scale bench tolerates the fake nodes.
    spec: REAL_NODE ? { taints: [FAKE_NODE_TAINT] } : {},
    status: {
      allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
      capacity: { cpu: '32', memory: '256Gi', pods: '110' },
      phase: 'Running',
    },
  };
}

function applyObjects(objs) {
  const input = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs });
  kubectl(['apply', '-f', '-'], { input });
}

async function phaseNodes() {
  applyObjects(NODES.map(nodeManifest));
  await waitFor(
    'kwok nodes Ready',
    () => {
      const r = kubectl(['get', 'nodes', '-o', 'json'], { check: false });
      if (r.status !== 0) return false;
      const items = JSON.parse(r.stdout).items;
      return NODES.every((n) =>
        items
          .find((i) => i.metadata.name === n)
          ?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
    },
    60000,
    300,
  );
  mkdirp(EXEC_WORKDIR);
  return `${NODES.join(', ')} Ready`;
}

/** Traefik (the real node's Gateway) needs Gateway API >= 1.5; the KWOK-only tier keeps 1.4.1. */
const GATEWAY_API_VERSION = REAL_NODE ? REALNODE_VERSIONS.gatewayApi : VERSIONS.gatewayApi;

async function phaseCrds({ argo = true } = {}) {
  const files = [];
  if (argo) {
    const argoDir = path.join(
      moduleDir(`github.com/argoproj/argo-rollouts@v${VERSIONS.argoRollouts}`),
      'manifests',
      'crds',
    );
    for (const f of fs.readdirSync(argoDir)) if (f.endsWith('-crd.yaml')) files.push(path.join(argoDir, f));
  }
  // From 1.5 on the bundle also holds a ValidatingAdmissionPolicy (vap_safeupgrades) refusing older CRD versions.
  const gwDir = path.join(moduleDir(`sigs.k8s.io/gateway-api@v${GATEWAY_API_VERSION}`), 'config', 'crd', 'standard');
  for (const f of fs.readdirSync(gwDir)) if (f.endsWith('.yaml')) files.push(path.join(gwDir, f));
  // Skip when every CRD of these files is already there at the pinned versions (fast warm up).
  const marker = `${argo ? `argo-rollouts-v${VERSIONS.argoRollouts}+` : ''}gateway-api-v${GATEWAY_API_VERSION}`;
  const cm = kubectl(
    ['get', 'configmap', '-n', 'kube-public', 'sandpiper-testbed-crds', '-o', 'jsonpath={.data.versions}'],
    { check: false },
  );
  if (cm.status === 0 && cm.stdout.trim() === marker) return `already applied (${marker})`;
  const args = ['apply', '--server-side', '--force-conflicts'];
  for (const f of files) args.push('-f', f);
  kubectl(args);
  kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    ...(argo ? ['crd/rollouts.argoproj.io'] : []),
    'crd/httproutes.gateway.networking.k8s.io',
    'crd/gateways.gateway.networking.k8s.io',
  ]);
  applyObjects([
    JSON.parse(
      kubectl([
        'create',
        'configmap',
        '-n',
        'kube-public',
        'sandpiper-testbed-crds',
        `--from-literal=versions=${marker}`,
        '--dry-run=client',
        '-o',
        'json',
      ]).stdout,
    ),
  ]);
  return `${files.length} files (${argo ? `argo-rollouts v${VERSIONS.argoRollouts}, ` : ''}gateway-api v${GATEWAY_API_VERSION} standard)`;
}

// ---------------------------------------------------------------- phase: docker
async function dockerReady() {
  if (!fs.existsSync(DOCKER_SOCK)) return false;
  const r = docker(['version', '--format', '{{.Server.Version}}'], { check: false, timeout: 5000 });
  return r.status === 0;
}

async function phaseDocker() {
  const pid = daemonAlive('dockerd', 'dockerd');
  if (pid && (await dockerReady())) return 'already running';
  if (pid) await stopPid(pid);
  unmountUnder(path.join(DOCKER_DIR));
  mkdirp(path.join(DOCKER_DIR, 'data'));
  mkdirp(path.join(DOCKER_DIR, 'exec'));
  fs.rmSync(DOCKER_SOCK, { force: true });
  // --bridge=none --iptables=false --ip-forward=false: dockerd touches no iptables rules and no sysctl,
  // so nothing stays behind on the host. Builds/run use the host network (or none).
  startDaemon('dockerd', which('dockerd'), [
    '--data-root',
    path.join(DOCKER_DIR, 'data'),
    '--exec-root',
    path.join(DOCKER_DIR, 'exec'),
    '--pidfile',
    path.join(DOCKER_DIR, 'dockerd.pid'),
    '-H',
    `unix://${DOCKER_SOCK}`,
    '--bridge=none',
    '--iptables=false',
    '--ip6tables=false',
    '--ip-forward=false',
    '--ip-masq=false',
    '--userland-proxy=false',
    '--storage-driver=overlay2',
  ]);
  await waitForDaemon('dockerd', 'the docker API socket', dockerReady, 30000, 200);
  return `started (pid ${readPid('dockerd')})`;
}

async function phaseImages() {
  const made = buildBaseImages(docker, { debugpyDir: debugpyPath() });
  return made.length ? `built ${made.join(', ')}` : 'cached';
}

// ---------------------------------------------------------------- phase: registry
async function phaseRegistry(ports) {
  const url = `http://127.0.0.1:${ports.registry}/v2/`;
  if (daemonAlive('registry', 'docker-registry') && (await httpOk(url))) return 'already running';
  const pid = readPid('registry');
  if (pid) await stopPid(pid);
  mkdirp(path.join(REGISTRY_DIR, 'data'));
  const cfg = path.join(REGISTRY_DIR, 'config.yml');
  fs.writeFileSync(
    cfg,
    [
      'version: 0.1',
      'log:',
      '  level: info',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(REGISTRY_DIR, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${ports.registry}`,
      '',
    ].join('\n'),
  );
  startDaemon('registry', which('docker-registry'), ['serve', cfg]);
  await waitForDaemon('registry', url, () => httpOk(url), 30000, 200);
  return `started on 127.0.0.1:${ports.registry}`;
}

// ---------------------------------------------------------------- phase: prometheus
/** Prometheus's config; with the real node it also scrapes Traefik's own metrics (job `traefik`). */
function prometheusYaml(ports) {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: prometheus',
    '    static_configs:',
    `      - targets: ['127.0.0.1:${ports.prometheus}']`,
    ...(REAL_NODE
      ? [
          '  # The Gateway (Traefik on the host): traefik_router_/traefik_service_/traefik_entrypoint_* series.',
          '  - job_name: traefik',
          '    static_configs:',
          `      - targets: ['127.0.0.1:${ports.traefikMetrics}']`,
        ]
      : []),
    '  # Tests add targets by writing <targets>/<name>.json: [{"targets":["127.0.0.1:PORT"],"labels":{"job":"x"}}]',
    '  # pods.json: annotated real-node pods (scripts/testbed/pod-targets.mjs); its __metrics_path__ label sets the',
    "  # path. honor_labels stays false: the target's namespace/pod/service/track win over scraped ones.",
    '  - job_name: testbed',
    '    file_sd_configs:',
    '      - files:',
    `          - ${path.join(PROM_TARGETS, '*.json')}`,
    '        refresh_interval: 1s',
    '',
  ].join('\n');
}

async function phasePrometheus(ports) {
  const base = `http://127.0.0.1:${ports.prometheus}`;
  const cfg = path.join(PROM_DIR, 'prometheus.yml');
  const text = prometheusYaml(ports);
  let old = null;
  try {
    old = fs.readFileSync(cfg, 'utf8');
  } catch {}
  if (daemonAlive('prometheus', 'prometheus') && (await httpOk(`${base}/-/ready`))) {
    if (old === text) return 'already running';
    fs.writeFileSync(cfg, text);
    const r = await fetch(`${base}/-/reload`, { method: 'POST' });
    if (!r.ok)
      throw componentFailure(
        'prometheus',
        `reload refused: ${r.status} ${await r.text()}`,
        daemonLogFile('prometheus'),
      );
    return 'already running, config reloaded';
  }
  const pid = readPid('prometheus');
  if (pid) await stopPid(pid);
  mkdirp(PROM_TARGETS);
  // Written by pod-targets for the previous run's pods (their IPs may not be on-link yet): it rewrites it later.
  if (!daemonAlive(POD_TARGETS, 'pod-targets.mjs')) fs.rmSync(POD_TARGETS_FILE, { force: true });
  mkdirp(path.join(PROM_DIR, 'data'));
  fs.writeFileSync(cfg, text);
  startDaemon(
    'prometheus',
    which('prometheus'),
    [
      `--config.file=${cfg}`,
      `--storage.tsdb.path=${path.join(PROM_DIR, 'data')}`,
      `--web.listen-address=127.0.0.1:${ports.prometheus}`,
      '--web.enable-lifecycle',
      '--storage.tsdb.retention.time=1d',
    ],
    { cwd: PROM_DIR },
  );
  await waitForDaemon('prometheus', `${base}/-/ready`, () => httpOk(`${base}/-/ready`), 60000, 250);
  return `started on ${base}`;
}

// ---------------------------------------------------------------- phase: prometheus pod discovery
/** Runs pod-targets.mjs, which keeps <targets>/pods.json (file_sd) in step with the annotated pods. */
async function phasePodTargets() {
  const out = POD_TARGETS_FILE;
  if (daemonAlive(POD_TARGETS, 'pod-targets.mjs') && fs.existsSync(out)) return 'already running';
  const pid = readPid(POD_TARGETS);
  if (pid) await stopPid(pid);
  fs.rmSync(out, { force: true });
  const script = path.join(HERE, 'pod-targets.mjs');
  startDaemon(POD_TARGETS, process.execPath, [script, '--kubeconfig', KUBECONFIG, '--out', out], { cwd: REPO });
  await waitForDaemon(POD_TARGETS, `its first ${out}`, () => fs.existsSync(out), 30000, 100);
  return `started (pid ${readPid(POD_TARGETS)}), writes ${out}`;
}

/** Whether this testbed has (or is meant to have) the real node: status checks its components then. */
function realNodeWanted(info) {
  return Boolean(info?.realNode) || fs.existsSync(REALNODE_MARKER);
}

// ---------------------------------------------------------------- phase: argo rollouts controller
async function phaseArgo(ports) {
  const healthz = `http://127.0.0.1:${ports.argoHealthz}/healthz`;
  if (daemonAlive('rollouts-controller', 'rollouts-controller') && (await httpOk(healthz))) return 'already running';
  const pid = readPid('rollouts-controller');
  if (pid) await stopPid(pid);
  mkdirp(ARGO_DIR);
  startDaemon(
    'rollouts-controller',
    path.join(BIN, 'rollouts-controller'),
    [
      '--kubeconfig',
      KUBECONFIG,
      '--leader-elect=false',
      '--metricsport',
      String(ports.argoMetrics),
      '--healthzPort',
      String(ports.argoHealthz),
      '--loglevel',
      'info',
    ],
    { cwd: ARGO_DIR, env: { ...process.env, KUBECONFIG, HOME: ARGO_DIR } },
  );
  await waitForDaemon('rollouts-controller', healthz, () => httpOk(healthz), 60000, 500);
  return `started (pid ${readPid('rollouts-controller')})`;
}

// ---------------------------------------------------------------- env files
function writeEnvFiles(ports) {
  const info = {
    versions: { ...VERSIONS, etcd: etcdVersion() },
    state: STATE,
    binDir: BIN,
    kubeconfig: KUBECONFIG,
    kubeApiserver: `https://127.0.0.1:${ports.kubeApiserver}`,
    clusterName: CLUSTER_NAME,
    kwokWorkdir: KWOK_WORKDIR,
    kwokClusterDir: CLUSTER_DIR,
    execWorkDir: EXEC_WORKDIR,
    nodes: NODES,
    dockerHost: `unix://${DOCKER_SOCK}`,
    dockerSocket: DOCKER_SOCK,
    registry: `127.0.0.1:${ports.registry}`,
    prometheusUrl: `http://127.0.0.1:${ports.prometheus}`,
    prometheusTargetsDir: PROM_TARGETS,
    prometheusConfig: path.join(PROM_DIR, 'prometheus.yml'),
    argoRollouts: ARGO_ENABLED
      ? { enabled: true, metricsPort: ports.argoMetrics, healthzPort: ports.argoHealthz }
      : { enabled: false },
    images: BASE_IMAGES,
    debugpyPath: debugpyPath(),
    ...(REAL_NODE ? { realNode: realNodeInfo(realNodeCtx(ports)) } : {}),
    ports,
    pids: {
      ...Object.fromEntries(Object.entries(clusterPids()).map(([k, v]) => [k, v])),
      dockerd: readPid('dockerd'),
      registry: readPid('registry'),
      prometheus: readPid('prometheus'),
      ...(REAL_NODE ? { [POD_TARGETS]: readPid(POD_TARGETS) } : {}),
      ...(ARGO_ENABLED ? { 'rollouts-controller': readPid('rollouts-controller') } : {}),
    },
    logsDir: path.join(STATE, 'logs'),
    envFile: path.join(STATE, 'env.sh'),
    updatedAt: new Date().toISOString(),
  };
  writeJson(TESTBED_JSON, info);
  const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
  fs.writeFileSync(
    path.join(STATE, 'env.sh'),
    [
      '# Generated by scripts/testbed/testbed.mjs — source it: source .sandpiper/testbed/env.sh',
      `export PATH=${q(BIN)}:"$PATH"`,
      `export KUBECONFIG=${q(KUBECONFIG)}`,
      `export DOCKER_HOST=${q(info.dockerHost)}`,
      'export DOCKER_BUILDKIT=0',
      `export SANDPIPER_REGISTRY=${q(info.registry)}`,
      `export PROMETHEUS_URL=${q(info.prometheusUrl)}`,
      `export SANDPIPER_PROMETHEUS_TARGETS=${q(PROM_TARGETS)}`,
      `export SANDPIPER_TESTBED_JSON=${q(TESTBED_JSON)}`,
      ...(info.realNode
        ? [
            'export SANDPIPER_REAL_NODE=1',
            `export SANDPIPER_GATEWAY_URL=${q(info.realNode.gateway.url)}`,
            // What pods dial for the API server and Prometheus (the forwarders on the bridge address).
            `export SANDPIPER_POD_API_SERVER=${q(info.realNode.podAccess.apiServer)}`,
            `export SANDPIPER_POD_API_SERVER_NAME=${q(info.realNode.podAccess.apiServerName)}`,
            `export SANDPIPER_POD_PROMETHEUS_URL=${q(info.realNode.podAccess.prometheusUrl)}`,
          ]
        : []),
      '',
    ].join('\n'),
  );
  return info;
}

let etcdVersionCache;
function etcdVersion() {
  if (etcdVersionCache) return etcdVersionCache;
  const r = sh(which('etcd') || 'etcd', ['--version'], { check: false });
  return (etcdVersionCache = ((r.stdout || '').match(/etcd Version:\s*(\S+)/) || [])[1] || 'unknown');
}

function realNodeCtx(ports, timedFn) {
  return {
    state: STATE,
    kubeconfig: KUBECONFIG,
    ports,
    registry: `127.0.0.1:${ports.registry}`,
    images: BASE_IMAGES,
    kubectl,
    docker,
    timed: timedFn,
  };
}

// ---------------------------------------------------------------- up
async function up() {
  const t0 = Date.now();
  const timings = [];
  mkdirp(STATE);
  refuseKwokOnlyCluster(); // before any build starts, not after
  const ports = await loadPorts();
  await timed('host packages (apt)', phaseHostPackages, timings);
  await timed('docker engine', phaseDocker, timings);
  // Before the base images: sandpiper/python:3.11 carries it.
  await timed('debugpy (python debug tests)', installDebugpy, timings);
  await timed('base images', phaseImages, timings);
  await timed('registry', () => phaseRegistry(ports), timings);
  await timed('prometheus', () => phasePrometheus(ports), timings);
  if (process.env.SANDPIPER_TESTBED_ONLY === 'host') {
    writeEnvFiles(ports);
    log('SANDPIPER_TESTBED_ONLY=host: stopping after the host services');
    return;
  }
  // CoreDNS and Traefik (niced, one after another) build beside everything below; awaited before the node starts.
  // kubelet and kube-proxy come from the control plane's `go build` (the same module: one build, not two at once).
  const realBuild = REAL_NODE
    ? buildRealNode(['coredns', 'traefik']).then(
        (built) => ({ built }),
        (error) => ({ error }),
      )
    : null;
  // kubernetes and kwok build concurrently (go shares its build cache).
  await timed(
    'build kubernetes v' + VERSIONS.kubernetes + ' + kwok v' + VERSIONS.kwok,
    async () => {
      const [a, b] = await Promise.all([buildKubernetes({ node: REAL_NODE }), buildKwok()]);
      return `kubernetes ${a}, kwok ${b}`;
    },
    timings,
  );
  linkBins();
  await timed('kwok cluster (etcd ' + etcdVersion() + ')', () => phaseCluster(ports), timings);
  await timed('kwok nodes', phaseNodes, timings);
  if (ARGO_ENABLED) {
    await timed('build argo-rollouts v' + VERSIONS.argoRollouts, buildArgoRollouts, timings);
    linkBins();
    await timed('CRDs (argo-rollouts, gateway-api)', phaseCrds, timings);
    await timed('argo-rollouts controller', () => phaseArgo(ports), timings);
  } else {
    log('SANDPIPER_TESTBED_ARGO=0: skipping Argo Rollouts (controller and CRDs)');
  }
  if (REAL_NODE) {
    await timed(
      'build real node (kubelet, kube-proxy, CoreDNS, Traefik)',
      async () => {
        const { built, error } = await realBuild;
        if (error) throw error;
        return Object.entries(built)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ');
      },
      timings,
    );
    if (!ARGO_ENABLED) await timed('CRDs (gateway-api)', () => phaseCrds({ argo: false }), timings);
    await upRealNode(realNodeCtx(ports, (label, fn) => timed(label, fn, timings)));
    await timed('prometheus pod discovery (file_sd)', phasePodTargets, timings);
  } else {
    log('--no-real-node / SANDPIPER_REAL_NODE=0: KWOK nodes only (the integration and e2e tiers refuse this testbed)');
  }
  const info = writeEnvFiles(ports);
  const total = ((Date.now() - t0) / 1000).toFixed(1);
  log('phase timings:');
  for (const [label, s, note] of timings) log(`  ${s.padStart(7)}s  ${label}${note ? '  (' + note + ')' : ''}`);
  log(`testbed up in ${total}s`);
  log(`  kubeconfig: ${info.kubeconfig}`);
  log(`  docker:     ${info.dockerHost}`);
  log(`  registry:   ${info.registry}`);
  log(`  prometheus: ${info.prometheusUrl} (targets: ${info.prometheusTargetsDir}/*.json)`);
  if (info.realNode)
    log(
      `  real node:  ${info.realNode.node}, gateway ${info.realNode.gateway.url} (class ${info.realNode.gateway.className})`,
    );
  log(`use it: source ${path.relative(process.cwd(), info.envFile) || info.envFile}`);
}

// ---------------------------------------------------------------- down
function unmountUnder(dir) {
  const left = [];
  for (const mp of mountsUnder(dir)) {
    const r = sh('umount', ['-l', mp], { check: false });
    if (r.status !== 0) left.push(mp);
  }
  return left;
}

async function down() {
  const t0 = Date.now();
  const problems = [];
  const stopped = [];
  for (const name of [POD_TARGETS, 'rollouts-controller', 'prometheus', 'registry', 'dockerd']) {
    const pid = readPid(name);
    if (!pid) continue;
    if (pidAlive(pid)) {
      const ok = await stopPid(pid, name === 'dockerd' ? 20000 : 10000);
      if (!ok) problems.push(`${name} (pid ${pid}) did not exit`);
      else stopped.push(`${name}(${pid})`);
    }
    fs.rmSync(path.join(STATE, 'pids', `${name}.pid`), { force: true });
  }
  // Pod IPs are only on-link while the bridge exists: a stale file would send the next Prometheus' scrapes out.
  fs.rmSync(POD_TARGETS_FILE, { force: true });
  // containerd-shims / containerd started by dockerd that outlived it
  for (const pid of procsUnder(DOCKER_DIR)) {
    if (await stopPid(pid, 5000)) stopped.push(`docker-child(${pid})`);
    else problems.push(`docker child pid ${pid} did not exit`);
  }
  const rn = realNodeDirs(STATE);
  const hadRealNode = fs.existsSync(rn.root);
  if (hadRealNode) {
    // Before the cluster goes: the node object can still be deleted; containers must not outlive their kubelet.
    const r = await downRealNode({ state: STATE, dirs: rn, kubectl: (await apiserverReady()) ? kubectl : null });
    stopped.push(...r.stopped);
    problems.push(...r.problems.map((p) => `real node: ${p}`));
  }
  const cpids = clusterPids();
  if (fs.existsSync(CLUSTER_DIR) && fs.existsSync(path.join(BIN, 'kwokctl'))) {
    const r = sh(path.join(BIN, 'kwokctl'), ['delete', 'cluster', '--name', CLUSTER_NAME, '--kubeconfig', KUBECONFIG], {
      env: kwokEnv(),
      check: false,
    });
    if (r.status !== 0) log(`kwokctl delete cluster failed: ${r.stderr.trim()}`);
    else stopped.push('kwok cluster');
  }
  for (const [name, pid] of Object.entries(cpids)) {
    if (pidAlive(pid)) {
      if (await stopPid(pid, 10000)) stopped.push(`${name}(${pid})`);
      else problems.push(`${name} (pid ${pid}) did not exit`);
    }
  }
  fs.rmSync(CLUSTER_DIR, { recursive: true, force: true });
  fs.rmSync(REALNODE_MARKER, { force: true });
  const left = unmountUnder(STATE);
  for (const mp of left) problems.push(`mount ${mp} could not be unmounted`);
  // Host networking state: compare with the snapshot taken before our first dockerd start.
  problems.push(...cleanupIptables());
  // Final verification
  for (const pid of procsUnder(STATE)) problems.push(`process ${pid} still references ${STATE}`);
  for (const mp of mountsUnder(STATE)) problems.push(`mount ${mp} still present`);
  fs.rmSync(DOCKER_SOCK, { force: true });
  fs.rmSync(TESTBED_JSON, { force: true });
  fs.rmSync(path.join(STATE, 'env.sh'), { force: true });
  log(`stopped: ${stopped.join(', ') || 'nothing was running'}`);
  log(`down in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  if (problems.length) {
    for (const p of problems) log(`LEFT BEHIND: ${p}`);
    process.exitCode = 1;
  } else {
    log(
      'clean: no testbed processes, mounts under the state dir, or docker iptables rules remain' +
        (hadRealNode ? '; the real node left no container, netns, link, route, rule or sysctl change' : ''),
    );
  }
}

/** PIDs whose command line or cwd/exe mentions dir (our daemons, shims, kwok components). */
function procsUnder(dir) {
  const out = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (!cmd.includes(dir)) continue;
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      if (/\) Z /.test(stat)) continue;
      out.push(Number(p));
    } catch {}
  }
  return out;
}

function iptablesRules() {
  if (!which('iptables-save')) return null;
  const r = sh('iptables-save', [], { check: false });
  if (r.status !== 0) return null;
  return r.stdout.split('\n');
}

function cleanupIptables() {
  const problems = [];
  const rules = iptablesRules();
  if (!rules) return problems;
  let table = null;
  const dels = [];
  const chains = [];
  for (const line of rules) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (line.startsWith(':DOCKER')) chains.push([table, line.slice(1).split(' ')[0]]);
    else if (line.startsWith('-A ') && /DOCKER|docker0/.test(line)) dels.push([table, line.slice(3)]);
  }
  for (const [t, rule] of dels) {
    sh('sh', ['-c', `iptables -t ${t} -D ${rule}`], { check: false });
  }
  for (const [t, c] of chains) sh('iptables', ['-t', t, '-F', c], { check: false });
  for (const [t, c] of chains) sh('iptables', ['-t', t, '-X', c], { check: false });
  const after = iptablesRules() || [];
  for (const line of after) if (/DOCKER|docker0/.test(line)) problems.push(`iptables: ${line}`);
  return problems;
}

// ---------------------------------------------------------------- status
async function status() {
  const info = readJson(TESTBED_JSON);
  const ports = readJson(path.join(STATE, 'ports.json'), {});
  if (!info && !process.argv.includes('--quiet')) log('no testbed.json — the testbed is not up (npm run testbed:up)');
  const rows = [];
  const cp = clusterPids();
  for (const [name, pid] of Object.entries(cp)) rows.push([`kwok/${name}`, pid, pidAlive(pid)]);
  rows.push(['kube-apiserver /readyz', '', await apiserverReady()]);
  for (const [name, exe] of [
    ['dockerd', 'dockerd'],
    ['registry', 'docker-registry'],
    ['prometheus', 'prometheus'],
    ['rollouts-controller', 'rollouts-controller'],
    ...(realNodeWanted(info) ? [[POD_TARGETS, 'pod-targets.mjs']] : []),
  ]) {
    const pid = readPid(name);
    rows.push([name, pid || '-', pidAlive(pid, exe)]);
  }
  if (ports.registry)
    rows.push([
      `registry http://127.0.0.1:${ports.registry}/v2/`,
      '',
      await httpOk(`http://127.0.0.1:${ports.registry}/v2/`),
    ]);
  if (ports.prometheus)
    rows.push([
      `prometheus http://127.0.0.1:${ports.prometheus}/-/ready`,
      '',
      await httpOk(`http://127.0.0.1:${ports.prometheus}/-/ready`),
    ]);
  if (ports.argoHealthz)
    rows.push([
      `rollouts-controller healthz :${ports.argoHealthz}`,
      '',
      await httpOk(`http://127.0.0.1:${ports.argoHealthz}/healthz`),
    ]);
  if (realNodeWanted(info)) rows.push(...(await realNodeStatus(realNodeCtx(ports))));
  const quiet = process.argv.includes('--quiet');
  const up = Boolean(info) && rows.every(([, , ok]) => ok);
  if (!quiet) {
    for (const [name, pid, ok] of rows) console.log(`${ok ? 'UP  ' : 'DOWN'}  ${String(pid).padStart(7)}  ${name}`);
    console.log(`mounts under state dir: ${mountsUnder(STATE).length}`);
    if (info) console.log(`env: source ${info.envFile}`);
  } else console.log(`[testbed] ${up ? 'up' : 'not (fully) up'}`);
  // Exit status tells scripts whether everything is running (the test tiers start it otherwise).
  process.exitCode = up ? 0 : 1;
}

// One up/down at a time (several engineers/test runs may call npm run testbed:up concurrently).
async function withLock(fn) {
  let told = false;
  return withFileLock(path.join(mkdirp(STATE), 'lock'), fn, (holder) => {
    if (!told) log(`another testbed command (pid ${holder}) is running — waiting for it`);
    told = true;
  });
}

const cmd = process.argv[2];
const handlers = { up, down, status };
if (!handlers[cmd]) {
  console.error('usage: node scripts/testbed/testbed.mjs up|down|status');
  process.exit(2);
}
(cmd === 'status' ? handlers[cmd]() : withLock(handlers[cmd])).catch((e) => {
  // A component that failed to start is explained by its name and log, not by this script's stack.
  console.error(`[testbed] ${cmd} failed: ${e.component || e.plain ? e.message : e.stack || e.message}`);
  process.exit(1);
});
