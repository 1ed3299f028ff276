// Builds (or finds in the cache) the Go binaries of the test bed.
// Cache: ~/.cache/sandpiper-testbed/<component>-v<version>/bin, Go caches in ~/.cache/sandpiper-testbed/go/.
import fs from 'node:fs';
import path from 'node:path';
import { CACHE, VERSIONS, mkdirp, runLogged, sh } from './lib.mjs';

export function goEnv() {
  return {
    ...process.env,
    GOMODCACHE: path.join(CACHE, 'go', 'mod'),
    GOCACHE: path.join(CACHE, 'go', 'build'),
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    GOFLAGS: '-mod=mod',
  };
}

export function haveAll(dir, names) {
  return names.every((n) => fs.existsSync(path.join(dir, n)));
}

export const K8S_BINS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'];

export function k8sBinDir() {
  return path.join(CACHE, `kubernetes-v${VERSIONS.kubernetes}`, 'bin');
}
export function kwokBinDir() {
  return path.join(CACHE, `kwok-v${VERSIONS.kwok}`, 'bin');
}
export function argoBinDir() {
  return path.join(CACHE, `argo-rollouts-v${VERSIONS.argoRollouts}`, 'bin');
}

/** Download a module and return its {Dir, GoMod}. */
export function goModDownload(mod) {
  const r = sh('go', ['mod', 'download', '-json', mod], { env: goEnv(), cwd: CACHE });
  return JSON.parse(r.stdout);
}

/** `nice: true` runs go under `nice -n 19` (a build beside running tests then only takes idle CPU). */
export async function goBuildWrapper({ name, wrapperDir, goMod, pkgs, outDir, ldflags, bins, nice = false }) {
  mkdirp(wrapperDir);
  fs.writeFileSync(path.join(wrapperDir, 'go.mod'), goMod);
  fs.writeFileSync(
    path.join(wrapperDir, 'tools.go'),
    `//go:build tools\n\npackage tools\n\nimport (\n${pkgs.map((p) => `\t_ "${p}"`).join('\n')}\n)\n`,
  );
  const logFile = path.join(wrapperDir, 'build.log');
  const env = goEnv();
  const go = (args, what) =>
    runLogged(nice ? 'nice' : 'go', nice ? ['-n', '19', 'go', ...args] : args, {
      logFile,
      env,
      cwd: wrapperDir,
      progress: `${name} (${what})`,
    });
  await go(['mod', 'tidy'], 'go mod tidy');
  const tmpOut = outDir + '.tmp';
  fs.rmSync(tmpOut, { recursive: true, force: true });
  mkdirp(tmpOut);
  await go(['build', '-trimpath', '-o', tmpOut + '/', '-ldflags', ldflags, ...pkgs], 'go build');
  if (!haveAll(tmpOut, bins)) throw new Error(`${name}: build finished but binaries missing in ${tmpOut}`);
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.renameSync(tmpOut, outDir);
}

/**
 * The wrapper module's go.mod (requires k8s.io/kubernetes, replaces every staging module by its published version)
 * and the version ldflags, shared by the control-plane build and the node build (kubelet, kube-proxy).
 */
