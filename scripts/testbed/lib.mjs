// Shared helpers for the Sandpiper local test bed (node built-ins only).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
export const STATE = process.env.SANDPIPER_TESTBED_STATE || path.join(REPO, '.sandpiper', 'testbed');
export const CACHE = process.env.SANDPIPER_TESTBED_CACHE || path.join(os.homedir(), '.cache', 'sandpiper-testbed');
export const TESTBED_JSON = path.join(STATE, 'testbed.json');

export const VERSIONS = {
  kubernetes: '1.33.13',
  kwok: '0.8.0',
  argoRollouts: '1.8.5',
  gatewayApi: '1.4.1',
};

/** The real node (the default; `up --no-real-node` leaves it out): what it builds and the Gateway API bundle it installs instead of 1.4.1. */
export const REALNODE_VERSIONS = {
  coredns: '1.15.0',
  traefik: '3.7.13',
  lego: '5.4.1', // Traefik's ACME library, rebuilt with the exec/manual DNS providers only
  goHttpAuth: '0.4.0', // upstream of the fork Traefik replaces it with (the Go proxy refuses the fork)
  gatewayApi: '1.6.1', // Traefik 3.7 needs >= 1.5; the bundle's admission policy refuses older CRDs afterwards
  pause: '3.6',
};

export const CLUSTER_NAME = 'sandpiper';

/** How often a running build says it is still at work. */
export const PROGRESS_MS = 30000;

export function log(...args) {
  console.log('[testbed]', ...args);
}

export function mkdirp(p) {
  fs.mkdirSync(p, { recursive: true });
  return p;
}

export function readJson(p, dflt = undefined) {
  try {
    return JSON.parse(fs.readFileSync(p, 'utf8'));
  } catch {
    return dflt;
  }
}

export function writeJson(p, v) {
  mkdirp(path.dirname(p));
  fs.writeFileSync(p + '.tmp', JSON.stringify(v, null, 2) + '\n');
  fs.renameSync(p + '.tmp', p);
}

export function which(cmd) {
  for (const dir of (process.env.PATH || '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin'])) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  return null;
}

/** Run synchronously; returns {status, stdout, stderr}. Throws on failure unless opts.check === false. */
export function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...opts });
  if (r.error && opts.check !== false) throw r.error;
  if (opts.check !== false && r.status !== 0) {
    const err = new Error(
      `${cmd} ${args.join(' ')} exited ${r.status}\n${(r.stderr || '').slice(-4000)}${(r.stdout || '').slice(-2000)}`,
    );
    err.result = r;
    throw err;
  }
  return r;
}

/**
 * Run asynchronously with output appended to a log file. Rejects with the log's tail on failure.
 * With `progress` (what is being built), prints the elapsed time every 30 s so a long build never looks hung.
 */
export function runLogged(cmd, args, { logFile, env, cwd, progress } = {}) {
  mkdirp(path.dirname(logFile));
  const fd = fs.openSync(logFile, 'a');
  fs.writeSync(fd, `\n$ ${cmd} ${args.join(' ')}\n`);
  const t0 = Date.now();
  const ticker = progress
    ? setInterval(
        () => log(`… ${progress}: ${Math.round((Date.now() - t0) / 1000)}s elapsed (log: ${logFile})`),
        PROGRESS_MS,
      )
    : null;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: env || process.env, cwd });
    child.on('error', (e) => {
      if (ticker) clearInterval(ticker);
      fs.closeSync(fd);
      reject(e);
    });
    child.on('exit', (code) => {
      if (ticker) clearInterval(ticker);
      fs.closeSync(fd);
      if (code === 0) resolve();
      else {
        const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
        reject(new Error(`${cmd} ${args.join(' ')} exited ${code} (log: ${logFile})\n${tail}`));
      }
    });
  });
}

/** Start a detached daemon; output to logFile, pid written to pidFile. */
export function startDaemon(name, cmd, args, { env, cwd } = {}) {
  const logFile = daemonLogFile(name);
  mkdirp(path.dirname(logFile));
  const fd = fs.openSync(logFile, 'a');
  fs.writeSync(fd, `\n==== ${new Date().toISOString()} $ ${cmd} ${args.join(' ')}\n`);
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: env || process.env, cwd });
  fs.closeSync(fd);
  child.unref();
  fs.writeFileSync(pidFile(name), String(child.pid));
  return { pid: child.pid, logFile };
}

export function daemonLogFile(name) {
  return path.join(STATE, 'logs', `${name}.log`);
}

