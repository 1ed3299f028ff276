import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { NodeDebugSession } from '../../../src/debugAdapter/node/nodeDebugSession';
import type { PortForwarder } from '../../../src/core/portforward/portForwarder';
import { BREAKPOINT_LINE, DebugTarget } from '../../support/debugTarget';
import { DapDriver } from './dapDriver';
import { ForwardedDebuggee } from './forwardedDebuggee';

describe('Node debug adapter through the apiserver port-forward', function () {
  this.timeout(120_000);
  let debuggee: ForwardedDebuggee<DebugTarget>;
  let target: DebugTarget;
  let forwarder: PortForwarder;
  let session: NodeDebugSession;
  let workspace: string;

  before(async () => {
    debuggee = await ForwardedDebuggee.start(() => DebugTarget.start(), {
      namespace: 'sp-debug',
      service: 'tasks',
      port: 9229,
    });
    ({ target, forwarder, workspace } = debuggee);
  });

  after(async () => {
    session?.dispose();
    await debuggee?.dispose();
  });

  async function expectStopAtBreakpoint(dap: DapDriver, from: number): Promise<void> {
    const request = target.request();
    const stopped = await dap.waitForEvent('stopped', () => true, from);
    assert.equal(stopped.body.reason, 'breakpoint');
    const trace = await dap.request<DebugProtocol.StackTraceResponse>('stackTrace', { threadId: 1 });
    const top = trace.body.stackFrames[0];
    assert.equal(top.source?.path, path.join(workspace, 'server.js'));
    assert.equal(top.line, BREAKPOINT_LINE);
    const scopes = await dap.request<DebugProtocol.ScopesResponse>('scopes', { frameId: top.id });
    const locals = await dap.request<DebugProtocol.VariablesResponse>('variables', {
      variablesReference: scopes.body.scopes[0].variablesReference,
    });
    assert.ok(
      locals.body.variables.some((v) => v.name === 'req'),
      `locals: ${locals.body.variables.map((v) => v.name)}`,
    );
    const pid = await dap.request<DebugProtocol.EvaluateResponse>('evaluate', {
      expression: 'process.pid',
      frameId: top.id,
    });
    assert.equal(pid.body.result, String(target.pid));
    await dap.request('continue', { threadId: 1 });
    assert.match(await request, /^hello from \d+$/);
  }

  it('stops at a breakpoint, then re-attaches after the process restarts and after the pod is replaced, and stops again', async () => {
    session = new NodeDebugSession();
    const dap = new DapDriver(session);
    await dap.request('initialize', {
      adapterID: 'sandpiper',
      linesStartAt1: true,
      columnsStartAt1: true,
      pathFormat: 'path',
    });
    await dap.request('attach', {
      host: '127.0.0.1',
      port: forwarder.localPort,
      localRoot: workspace,
      remoteRoot: target.dir,
    });
    await dap.waitForEvent('initialized');
    const set = await dap.request<DebugProtocol.SetBreakpointsResponse>('setBreakpoints', {
      source: { path: path.join(workspace, 'server.js') },
      breakpoints: [{ line: BREAKPOINT_LINE }],
    });
    assert.equal(set.body.breakpoints[0].verified, true);
    await dap.request('configurationDone');
    const threads = await dap.request<DebugProtocol.ThreadsResponse>('threads');
    assert.equal(threads.body.threads.length, 1);

    await expectStopAtBreakpoint(dap, dap.events.length);

    const before = dap.events.length;
    const oldPid = target.pid;
    await target.restart();
    assert.notEqual(target.pid, oldPid);
    await dap.waitForEvent('output', (e) => /re-attached/.test(e.body.output), before);
    assert.ok(!dap.events.slice(before).some((e) => e.event === 'terminated'), 'the session stayed alive');
    await expectStopAtBreakpoint(dap, dap.events.length);

    // The pod is replaced (a rollout) and the process restarts with it: the forward moves to the new pod.
    const beforeReplace = dap.events.length;
    await debuggee.replacePod();
    await dap.waitForEvent('output', (e) => /re-attached/.test(e.body.output), beforeReplace);
    assert.equal(forwarder.currentPod, 'tasks-2');
    await expectStopAtBreakpoint(dap, dap.events.length);

    await dap.request('disconnect', {});
  });
});
