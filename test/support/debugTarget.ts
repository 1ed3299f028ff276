// Apps started on the host under a debugger (Node --inspect, Python debugpy), standing in for a service's process in a pod.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './net';
import { loadTestbed } from './testbed';

/** The app's handler: the breakpoint line is the `const greeting` line (line 4). */
export const APP_SOURCE = `const http = require('node:http');
const port = Number(process.env.APP_PORT);
const server = http.createServer((req, res) => {
  const greeting = 'hello from ' + process.pid;
  res.end(greeting);
});
server.listen(port, '127.0.0.1', () => console.log('listening on ' + port));
`;
export const BREAKPOINT_LINE = 4;

/**
 * An HTTP app run on the host with a debugger listening, standing in for a service's process in a pod: its
 * source is written to a temp dir, it serves on `appPort`, and it restarts in place on the same ports.
 */
export abstract class HostedDebuggee {
  private child?: ChildProcess;
  readonly dir: string;
  readonly file: string;

  protected constructor(
    readonly debuggerPort: number,
    readonly appPort: number,
    app: { tempPrefix: string; fileName: string; source: string },
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), app.tempPrefix));
    this.file = path.join(this.dir, app.fileName);
    fs.writeFileSync(this.file, app.source);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** How to run `file` under the debugger; the app reads its port from APP_PORT. */
  protected abstract command(): { program: string; args: string[]; env: NodeJS.ProcessEnv; label: string };

  /** Starts the process and resolves once the app prints `listening on`. */
  protected async startProcess(): Promise<void> {
    const { program, args, env, label } = this.command();
    const child = spawn(program, args, {
      env: { ...env, APP_PORT: String(this.appPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      // Only stdout says the app is up: node's "Debugger listening on" goes to stderr, before the app listens.
      let out = '';
      let err = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('listening on')) resolve();
      });
      child.stderr!.on('data', (d) => (err += d));
      child.once('exit', (code) => reject(new Error(`${label} exited early (${code}): ${out}${err}`)));
    });
  }

  /** Kills the process and starts it again on the same ports, as a sync reload does. */
  async restart(): Promise<void> {
    await this.kill();
    await this.startProcess();
  }

  protected async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** GET / on the app (the request that hits the breakpoint). */
  request(): Promise<string> {
    return fetch(`http://127.0.0.1:${this.appPort}/`).then((r) => r.text());
  }

  async dispose(): Promise<void> {
    await this.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The Node app under `--inspect`. */
export class DebugTarget extends HostedDebuggee {
  private constructor(inspectPort: number, appPort: number) {
    super(inspectPort, appPort, { tempPrefix: 'sandpiper-debug-target-', fileName: 'server.js', source: APP_SOURCE });
  }

  static async start(): Promise<DebugTarget> {
    const target = new DebugTarget(await freePort(), await freePort());
    await target.startProcess();
    return target;
  }

  get inspectPort(): number {
    return this.debuggerPort;
  }

  protected command() {
    return {
      program: process.execPath,
      args: [`--inspect=127.0.0.1:${this.inspectPort}`, this.file],
      env: { ...process.env, NODE_OPTIONS: '' },
      label: 'debug target',
    };
  }
}

/** The Python app's handler: the breakpoint line is the `greeting = ...` line (line 7). */
export const PYTHON_APP_SOURCE = `import http.server
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        greeting = 'hello from %d' % os.getpid()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(greeting.encode())

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(('127.0.0.1', int(os.environ['APP_PORT'])), Handler)
print('listening on', server.server_port, flush=True)
server.serve_forever()
`;
export const PYTHON_BREAKPOINT_LINE = 7;

/** debugpy as the testbed installed it (testbed.json `debugpyPath`, a PYTHONPATH entry). */
export function debugpyPath(): string {
  const info = loadTestbed();
  if (!info.debugpyPath || !fs.existsSync(path.join(info.debugpyPath, 'debugpy'))) {
    throw new Error(
      'testbed.json has no debugpyPath with debugpy in it: run `node scripts/testbed/testbed.mjs up` (it installs debugpy).',
    );
  }
  return info.debugpyPath;
}

/** A Python HTTP server run under `python3 -m debugpy --listen`, standing in for a Python service's process. */
export class PythonDebugTarget extends HostedDebuggee {
  private constructor(debugPort: number, appPort: number) {
    super(debugPort, appPort, { tempPrefix: 'sandpiper-py-target-', fileName: 'app.py', source: PYTHON_APP_SOURCE });
  }

  static async start(): Promise<PythonDebugTarget> {
    const target = new PythonDebugTarget(await freePort(), await freePort());
    await target.startProcess();
    return target;
  }

  get debugPort(): number {
    return this.debuggerPort;
  }

  protected command() {
    return {
      program: 'python3',
      args: ['-Xfrozen_modules=off', '-m', 'debugpy', '--listen', `127.0.0.1:${this.debugPort}`, this.file],
      env: { ...process.env, PYTHONPATH: debugpyPath(), PYTHONUNBUFFERED: '1' },
      label: 'python debug target',
    };
  }

  /**
   * Kills the process and debugpy's adapter, as a container restart does, and starts it again on the same
   * ports. `adapterFirst` kills the adapter before the app, so it never tells the client the session ended.
   */
  override async restart(opts: { adapterFirst?: boolean } = {}): Promise<void> {
    if (opts.adapterFirst) this.killAdapter();
    await super.restart();
  }

  protected override async kill(): Promise<void> {
    await super.kill();
    this.killAdapter();
  }

  /** debugpy's adapter is a separate, daemonised process on the debug port: found by its command line, ended by pid. */
  private killAdapter(): void {
    for (const pid of debugpyAdapterPids(this.debugPort)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

function debugpyAdapterPids(port: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const at = args.indexOf('--port');
    if (args.some((a) => a.endsWith(path.join('debugpy', 'adapter'))) && at >= 0 && args[at + 1] === String(port))
      pids.push(Number(entry));
  }
  return pids;
}
