#!/usr/bin/env node
// The whole Todo example (examples/todo) deployed into one namespace, the way a user would: its packages and
// bundles built, its Secrets made, then `sandpiper deploy` in each service's folder. npm start and the
// example's integration tests both call deployTodo(); humans can run it alone:
//
//   node scripts/todo.mjs deploy [--namespace N] [--hostname H] [--context C]
//
// Without KUBECONFIG (or --context) it deploys to the local testbed (.sandpiper/testbed/testbed.json).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { staleReason } from './package.mjs';
import { testbedVariables } from './testbed/env.mjs';
import { isMain } from './generated.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const EXAMPLE_DIR = path.join(root, 'examples', 'todo');
/** Deployed in this order: each one's dependencies are ready before it starts. */
export const TODO_FOLDERS = ['db', 'search', 'auth', 'tasks', 'gateway'];
export const TODO_USER = 'todo';
/** The host the example's HTTPRoute serves (gateway/k8s/httproute.yaml); *.localhost is loopback by RFC 6761. */
export const TODO_HOST = 'todo.localhost';
const CLI = path.join(root, 'bin', 'sandpiper.js');

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** Runs `fn` as a named phase: a start line, an end line with its time; a failure names the phase and why. */
export async function phase(log, name, fn) {
  const t0 = Date.now();
  log(`${name}…`);
  try {
    const result = await fn();
    log(`${name}: done in ${seconds(Date.now() - t0)}`);
    return result;
  } catch (e) {
    const err = new Error(`${name} failed after ${seconds(Date.now() - t0)}: ${e.message}`);
    err.phase = name;
    throw err;
  }
}

/**
 * Runs a command, its output forwarded line by line to `log` (indented); rejects with the command's last lines
 * of output when it fails, so the phase says why.
 */
function run(cmd, args, { cwd, env, log, signal, shown = () => true }) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, signal, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail = [];
    const forward = (stream) => {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop();
        for (const line of lines) emit(line);
      });
      stream.on('end', () => partial && emit(partial));
    };
    const emit = (line) => {
      if (!line.trim()) return;
      if (shown(line)) log(`  ${line}`);
      tail.push(line);
      if (tail.length > 8) tail.shift();
    };
    forward(child.stdout);
    forward(child.stderr);
    child.on('error', reject);
    child.on('close', (code, sig) => {
      if (code === 0) resolve();
      else {
        const what = `${path.basename(cmd)} ${args.join(' ')}`;
        const last = tail.slice(-3).join(' | ');
        reject(new Error(`\`${what}\` exited with ${code ?? sig}${last ? `: ${last}` : ''}`));
      }
    });
  });
}

/**
 * Which lines of `sandpiper deploy` a phase shows: its steps, and of the image builds (`· …` lines) what is built,
 * pushed or skipped; Docker's step-by-step output only reaches the error when the build fails.
 */
function deployLineShown(line) {
  const info = line.trimStart().startsWith('· ');
  return !info || /^\s*· (building |pushed )|build skipped|error|fail/i.test(line);
}

/** `npm ci` unless node_modules is at least as new as package-lock.json (npm writes .package-lock.json there). */
export function exampleInstallNeeded() {
  const hidden = path.join(EXAMPLE_DIR, 'node_modules', '.package-lock.json');
  if (!fs.existsSync(hidden)) return 'examples/todo/node_modules is missing';
  const lock = fs.statSync(path.join(EXAMPLE_DIR, 'package-lock.json')).mtimeMs;
  return fs.statSync(hidden).mtimeMs < lock ? 'examples/todo/package-lock.json is newer than node_modules' : null;
}

function kubeConfigFor(env, context) {
  const kc = new KubeConfig();
  // loadFromDefault reads $KUBECONFIG (several files merged); ours comes from `env`, not this process.
  const saved = process.env.KUBECONFIG;
  try {
    if (env.KUBECONFIG) process.env.KUBECONFIG = env.KUBECONFIG;
    kc.loadFromDefault();
  } finally {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  }
  if (context) kc.setCurrentContext(context);
  return kc;
}

