// Builds (or finds in the cache) the Go binaries of the test bed.
// Cache: ~/.cache/sandpiper-testbed/<component>-v<version>/bin, Go caches in ~/.cache/sandpiper-testbed/go/
// (SANDPIPER_TESTBED_CACHE moves all of it, e.g. to measure a cold build beside a warm cache).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CACHE, PROGRESS_MS, VERSIONS, log, mkdirp, runLogged, sh, withFileLock } from './lib.mjs';

export function goEnv() {
  return {
    ...process.env,
    // GOPATH only moves with an explicit cache dir, so the default cache's build IDs stay as they were.
    ...(process.env.SANDPIPER_TESTBED_CACHE ? { GOPATH: path.join(CACHE, 'go', 'path') } : {}),
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
/** kubelet and kube-proxy: built from the same wrapper module as the control plane, cached apart from it. */
export const NODE_BINS = ['kubelet', 'kube-proxy'];
export function kubeNodeBinDir() {
  return path.join(CACHE, `kubernetes-node-v${VERSIONS.kubernetes}`, 'bin');
}

/** Download a module and return its {Dir, GoMod} (synchronous: for small or already downloaded modules). */
export function goModDownload(mod) {
  const r = sh('go', ['mod', 'download', '-json', mod], { env: goEnv(), cwd: mkdirp(CACHE) });
  return JSON.parse(r.stdout);
}

/**
 * Download a module without blocking the event loop (a cold Kubernetes zip takes minutes; the other builds' progress
 * lines must keep coming), saying every 30 s that it is still at it.
 */
export function goModDownloadAsync(mod) {
  const t0 = Date.now();
  const ticker = setInterval(
    () => log(`… go mod download ${mod}: ${Math.round((Date.now() - t0) / 1000)}s elapsed`),
    PROGRESS_MS,
  );
  return new Promise((resolve, reject) => {
    const child = spawn('go', ['mod', 'download', '-json', mod], { env: goEnv(), cwd: mkdirp(CACHE) });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(ticker);
      if (code === 0) resolve(JSON.parse(out));
      else reject(new Error(`go mod download ${mod} exited ${code}\n${(err + out).slice(-4000)}`));
    });
  });
}

/** One build of a component at a time across processes (two `up`s must not write the same source folder). */
export async function withBuildLock(name, fn) {
  let said = 0;
  return withFileLock(
    path.join(mkdirp(CACHE), `${name}.build.lock`),
    fn,
    (holder, waitedMs) => {
      if (Date.now() - said < PROGRESS_MS) return;
      log(`… ${name}: waiting for pid ${holder}, which is building it (${Math.round(waitedMs / 1000)}s)`);
      said = Date.now();
    },
    1000,
  );
}

/**
 * One `go mod tidy` and one `go build` of every package in a wrapper module; `outDirs` maps each cache folder to the
 * binaries that go there. `nice: true` runs go under `nice -n 19` (a build beside running tests takes only idle CPU).
 */
export async function goBuildWrapper({ name, wrapperDir, goMod, pkgs, outDirs, ldflags, nice = false }) {
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
  const tmpOut = path.join(wrapperDir, 'out.tmp');
  fs.rmSync(tmpOut, { recursive: true, force: true });
  mkdirp(tmpOut);
  await go(['build', '-trimpath', '-o', tmpOut + '/', '-ldflags', ldflags, ...pkgs], 'go build');
  const bins = Object.values(outDirs).flat();
  if (!haveAll(tmpOut, bins)) throw new Error(`${name}: build finished but binaries missing in ${tmpOut}`);
  // Each folder appears complete or not at all: its binaries go into <dir>.tmp, which is then renamed.
  for (const [outDir, names] of Object.entries(outDirs)) {
    const staged = outDir + '.tmp';
    fs.rmSync(staged, { recursive: true, force: true });
    mkdirp(staged);
    for (const b of names) fs.renameSync(path.join(tmpOut, b), path.join(staged, b));
    fs.rmSync(outDir, { recursive: true, force: true });
    fs.renameSync(staged, outDir);
  }
  fs.rmSync(tmpOut, { recursive: true, force: true });
}

/**
 * The wrapper module's go.mod (requires k8s.io/kubernetes, replaces every staging module by its published version)
 * and the version ldflags, shared by the control-plane build and the node build (kubelet, kube-proxy).
 */
export async function k8sWrapper() {
  const v = VERSIONS.kubernetes;
  const [major, minor] = v.split('.');
  const info = await goModDownloadAsync(`k8s.io/kubernetes@v${v}`);
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

/**
 * kube-apiserver, kube-controller-manager, kube-scheduler, kubectl from the Go module proxy (wrapper-module trick);
 * with `node`, kubelet and kube-proxy too, in the same `go build` (one build of the module, not two at once).
 */
export async function buildKubernetes({ node = false } = {}) {
  const v = VERSIONS.kubernetes;
  return withBuildLock(`kubernetes-v${v}`, async () => {
    const want = { [k8sBinDir()]: K8S_BINS, ...(node ? { [kubeNodeBinDir()]: NODE_BINS } : {}) };
    const outDirs = Object.fromEntries(Object.entries(want).filter(([dir, bins]) => !haveAll(dir, bins)));
    const bins = Object.values(outDirs).flat();
    if (!bins.length) return 'cached';
    const { goMod, ldflags } = await k8sWrapper();
    await goBuildWrapper({
      name: `kubernetes v${v} (${bins.join(', ')})`,
      wrapperDir: path.join(CACHE, 'src', `kubernetes-v${v}`),
      goMod,
      pkgs: bins.map((b) => `k8s.io/kubernetes/cmd/${b}`),
      outDirs,
      ldflags,
    });
    return `built ${bins.join(', ')}`;
  });
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
  const info = await goModDownloadAsync(`github.com/argoproj/argo-rollouts@v${v}`);
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
    outDirs: { [outDir]: ['rollouts-controller'] },
    ldflags: `-s -w -X github.com/argoproj/argo-rollouts/utils/version.version=v${v}`,
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
