// Chaos on the shared testbed: Prometheus stopped and started again, the kube-apiserver restarted, the controller's
// pod deleted. Every process is found by the PID the testbed recorded and started again exactly as it was (its own
// command line, environment, working directory and log file, read from /proc before it is stopped), never by name.
// Other helpers use the same testbed: callers restore in `finally` (or use the with… wrappers), and an exit hook
// restarts whatever this process left stopped.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Kube } from '../../src/core/infra/kube/client';
import { httpCode } from '../../src/core/infra/kube/errors';
import { CONTROLLER_NAMESPACE, liveController } from '../../src/core/canary/presence';
import { sleep } from '../../src/core/errors';
import { kubeConfig, loadTestbed } from './testbed';
import { eventually } from './wait';

/** What it takes to start a process again as it was. */
interface ProcessImage {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
}

function processImage(pid: number): ProcessImage {
  const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const env: NodeJS.ProcessEnv = {};
  for (const kv of fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)) {
    const i = kv.indexOf('=');
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return { argv, cwd: fs.readlinkSync(`/proc/${pid}/cwd`), env, logFile: fs.readlinkSync(`/proc/${pid}/fd/1`) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The PID in `pidFile`, checked to be a live process running `exe` (a stale file names someone else). */
function recordedPid(pidFile: string, exe: string): number {
  const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  if (!pid || !alive(pid)) throw new Error(`${exe}: the PID in ${pidFile} (${pid}) is not running`);
  const argv0 = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  if (path.basename(argv0) !== exe) throw new Error(`${exe}: PID ${pid} of ${pidFile} runs ${argv0}`);
  return pid;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
async function stop(pid: number, graceMs: number, first: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  process.kill(pid, first);
  const until = Date.now() + graceMs;
  while (alive(pid) && Date.now() < until) await sleep(50);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  await eventually(`PID ${pid} gone`, () => !alive(pid), 10_000, 50);
}

/** Starts the process as it was, detached (it outlives the test), appending to its log; writes its PID file. */
function startAgain(image: ProcessImage, pidFile: string): number {
  const fd = fs.openSync(image.logFile, 'a');
  fs.writeSync(fd, `\n==== ${new Date().toISOString()} (restarted by a chaos test) $ ${image.argv.join(' ')}\n`);
  const child = spawn(image.argv[0], image.argv.slice(1), {
    detached: true,
    stdio: ['ignore', fd, fd],
    cwd: image.cwd,
    env: image.env,
  });
  fs.closeSync(fd);
  child.unref();
  if (!child.pid) throw new Error(`could not start ${image.argv[0]}`);
  fs.writeFileSync(pidFile, String(child.pid));
  return child.pid;
}

// ---------------------------------------------------------------- Prometheus

const prometheusPidFile = () => path.join(loadTestbed().state, 'pids', 'prometheus.pid');
let stoppedPrometheus: ProcessImage | undefined;

async function prometheusReady(): Promise<boolean> {
  try {
    return (await fetch(new URL('/-/ready', loadTestbed().prometheusUrl), { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

/** Stops the testbed's Prometheus (its PID file's process); startPrometheus() brings it back. */
export async function stopPrometheus(): Promise<void> {
  if (stoppedPrometheus) return;
  const pid = recordedPid(prometheusPidFile(), 'prometheus');
  const image = processImage(pid);
  stoppedPrometheus = image;
  await stop(pid, 15_000);
}

/** Starts Prometheus again with the command line it had, and waits for /-/ready. Safe to call when it runs. */
export async function startPrometheus(): Promise<{ readyMs: number }> {
  const image = stoppedPrometheus;
  if (!image) return { readyMs: 0 };
  const t0 = performance.now();
  startAgain(image, prometheusPidFile());
  stoppedPrometheus = undefined;
  await eventually('Prometheus /-/ready after its restart', prometheusReady, 120_000, 250);
  return { readyMs: performance.now() - t0 };
}

/** Runs `fn` with Prometheus stopped; it is started again whatever happens. */
export async function withPrometheusStopped<T>(fn: () => Promise<T>): Promise<T> {
  await stopPrometheus();
  try {
    return await fn();
  } finally {
    await startPrometheus();
  }
}

// ---------------------------------------------------------------- kube-apiserver

const apiserverPidFile = () => path.join(loadTestbed().kwokClusterDir, 'pids', 'kube-apiserver.pid');
let stoppedApiserver: ProcessImage | undefined;
/** Set once this process restarted the API server: its exit checks the kwokctl components again. */
let apiserverRestarted = false;

async function apiserverReady(): Promise<boolean> {
  const kc = kubeConfig();
  const url = new URL('/readyz', kc.getCurrentCluster()!.server);
  const opts: https.RequestOptions = { method: 'GET', timeout: 2000 };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve) => {
    const req = https.request(url, opts, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export interface ApiServerOutage {
  /** From the stop signal to /readyz answering ok again. */
  downMs: number;
  /** From the start of the new process to /readyz ok. */
  startMs: number;
  oldPid: number;
  newPid: number;
  /** kwokctl components that had exited meanwhile and were started again. */
  restarted: string[];
}

/**
 * Restarts the kube-apiserver as kwokctl started it (its command line, environment, working directory and log from
 * /proc), by the PID kwokctl recorded; waits until /readyz answers ok and says how long it was away. `downForMs`
 * keeps it stopped a while before the start (a longer outage than its own start-up).
 */
export async function restartApiServer(o: { downForMs?: number } = {}): Promise<ApiServerOutage> {
  const pidFile = apiserverPidFile();
  const oldPid = recordedPid(pidFile, 'kube-apiserver');
  const image = processImage(oldPid);
  stoppedApiserver = image;
  const t0 = performance.now();
  let newPid = 0;
  let started = t0;
  try {
    await stop(oldPid, 10_000);
    if (o.downForMs) await sleep(o.downForMs);
  } finally {
    // A process that would not stop keeps its PID file; a second one would only fail on its port.
    if (!alive(oldPid)) {
      started = performance.now();
      newPid = startAgain(image, pidFile);
      apiserverRestarted = true;
    }
    stoppedApiserver = undefined;
  }
  await eventually('kube-apiserver /readyz after its restart', apiserverReady, 120_000, 100);
  const now = performance.now();
  // kube-controller-manager and kube-scheduler exit when they cannot renew their leader lease for 10 s (an API
  // server start takes longer here), and kwokctl's binary runtime does not restart them.
  // One may still be in its last retries when /readyz answers: watched a while longer.
  const restarted = new Set<string>();
  for (const until = performance.now() + 15_000; performance.now() < until; await sleep(500))
    for (const name of restartDeadKwokComponents()) restarted.add(name);
  return { downMs: now - t0, startMs: now - started, oldPid, newPid, restarted: [...restarted] };
}

interface KwokComponent {
  name: string;
  binary: string;
  args?: string[];
  workDir: string;
}

/**
 * Starts again every component of the kwokctl cluster whose recorded PID is gone, as kwokctl's binary runtime
 * starts it (binary and args from the cluster's kwok.yaml, in its workDir, logging to logs/<name>.log, PID in
 * pids/<name>.pid), with the API server's environment (kwokctl started them all alike). Returns their names.
 */
export function restartDeadKwokComponents(): string[] {
  const dir = loadTestbed().kwokClusterDir;
  const config = parseAllDocuments(fs.readFileSync(path.join(dir, 'kwok.yaml'), 'utf8'))
    .map((d) => d.toJS() as { kind?: string; components?: KwokComponent[] } | null)
    .find((d) => d?.kind === 'KwokctlConfiguration');
  const env = processImage(recordedPid(apiserverPidFile(), 'kube-apiserver')).env;
  const restarted: string[] = [];
  for (const c of config?.components ?? []) {
    const pidFile = path.join(dir, 'pids', `${c.name}.pid`);
    if (!fs.existsSync(pidFile) || alive(Number(fs.readFileSync(pidFile, 'utf8').trim()))) continue;
    const logFile = path.join(dir, 'logs', `${c.name}.log`);
    startAgain({ argv: [c.binary, ...(c.args ?? [])], cwd: c.workDir, env, logFile }, pidFile);
    restarted.push(c.name);
  }
  return restarted;
}

// ---------------------------------------------------------------- the controller's pod

/**
 * Deletes a pod of the canary controller at once (grace 0), as a node failure would — by default the leader (the
 * holder of its leader Lease, the one driving canaries); resolves with its name once it is gone.
 */
export async function deleteControllerPod(kube: Kube, pod?: string): Promise<string> {
  const name = pod ?? (await liveController(kube));
  if (!name) throw new Error('no canary controller holds its leader Lease: nothing to delete');
  await kube.core.deleteNamespacedPod({ namespace: CONTROLLER_NAMESPACE, name, gracePeriodSeconds: 0 });
  await eventually(
    `controller pod ${name} gone`,
    async () =>
      kube.core.readNamespacedPod({ namespace: CONTROLLER_NAMESPACE, name }).then(
        () => false,
        (err: unknown) => httpCode(err) === 404,
      ),
    60_000,
    250,
  );
  return name;
}

// A test process that dies (or mocha's --exit) with something stopped starts it again on its way out: the
// testbed is shared. The spawn happens synchronously, so it works in an exit handler.
process.on('exit', () => {
  if (stoppedPrometheus) startAgain(stoppedPrometheus, prometheusPidFile());
  if (stoppedApiserver) startAgain(stoppedApiserver, apiserverPidFile());
  try {
    if (apiserverRestarted) restartDeadKwokComponents();
  } catch {
    // Best effort on the way out; `testbed status` names whatever is still down.
  }
});
