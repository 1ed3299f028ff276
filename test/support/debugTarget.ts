// A Node app started on the host with --inspect, standing in for a service's process in a pod.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

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
