#!/usr/bin/env node
// `npm start`: the Todo example running on the local testbed and the extension in a real VS Code (code-server)
// in your browser, opened on examples/todo.
//
//   node scripts/start.mjs [--port N] [--host H] [--context CTX] [--workspace DIR] [--no-testbed] [--no-build]
//                          [--no-example]
//
// Phases (each prints its progress and time; a failing one says which and why, and stops):
// 1. testbed: reused when `testbed.mjs status` finds it running, else `testbed.mjs up`. Skipped with
//    --no-testbed, or when you bring your own cluster ($KUBECONFIG or --context).
// 2. example: scripts/todo.mjs deployTodo() into `staging` — npm ci (when needed) and the bundles in
//    examples/todo, the Secrets db-credentials and todo-users (random passwords, made once), `sandpiper deploy` of
//    db, search, auth, tasks and gateway (images tagged by content: unchanged ones are not rebuilt). --no-example
//    skips it.
// 3. extension: `node scripts/package.mjs --if-changed` (out/sandpiper.vsix, repacked only when a source is
//    newer); skipped with --no-build.
// 4. code-server: `node scripts/codeserver.mjs install` (a no-op when installed) and the vsix installed into it
//    (again only when it changed).
// 5. code-server on 127.0.0.1:8080 (--port / $PORT), KUBECONFIG from .sandpiper/testbed/testbed.json unless you
//    gave your own. State (settings, installed extensions) lives in .sandpiper/code-server/. Ctrl+C stops it
//    (by process group id); the testbed keeps running (`npm run testbed:down` stops it).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureCodeServer, serveArgs } from './codeserver.mjs';
import { clusterEnv, deployTodo, phase } from './todo.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const log = (msg) => console.log(`[start] ${msg}`);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

function parseArgs(argv) {
  const o = {
    port: process.env.PORT ? Number(process.env.PORT) : 8080,
    host: '127.0.0.1',
    testbed: true,
    build: true,
    example: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--port' || a.startsWith('--port=')) o.port = Number(val());
    else if (a === '--host' || a.startsWith('--host=')) o.host = val();
    else if (a === '--context' || a.startsWith('--context=')) o.context = val();
    else if (a === '--workspace' || a.startsWith('--workspace=')) o.workspace = val();
    else if (a === '--no-testbed') o.testbed = false;
    else if (a === '--no-build') o.build = false;
    else if (a === '--no-example') o.example = false;
    else if (a === '-h' || a === '--help') o.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.port) || o.port <= 0 || o.port > 65535) throw new Error(`invalid port ${o.port}`);
  return o;
}

/** Runs `node <args>` in the repo with its output shown; throws with the exit code when it fails. */
function node(args, env = process.env) {
  const r = spawnSync(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0)
    throw new Error(`node ${args.join(' ')}: ${r.error?.message ?? `exit code ${r.status ?? r.signal}`}`);
}

function portFree(port, host) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

const DEFAULT_SETTINGS = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'remote.autoForwardPorts': false,
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'update.mode': 'none',
};

