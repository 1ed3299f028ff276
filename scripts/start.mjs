#!/usr/bin/env node
// `npm start`: the extension running in a real VS Code (code-server) in your browser, against the
// local testbed cluster.
//
//   node scripts/start.mjs [--port N] [--host H] [--context CTX] [--workspace DIR] [--no-testbed] [--no-build]
//
// 1. `node scripts/testbed/testbed.mjs up` (skipped with --no-testbed, or when you bring your own
//    cluster via $KUBECONFIG or --context); if it fails we say why and go on without a cluster.
// 2. `node scripts/package.mjs` (builds, then packs out/sandpiper.vsix); skipped with --no-build.
// 3. `node scripts/codeserver.mjs install` (fast when already installed).
// 4. code-server on 127.0.0.1:8080 (--port / $PORT) with the vsix installed, opened on examples/todo,
//    KUBECONFIG from .sandpiper/testbed/testbed.json unless you gave your own. State (settings,
//    installed extensions) lives in .sandpiper/code-server/. Ctrl+C stops it (by process group id).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureCodeServer, serveArgs } from './codeserver.mjs';
import { testbedVariables } from './testbed/env.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const log = (msg) => console.log(`[start] ${msg}`);

function parseArgs(argv) {
  const o = { port: process.env.PORT ? Number(process.env.PORT) : 8080, host: '127.0.0.1', testbed: true, build: true };
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
    else if (a === '-h' || a === '--help') o.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.port) || o.port <= 0 || o.port > 65535) throw new Error(`invalid port ${o.port}`);
  return o;
}

function step(label, args) {
  log(`${label}: node ${args.join(' ')}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  return r.status === 0 ? null : (r.error?.message ?? `exit code ${r.status ?? r.signal}`);
}

function portFree(port, host) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

function testbedEnv() {
  const file = path.join(root, '.sandpiper', 'testbed', 'testbed.json');
  if (!fs.existsSync(file)) return null;
  try {
    return testbedVariables(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch (e) {
    log(`cannot read ${path.relative(root, file)}: ${e.message}`);
    return null;
  }
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

/** The sample workspace's dependencies run in the `staging` baseline namespace of the testbed. */
function applySampleBaseline() {
  const tb = testbedEnv();
  if (!tb) return;
  const r = spawnSync(
    'kubectl',
    [
      'apply',
      '--server-side',
      '--field-manager',
      'sandpiper-start',
      '-f',
      path.join(root, 'examples', 'todo', 'baseline'),
    ],
    { env: { ...process.env, ...tb }, stdio: 'inherit' },
  );
  if (r.status !== 0)
    log('could not apply examples/todo/baseline (see above); environments of the sample will miss their dependencies');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(
      fs
        .readFileSync(fileURLToPath(import.meta.url), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('//'))
        .map((l) => l.slice(3))
        .join('\n'),
    );
    return 0;
  }
  const workspace = path.resolve(root, opts.workspace ?? path.join('examples', 'todo'));
  if (!fs.existsSync(workspace)) throw new Error(`workspace ${workspace} does not exist`);
  // Refuse early, before spending minutes on builds.
  if (!(await portFree(opts.port, opts.host))) {
    throw new Error(`port ${opts.port} on ${opts.host} is busy; pick another with --port N (or PORT=N)`);
  }

  const ownCluster = Boolean(process.env.KUBECONFIG || opts.context);
  if (opts.testbed && !ownCluster) {
    const err = step('testbed', ['scripts/testbed/testbed.mjs', 'up']);
    if (err) log(`testbed did not come up (${err}); continuing WITHOUT a cluster — see the output above`);
    else applySampleBaseline();
  } else if (ownCluster) {
    log(
      `using your cluster (${opts.context ? `context ${opts.context}` : `KUBECONFIG=${process.env.KUBECONFIG}`}); testbed skipped`,
    );
  }

  const vsix = path.join(root, 'out', 'sandpiper.vsix');
  if (opts.build) {
    const err = step('build + package', ['scripts/package.mjs', '--out', vsix]);
    if (err) throw new Error(`packaging the extension failed (${err})`);
  }
  if (!fs.existsSync(vsix)) throw new Error(`${path.relative(root, vsix)} missing (run without --no-build)`);

  log('code-server: node scripts/codeserver.mjs install');
  const entry = ensureCodeServer();

  const state = path.join(root, '.sandpiper', 'code-server');
  const userDataDir = path.join(state, 'user-data');
  const extensionsDir = path.join(state, 'extensions');
  const configFile = path.join(state, 'config.yaml');
  fs.mkdirSync(userDataDir, { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  if (!fs.existsSync(configFile)) fs.writeFileSync(configFile, 'auth: none\ncert: false\n');
  writeSettings(userDataDir);

  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(VSCODE_|ELECTRON_RUN_AS_NODE$)/.test(k)) delete env[k];
  if (!ownCluster) {
    const tb = testbedEnv();
    if (tb) {
      Object.assign(env, tb);
      log(`KUBECONFIG=${tb.KUBECONFIG ?? '(none in testbed.json)'} (testbed)`);
    } else log('no testbed.json: the extension starts without a cluster');
  }
  if (opts.context) env.SANDPIPER_KUBE_CONTEXT = opts.context;

  const common = ['--config', configFile, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
  log(`installing ${path.relative(root, vsix)} into code-server`);
  const inst = spawnSync(process.execPath, [entry, ...common, '--force', '--install-extension', vsix], {
    env,
    stdio: 'inherit',
  });
  if (inst.status !== 0) throw new Error(`code-server --install-extension failed (exit ${inst.status})`);

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

  const url = `http://${opts.host}:${opts.port}/?folder=${encodeURIComponent(workspace)}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`http://${opts.host}:${opts.port}/healthz`, { signal: AbortSignal.timeout(2000) })).ok) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop('code-server did not become healthy within 60 s');
      return 1;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (child.exitCode === null) {
    console.log(`\n  Sandpiper in VS Code: ${url}\n  (Ctrl+C to stop)\n`);
  }
  const code = await exited;
  if (!stopping) log(`code-server exited with ${code}`);
  return stopping ? 0 : code || 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`[start] error: ${e.message}`);
    process.exit(1);
  },
);
