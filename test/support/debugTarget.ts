// A Node app started on the host with --inspect, standing in for a service's process in a pod.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
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

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export class DebugTarget {
  private child?: ChildProcess;
  readonly dir: string;
  readonly file: string;

  private constructor(readonly inspectPort: number, readonly appPort: number) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandpiper-debug-target-'));
    this.file = path.join(this.dir, 'server.js');
    fs.writeFileSync(this.file, APP_SOURCE);
  }

  static async start(): Promise<DebugTarget> {
    const target = new DebugTarget(await freePort(), await freePort());
    await target.startProcess();
    return target;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private async startProcess(): Promise<void> {
    const child = spawn(process.execPath, [`--inspect=127.0.0.1:${this.inspectPort}`, this.file], {
      env: { ...process.env, APP_PORT: String(this.appPort), NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('listening on')) resolve();
      });
      child.stderr!.on('data', () => undefined);
      child.once('exit', (code) => reject(new Error(`debug target exited early (${code}): ${out}`)));
    });
  }

  /** Kills the process and starts it again on the same ports, as a sync reload does. */
  async restart(): Promise<void> {
    await this.kill();
    await this.startProcess();
  }

  private async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
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
    throw new Error('testbed.json has no debugpyPath with debugpy in it: run `node scripts/testbed/testbed.mjs up` (it installs debugpy).');
  }
  return info.debugpyPath;
}

/** A Python HTTP server run under `python3 -m debugpy --listen`, standing in for a Python service's process. */
export class PythonDebugTarget {
  private child?: ChildProcess;
  readonly dir: string;
  readonly file: string;

  private constructor(readonly debugPort: number, readonly appPort: number) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandpiper-py-target-'));
    this.file = path.join(this.dir, 'app.py');
    fs.writeFileSync(this.file, PYTHON_APP_SOURCE);
  }

  static async start(): Promise<PythonDebugTarget> {
    const target = new PythonDebugTarget(await freePort(), await freePort());
    await target.startProcess();
    return target;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private async startProcess(): Promise<void> {
    const child = spawn('python3', ['-Xfrozen_modules=off', '-m', 'debugpy', '--listen', `127.0.0.1:${this.debugPort}`, this.file], {
      env: { ...process.env, APP_PORT: String(this.appPort), PYTHONPATH: debugpyPath(), PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('listening on')) resolve();
      });
      child.stderr!.on('data', (d) => (out += d));
      child.once('exit', (code) => reject(new Error(`python debug target exited early (${code}): ${out}`)));
    });
  }

  /**
   * Kills the process and debugpy's adapter, as a container restart does, and starts it again on the same
   * ports. `adapterFirst` kills the adapter before the app, so it never tells the client the session ended.
   */
  async restart(opts: { adapterFirst?: boolean } = {}): Promise<void> {
    if (opts.adapterFirst) this.killAdapter();
    await this.kill();
    await this.startProcess();
  }

  private async kill(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
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

  request(): Promise<string> {
    return fetch(`http://127.0.0.1:${this.appPort}/`).then((r) => r.text());
  }

  async dispose(): Promise<void> {
    await this.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
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
    if (args.some((a) => a.endsWith(path.join('debugpy', 'adapter'))) && at >= 0 && args[at + 1] === String(port)) pids.push(Number(entry));
  }
  return pids;
}
