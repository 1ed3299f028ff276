// Debugging the TypeScript sample service in a pod on the real node, inside the real extension host: the `sandpiper`
// configuration resolves to VS Code's own JavaScript debugger (js-debug) attached through Sandpiper's port-forward,
// a breakpoint set in a .ts file binds through the source maps and hits, hits again after a sync restarts the process
// (node --watch; js-debug's `restart`) and after the pod is replaced (the forward moves to the new pod).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { sleep } from '../../src/core/errors';
import { loadConfig } from '../../src/core/config/loader';
import { loadKube } from '../../src/core/infra/kube/client';
import { SyncSession } from '../../src/core/sync/syncSession';
import { FORWARD_KEY } from '../../src/features/debug/configurations';
import { PodDebuggee, compileTs, compiledTsService, tsApp, type DebuggeeApp } from '../support/debugTarget';
import { requireRealNode } from '../support/realPods';
import { loadTestbed } from '../support/testbed';
import { listening } from '../support/net';
import { eventually } from '../support/wait';

/**
 * The sample's service as Initialize writes its sandpiper.yaml (debug section, dist/ synced into the container although
 * the folder's .gitignore leaves dist out, hence the `!dist` exclude), in its own
 * folder of the monorepo workspace beside the Todo example's services: the configuration names the service, and the
 * sandpiper.yaml declaring it is the one used.
 */
const HELLO_YAML = `services:
  hello:
    manifests: k8s/
    sync: { paths: [dist/], target: /app/dist, exclude: ["!dist"] }
    debug: { runtime: node, port: 9229, remoteRoot: /app }
`;

interface Seen {
  session: vscode.DebugSession;
  message: DebugProtocol.ProtocolMessage;
}

