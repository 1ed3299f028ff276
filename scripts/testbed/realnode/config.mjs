// The real node's fixed addresses and the config files of its components (containerd, CNI, kubelet, kube-proxy,
// CoreDNS, Traefik, kwokctl). Seen working on this machine kind: /work/shared/TESTBED.md, "A real node".

/** Node name: kubelet refuses a loopback node IP but the API server reaches `localhost` through /etc/hosts. */
export const NODE_NAME = 'localhost';
export const BRIDGE = 'sp-cni0';
export const POD_CIDR = '10.244.0.0/24';
export const BRIDGE_IP = '10.244.0.1';
/** kwokctl's (the API server's default) Service range: routed to the bridge, never to the default route. */
export const SERVICE_CIDR = '10.0.0.0/24';
/** kwok's fake pod IPs default to 10.0.0.0/24 = the Service range; fake pods get addresses nothing routes. */
export const KWOK_POD_CIDR = '10.250.0.0/16';
export const EGRESS_GUARD = 'SP-EGRESS-GUARD';
export const GATEWAY_CLASS = 'traefik';
/** kwok-controller manages only the nodes with this annotation (the testbed's fake nodes carry it). */
export const FAKE_NODE_ANNOTATION = 'kwok.x-k8s.io/node=fake';
export const FAKE_NODE_TAINT = { key: 'kwok.x-k8s.io/node', value: 'fake', effect: 'NoSchedule' };

/** Host sysctls kubelet (and the CNI bridge plugin: ip_forward) change; `down` puts the recorded values back. */
export const SYSCTLS = ['vm.overcommit_memory', 'kernel.panic', 'kernel.panic_on_oops', 'net.ipv4.ip_forward'];

/** Places outside the state dir that kubelet / containerd 1.6 / CNI write whatever their config says. */
export const HOST_PATHS = [
  '/var/lib/kubelet',
  '/var/log/containers',
  '/var/log/pods',
  '/var/lib/cni',
  '/run/containerd',
  '/run/netns',
  '/var/run/netns',
];

/** The egress guard: nothing from a pod, nor anything kube-proxy DNATed, leaves except by the bridge or lo. */
export function guardRules() {
  return [
    ['-o', BRIDGE, '-j', 'RETURN'],
    ['-o', 'lo', '-j', 'RETURN'],
    ['-s', POD_CIDR, '-j', 'DROP'],
    ['-m', 'conntrack', '--ctstate', 'DNAT', '-j', 'DROP'],
  ];
}

export function containerdToml(d) {
  return `version = 2
root = "${d.containerdRoot}"
state = "${d.containerdState}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${d.containerdSock}"

[ttrpc]
  address = "${d.containerdSock}.ttrpc"

[debug]
  address = "${d.containerdSock}.debug"
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:${d.pauseVersion}"
  # Without it runc fails every sandbox here (no CAP_SYS_RESOURCE for kubelet's oom_score_adj -998).
  restrict_oom_score_adj = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${d.runcRoot}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${d.cniConfDir}"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "${d.registryHostsDir}"
`;
  // (The testbed registry itself, plain HTTP on 127.0.0.1, needs no entry: containerd speaks HTTP to localhost.)
}

/** Registries pods name implicitly; their only server is the testbed registry, so no pull ever leaves the machine. */
export const REDIRECTED_REGISTRIES = ['docker.io', 'registry.k8s.io'];

/** hosts.toml of a redirected registry: `server` replaces the upstream (it is not a mirror with fallback). */
export function registryHostsToml(d) {
  return `server = "http://${d.registry}"\n\n[host."http://${d.registry}"]\n  capabilities = ["pull", "resolve"]\n`;
}

/** bridge + host-local: no masquerade, no default route in pods (only the Service range via the bridge). */
export function cniConflist(d) {
  return (
    JSON.stringify(
      {
        cniVersion: '0.4.0',
        name: 'sandpiper-realnode',
        plugins: [
          {
            type: 'bridge',
            bridge: BRIDGE,
            isGateway: true,
            ipMasq: false,
            hairpinMode: true,
            ipam: {
              type: 'host-local',
              ranges: [[{ subnet: POD_CIDR, gateway: BRIDGE_IP }]],
              routes: [{ dst: SERVICE_CIDR }],
              dataDir: d.cniIpamDir,
            },
          },
        ],
      },
      null,
      2,
    ) + '\n'
  );
}

