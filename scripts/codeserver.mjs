#!/usr/bin/env node
// Installs the pinned code-server (tools/code-server) idempotently.
//
//   node scripts/codeserver.mjs install   # install if needed (fast no-op when up to date)
//   node scripts/codeserver.mjs path      # print the code-server entry.js path (installs if needed)
//   node scripts/codeserver.mjs status    # say whether it is installed, exit 1 if not
//
// The node_modules tree is installed once per machine into a cache folder keyed by the hash of
// tools/code-server/package.json + package-lock.json + Node ABI + platform/arch:
//   ${SANDPIPER_CODE_SERVER_CACHE:-${XDG_CACHE_HOME:-~/.cache}/sandpiper-code-server}/<hash>/
// and tools/code-server/node_modules becomes a symlink to it, so a fresh clone on the same machine
// does not reinstall. SANDPIPER_CODE_SERVER_CACHE=off installs in place instead.
//
// Quirks handled (see TESTBED.md "VS Code — real, from npm"): as root npm needs unsafe_perm for the
// postinstall; the kerberos module needs libkrb5-dev; @vscode/ripgrep's postinstall downloads from
// GitHub unless its cache tarball is already in $TMPDIR; node-pty's postinstall runs `npx node-gyp`
// (npm_config_yes); native modules build against the local Node headers (npm_config_nodedir=/usr).
// npm 11 blocks dependency install scripts unless allowed; code-server's postinstall runs nested
// `npm ci`s in its own sub-packages, so the install allows scripts for this pinned, locked tree only.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMain } from './generated.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..');
export const toolDir = path.join(repoRoot, 'tools', 'code-server');
const MARKER = '.sandpiper-code-server-installed';
const RIPGREP_CACHE_VERSION = '1.15.11'; // @vscode/ripgrep version inside code-server 4.100.3
const RIPGREP_TARBALL_VERSION = 'v13.0.0-10';

function log(msg) {
  process.stderr.write(`[codeserver] ${msg}\n`);
}

export function lockHash() {
  const h = createHash('sha256');
  h.update(fs.readFileSync(path.join(toolDir, 'package.json')));
  h.update(fs.readFileSync(path.join(toolDir, 'package-lock.json')));
  h.update(`${process.platform}-${process.arch}-abi${process.versions.modules}`);
  return h.digest('hex').slice(0, 16);
}

/** Path of code-server's node entry point inside tools/code-server. */
export function codeServerEntry() {
  return path.join(toolDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
}

/**
 * code-server's arguments to serve `workspace` on `bindAddr` (after the entry point): no auth, TLS, telemetry,
 * update check or trust prompt. `dirs` are the --config/--user-data-dir/--extensions-dir pairs.
 */
export function serveArgs(dirs, bindAddr, workspace, extra = []) {
  return [
    ...dirs,
    '--bind-addr',
    bindAddr,
    '--auth',
    'none',
    '--cert',
    'false',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    ...extra,
    workspace,
  ];
}

function cacheRoot() {
  const env = process.env.SANDPIPER_CODE_SERVER_CACHE;
  if (env === 'off' || env === '0' || env === 'false') return null;
  if (env) return path.resolve(env);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'sandpiper-code-server');
}

function readMarker(dir) {
  try {
    return fs.readFileSync(path.join(dir, MARKER), 'utf8').trim();
  } catch {
    return null;
  }
}

function isComplete(nodeModulesDir, hash) {
  return (
    readMarker(nodeModulesDir) === hash &&
    fs.existsSync(path.join(nodeModulesDir, 'code-server', 'out', 'node', 'entry.js'))
  );
}

export function isInstalled() {
  return isComplete(path.join(toolDir, 'node_modules'), lockHash());
}

