#!/usr/bin/env node
// The in-cluster canary controller on the local testbed, in one command:
//
//   node scripts/controller.mjs install [--lease-seconds S] [--timeout SECONDS]   (npm run controller:install)
//   node scripts/controller.mjs uninstall                                          (npm run controller:uninstall)
//   node scripts/controller.mjs status
//
// install: dist/cli.js (rebuilt when a source is newer), the CLI image (resources/janitor.Dockerfile) built on the
// testbed's dockerd and pushed to its registry, tagged by the hash of its files (an unchanged image is not rebuilt),
// then `sandpiper controller install` with the testbed's pod access (the API server and Prometheus listen on
// loopback; pods dial forwarders on the bridge) and a wait until it is Ready and holds the leader Lease.
// While it runs, `rollout start --driver auto` on the shared testbed hands canaries to it.
// The integration tests' controllerImage() (test/support/controller.ts) builds the image with this file.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { pack } from 'tar-stream';
import { staleReason } from './package.mjs';
import { testbedVariables } from './testbed/env.mjs';
import { phase } from './todo.mjs';
import { isMain } from './generated.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const CLI = path.join(root, 'bin', 'sandpiper.js');
const DOCKERFILE = 'resources/janitor.Dockerfile';
/** What the Dockerfile copies, and the Dockerfile itself: the image's whole context. */
const CONTEXT = [DOCKERFILE, 'dist/cli.js', 'bin/sandpiper.js'];
const REPOSITORY = 'sandpiper/cli';
/** One mtime for every file in the context: the image's layers follow the files' content only. */
const CONTEXT_MTIME = new Date('2000-01-01T00:00:00Z');
const UP = 'npm run testbed:up';

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** testbed.json, or an error that says how to start the testbed. */
export function readTestbed() {
  const file = process.env.SANDPIPER_TESTBED_JSON || path.join(root, '.sandpiper', 'testbed', 'testbed.json');
  if (!fs.existsSync(file)) throw new Error(`the testbed is not up (no ${file}): run ${UP}`);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** What pods dial for the API server and Prometheus (testbed.json realNode.podAccess). */
function podAccessOf(tb) {
  const access = tb.realNode?.podAccess;
  if (!access)
    throw new Error(
      'testbed.json has no realNode.podAccess (a testbed without the real node, or started before the ' +
        `pod-access forwarders): run ${UP}, which adds them to a running testbed`,
    );
  return access;
}

/** Runs `node scripts/build.mjs` when dist/cli.js is older than a build input. */
export async function ensureCliBundle({ log = () => undefined } = {}) {
  const why = staleReason(path.join(root, 'dist', 'cli.js'));
  if (!why) return log('  dist/cli.js up to date');
  log(`  ${why}: node scripts/build.mjs`);
  const { code, output } = await runNode(['scripts/build.mjs']);
  if (code !== 0) throw new Error(`node scripts/build.mjs failed: exit code ${code}\n${output.slice(-2000)}`);
}

/** The context's tar and its content hash (paths, modes and bytes; mtimes are fixed). */
async function contextTar() {
  const hash = createHash('sha256');
  const p = pack();
  const chunks = [];
  p.on('data', (c) => chunks.push(c));
  const done = new Promise((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  for (const rel of CONTEXT) {
    const content = fs.readFileSync(path.join(root, rel));
    hash.update(`${rel}\0${content.length}\0`).update(content);
    p.entry({ name: rel, mode: 0o644, mtime: CONTEXT_MTIME }, content);
  }
  p.finalize();
  await done;
  return { tar: Buffer.concat(chunks), tag: hash.digest('hex').slice(0, 16) };
}

/** The pushed image's digest reference when the registry already has this tag (an earlier run built it). */
async function pushedDigest(registry, tag) {
  const res = await fetch(`http://${registry}/v2/${REPOSITORY}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  }).catch((e) => {
    const why = e.cause?.code ?? e.cause?.errors?.[0]?.code ?? e.cause?.message ?? e.message;
    throw new Error(`the testbed's registry ${registry} does not answer (${why}): run ${UP}`);
  });
  const digest = res.ok ? res.headers.get('docker-content-digest') : null;
  return digest ? `${registry}/${REPOSITORY}@${digest}` : undefined;
}

/** Follows a build or push stream; rejects with the engine's error, resolves to the pushed digest if any. */
function follow(docker, stream, say) {
  return new Promise((resolve, reject) => {
    let digest;
    let failure;
    docker.modem.followProgress(
      stream,
      (err) => {
        const message = failure ?? err?.message;
        if (message) reject(new Error(message.trim()));
        else resolve(digest);
      },
      (ev) => {
        if (ev.aux?.Digest) digest = ev.aux.Digest;
        // The engine reports build and push failures as events, not as a stream error.
        if (ev.error) failure = ev.errorDetail?.message ?? ev.error;
        const line = (ev.stream ?? [ev.id, ev.status, ev.progress].filter(Boolean).join(' ')).trimEnd();
        if (line) say(line);
      },
    );
  });
}

/**
 * The CLI image (resources/janitor.Dockerfile: dist/cli.js and bin/sandpiper.js on node:20-slim) in the testbed
 * registry, as `<registry>/sandpiper/cli@sha256:…`, tagged by its files' hash: built and pushed once per content,
 * across runs. dist/cli.js is rebuilt first when a source is newer. `log` gets what it does (not Docker's output,
 * which a failure's message carries).
 */
export async function controllerImage({ testbed = readTestbed(), log = () => undefined } = {}) {
  await ensureCliBundle({ log });
  const { tar, tag } = await contextTar();
  const cached = await pushedDigest(testbed.registry, tag);
  if (cached) {
    log(`  ${REPOSITORY}:${tag} already in the registry`);
    return cached;
  }
  const ref = `${testbed.registry}/${REPOSITORY}:${tag}`;
  log(`  building ${ref} (context ${(tar.length / 1024).toFixed(0)} KiB)`);
  const docker = new Docker({ socketPath: testbed.dockerSocket });
  const output = [];
  const say = (l) => output.push(l);
  try {
    await docker.ping().catch((e) => {
      const why = e.code ?? e.message;
      throw new Error(`the testbed's dockerd does not answer at ${testbed.dockerSocket} (${why}): run ${UP}`);
    });
    await follow(docker, await docker.buildImage(tar, { t: ref, dockerfile: DOCKERFILE }), say);
    // The engine wants an X-Registry-Auth header even for a registry without auth.
    const digest = await follow(docker, await docker.getImage(ref).push({ authconfig: {} }), say);
    log(`  pushed ${ref}`);
    return digest ? `${testbed.registry}/${REPOSITORY}@${digest}` : ref;
  } catch (err) {
    throw new Error(`building ${ref} failed: ${err.message}\n${output.slice(-20).join('\n')}`);
  }
}

/** `node <args>` in the repo: its exit code and output (stdout and stderr together). */
function runNode(args, env = process.env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('error', reject);
    child.on('close', (code, sig) => resolve({ code: code ?? sig, output }));
  });
}

