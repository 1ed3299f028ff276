// Builds (or finds in the cache) the real node's binaries: kubelet + kube-proxy, CoreDNS, Traefik.
// Cache: ~/.cache/sandpiper-testbed/<component>-v<version>/bin; sources to patch in ~/.cache/sandpiper-testbed/src/.
// Every go command runs under `nice -n 19`: these builds may run beside tests and must only take idle CPU.
// `node scripts/testbed/realnode/build.mjs [kube-node|coredns|traefik ...]` builds them without starting anything.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CACHE, REALNODE_VERSIONS as RV, VERSIONS, log, mkdirp, runLogged } from '../lib.mjs';
import {
  NODE_BINS,
  goBuildWrapper,
  goEnv,
  goModDownloadAsync,
  haveAll,
  k8sWrapper,
  kubeNodeBinDir,
  withBuildLock,
} from '../build.mjs';

export { NODE_BINS, kubeNodeBinDir };

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const corednsBin = () => path.join(CACHE, `coredns-v${RV.coredns}`, 'bin', 'coredns');
export const traefikBin = () => path.join(CACHE, `traefik-v${RV.traefik}`, 'bin', 'traefik');

function niceGo(args, { logFile, cwd, progress, env = goEnv() }) {
  return runLogged('nice', ['-n', '19', 'go', ...args], { logFile, env, cwd, progress });
}

/** A writable copy of a downloaded module (the module cache is read-only). */
async function copyModule(mod, dest) {
  const { Dir } = await goModDownloadAsync(mod);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.cpSync(Dir, dest, { recursive: true });
  makeWritable(dest);
  return dest;
}

function makeWritable(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    fs.chmodSync(p, e.isDirectory() ? 0o755 : 0o644);
    if (e.isDirectory()) makeWritable(p);
  }
  fs.chmodSync(dir, 0o755);
}

/** Build into <out>.tmp, then rename: an interrupted build never leaves a half binary in the cache. */
async function intoCache(bin, build) {
  const outDir = path.dirname(bin);
  const tmp = outDir + '.tmp';
  fs.rmSync(tmp, { recursive: true, force: true });
  mkdirp(tmp);
  await build(path.join(tmp, path.basename(bin)));
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.renameSync(tmp, outDir);
}

/**
 * kubelet and kube-proxy alone, from the same wrapper module as the API server. `up` builds them in the control
 * plane's `go build` instead (build.mjs buildKubernetes({ node: true })); this is for a cache that has the control plane.
 */
export async function buildKubeNode() {
  const outDir = kubeNodeBinDir();
  if (haveAll(outDir, NODE_BINS)) return 'cached';
  const v = VERSIONS.kubernetes;
  const { goMod, ldflags } = await k8sWrapper();
  const wrapperDir = path.join(CACHE, 'src', `kubernetes-node-v${v}`);
  // The control-plane wrapper's go.sum saves most of the checksum lookups of `go mod tidy`.
  const sum = path.join(CACHE, 'src', `kubernetes-v${v}`, 'go.sum');
  if (fs.existsSync(sum)) fs.copyFileSync(sum, path.join(mkdirp(wrapperDir), 'go.sum'));
  await goBuildWrapper({
    name: `kubelet + kube-proxy v${v}`,
    wrapperDir,
    goMod,
    pkgs: NODE_BINS.map((b) => `k8s.io/kubernetes/cmd/${b}`),
    outDirs: { [outDir]: NODE_BINS },
    ldflags,
    nice: true,
  });
  return 'built';
}

// The Corefile uses these; everything else (forward above all: no upstream resolver) stays out of the binary.
const COREDNS_PLUGINS = ['bind', 'ready', 'health', 'errors', 'log', 'cache', 'kubernetes'];

/** CoreDNS with a trimmed plugin.cfg: `go generate` regenerates the plugin list, then one `go build`. */
export async function buildCoreDNS() {
  const bin = corednsBin();
  if (fs.existsSync(bin)) return 'cached';
  const v = RV.coredns;
  const src = await copyModule(`github.com/coredns/coredns@v${v}`, path.join(CACHE, 'src', `coredns-v${v}`));
  const cfg = path.join(src, 'plugin.cfg');
  const kept = fs
    .readFileSync(cfg, 'utf8')
    .split('\n')
    .filter((l) => COREDNS_PLUGINS.includes(l.split(':')[0]));
  if (kept.length !== COREDNS_PLUGINS.length)
    throw new Error(`coredns v${v}: plugin.cfg lacks one of ${COREDNS_PLUGINS}`);
  fs.writeFileSync(cfg, kept.join('\n') + '\n');
  const logFile = path.join(src, 'build.log');
  const progress = `coredns v${v}`;
  await niceGo(['generate', '.'], { logFile, cwd: src, progress: `${progress} (go generate)` });
  await intoCache(bin, (out) =>
    niceGo(
      [
        'build',
        '-trimpath',
        '-ldflags',
        `-s -w -X github.com/coredns/coredns/coremain.GitCommit=v${v}`,
        '-o',
        out,
        '.',
      ],
      { logFile, cwd: src, progress: `${progress} (go build)` },
    ),
  );
  return 'built';
}

/**
 * Traefik needs three changes before it builds from the Go module proxy (TESTBED.md, "A real node"):
 * - github.com/abbot/go-http-auth is replaced by a fork the proxy refuses: use upstream plus the two functions
 *   Traefik calls that upstream lacks (go-http-auth-compat.go, our own code);
 * - lego's DNS-provider registry imports SDKs the proxy refuses: a lego copy registering `exec` and `manual` only
 *   (ACME DNS challenges are of no use on a loopback testbed);
 * - the nested module pkg/config/dynamic/ext is not in the module zip: recreate it with the empty types it embeds.
 */
