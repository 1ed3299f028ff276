import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { BREAKPOINT_LINE, DebugTarget } from '../support/debugTarget';
import { createNamespace, type Disposable } from '../support/testbed';
import { eventually } from '../support/wait';
import { tasksPodForwardedTo } from '../integration/portforward/kwokPods';

/** Starts a `sandpiper` session the way Run and Debug does and watches its DAP traffic. */
describe('sandpiper debug type (extension host)', function () {
  this.timeout(180_000);
  let target: DebugTarget;
  let ns: { name: string; dispose(): Promise<void> };
  let local: string;
  const cleanups: Array<Disposable | vscode.Disposable> = [];
  const sent: DebugProtocol.ProtocolMessage[] = [];

  before(async () => {
    assert.ok(process.env.KUBECONFIG, 'the debug suite needs the testbed (KUBECONFIG)');
    await vscode.extensions.getExtension('sandpiper.sandpiper')?.activate();
    target = await DebugTarget.start();
    ns = await createNamespace('sp-debug-exthost');
    cleanups.push(await tasksPodForwardedTo(ns.name, target.inspectPort));
    local = fs.mkdtempSync(path.join(os.tmpdir(), 'sandpiper-debug-local-'));
    fs.copyFileSync(target.file, path.join(local, 'server.js'));
    cleanups.push(
      vscode.debug.registerDebugAdapterTrackerFactory('sandpiper', {
        createDebugAdapterTracker: () => ({ onDidSendMessage: (m: DebugProtocol.ProtocolMessage) => sent.push(m) }),
      }),
    );
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c.dispose();
    vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
    await target?.dispose();
    await ns?.dispose();
  });

  /** `eventually`, with what the adapter sent in the timeout's message. */
  async function until<T>(what: string, find: () => T | undefined, timeoutMs = 30_000): Promise<T> {
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

  async function stopsAtBreakpoint(session: vscode.DebugSession): Promise<void> {
    const from = sent.length;
    const request = target.request();
    await until('the breakpoint', () => eventAfter(from, 'stopped', (e) => e.body.reason === 'breakpoint'));
    const trace = (await session.customRequest('stackTrace', {
      threadId: 1,
    })) as DebugProtocol.StackTraceResponse['body'];
    // In a remote window VS Code hands paths back to extensions as vscode-remote URIs.
    const framePath = trace.stackFrames[0].source?.path ?? '';
    assert.equal(
      framePath.includes('://') ? vscode.Uri.parse(framePath).path : framePath,
      path.join(local, 'server.js'),
    );
    assert.equal(trace.stackFrames[0].line, BREAKPOINT_LINE);
    await session.customRequest('continue', { threadId: 1 });
    assert.match(await request, /^hello from/);
  }

  it('attaches through the port-forward, stops at a breakpoint, and again after the process restarts', async () => {
    const file = vscode.Uri.file(path.join(local, 'server.js'));
    vscode.debug.addBreakpoints([
      new vscode.SourceBreakpoint(new vscode.Location(file, new vscode.Position(BREAKPOINT_LINE - 1, 0))),
    ]);
    const started = new Promise<vscode.DebugSession>((resolve) =>
      cleanups.push(vscode.debug.onDidStartDebugSession(resolve)),
    );
    const ok = await vscode.debug.startDebugging(vscode.workspace.workspaceFolders?.[0], {
      type: 'sandpiper',
      request: 'attach',
      name: 'Sandpiper: tasks',
      service: 'tasks',
      env: ns.name,
      localRoot: local,
      remoteRoot: target.dir,
    });
    assert.equal(ok, true, 'the session started');
    const session = await started;
    await until('the attach', () => eventAfter(0, 'initialized'));
    await until('configurationDone', () =>
      sent.find((m) => (m as DebugProtocol.Response).command === 'configurationDone'),
    );
    await stopsAtBreakpoint(session);

    const from = sent.length;
    await target.restart();
    await until('re-attach', () => eventAfter(from, 'output', (e) => /re-attached/.test(e.body.output)));
    await stopsAtBreakpoint(session);
    await vscode.debug.stopDebugging(session);
  });
});