export function k8sWrapper() {
  const v = VERSIONS.kubernetes;
  const [major, minor] = v.split('.');
  const info = goModDownload(`k8s.io/kubernetes@v${v}`);
  const upstream = fs.readFileSync(info.GoMod, 'utf8');
  const staging = [...upstream.matchAll(/^\s*(k8s\.io\/[A-Za-z0-9._-]+)\s+=>\s+\.\/staging\//gm)].map((m) => m[1]);
  if (staging.length < 10) throw new Error(`could not find the staging replaces in ${info.GoMod}`);
  const goMod =
    `module sandpiper.local/k8s-wrapper\n\ngo 1.24\n\nrequire k8s.io/kubernetes v${v}\n\n` +
    staging.map((m) => `replace ${m} => ${m} v0.${minor}.${v.split('.')[2]}\n`).join('');
  const x = (k, val) => `-X ${k}=${val}`;
  const ldflags = [
    '-s -w',
    ...['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((p) => [
      x(`${p}.gitVersion`, `v${v}`),
      x(`${p}.gitMajor`, major),
      x(`${p}.gitMinor`, minor),
    ]),
  ].join(' ');
  return { goMod, ldflags };
}

/** kube-apiserver, kube-controller-manager, kube-scheduler, kubectl from the Go module proxy (wrapper-module trick). */
export async function buildKubernetes() {
  const v = VERSIONS.kubernetes;
  const outDir = k8sBinDir();
  if (haveAll(outDir, K8S_BINS)) return 'cached';
  const { goMod, ldflags } = k8sWrapper();
  await goBuildWrapper({
    name: 'kubernetes',
    wrapperDir: path.join(CACHE, 'src', `kubernetes-v${v}`),
    goMod,
    pkgs: K8S_BINS.map((b) => `k8s.io/kubernetes/cmd/${b}`),
    outDir,
    ldflags,
    bins: K8S_BINS,
  });
  return 'built';
}

export async function buildKwok() {
  const v = VERSIONS.kwok;
  const outDir = kwokBinDir();
  if (haveAll(outDir, ['kwok', 'kwokctl'])) return 'cached';
  const tmpOut = outDir + '.tmp';
  fs.rmSync(tmpOut, { recursive: true, force: true });
  mkdirp(tmpOut);
  await runLogged(
    'go',
    [
      'install',
      '-trimpath',
      '-ldflags',
      '-s -w',
      `sigs.k8s.io/kwok/cmd/kwok@v${v}`,
      `sigs.k8s.io/kwok/cmd/kwokctl@v${v}`,
    ],
    {
      logFile: path.join(CACHE, `kwok-v${v}.build.log`),
      env: { ...goEnv(), GOFLAGS: '', GOBIN: tmpOut },
      cwd: CACHE,
      progress: `kwok v${v} (go install)`,
    },
  );
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.renameSync(tmpOut, outDir);
  return 'built';
}

/** Argo Rollouts controller: go install refuses (replace directives), so copy its replace block into a wrapper. */
export async function buildArgoRollouts() {
  const v = VERSIONS.argoRollouts;
  const outDir = argoBinDir();
  if (haveAll(outDir, ['rollouts-controller'])) return 'cached';
  const info = goModDownload(`github.com/argoproj/argo-rollouts@v${v}`);
  const upstream = fs.readFileSync(info.GoMod, 'utf8');
  const goLine = (upstream.match(/^go\s+(\S+)/m) || [])[1] || '1.23';
  const replaces =
    [...upstream.matchAll(/^replace\s*\(([\s\S]*?)^\)/gm)].map((m) => `replace (${m[1]})\n`).join('') +
    [...upstream.matchAll(/^replace\s+([^(\n].*)$/gm)].map((m) => `replace ${m[1]}\n`).join('');
  const goMod = `module sandpiper.local/argo-wrapper\n\ngo ${goLine}\n\nrequire github.com/argoproj/argo-rollouts v${v}\n\n${replaces}`;
  await goBuildWrapper({
    name: 'argo-rollouts',
    wrapperDir: path.join(CACHE, 'src', `argo-rollouts-v${v}`),
    goMod,
    pkgs: ['github.com/argoproj/argo-rollouts/cmd/rollouts-controller'],
    outDir,
    ldflags: `-s -w -X github.com/argoproj/argo-rollouts/utils/version.version=v${v}`,
    bins: ['rollouts-controller'],
  });
  return 'built';
}

/** Directory holding the CRD yaml of a module (downloaded to the module cache). */
export function moduleDir(mod) {
  const dir = path.join(CACHE, 'go', 'mod', ...mod.replace(/@.*/, '').split('/'));
  const withVer = dir + '@' + mod.split('@')[1];
  if (fs.existsSync(withVer)) return withVer;
  return goModDownload(mod).Dir;
}