/** `sandpiper <args>` against the testbed (its KUBECONFIG); throws with its output when it fails. */
async function sandpiper(args, env) {
  const { code, output } = await runNode([CLI, ...args], env);
  if (code !== 0)
    throw new Error(
      `\`sandpiper ${args.join(' ')}\` exited with ${code}: ${output.trim()}\n` +
        `(is the testbed up? node scripts/testbed/testbed.mjs status; start it with ${UP})`,
    );
  return output;
}

const status = async (env) => JSON.parse(await sandpiper(['controller', 'status', '--json'], env));

/** The controller's pods as `kubectl get pods` shows them, for an error that says why it is not ready. */
async function podsReport(env) {
  const { output } = await runNode([CLI, 'controller', 'status'], env);
  const kubectl = await new Promise((resolve) => {
    const child = spawn('kubectl', ['-n', 'sandpiper-system', 'get', 'pods', '-o', 'wide'], { env });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('error', (e) => resolve(`(kubectl: ${e.message})`));
    child.on('close', () => resolve(out));
  });
  return `${output.trim()}\n${kubectl.trim()}\nlogs: kubectl -n sandpiper-system logs deploy/sandpiper-canary-controller`;
}

/** Installs it on the testbed and waits until it is Ready, runs `image` and holds the leader Lease. */
export async function installOnTestbed({ leaseSeconds, timeoutMs = 120_000, log = console.log } = {}) {
  const tb = readTestbed();
  const access = podAccessOf(tb);
  const env = { ...process.env, ...testbedVariables(tb) };
  const t0 = Date.now();
  const image = await phase(log, 'image', () => controllerImage({ testbed: tb, log }));
  log(`  ${image}`);
  const args = ['controller', 'install', '--image', image, '--prometheus-url', access.prometheusUrl];
  args.push('--api-server', access.apiServer, '--api-server-name', access.apiServerName);
  if (leaseSeconds) args.push('--lease-seconds', String(leaseSeconds));
  const tApply = Date.now();
  await phase(log, 'apply', async () => {
    for (const line of (await sandpiper(args, env)).trim().split('\n')) log(`  ${line}`);
  });
  const leader = await phase(log, 'ready and leading', async () => {
    const deadline = Date.now() + timeoutMs;
    for (let last; ;) {
      const s = await status(env);
      if (s.installed && s.image === image && s.readyReplicas >= 1 && s.leader) return s.leader;
      const now = `${s.readyReplicas}/${s.replicas} ready, leader ${s.leader ?? 'none'}`;
      if (now !== last) log(`  ${(last = now)}`);
      if (Date.now() > deadline)
        throw new Error(`not ready with a leader after ${seconds(timeoutMs)} (${now})\n${await podsReport(env)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  });
  return { image, leader, readyMs: Date.now() - tApply, totalMs: Date.now() - t0 };
}

function parseArgs(argv) {
  const o = { command: argv[0] };
  for (let i = 1; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const num = () => {
      const v = Number(inline ?? argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${flag} needs a positive number`);
      return v;
    };
    if (flag === '--lease-seconds') o.leaseSeconds = num();
    else if (flag === '--timeout') o.timeoutMs = num() * 1000;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return o;
}

const USAGE = 'usage: node scripts/controller.mjs install [--lease-seconds S] [--timeout SECONDS] | uninstall | status';

async function main(argv) {
  const o = parseArgs(argv);
  const log = (m) => console.log(`[controller] ${m}`);
  const env = () => ({ ...process.env, ...testbedVariables(readTestbed()) });
  const t0 = Date.now();
  if (o.command === 'install') {
    const r = await installOnTestbed({ leaseSeconds: o.leaseSeconds, timeoutMs: o.timeoutMs, log });
    log(`installed in ${seconds(r.totalMs)} (apply → ready and leading: ${seconds(r.readyMs)}); leader ${r.leader}`);
    log('`rollout start --driver auto` on this testbed now hands canaries to it; npm run controller:uninstall');
  } else if (o.command === 'uninstall') {
    const out = await phase(log, 'uninstall', () => sandpiper(['controller', 'uninstall'], env()));
    log(`${out.trim()} (${seconds(Date.now() - t0)})`);
  } else if (o.command === 'status') {
    process.stdout.write(await sandpiper(['controller', 'status'], env()));
  } else {
    console.error(USAGE);
    return 2;
  }
  return 0;
}

if (isMain(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`[controller] ${e.message}`);
      process.exit(1);
    },
  );
}
