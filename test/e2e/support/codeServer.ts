// A real code-server (VS Code 1.100.3 server + web workbench) per test, on a fresh port with fresh
// HOME / user-data / extensions / config dirs. Install it first: `node scripts/codeserver.mjs install`.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sleep } from '../../../src/core/errors';
import { freePort } from '../../support/net';
import { serveArgs } from '../../../scripts/codeserver.mjs';

export interface CodeServerOptions {
  /** Folder opened by default (the workbench URL's ?folder=). */
  workspace: string;
  /** A .vsix installed with --install-extension before the server starts. */
  vsix?: string;
  /** An unpacked extension folder (package.json + main) loaded as a development extension through
   *  the workbench `payload` (code-server has no CLI flag for it); see workbenchUrl(). */
  extensionDevelopmentPath?: string;
  /** Extra user settings, merged over the test defaults. */
  settings?: Record<string, unknown>;
  /** Extra environment for the server and so for the extension host (KUBECONFIG, ...). */
  env?: Record<string, string>;
  /** Fixed port (default: a free one). */
  port?: number;
  /** Host to bind (default 127.0.0.1). */
  host?: string;
  /** Keep the temp dirs after stop() (for debugging). Also SANDPIPER_E2E_KEEP=1. */
  keepTemp?: boolean;
  /** ms to wait for /healthz (default 60 s). */
  startTimeoutMs?: number;
  /** Serve code-server's /proxy/<port>/ (what vscode.env.asExternalUri maps localhost URIs to); off by default. */
  proxy?: boolean;
  /**
   * Keep Workspace Trust on (code-server runs with --disable-workspace-trust otherwise): the folder opens in
   * Restricted Mode, untrusted, with no startup prompt.
   */
  workspaceTrust?: boolean;
}

export const DEFAULT_TEST_SETTINGS: Record<string, unknown> = {
  'debug.saveBeforeStart': 'none',
  'remote.autoForwardPorts': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'chat.commandCenter.enabled': false,
  'window.restoreWindows': 'none',
  'files.hotExit': 'off',
};

/** Repository root (the folder holding tools/code-server). */
export function repoRoot(): string {
  if (process.env.SANDPIPER_REPO_ROOT) return path.resolve(process.env.SANDPIPER_REPO_ROOT);
  const starts: string[] = [];
  if (typeof __dirname !== 'undefined') starts.push(__dirname);
  starts.push(process.cwd());
  for (const start of starts) {
    let dir = start;
    for (;;) {
      if (existsSync(path.join(dir, 'tools', 'code-server', 'package.json'))) return dir;
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  throw new Error('cannot find the repo root (no tools/code-server/package.json above cwd); set SANDPIPER_REPO_ROOT');
}

export function codeServerEntry(): string {
  const entry = path.join(repoRoot(), 'tools', 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  if (!existsSync(entry)) {
    throw new Error(`code-server is not installed (${entry} missing); run: node scripts/codeserver.mjs install`);
  }
  return entry;
}

/** True when something accepts TCP connections on host:port. */
export async function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    sock.setTimeout(1000);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', () => resolve(false));
  });
}

/** True while the process (with `group`, any process of its group) exists. */
export function processAlive(pid: number, group = false): boolean {
  try {
    process.kill(group ? -pid : pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

// Servers still running when the test process exits are killed (synchronously) by PID group.
const live = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of live) killGroup(pid, 'SIGKILL');
  });
}

/** Runs code-server's CLI once (e.g. --install-extension) and resolves with its output. */
function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [codeServerEntry(), ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      if (child.pid) killGroup(child.pid, 'SIGKILL');
      reject(new Error(`code-server ${args.join(' ')} timed out after ${timeoutMs} ms\n${out}`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`code-server ${args.join(' ')} failed (code ${code}, signal ${signal})\n${out}`));
    });
  });
}

export class CodeServer {
  /** http://127.0.0.1:PORT/ (with the trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** The remote authority the workbench uses for vscode-remote:// URIs: "127.0.0.1:PORT". */
  readonly authority: string;
  readonly workspace: string;
  readonly extensionDevelopmentPath?: string;
  /** Root temp dir holding home/, user-data/, extensions/, config.yaml, code-server.log. */
  readonly tempDir: string;
  readonly homeDir: string;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  readonly pid: number;

  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private outputBuf: string[] = [];
  private stopping?: Promise<void>;
  private readonly keepTemp: boolean;