const statusOf = (e) => e?.code ?? e?.statusCode ?? e?.response?.statusCode;

async function ensureNamespace(core, namespace, log) {
  try {
    await core.readNamespace({ name: namespace });
  } catch (e) {
    if (statusOf(e) !== 404) throw e;
    await core.createNamespace({ body: { metadata: { name: namespace } } }).catch((err) => {
      if (statusOf(err) !== 409) throw err;
    });
    log(`  created namespace ${namespace}`);
  }
}

/** The Secret's string data, or null when it does not exist. */
async function readSecret(core, namespace, name) {
  try {
    const s = await core.readNamespacedSecret({ name, namespace });
    return Object.fromEntries(
      Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    );
  } catch (e) {
    if (statusOf(e) === 404) return null;
    throw e;
  }
}

/** Creates Secret `name` with `make()`'s data unless it exists; returns the data in the cluster either way. */
async function ensureSecret(core, namespace, name, make, log) {
  const existing = await readSecret(core, namespace, name);
  if (existing) return existing;
  const data = make();
  try {
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name, labels: { 'app.kubernetes.io/part-of': 'todo-example' } }, stringData: data },
    });
    log(`  created Secret ${name} (random password)`);
    return data;
  } catch (e) {
    // Someone else made it meanwhile: theirs wins.
    if (statusOf(e) === 409) return readSecret(core, namespace, name);
    throw e;
  }
}

const password = () => randomBytes(18).toString('base64url');

/** The password of `user` in the `users` of Secret todo-users (`name:password` lines). */
function passwordOf(users, user) {
  const line = (users ?? '').split('\n').find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`Secret todo-users has no line for user "${user}"`);
  return line.slice(user.length + 1).trim();
}