function run(cmd, args, opts = {}) {
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

function ensureSystemPackages() {
  const want = [];
  const gssapiHeader = ['/usr/include/gssapi/gssapi.h', '/usr/include/gssapi.h'].some((p) => fs.existsSync(p));
  if (!gssapiHeader) want.push('libkrb5-dev');
  if (!fs.existsSync('/usr/bin/rg')) want.push('ripgrep');
  if (!fs.existsSync('/usr/bin/chromium') && process.env.SANDPIPER_SKIP_CHROMIUM !== '1') want.push('chromium');
  // Build tools for native modules, only if missing.
  if (!hasCommand('make') || !hasCommand('g++')) want.push('build-essential');
  if (!hasCommand('python3')) want.push('python3');
  if (want.length === 0) return;
  if (process.platform !== 'linux' || !hasCommand('apt-get')) {
    log(`missing system packages (${want.join(', ')}); install them with your package manager`);
    return;
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = isRoot ? [] : hasCommand('sudo') ? ['sudo', '-n'] : null;
  if (!sudo) {
    log(`missing system packages (${want.join(', ')}); run: apt-get install -y ${want.join(' ')}`);
    return;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => {
    const [cmd, ...rest] = [...sudo, 'apt-get', '-o', 'DPkg::Lock::Timeout=600', ...args];
    return run(cmd, rest, { env });
  };
  if (apt(['install', '-y', '--no-install-recommends', ...want]) !== 0) {
    apt(['update']);
    if (apt(['install', '-y', '--no-install-recommends', ...want]) !== 0) {
      log(`apt-get install ${want.join(' ')} failed; continuing, the npm install may fail`);
    }
  }
}

function hasCommand(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function tmpDir() {
  return process.env.TMPDIR || os.tmpdir();
}

/** @vscode/ripgrep's postinstall looks for its download in $TMPDIR/vscode-ripgrep-cache-<ver>/ first. */
function prepareRipgrepCache() {
  const rg = ['/usr/bin/rg', '/usr/local/bin/rg'].find((p) => fs.existsSync(p));
  if (!rg) {
    log('no system ripgrep found; @vscode/ripgrep will try to download it');
    return;
  }
  const target = { x64: 'x86_64-unknown-linux-musl', arm64: 'aarch64-unknown-linux-musl' }[process.arch];
  if (!target || process.platform !== 'linux') return;
  const dir = path.join(tmpDir(), `vscode-ripgrep-cache-${RIPGREP_CACHE_VERSION}`);
  const tarball = path.join(dir, `ripgrep-${RIPGREP_TARBALL_VERSION}-${target}.tar.gz`);
  if (fs.existsSync(tarball) && fs.statSync(tarball).size > 0) return;
  fs.mkdirSync(dir, { recursive: true });
  const stage = fs.mkdtempSync(path.join(tmpDir(), 'sandpiper-rg-'));
  try {
    fs.copyFileSync(rg, path.join(stage, 'rg'));
    fs.chmodSync(path.join(stage, 'rg'), 0o755);
    const tmpTarball = `${tarball}.${process.pid}.tmp`;
    if (run('tar', ['-czf', tmpTarball, '-C', stage, 'rg']) !== 0) throw new Error('tar failed');
    fs.renameSync(tmpTarball, tarball);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

function installEnv() {
  const env = {
    ...process.env,
    npm_config_unsafe_perm: 'true',
    npm_config_yes: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    // npm >= 11.x blocks dependency install scripts by default; this tree needs them (native modules,
    // code-server's postinstall with its nested installs). Scoped to this pinned, locked install.
    npm_config_dangerously_allow_all_scripts: 'true',
    TMPDIR: tmpDir(),
  };
  if (fs.existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr';
  return env;
}

/** Runs `npm ci` for tools/code-server's package.json + lock in `dir` (writes the marker last). */
function npmCiInto(dir, hash) {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) {
    const src = path.join(toolDir, f);
    const dst = path.join(dir, f);
    if (path.resolve(src) !== path.resolve(dst)) fs.copyFileSync(src, dst);
  }
  const started = Date.now();
  const status = run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: dir, env: installEnv() });
  if (status !== 0) throw new Error(`npm ci for code-server failed (exit ${status}) in ${dir}`);
  const nm = path.join(dir, 'node_modules');
  if (!fs.existsSync(path.join(nm, 'code-server', 'out', 'node', 'entry.js'))) {
    throw new Error(`code-server installed but ${nm}/code-server/out/node/entry.js is missing`);
  }
  // code-server's postinstall installs lib/vscode's own dependencies; check one native module landed.
  const vscodeNm = path.join(nm, 'code-server', 'lib', 'vscode', 'node_modules');
  if (!fs.existsSync(vscodeNm)) throw new Error(`code-server postinstall did not run (${vscodeNm} missing)`);
  fs.writeFileSync(path.join(nm, MARKER), `${hash}\n`);
  log(`installed code-server into ${dir} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** Cross-process lock (a directory holding the owner's pid); stale locks of dead owners are taken over. */
function withLock(lockDir, fn) {
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  const deadline = Date.now() + 20 * 60 * 1000;
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8'));
      } catch {}
      if (Number.isFinite(owner) && owner > 0 && !pidAlive(owner)) {
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${lockDir}`);
      if (!announced) log(`another install is running (lock ${lockDir}); waiting`);
      announced = true;
      sleep(1000);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

function linkNodeModules(target) {
  const link = path.join(toolDir, 'node_modules');
  let st = null;
  try {
    st = fs.lstatSync(link);
  } catch {}
  if (st) {
    if (st.isSymbolicLink() && path.resolve(toolDir, fs.readlinkSync(link)) === target) return;
    fs.rmSync(link, { recursive: true, force: true });
  }
  const tmp = `${link}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(target, tmp, 'dir');
  fs.renameSync(tmp, link);
}

/** Ensures code-server is installed; returns the entry.js path. Fast when already installed. */
export function ensureCodeServer() {
  const hash = lockHash();
  if (isComplete(path.join(toolDir, 'node_modules'), hash)) return codeServerEntry();

  const root = cacheRoot();
  let cacheDir = null;
  if (root) {
    try {
      fs.mkdirSync(root, { recursive: true });
      fs.accessSync(root, fs.constants.W_OK);
      cacheDir = path.join(root, hash);
    } catch {
      log(`cache ${root} not writable; installing in place`);
    }
  }

  if (cacheDir) {
    withLock(`${cacheDir}.lock`, () => {
      if (!isComplete(path.join(cacheDir, 'node_modules'), hash)) {
        ensureSystemPackages();
        prepareRipgrepCache();
        fs.rmSync(cacheDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
        npmCiInto(cacheDir, hash);
      } else {
        log(`using cached install ${cacheDir}`);
      }
    });
    withLock(path.join(toolDir, '.install.lock'), () => linkNodeModules(path.join(cacheDir, 'node_modules')));
  } else {
    withLock(path.join(toolDir, '.install.lock'), () => {
      if (isComplete(path.join(toolDir, 'node_modules'), hash)) return;
      ensureSystemPackages();
      prepareRipgrepCache();
      const link = path.join(toolDir, 'node_modules');
      try {
        if (fs.lstatSync(link).isSymbolicLink()) fs.rmSync(link, { force: true });
      } catch {}
      npmCiInto(toolDir, hash);
    });
  }
  if (!isInstalled()) throw new Error('code-server install finished but is not complete');
  return codeServerEntry();
}

function main(argv) {
  const cmd = argv[0] ?? 'install';
  switch (cmd) {
    case 'install':
      ensureCodeServer();
      return 0;
    case 'path':
      process.stdout.write(`${ensureCodeServer()}\n`);
      return 0;
    case 'status': {
      const ok = isInstalled();
      process.stdout.write(ok ? `installed (${lockHash()}): ${codeServerEntry()}\n` : 'not installed\n');
      return ok ? 0 : 1;
    }
    default:
      process.stderr.write('usage: node scripts/codeserver.mjs [install|path|status]\n');
      return 2;
  }
}

if (isMain(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    log(`error: ${e.message}`);
    process.exitCode = 1;
  }
}