describe('sandpiper debug type through js-debug (extension host)', function () {
  this.timeout(300_000);
  let root: string;
  let helloDir: string;
  let app: DebuggeeApp;
  let debuggee: PodDebuggee | undefined;
  let sync: SyncSession | undefined;
  const syncLog: string[] = [];
  const cleanups: vscode.Disposable[] = [];
  const seen: Seen[] = [];
  const started: vscode.DebugSession[] = [];
  const ended: vscode.DebugSession[] = [];

  before(async function () {
    this.timeout(600_000); // the sample's image is built on the first run
    assert.ok(process.env.KUBECONFIG, 'the debug suite needs the testbed (KUBECONFIG)');
    requireRealNode();
    root = vscode.workspace.workspaceFolders![0].uri.fsPath;
    // The sample lives in the workspace's hello/ folder, compiled there (dist/ with maps) and built from there.
    helloDir = path.join(root, 'hello');
    compiledTsService(helloDir);
    app = tsApp(helloDir);
    fs.writeFileSync(path.join(helloDir, 'sandpiper.yaml'), HELLO_YAML);
    await vscode.extensions.getExtension('sandpiper.sandpiper')?.activate();
    debuggee = await PodDebuggee.deploy(app, 'sp-debug-exthost');
    cleanups.push(
      vscode.debug.registerDebugAdapterTrackerFactory('*', {
        createDebugAdapterTracker: (session) => ({
          onDidSendMessage: (message: DebugProtocol.ProtocolMessage) => seen.push({ session, message }),
        }),
      }),
      vscode.debug.onDidStartDebugSession((s) => started.push(s)),
      vscode.debug.onDidTerminateDebugSession((s) => ended.push(s)),
    );
  });

  after(async () => {
    for (const c of cleanups.reverse()) c.dispose();
    vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
    sync?.dispose();
    await debuggee?.dispose();
    if (helloDir) fs.rmSync(helloDir, { recursive: true, force: true });
  });

  const said = (from: number) =>
    seen
      .slice(from)
      .map(({ session, message: m }) => {
        const e = m as DebugProtocol.Event;
        const what = e.event ?? (m as DebugProtocol.Response).command;
        const detail = ['output', 'breakpoint', 'setBreakpoints', 'stopped', 'breakpointLocations'].includes(what)
          ? JSON.stringify(e.body)
          : '';
        return `${session.type}:${what} ${detail}`;
      })
      .slice(-40)
      .join(', ');

  const stoppedAfter = (from: number) =>
    seen
      .slice(from)
      .find(
        ({ message: m }) =>
          m.type === 'event' &&
          (m as DebugProtocol.Event).event === 'stopped' &&
          (m as DebugProtocol.StoppedEvent).body.reason === 'breakpoint',
      );

  /**
   * Requests the service until one stops at the .ts breakpoint (after a restart js-debug sets the breakpoints again
   * a moment after the process is back): the top frame is the .ts file at its line, inside `pod`; continuing lets
   * the request answer. Returns the body.
   */
  async function stopsAtBreakpoint(pod: string): Promise<string> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const from = seen.length;
      const answered = debuggee!.request().then(
        (body) => ({ body }),
        (err: Error) => ({ err }),
      );
      const stop = await eventually(
        'a stop or an answer',
        async () => {
          const s = stoppedAfter(from);
          if (s) return s;
          const done = await Promise.race([answered, new Promise<undefined>((r) => setTimeout(r, 50))]);
          return done ? ('answered' as const) : undefined;
        },
        60_000,
      ).catch(() => undefined);
      if (stop && stop !== 'answered') {
        const { session, message } = stop;
        const threadId = (message as DebugProtocol.StoppedEvent).body.threadId ?? 0;
        const trace = (await session.customRequest('stackTrace', {
          threadId,
        })) as DebugProtocol.StackTraceResponse['body'];
        const top = trace.stackFrames[0];
        // In a remote window VS Code hands paths back to extensions as vscode-remote URIs.
        const framePath = top.source?.path ?? '';
        assert.equal(framePath.includes('://') ? vscode.Uri.parse(framePath).path : framePath, app.breakpoint.file);
        assert.equal(top.line, app.breakpoint.line, `top frame: ${JSON.stringify(top)}; seen: ${said(0)}`);
        const where = (await session.customRequest('evaluate', {
          expression: app.podNameExpression,
          frameId: top.id,
          context: 'repl',
        })) as DebugProtocol.EvaluateResponse['body'];
        assert.equal(where.result.replace(/^['"]|['"]$/g, ''), pod, 'stopped in the expected pod');
        await session.customRequest('continue', { threadId });
        const r = await answered;
        if ('err' in r) throw r.err;
        return r.body;
      }
      if (Date.now() > deadline)
        throw new Error(
          `the breakpoint at ${app.breakpoint.file}:${app.breakpoint.line} never hit; seen: ${said(from)}`,
        );
      await answered;
      await sleep(500);
    }
  }

  it('stops at a breakpoint in a .ts file, again after a sync restart and after the pod is replaced', async () => {
    vscode.debug.addBreakpoints([
      new vscode.SourceBreakpoint(
        new vscode.Location(vscode.Uri.file(app.breakpoint.file), new vscode.Position(app.breakpoint.line - 1, 0)),
      ),
    ]);
    // As launch.json has it: the service and the environment; sandpiper.yaml gives the port and the roots.
    const ok = await vscode.debug.startDebugging(vscode.workspace.workspaceFolders?.[0], {
      type: 'sandpiper',
      request: 'attach',
      name: 'Sandpiper: hello',
      service: 'hello',
      env: debuggee!.namespace,
    });
    assert.equal(ok, true, 'the session started');
    const top = await eventually('the js-debug session', () =>
      started.find((s) => s.configuration[FORWARD_KEY] && !s.parentSession),
    );
    assert.match(top.type, /^(pwa-)?node$/, 'js-debug runs the session');
    assert.equal(top.configuration.sourceMaps, true);
    const forwardPort = top.configuration.port as number;
    const first = await debuggee!.podName();
    assert.match(await stopsAtBreakpoint(first), /"message":"Hello from hello!"/);

    // Edit the .ts, compile, sync dist/: node --watch restarts the process in the same container.
    const ts = app.breakpoint.file;
    fs.writeFileSync(ts, fs.readFileSync(ts, 'utf8').replace('`Hello from ${name}!`', '`Hello again from ${name}!`'));
    compileTs(helloDir);
    const kube = loadKube({ kubeconfig: loadTestbed().kubeconfig });
    const config = await loadConfig(helloDir);
    sync = new SyncSession({
      kube,
      namespace: debuggee!.namespace,
      config,
      service: config.services.hello,
      log: (l) => syncLog.push(l),
    });
    await sync.start();
    await sync.idle();
    assert.notEqual(sync.engine.status.state, 'error', syncLog.join('\n'));
    // Requests may still reach the old process (each stops at the breakpoint) until node has restarted.
    const deadline = Date.now() + 60_000;
    let body = await stopsAtBreakpoint(first);
    while (!body.includes('Hello again') && Date.now() < deadline) body = await stopsAtBreakpoint(first);
    assert.match(body, /"message":"Hello again from hello!"/, syncLog.join('\n'));
    assert.equal(await debuggee!.podName(), first, 'the same pod, its process restarted');
    sync.dispose();
    sync = undefined;

    // The pod is deleted; the Deployment's new pod (the image's code) takes over, the forward moves to it.
    const second = await debuggee!.replacePod();
    assert.notEqual(second, first);
    assert.match(await stopsAtBreakpoint(second), /"message":"Hello from hello!"/);
    assert.ok(!ended.includes(top), 'the js-debug session stayed through the restarts');

    // Stopping the session closes the forward.
    await vscode.debug.stopDebugging(top);
    await eventually('the forward to close', async () => !(await listening(forwardPort)), 30_000);
  });
});
