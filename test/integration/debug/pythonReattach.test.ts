import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { PythonDebugSession } from '../../../src/debugAdapter/python/pythonDebugSession';
import type { PortForwarder } from '../../../src/core/portforward/portForwarder';
import { PYTHON_BREAKPOINT_LINE, PythonDebugTarget } from '../../support/debugTarget';
import { DapDriver } from './dapDriver';
import { ForwardedDebuggee } from './forwardedDebuggee';

describe('Python debug adapter (debugpy proxy) through the apiserver port-forward', function () {
  this.timeout(120_000);
  let debuggee: ForwardedDebuggee<PythonDebugTarget>;
  let target: PythonDebugTarget;
  let forwarder: PortForwarder;
  let session: PythonDebugSession;
  let workspace: string;

  before(async () => {
    debuggee = await ForwardedDebuggee.start(() => PythonDebugTarget.start(), {
      namespace: 'sp-debug-py',
      service: 'api',
      port: 5678,
    });
    ({ target, forwarder, workspace } = debuggee);
  });

  after(async () => {
    session?.dispose();
    await debuggee?.dispose();
  });

  async function expectStopAtBreakpoint(dap: DapDriver, from: number, breakpointId: number): Promise<void> {
    const request = target.request();
    const stopped = await dap.waitForEvent('stopped', () => true, from);
    assert.equal(stopped.body.reason, 'breakpoint');
    // The id VS Code was given when it set the breakpoint, whatever debugpy numbers it in this process.
    assert.deepEqual(stopped.body.hitBreakpointIds, [breakpointId]);
    const trace = await dap.request<DebugProtocol.StackTraceResponse>('stackTrace', {
      threadId: stopped.body.threadId,
    });
    const top = trace.body.stackFrames[0];
    assert.equal(top.source?.path, path.join(workspace, 'app.py'));
    assert.equal(top.line, PYTHON_BREAKPOINT_LINE);
    assert.equal(top.name, 'do_GET');
    const scopes = await dap.request<DebugProtocol.ScopesResponse>('scopes', { frameId: top.id });
    const locals = await dap.request<DebugProtocol.VariablesResponse>('variables', {
      variablesReference: scopes.body.scopes[0].variablesReference,
    });
    assert.ok(
      locals.body.variables.some((v) => v.name === 'self'),
      `locals: ${locals.body.variables.map((v) => v.name)}`,
    );
    const pid = await dap.request<DebugProtocol.EvaluateResponse>('evaluate', {
      expression: 'os.getpid()',
      frameId: top.id,
      context: 'repl',
    });
    assert.equal(pid.body.result, String(target.pid));
    await dap.request('continue', { threadId: stopped.body.threadId });
    assert.match(await request, /^hello from \d+$/);
  }

  it('stops at a breakpoint with the frame mapped to the workspace, re-attaches after the process restarts (also silently) and after the pod is replaced, and stops again', async () => {
    session = new PythonDebugSession({ host: '127.0.0.1', port: forwarder.localPort });
    const dap = new DapDriver(session);
    await dap.request('initialize', {
      adapterID: 'sandpiper',
      linesStartAt1: true,
      columnsStartAt1: true,
      pathFormat: 'path',
    });
    const attached = dap.request('attach', {
      type: 'sandpiper',
      request: 'attach',
      service: 'api',
      env: debuggee.namespace,
      port: 5678,
      localRoot: workspace,
      remoteRoot: target.dir,
    });
    await dap.waitForEvent('initialized');
    const caps = await dap.waitForEvent('capabilities');
    assert.ok(caps.body.capabilities.supportsConditionalBreakpoints, 'debugpy capabilities reach the client');
    const set = await dap.request<DebugProtocol.SetBreakpointsResponse>('setBreakpoints', {
      source: { path: path.join(workspace, 'app.py') },
      breakpoints: [{ line: PYTHON_BREAKPOINT_LINE }],
    });
    const breakpointId = set.body.breakpoints[0].id!;
    assert.equal(typeof breakpointId, 'number');
    await dap.request('setExceptionBreakpoints', { filters: [] });
    await dap.request('configurationDone');
    await attached;
    const threads = await dap.request<DebugProtocol.ThreadsResponse>('threads');
    assert.ok(
      threads.body.threads.some((t) => t.name === 'MainThread'),
      JSON.stringify(threads.body),
    );

    await expectStopAtBreakpoint(dap, dap.events.length, breakpointId);

    const before = dap.events.length;
    const oldPid = target.pid;
    await target.restart();
    assert.notEqual(target.pid, oldPid);
    await dap.waitForEvent('output', (e) => /re-attached/.test(e.body.output), before);
    assert.ok(
      !dap.events.slice(before).some((e) => e.event === 'terminated' || e.event === 'exited'),
      'the session stayed alive',
    );
    await expectStopAtBreakpoint(dap, dap.events.length, breakpointId);

    // The adapter dies first, so no `terminated` arrives, and kwok keeps the forwarded stream open: only the
    // heartbeat can notice.
    const beforeSilent = dap.events.length;
    await target.restart({ adapterFirst: true });
    const lost = await dap.waitForEvent('output', (e) => /went away/.test(e.body.output), beforeSilent);
    assert.match(lost.body.output, /heartbeat/);
    await dap.waitForEvent('output', (e) => /re-attached/.test(e.body.output), beforeSilent);
    await expectStopAtBreakpoint(dap, dap.events.length, breakpointId);

    // The pod is replaced (a rollout) and the process restarts with it: the forward moves to the new pod.
    const beforeReplace = dap.events.length;
    await debuggee.replacePod();
    await dap.waitForEvent('output', (e) => /re-attached/.test(e.body.output), beforeReplace);
    assert.equal(forwarder.currentPod, 'api-2');
    await expectStopAtBreakpoint(dap, dap.events.length, breakpointId);
    assert.ok(!dap.events.some((e) => e.event === 'terminated'), 'the session stayed alive throughout');

    await dap.request('disconnect', {});
    // Disconnecting leaves the service running and answering.
    assert.match(await target.request(), /^hello from \d+$/);
  });
});