  private constructor(init: {
    port: number;
    host: string;
    workspace: string;
    extensionDevelopmentPath?: string;
    tempDir: string;
    child: ChildProcess;
    keepTemp: boolean;
  }) {
    this.port = init.port;
    this.host = init.host;
    this.authority = `${init.host}:${init.port}`;
    this.url = `http://${init.host}:${init.port}/`;
    this.workspace = init.workspace;
    this.extensionDevelopmentPath = init.extensionDevelopmentPath;
    this.tempDir = init.tempDir;
    this.homeDir = path.join(init.tempDir, 'home');
    this.userDataDir = path.join(init.tempDir, 'user-data');
    this.extensionsDir = path.join(init.tempDir, 'extensions');
    this.child = init.child;
    this.pid = init.child.pid!;
    this.keepTemp = init.keepTemp;
    this.exited = new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
    const onData = (d: Buffer) => {
      const text = d.toString();
      if (process.env.SANDPIPER_E2E_VERBOSE) process.stderr.write(`[code-server:${this.port}] ${text}`);
      this.outputBuf.push(text);
      if (this.outputBuf.length > 500) this.outputBuf.splice(0, this.outputBuf.length - 500);
    };
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
  }

  /** The server's recent stdout+stderr. */
  get output(): string {
    return this.outputBuf.join('');
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** A vscode-remote:// URI for an absolute server-side path (what the workbench payload needs). */
  remoteUri(absPath: string): string {
    const p = path.resolve(absPath).split(path.sep).map(encodeURIComponent).join('/');
    return `vscode-remote://${this.authority}${p.startsWith('/') ? '' : '/'}${p}`;
  }

  /** Workbench URL: ?folder=<workspace>&payload=<[[k,v],...]> incl. extensionDevelopmentPath when set. */
  workbenchUrl(opts: { folder?: string; payload?: Array<[string, string]> } = {}): string {
    const params = new URLSearchParams();
    params.set('folder', path.resolve(opts.folder ?? this.workspace));
    const payload: Array<[string, string]> = [];
    if (this.extensionDevelopmentPath)
      payload.push(['extensionDevelopmentPath', this.remoteUri(this.extensionDevelopmentPath)]);
    for (const [k, v] of opts.payload ?? []) {
      const i = payload.findIndex(([pk]) => pk === k);
      if (i >= 0) payload[i] = [k, v];
      else payload.push([k, v]);
    }
    if (payload.length) params.set('payload', JSON.stringify(payload));
    return `${this.url}?${params.toString()}`;
  }

  static async start(opts: CodeServerOptions): Promise<CodeServer> {
    const host = opts.host ?? '127.0.0.1';
    const entry = codeServerEntry();
    const keepTemp = Boolean(opts.keepTemp || process.env.SANDPIPER_E2E_KEEP === '1');
    const tempDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sandpiper-cs-'));
    const home = path.join(tempDir, 'home');
    const userData = path.join(tempDir, 'user-data');
    const extensions = path.join(tempDir, 'extensions');
    const configFile = path.join(tempDir, 'config.yaml');
    try {
      await Promise.all(
        [home, userData, extensions, path.join(userData, 'User')].map((d) => fs.mkdir(d, { recursive: true })),
      );
      await fs.writeFile(configFile, 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
      // code-server keeps user settings server-side in <user-data-dir>/User/settings.json.
      const trust = opts.workspaceTrust
        ? { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never' }
        : {};
      const settings = { ...DEFAULT_TEST_SETTINGS, ...trust, ...(opts.settings ?? {}) };
      await fs.writeFile(path.join(userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2));

      const env: NodeJS.ProcessEnv = { ...process.env };
      // Don't let a surrounding VS Code / code-server session leak into the test instance.
      for (const k of Object.keys(env)) {
        if (/^(VSCODE_|ELECTRON_RUN_AS_NODE$|CODE_SERVER_|NODE_OPTIONS$|PASSWORD$|HASHED_PASSWORD$)/.test(k))
          delete env[k];
      }
      Object.assign(env, {
        HOME: home,
        XDG_CONFIG_HOME: path.join(home, '.config'),
        XDG_DATA_HOME: path.join(home, '.local', 'share'),
        XDG_CACHE_HOME: path.join(home, '.cache'),
      });
      Object.assign(env, opts.env ?? {});
      const common = ['--config', configFile, '--user-data-dir', userData, '--extensions-dir', extensions];

      if (opts.vsix) await runCli([...common, '--install-extension', path.resolve(opts.vsix)], env);

      const timeoutMs = opts.startTimeoutMs ?? 60_000;
      let lastError: unknown;
      for (let attempt = 0; attempt < 3; attempt++) {
        const port = opts.port ?? (await freePort(host));
        const args = [
          entry,
          ...serveArgs(common, `${host}:${port}`, path.resolve(opts.workspace), [
            ...(opts.proxy ? [] : ['--disable-proxy']),
            '--ignore-last-opened',
          ]).filter((a) => !(opts.workspaceTrust && a === '--disable-workspace-trust')),
        ];
        const child = spawn(process.execPath, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
        await new Promise<void>((resolve, reject) => {
          child.once('spawn', () => resolve());
          child.once('error', reject);
        });
        installExitHook();
        live.add(child.pid!);
        const server = new CodeServer({
          port,
          host,
          workspace: path.resolve(opts.workspace),
          extensionDevelopmentPath: opts.extensionDevelopmentPath
            ? path.resolve(opts.extensionDevelopmentPath)
            : undefined,
          tempDir,
          child,
          keepTemp,
        });
        try {
          await server.waitHealthy(timeoutMs);
          return server;
        } catch (e) {
          lastError = e;
          await server.kill();
          if (opts.port || !/EADDRINUSE/.test(server.output)) break;
        }
      }
      throw lastError;
    } catch (e) {
      if (!keepTemp) await removeDir(tempDir);
      throw e;
    }
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(
          `code-server exited (code ${this.child.exitCode}, signal ${this.child.signalCode}) before it was healthy:\n${this.output}`,
        );
      }
      try {
        const res = await fetch(`${this.url}healthz`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return;
      } catch {
        /* not up yet */
      }
      await sleep(150);
    }
    throw new Error(`code-server on ${this.url} not healthy after ${timeoutMs} ms:\n${this.output}`);
  }

  /** Terminates the process group and waits for it to be gone. Never throws. */
  private async kill(): Promise<void> {
    const pid = this.pid;
    try {
      if (this.running || processAlive(pid, true)) {
        killGroup(pid, 'SIGTERM');
        const t = Date.now();
        // Wait for the leader, then the rest of its group (extension host, pty host, ...).
        while ((this.running || processAlive(pid, true)) && Date.now() - t < 8000) await sleep(100);
        if (this.running || processAlive(pid, true)) {
          killGroup(pid, 'SIGKILL');
          const t2 = Date.now();
          while ((this.running || processAlive(pid, true)) && Date.now() - t2 < 5000) await sleep(100);
        }
      }
      await Promise.race([this.exited, sleep(2000)]);
    } catch (e) {
      console.warn(`[CodeServer] warning: stopping pid ${pid}: ${(e as Error).message}`);
    } finally {
      live.delete(pid);
    }
  }

  /** Stops code-server (by its process group id) and removes its temp dirs. Idempotent; never throws. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.kill();
      if (this.keepTemp) console.warn(`[CodeServer] keeping ${this.tempDir}`);
      else await removeDir(this.tempDir);
    })();
    return this.stopping;
  }
}

/** fs.rm with retries; logs a warning instead of throwing. */
export async function removeDir(dir: string): Promise<void> {
  for (let i = 0; i < 3; i++) {
    try {
      await fs.rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
      return;
    } catch (e) {
      if (i === 2) console.warn(`[CodeServer] warning: could not remove ${dir}: ${(e as Error).message}`);
      else await sleep(500);
    }
  }
}