/** GET through the gateway (with the route's hostname as Host): the status code, or the error's code. */
export function gatewayStatus(gatewayUrl, urlPath, { hostname, auth } = {}) {
  const url = new URL(urlPath, gatewayUrl);
  return new Promise((resolve) => {
    const headers = {};
    if (hostname) headers.host = hostname;
    if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
    const req = http.get(url, { headers, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve(e.code ?? e.message));
  });
}

/** Waits until the gateway asks for credentials without them (401) and serves /tasks with them (200). */
async function waitForGateway(gatewayUrl, hostname, auth, signal, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  let last = {};
  for (;;) {
    if (signal?.aborted) throw new Error('cancelled');
    const anonymous = await gatewayStatus(gatewayUrl, '/tasks', { hostname });
    const signedIn = anonymous === 401 ? await gatewayStatus(gatewayUrl, '/tasks', { hostname, auth }) : undefined;
    if (anonymous === 401 && signedIn === 200) return;
    last = { anonymous, signedIn };
    if (Date.now() > deadline)
      throw new Error(
        `GET ${gatewayUrl}/tasks${hostname ? ` (Host: ${hostname})` : ''} answered ${last.anonymous} without ` +
          `credentials${last.signedIn !== undefined ? ` and ${last.signedIn} with them` : ''}; expected 401 and 200`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * The Gateway `todo` (examples/todo/gateway/gateway.yaml) in `namespace`, its listener on the port of the cluster's
 * gateway entrypoint (Traefik binds a listener to the entrypoint of the same port); the file's port otherwise.
 */
async function applyGateway(kc, namespace, gatewayUrl, log) {
  const file = path.join(EXAMPLE_DIR, 'gateway', 'gateway.yaml');
  const gateway = parseAllDocuments(fs.readFileSync(file, 'utf8'))
    .map((d) => d.toJS())
    .find((o) => o?.kind === 'Gateway');
  if (!gateway) throw new Error('examples/todo/gateway/gateway.yaml holds no Gateway');
  if (gatewayUrl) {
    const u = new URL(gatewayUrl);
    const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    for (const l of gateway.spec.listeners) l.port = port;
  }
  gateway.metadata = { ...gateway.metadata, namespace };
  await KubernetesObjectApi.makeApiClient(kc).patch(
    gateway,
    undefined,
    undefined,
    'sandpiper-todo',
    true,
    PatchStrategy.ServerSideApply,
  );
  const ports = gateway.spec.listeners.map((l) => l.port).join(', ');
  log(`  Gateway ${gateway.metadata.name} in ${namespace}: listener port ${ports}`);
}

/**
 * The gateway folder as `namespace` needs it, in a temporary copy: the Middleware's ForwardAuth address names the
 * namespace's auth service (the manifests name staging's), and with `hostname` the HTTPRoute answers only that Host
 * (beside staging's route for every Host). Null when the folder serves as it is (staging, any Host).
 */
function routesFor(dir, namespace, hostname, log) {
  if (namespace === 'staging' && hostname === TODO_HOST) return null;
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-gateway-'));
  fs.cpSync(dir, copy, { recursive: true });
  const files = fs.readdirSync(path.join(copy, 'k8s'), { recursive: true }).filter((f) => /\.ya?ml$/.test(f));
  for (const rel of files) {
    const file = path.join(copy, 'k8s', rel);
    const objects = parseAllDocuments(fs.readFileSync(file, 'utf8'))
      .map((d) => d.toJS())
      .filter(Boolean);
    for (const o of objects) {
      const auth = o.kind === 'Middleware' ? o.spec?.forwardAuth : undefined;
      if (auth?.address) {
        const u = new URL(auth.address);
        const parts = u.hostname.split('.');
        // <service>.<namespace>.svc…
        if (parts.length > 2 && parts[2] === 'svc') parts[1] = namespace;
        u.hostname = parts.join('.');
        auth.address = u.toString();
      }
      if (o.kind === 'HTTPRoute' && hostname) o.spec.hostnames = [hostname];
    }
    fs.writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  }
  log(`  routes for ${namespace}${hostname ? ` (Host ${hostname})` : ''} from a copy in ${copy}`);
  return copy;
}

/**
 * Deploys the Todo example into `namespace`: npm ci (when needed) and the bundles in examples/todo, the Secrets
 * db-credentials and todo-users (random, made once), then `sandpiper deploy -n <namespace>` in db, search, auth,
 * tasks and gateway, and waits until the gateway answers 401 without credentials and 200 with them.
 * `env` is the environment of every command (KUBECONFIG, DOCKER_HOST, SANDPIPER_REGISTRY, SANDPIPER_GATEWAY_URL);
 * `hostname` routes only that Host to this namespace (a test beside staging's catch-all route).
 */
export async function deployTodo({
  namespace = 'staging',
  env = process.env,
  log = (m) => console.log(`[todo] ${m}`),
  hostname = TODO_HOST,
  context,
  signal,
} = {}) {
  const opts = { env, log, signal };
  await phase(log, 'example: npm ci', async () => {
    const why = exampleInstallNeeded();
    if (!why) return log('  node_modules up to date');
    log(`  ${why}`);
    await run('npm', ['ci', '--no-audit', '--no-fund'], { ...opts, cwd: EXAMPLE_DIR });
  });
  await phase(log, 'example: npm run build', () => run('npm', ['run', 'build'], { ...opts, cwd: EXAMPLE_DIR }));
  await phase(log, 'sandpiper CLI', async () => {
    const why = staleReason(path.join(root, 'dist', 'cli.js'));
    if (!why) return log('  dist/cli.js up to date');
    log(`  ${why}: node scripts/build.mjs`);
    await run(process.execPath, ['scripts/build.mjs'], { ...opts, cwd: root });
  });

  const kc = kubeConfigFor(env, context);
  const core = kc.makeApiClient(CoreV1Api);
  const { user, password: pw } = await phase(log, `secrets in ${namespace}`, async () => {
    await ensureNamespace(core, namespace, log);
    await ensureSecret(core, namespace, 'db-credentials', () => ({ password: password() }), log);
    const users = await ensureSecret(
      core,
      namespace,
      'todo-users',
      () => ({ users: `${TODO_USER}:${password()}\n` }),
      log,
    );
    return { user: TODO_USER, password: passwordOf(users.users, TODO_USER) };
  });

  const gatewayUrl = env.SANDPIPER_GATEWAY_URL;
  for (const folder of TODO_FOLDERS) {
    await phase(log, `deploy ${folder}`, async () => {
      let cwd = path.join(EXAMPLE_DIR, folder);
      if (!fs.existsSync(path.join(cwd, 'sandpiper.yaml')))
        throw new Error(`examples/todo/${folder}/sandpiper.yaml does not exist`);
      if (folder === 'gateway') {
        await applyGateway(kc, namespace, gatewayUrl, log);
        cwd = routesFor(cwd, namespace, hostname, log) ?? cwd;
      }
      const args = [CLI, 'deploy', '-n', namespace, '--timeout', '5m'];
      if (context) args.push('--context', context);
      try {
        await run(process.execPath, args, { ...opts, cwd, shown: deployLineShown });
      } finally {
        if (!cwd.startsWith(EXAMPLE_DIR)) fs.rmSync(cwd, { recursive: true, force: true });
      }
    });
  }
  if (gatewayUrl)
    await phase(log, `gateway ${gatewayUrl}${hostname ? ` (Host: ${hostname})` : ''}`, () =>
      waitForGateway(gatewayUrl, hostname, { user, password: pw }, signal),
    );
  else log('SANDPIPER_GATEWAY_URL is not set: not checking the gateway (see the Gateway `todo` for its address)');
  // What a browser or curl opens: the route's host on the gateway's port.
  const url = gatewayUrl ? `http://${hostname}:${new URL(gatewayUrl).port || 80}` : undefined;
  return { gatewayUrl, url, user, password: pw, namespace, hostname };
}

function parseArgs(argv) {
  const o = { command: argv[0] };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a];
    const val = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--namespace' || flag === '-n') o.namespace = val();
    else if (flag === '--hostname') o.hostname = val();
    else if (flag === '--context') o.context = val();
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

/** The testbed's variables unless the caller brings their own cluster (KUBECONFIG or --context). */
export function clusterEnv(ownCluster) {
  const file = path.join(root, '.sandpiper', 'testbed', 'testbed.json');
  if (ownCluster || !fs.existsSync(file)) return { ...process.env };
  return { ...process.env, ...testbedVariables(JSON.parse(fs.readFileSync(file, 'utf8'))) };
}

async function main(argv) {
  const o = parseArgs(argv);
  if (o.command !== 'deploy') {
    console.error('usage: node scripts/todo.mjs deploy [--namespace N] [--hostname H] [--context C]');
    return 2;
  }
  const env = clusterEnv(Boolean(process.env.KUBECONFIG || o.context));
  const t0 = Date.now();
  const r = await deployTodo({ namespace: o.namespace, hostname: o.hostname, context: o.context, env });
  console.log(`[todo] deployed into ${r.namespace} in ${seconds(Date.now() - t0)}`);
  if (r.gatewayUrl) {
    // *.localhost is loopback for curl and browsers; another host goes in a Host header.
    const target = r.hostname.endsWith('.localhost') ? r.url : `-H 'Host: ${r.hostname}' ${r.gatewayUrl}`;
    // The password stays in the cluster: the line reads it from there.
    const pw = `$(kubectl -n ${r.namespace} get secret todo-users -o jsonpath='{.data.users}' | base64 -d | cut -d: -f2)`;
    console.log(`[todo] curl -u "${r.user}:${pw}" ${target}/tasks`);
  }
  return 0;
}

if (isMain(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`[todo] ${e.message}`);
      process.exit(1);
    },
  );
}