/** The last `lines` lines of a log, from the latest start only (startDaemon appends a `==== <time> $ cmd` header). */
export function logTail(file, lines = 30) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return '(no log file)';
  }
  const start = text.lastIndexOf('\n==== ');
  const rows = (start >= 0 ? text.slice(start + 1) : text).trimEnd().split('\n');
  return rows.slice(-lines).join('\n') || '(log is empty)';
}

/** An error saying which component failed and showing the end of its log; `up` prints it without a stack. */
export function componentFailure(name, why, logFile) {
  const err = new Error(
    `${name} failed to start: ${why}\n---- last 30 lines of ${logFile} ----\n${logTail(logFile)}\n----`,
  );
  err.component = name;
  return err;
}

/**
 * Waits for a daemon started by startDaemon to answer `ready`. Fails at once when the process exits (a busy port,
 * a bad flag) instead of waiting out the timeout; either way the error names the daemon and shows its log's tail.
 */
export async function waitForDaemon(name, what, ready, timeoutMs = 60000, intervalMs = 200) {
  const pid = readPid(name);
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (
      await Promise.resolve()
        .then(ready)
        .catch(() => false)
    )
      return;
    if (!pidAlive(pid))
      throw componentFailure(name, `the process (pid ${pid}) exited before ${what} answered`, daemonLogFile(name));
    await sleep(intervalMs);
  }
  throw componentFailure(
    name,
    `${what} did not answer within ${timeoutMs / 1000}s (pid ${pid} still running)`,
    daemonLogFile(name),
  );
}

export function pidFile(name) {
  return path.join(mkdirp(path.join(STATE, 'pids')), `${name}.pid`);
}

export function readPid(name) {
  try {
    const n = parseInt(fs.readFileSync(pidFile(name), 'utf8').trim(), 10);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

export function pidAlive(pid, expectExe) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false; // zombie
    if (expectExe) {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline.includes(expectExe)) return false;
    }
  } catch {
    return false;
  }
  return true;
}

export function daemonAlive(name, expectExe) {
  const pid = readPid(name);
  return pidAlive(pid, expectExe) ? pid : null;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, wait up to timeoutMs, then SIGKILL. Returns true if the process is gone. */
export async function stopPid(pid, timeoutMs = 10000) {
  if (!pidAlive(pid)) return true;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {}
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!pidAlive(pid)) return true;
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {}
  for (let i = 0; i < 30; i++) {
    if (!pidAlive(pid)) return true;
    await sleep(100);
  }
  return !pidAlive(pid);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function portOpen(port, host = '127.0.0.1', timeoutMs = 500) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.on('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.on('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

export async function httpOk(url, timeoutMs = 1000) {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return r.ok;
  } catch {
    return false;
  }
}

export async function waitFor(what, fn, timeoutMs = 60000, intervalMs = 200) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ': ' + last.message : ''}`,
  );
}

/** Mount points (from /proc/mounts) at or below dir, deepest first. */
export function mountsUnder(dir) {
  const real = fs.existsSync(dir) ? fs.realpathSync(dir) : dir;
  const out = [];
  for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const mp = (line.split(' ')[1] || '').replace(/\\040/g, ' ');
    if (mp === real || mp.startsWith(real + '/') || mp === dir || mp.startsWith(dir + '/')) out.push(mp);
  }
  return [...new Set(out)].sort((a, b) => b.length - a.length);
}

export async function timed(label, fn, timings) {
  const t0 = Date.now();
  log(`▶ ${label}`);
  try {
    const r = await fn();
    const s = ((Date.now() - t0) / 1000).toFixed(1);
    timings.push([label, s, typeof r === 'string' ? r : '']);
    log(`✔ ${label} (${s}s)${typeof r === 'string' && r ? ' — ' + r : ''}`);
    return r;
  } catch (e) {
    const s = ((Date.now() - t0) / 1000).toFixed(1);
    log(`✘ ${label} failed after ${s}s`);
    throw e;
  }
}

/**
 * Runs `fn` holding `lockFile` (created exclusively, holding our pid); a lock whose holder died is taken over.
 * `onWait(holder, waitedMs)` is called while another live process holds it.
 */
export async function withFileLock(lockFile, fn, onWait = () => undefined, pollMs = 500) {
  const t0 = Date.now();
  for (;;) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const holder = parseInt(fs.readFileSync(lockFile, 'utf8'), 10);
      if (!pidAlive(holder)) {
        fs.rmSync(lockFile, { force: true });
        continue;
      }
      onWait(holder, Date.now() - t0);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}