function writeSettings(userDataDir) {
  const file = path.join(userDataDir, 'User', 'settings.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let current = {};
  if (fs.existsSync(file)) {
    try {
      current = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      return; // the user edited it (comments?): leave it alone
    }
  }
  const merged = { ...DEFAULT_SETTINGS, ...current };
  if (JSON.stringify(merged) !== JSON.stringify(current)) fs.writeFileSync(file, JSON.stringify(merged, null, 2));
}

/** Installs the vsix into code-server unless this very file (by hash) is the one installed last. */
function installExtension(entry, common, vsix, env, stateDir) {
  const hash = createHash('sha256').update(fs.readFileSync(vsix)).digest('hex');
  const marker = path.join(stateDir, 'installed-vsix.sha256');
  const { publisher, name, version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const installed = fs.existsSync(path.join(stateDir, 'extensions', `${publisher}.${name}-${version}`));
  if (installed && fs.existsSync(marker) && fs.readFileSync(marker, 'utf8').trim() === hash) {
    log('  the extension is installed already');
    return;
  }
  const r = spawnSync(process.execPath, [entry, ...common, '--force', '--install-extension', vsix], {
    env,
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`code-server --install-extension failed (exit ${r.status})`);
  fs.writeFileSync(marker, `${hash}\n`);
}

function printHelp() {
  const lines = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  console.log(
    lines
      .filter((l) => l.startsWith('//'))
      .map((l) => l.slice(3))
      .join('\n'),
  );
}

async function main() {
  const t0 = Date.now();
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    printHelp();
    return 0;
  }
  const workspace = path.resolve(root, opts.workspace ?? path.join('examples', 'todo'));
  if (!fs.existsSync(workspace)) throw new Error(`workspace ${workspace} does not exist`);
  // Refuse early, before spending minutes on builds.
  if (!(await portFree(opts.port, opts.host))) {
    throw new Error(`port ${opts.port} on ${opts.host} is busy; pick another with --port N (or PORT=N)`);
  }

  const ownCluster = Boolean(process.env.KUBECONFIG || opts.context);
  if (ownCluster) {
    const which = opts.context ? `context ${opts.context}` : `KUBECONFIG=${process.env.KUBECONFIG}`;
    log(`using your cluster (${which}); testbed skipped`);
  } else if (opts.testbed) {
    await phase(log, 'testbed', () => {
      const running = spawnSync(process.execPath, ['scripts/testbed/testbed.mjs', 'status', '--quiet'], {
        cwd: root,
        stdio: 'ignore',
      });
      if (running.status === 0) return log('  running already: reused');
      node(['scripts/testbed/testbed.mjs', 'up']);
    });
  }
  // After `up`: testbed.json holds this run's ports.
  const env = clusterEnv(ownCluster);
  for (const k of Object.keys(env)) if (/^(VSCODE_|ELECTRON_RUN_AS_NODE$)/.test(k)) delete env[k];
  if (opts.context) env.SANDPIPER_KUBE_CONTEXT = opts.context;
  if (!ownCluster && !env.KUBECONFIG) log('no testbed.json: the example is not deployed, the extension has no cluster');

  let todo;
  if (opts.example && env.KUBECONFIG) todo = await deployTodo({ env, log, context: opts.context });

  const vsix = path.join(root, 'out', 'sandpiper.vsix');
  if (opts.build)
    await phase(log, 'extension package', () => node(['scripts/package.mjs', '--out', vsix, '--if-changed']));
  if (!fs.existsSync(vsix)) throw new Error(`${path.relative(root, vsix)} missing (run without --no-build)`);

  const state = path.join(root, '.sandpiper', 'code-server');
  const userDataDir = path.join(state, 'user-data');
  const extensionsDir = path.join(state, 'extensions');
  const configFile = path.join(state, 'config.yaml');
  const common = ['--config', configFile, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
  const entry = await phase(log, 'code-server install', () => {
    const e = ensureCodeServer();
    fs.mkdirSync(userDataDir, { recursive: true });
    fs.mkdirSync(extensionsDir, { recursive: true });
    if (!fs.existsSync(configFile)) fs.writeFileSync(configFile, 'auth: none\ncert: false\n');
    writeSettings(userDataDir);
    installExtension(e, common, vsix, env, state);
    return e;
  });

  if (!(await portFree(opts.port, opts.host)))
    throw new Error(`port ${opts.port} on ${opts.host} became busy; pick another with --port N`);
  const child = spawn(process.execPath, [entry, ...serveArgs(common, `${opts.host}:${opts.port}`, workspace)], {
    env,
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  let stopping = false;
  const stop = async (why) => {
    if (stopping) return;
    stopping = true;
    log(`${why}: stopping code-server (process group ${child.pid})`);
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {}
    const t = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, 8000);
    await exited;
    clearTimeout(t);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => stop(sig).then(() => process.exit(0)));
  process.on('exit', () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  });

  const healthy = await phase(log, `code-server on ${opts.host}:${opts.port}`, async () => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}`);
      try {
        const res = await fetch(`http://${opts.host}:${opts.port}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return true;
      } catch {}
      if (Date.now() > deadline) throw new Error('code-server did not become healthy within 60 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  }).catch(async (e) => {
    await stop('code-server did not start');
    throw e;
  });
  if (healthy) printSummary(opts, workspace, todo, Date.now() - t0);
  const code = await exited;
  if (!stopping) log(`code-server exited with ${code}`);
  return stopping ? 0 : code || 1;
}

function printSummary(opts, workspace, todo, elapsedMs) {
  const url = `http://${opts.host}:${opts.port}/?folder=${encodeURIComponent(workspace)}`;
  const lines = ['', `  Sandpiper in VS Code:  ${url}`];
  if (todo?.gatewayUrl) {
    lines.push(
      `  Todo app (gateway):    ${todo.url}/  (user ${todo.user}, password below)`,
      `    curl -u ${todo.user}:${todo.password} ${todo.url}/tasks     # 200, the tasks as JSON`,
      `    curl -i ${todo.url}/tasks     # 401: every request needs the credentials`,
    );
  } else if (todo) lines.push(`  Todo app: deployed into ${todo.namespace}; its Gateway \`todo\` shows the address`);
  lines.push(
    `  Stop: Ctrl+C stops code-server; the testbed keeps running (npm run testbed:down stops it).`,
    `  Up in ${seconds(elapsedMs)}.`,
    '',
  );
  console.log(lines.join('\n'));
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`[start] error: ${e.message}`);
    process.exit(1);
  },
);
