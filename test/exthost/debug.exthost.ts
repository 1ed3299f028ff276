import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { NODE_APP, PodDebuggee } from '../support/debugTarget';
import { requireRealNode } from '../support/realPods';
import { eventually } from '../support/wait';

/**
 * Starts a `sandpiper` session the way Run and Debug does, against the example's own image in a pod on the real
 * node, and watches its DAP traffic. The workspace is a copy of the example: its sandpiper.yaml gives the debug
 * port and remoteRoot, and the breakpoint goes in the workspace's src/tasks.js.
 */
describe('sandpiper debug type (extension host)', function () {
  this.timeout(240_000);
  let debuggee: PodDebuggee;
  let tasksJs: vscode.Uri;
  const cleanups: vscode.Disposable[] = [];
  const sent: DebugProtocol.ProtocolMessage[] = [];

  before(async function () {
    this.timeout(600_000); // the example's image is built on the first run
    assert.ok(process.env.KUBECONFIG, 'the debug suite needs the testbed (KUBECONFIG)');
    requireRealNode();
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'the suite runs in a copy of the example');
    tasksJs = vscode.Uri.file(
      path.join(folder.uri.fsPath, path.relative(NODE_APP.localRoot, NODE_APP.breakpoint.file)),
    );
    await vscode.extensions.getExtension('sandpiper.sandpiper')?.activate();
    debuggee = await PodDebuggee.deploy(NODE_APP, 'sp-debug-exthost');
    cleanups.push(
      vscode.debug.registerDebugAdapterTrackerFactory('sandpiper', {
        createDebugAdapterTracker: () => ({ onDidSendMessage: (m: DebugProtocol.ProtocolMessage) => sent.push(m) }),
      }),
    );
  });

  after(async () => {
    for (const c of cleanups.reverse()) c.dispose();
    vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
    await debuggee?.dispose();
  });

  /** `eventually`, with what the adapter sent in the timeout's message. */
  async function until<T>(what: string, find: () => T | undefined, timeoutMs = 60_000): Promise<T> {
    return eventually(what, find, timeoutMs, 100).catch((err: Error) => {
      throw new Error(
        `${err.message}; adapter sent: ${sent.map((m) => (m as DebugProtocol.Event).event ?? (m as DebugProtocol.Response).command).join(', ')}`,
      );
    });
  }

  const eventAfter = (from: number, event: string, test: (e: DebugProtocol.Event) => boolean = () => true) =>
    sent
      .slice(from)
      .find(
        (m): m is DebugProtocol.Event =>
          m.type === 'event' && (m as DebugProtocol.Event).event === event && test(m as DebugProtocol.Event),
      );

  /** A request to the pod stops in the workspace's tasks.js, inside `pod`; continuing answers it. */
  async function stopsAtBreakpoint(session: vscode.DebugSession, pod: string): Promise<void> {
    const from = sent.length;
    const request = debuggee.request();
    await until('the breakpoint', () => eventAfter(from, 'stopped', (e) => e.body.reason === 'breakpoint'));
    const trace = (await session.customRequest('stackTrace', {
      threadId: 1,
    })) as DebugProtocol.StackTraceResponse['body'];
    // In a remote window VS Code hands paths back to extensions as vscode-remote URIs.
    const framePath = trace.stackFrames[0].source?.path ?? '';
    assert.equal(framePath.includes('://') ? vscode.Uri.parse(framePath).path : framePath, tasksJs.fsPath);
    assert.equal(trace.stackFrames[0].line, NODE_APP.breakpoint.line);
    const where = (await session.customRequest('evaluate', {
      expression: NODE_APP.podNameExpression,
      frameId: trace.stackFrames[0].id,
    })) as DebugProtocol.EvaluateResponse['body'];
    assert.equal(where.result, JSON.stringify(pod));
    await session.customRequest('continue', { threadId: 1 });
    assert.match(await request, NODE_APP.response);
  }

  it('attaches through the port-forward, stops at a breakpoint, and again after the container restarts and after the pod is replaced', async () => {
    vscode.debug.addBreakpoints([
      new vscode.SourceBreakpoint(new vscode.Location(tasksJs, new vscode.Position(NODE_APP.breakpoint.line - 1, 0))),
    ]);
    const started = new Promise<vscode.DebugSession>((resolve) =>
      cleanups.push(vscode.debug.onDidStartDebugSession(resolve)),
    );
    // As launch.json has it: the service and the environment; sandpiper.yaml gives the port and the roots.
    const ok = await vscode.debug.startDebugging(vscode.workspace.workspaceFolders?.[0], {
      type: 'sandpiper',
      request: 'attach',
      name: 'Sandpiper: tasks',
      service: NODE_APP.service,
      env: debuggee.namespace,
    });
    assert.equal(ok, true, 'the session started');
    const session = await started;
    await until('the attach', () => eventAfter(0, 'initialized'));
    await until('configurationDone', () =>
      sent.find((m) => (m as DebugProtocol.Response).command === 'configurationDone'),
    );
    const first = await debuggee.podName();
    await stopsAtBreakpoint(session, first);

    const beforeRestart = sent.length;
    await debuggee.restartContainer();
    await until('re-attach', () => eventAfter(beforeRestart, 'output', (e) => /re-attached/.test(e.body.output)));
    await stopsAtBreakpoint(session, first);

    const beforeReplace = sent.length;
    const second = await debuggee.replacePod();
    await until('re-attach', () => eventAfter(beforeReplace, 'output', (e) => /re-attached/.test(e.body.output)));
    await stopsAtBreakpoint(session, second);
    assert.ok(!eventAfter(0, 'terminated'), 'the session stayed alive');
    await vscode.debug.stopDebugging(session);
  });
});
