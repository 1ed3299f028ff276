// The real CLI (bin/sandpiper.js → dist/cli.js) as a child process a test can watch and interrupt.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { testbedEnv } from '../../support/testbed';

/** $SANDPIPER_TEST_CLI runs the same tests against another build (e.g. an older commit's, to see them fail). */
export const BIN = process.env.SANDPIPER_TEST_CLI ?? path.resolve(__dirname, '../../../bin/sandpiper.js');

export function assertBuilt(): void {
  assert.ok(
    fs.existsSync(path.resolve(__dirname, '../../../dist/cli.js')),
    'build the CLI first (node scripts/build.mjs --dev)',
  );
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the signal sent (or the start) to the exit. */
  ms: number;
}

export class CliProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  private readonly child: ChildProcessWithoutNullStreams;
  private from = Date.now();

  constructor(args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], { cwd: o.cwd, env: o.env ?? testbedEnv() });
    this.child.stdout.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - this.from })),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  get output(): string {
    return `--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`;
  }

  /** Waits until stdout or stderr matches: the verb is past start-up and doing its work. */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let done = false;
    void this.exited.then(() => (done = true));
    while (!pattern.test(this.stdout + this.stderr)) {
      assert.ok(!done, `the CLI exited before printing ${pattern}\n${this.output}`);
      assert.ok(Date.now() < deadline, `no ${pattern} within ${timeoutMs} ms\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends ONE signal and waits for the exit, at most `waitMs` (then `code` is null and `ms` says how long). */
  async send(signal: NodeJS.Signals, waitMs = 15_000): Promise<Exit> {
    this.from = Date.now();
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<Exit>(
      (resolve) =>
        (timer = setTimeout(() => resolve({ code: null, signal: null, ms: Date.now() - this.from }), waitMs)),
    );
    try {
      return await Promise.race([this.exited, gaveUp]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The CLI's own child processes right now (git, …). */
  children(): number[] {
    try {
      return execFileSync('ps', ['-o', 'pid=', '--ppid', String(this.pid)], { encoding: 'utf8' })
        .split('\n')
        .map((s) => Number(s.trim()))
        .filter(Boolean);
    } catch {
      return []; // ps exits 1 when there are none
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export { listening } from '../../support/net';

/** A stand-in API server on loopback that accepts connections and never answers, and a kubeconfig for it. */
export async function silentApiServer(
  dir: string,
): Promise<{ kubeconfig: string; connections(): number; close(): void }> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const kubeconfig = path.join(dir, 'silent.kubeconfig');
  fs.writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      // Plain http on loopback: client-node allows it only with insecure-skip-tls-verify.
      `clusters: [{ name: silent, cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]`,
      'users: [{ name: u, user: { token: not-a-secret } }]',
      'contexts: [{ name: silent, context: { cluster: silent, user: u } }]',
      'current-context: silent',
      '',
    ].join('\n'),
  );
  return {
    kubeconfig,
    connections: () => connections,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** A workspace `<tmp>/sync-ws` whose service web (container app) syncs src/ (one index.html) to /app. */
export function syncWorkspace(tmp: string): string {
  const root = path.join(tmp, 'sync-ws');
  fs.mkdirSync(path.join(root, 'src'), { recursive: true });
  fs.mkdirSync(path.join(root, 'k8s'), { recursive: true });
  fs.writeFileSync(path.join(root, 'src/index.html'), 'hello');
  fs.writeFileSync(
    path.join(root, 'sandpiper.yaml'),
    'services:\n  web:\n    manifests: k8s/\n    container: app\n    sync: { paths: [src/], target: /app }\n',
  );
  return root;
}