export async function buildTraefik() {
  const bin = traefikBin();
  if (fs.existsSync(bin)) return 'cached';
  const v = RV.traefik;
  const src = await copyModule(`github.com/traefik/traefik/v3@v${v}`, path.join(CACHE, 'src', `traefik-v${v}`));
  const goauth = await copyModule(`github.com/abbot/go-http-auth@v${RV.goHttpAuth}`, path.join(src, '_goauth'));
  fs.copyFileSync(path.join(HERE, 'go-http-auth-compat.go'), path.join(goauth, 'compat.go'));
  // v0.4.0 predates modules; a replace target needs a go.mod (x/net and x/crypto come from Traefik's own go.mod).
  fs.writeFileSync(path.join(goauth, 'go.mod'), 'module github.com/abbot/go-http-auth\n\ngo 1.18\n');
  fs.rmSync(path.join(goauth, 'examples'), { recursive: true, force: true });
  trimLego(await copyModule(`github.com/go-acme/lego/v5@v${RV.lego}`, path.join(src, '_lego')));
  writeDynamicExt(path.join(src, 'pkg', 'config', 'dynamic', 'ext'));
  const goModFile = path.join(src, 'go.mod');
  let goMod = fs.readFileSync(goModFile, 'utf8');
  goMod = goMod.replace(/^\s*github\.com\/abbot\/go-http-auth\s*=>.*$/m, '');
  goMod += '\nreplace github.com/abbot/go-http-auth => ./_goauth\n';
  goMod += '\nreplace github.com/go-acme/lego/v5 => ./_lego\n';
  fs.writeFileSync(goModFile, goMod);
  const logFile = path.join(src, 'build.log');
  // The web UI assets are not in the module zip; the dashboard stays off.
  await intoCache(bin, (out) =>
    niceGo(
      [
        'build',
        '-mod=mod',
        '-trimpath',
        '-ldflags',
        `-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=v${v}`,
        '-o',
        out,
        './cmd/traefik',
      ],
      { logFile, cwd: src, progress: `traefik v${v} (go build)` },
    ),
  );
  return 'built';
}

function trimLego(dir) {
  fs.rmSync(path.join(dir, 'cmd'), { recursive: true, force: true });
  fs.rmSync(path.join(dir, 'e2e'), { recursive: true, force: true });
  fs.rmSync(path.join(dir, 'main.go'), { force: true });
  const dns = path.join(dir, 'providers', 'dns');
  for (const e of fs.readdirSync(dns, { withFileTypes: true })) {
    if (e.isDirectory() && !['exec', 'manual', 'internal'].includes(e.name))
      fs.rmSync(path.join(dns, e.name), { recursive: true });
  }
  fs.rmSync(path.join(dns, 'dns_providers_test.go'), { force: true });
  fs.writeFileSync(
    path.join(dns, 'zz_gen_dns_providers.go'),
    `// Trimmed by scripts/testbed/realnode/build.mjs: only providers that need no cloud SDK.

package dns

import (
	"fmt"

	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/providers/dns/exec"
	"github.com/go-acme/lego/v5/providers/dns/manual"
)

// NewDNSChallengeProviderByName Factory for DNS providers.
func NewDNSChallengeProviderByName(name string) (challenge.Provider, error) {
	switch name {
	case "exec":
		return exec.NewDNSProvider()
	case "manual":
		return manual.NewDNSProvider()
	default:
		return nil, fmt.Errorf("unrecognized DNS provider: %s", name)
	}
}
`,
  );
}

function writeDynamicExt(dir) {
  mkdirp(dir);
  fs.writeFileSync(path.join(dir, 'go.mod'), 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.24\n');
  fs.writeFileSync(
    path.join(dir, 'ext.go'),
    `// Package ext recreates Traefik's nested module that its module zip leaves out (empty extension points).
package ext

// HTTP is embedded in dynamic.HTTPConfiguration.
type HTTP struct{}

// Router is embedded in dynamic.Router.
type Router struct{}

// RouterIng is the ingress-annotation side of Router.
type RouterIng struct{}

// ToRouter converts the annotation form.
func (RouterIng) ToRouter() Router { return Router{} }
`,
  );
}

const BUILDS = { 'kube-node': buildKubeNode, coredns: buildCoreDNS, traefik: buildTraefik };

/** Builds the named components one after another (each is already one parallel `go build`). */
export async function buildRealNode(names = Object.keys(BUILDS)) {
  const out = {};
  for (const n of names) {
    const t0 = Date.now();
    log(`▶ build ${n}`);
    // kube-node writes the Kubernetes wrapper's binaries: it shares the lock of the control-plane build.
    out[n] = await withBuildLock(n === 'kube-node' ? `kubernetes-v${VERSIONS.kubernetes}` : n, BUILDS[n]);
    log(`✔ build ${n}: ${out[n]} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const names = process.argv.slice(2);
  for (const n of names) if (!BUILDS[n]) throw new Error(`unknown component ${n}; one of ${Object.keys(BUILDS)}`);
  buildRealNode(names.length ? names : undefined).catch((e) => {
    console.error(`[testbed] real-node build failed: ${e.message}`);
    process.exit(1);
  });
}