export function kubeletYaml(d) {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: ${d.ports.kubelet}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${d.ports.kubeletHealthz}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
clusterDomain: cluster.local
clusterDNS: ["${BRIDGE_IP}"]
resolvConf: ${d.resolvConf}
podLogsDir: ${d.podLogsDir}
staticPodPath: ""
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  imagefs.available: "1%"
  nodefs.inodesFree: "1%"
containerRuntimeEndpoint: unix://${d.containerdSock}
registerNode: true
maxPods: 50
`;
}

export function kubeProxyYaml(d) {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: ${d.kubeconfig}
hostnameOverride: ${NODE_NAME}
mode: iptables
clusterCIDR: ${POD_CIDR}
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:${d.ports.kubeProxyHealthz}
metricsBindAddress: 127.0.0.1:${d.ports.kubeProxyMetrics}
# NodePorts only on the bridge address, never on eth0.
nodePortAddresses: ["${BRIDGE_IP}/32"]
iptables:
  localhostNodePorts: false
  masqueradeAll: false
# Zeros: kube-proxy then changes no conntrack sysctl.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
`;
}

/** Pods' upstream resolv.conf: our CoreDNS only. */
export function resolvConf() {
  return `nameserver ${BRIDGE_IP}\nsearch svc.cluster.local cluster.local\noptions ndots:5\n`;
}

/** Cluster zone only; no server block for "." and no forward plugin compiled in: outside names get REFUSED. */
export function corefile(d) {
  return `cluster.local in-addr.arpa ip6.arpa {
    bind ${BRIDGE_IP}
    errors
    log
    health 127.0.0.1:${d.ports.corednsHealth}
    ready 127.0.0.1:${d.ports.corednsReady}
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${d.kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
}
`;
}

/**
 * Traefik on loopback; the Gateway listener port must equal the `web` entrypoint's port. The kubernetesCRD provider
 * is what lets an HTTPRoute name a Traefik Middleware in an ExtensionRef filter (group traefik.io, kind Middleware);
 * its CRDs come from Traefik's module (node.mjs). Prometheus metrics (with router labels) on their own entrypoint.
 */
export function traefikYaml(d) {
  return `global:
  checkNewVersion: false
  sendAnonymousUsage: false
log:
  level: INFO
accessLog: {}
entryPoints:
  web:
    address: "127.0.0.1:${d.ports.gateway}"
    http:
      # A client's X_Auth_User must not pass for the X-Auth-User the auth Middleware sets.
      aliasHeadersStrategy: delete
  traefik:
    address: "127.0.0.1:${d.ports.traefikPing}"
  metrics:
    address: "127.0.0.1:${d.ports.traefikMetrics}"
ping:
  entryPoint: traefik
metrics:
  prometheus:
    entryPoint: metrics
    addEntryPointsLabels: true
    addRoutersLabels: true
    addServicesLabels: true
providers:
  kubernetesGateway:
    statusAddress:
      ip: "127.0.0.1"
  # Collision-free names for the Middlewares an HTTPRoute's ExtensionRef names (a new setup: no legacy names to keep).
  kubernetesCRD:
    safeNaming: true
`;
}

/** kwokctl's binary runtime forces --manage-all-nodes=true; override it so kwok leaves the real node alone. */
export function kwokctlRealNodeDocs() {
  const [key, value] = FAKE_NODE_ANNOTATION.split('=');
  return [
    'componentsPatches:',
    '- name: kwok-controller',
    '  extraArgs:',
    '  - key: manage-all-nodes',
    '    value: "false"',
    '    override: true',
    '  - key: manage-nodes-with-annotation-selector',
    `    value: ${key}=${value}`,
    // A flag, not a KwokConfiguration document: such a document replaces kwok's defaults (lease parallelism 0).
    '  - key: cidr',
    `    value: ${KWOK_POD_CIDR}`,
    '',
  ];
}
