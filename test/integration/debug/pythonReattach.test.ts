import { strict as assert } from 'node:assert';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { PythonDebugSession } from '../../../src/debugAdapter/python/pythonDebugSession';
import { PYTHON_APP } from '../../support/debugTarget';
import { requireRealNode } from '../../support/realPods';
import { DapDriver } from './dapDriver';
import { ForwardedDebuggee } from './forwardedDebuggee';

/** Prints the pid of debugpy's adapter (a process beside the app) in the container; `[a]` keeps this script out. */
const ADAPTER_PID = `for p in /proc/[0-9]*; do case "$(tr '\\0' ' ' <$p/cmdline)" in *debugpy/[a]dapter*) echo \${p#/proc/};; esac; done`;

describe('Python debug adapter (debugpy proxy): debugpy in a pod, through the apiserver port-forward', function () {
  this.timeout(240_000);
  let debuggee: ForwardedDebuggee;
  let session: PythonDebugSession | undefined;

  before(async function () {
    this.timeout(600_000); // the image is built on the first run
    requireRealNode();
    debuggee = await ForwardedDebuggee.start(PYTHON_APP, 'sp-debug-py');
  });

  after(async () => {
    session?.dispose();
    await debuggee?.dispose();
  });

  it('stops at a breakpoint mapped to the workspace, re-attaches after the container restarts, after debugpy stops answering and after the pod is replaced, and stops again', async () => {
    const { breakpoint } = PYTHON_APP;
    session = new PythonDebugSession(debuggee.attachArguments());
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
      service: PYTHON_APP.service,
      env: debuggee.namespace,
      port: PYTHON_APP.debugPort,
      localRoot: PYTHON_APP.localRoot,
      remoteRoot: PYTHON_APP.remoteRoot,
    });
    await dap.waitForEvent('initialized');
    const caps = await dap.waitForEvent('capabilities');
    assert.ok(caps.body.capabilities.supportsConditionalBreakpoints, 'debugpy capabilities reach the client');
    const set = await dap.request<DebugProtocol.SetBreakpointsResponse>('setBreakpoints', {
      source: { path: breakpoint.file },
      breakpoints: [{ line: breakpoint.line }],
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

    const first = await debuggee.pod.podName();
    await debuggee.expectStopAtBreakpoint(dap, first, breakpointId);

    // The container's processes end (SIGTERM to its PID 1) and kubelet starts it again in the same pod.
    const beforeRestart = dap.events.length;
    await debuggee.pod.restartContainer();
    await dap.waitForEvent('output', (e) => /re-attached/.test(e.body.output), beforeRestart);
    assert.ok(!dap.events.some((e) => e.event === 'terminated' || e.event === 'exited'), 'the session stayed alive');
    await debuggee.expectStopAtBreakpoint(dap, first, breakpointId);

    // debugpy's adapter freezes (SIGSTOP): the forwarded stream stays open and nothing says the session ended,
    // so only the heartbeat notices. Once it answers again (SIGCONT) the session re-attaches to it.
    const beforeFreeze = dap.events.length;
    const adapter = (await debuggee.pod.exec(ADAPTER_PID)).trim();
    assert.match(adapter, /^\d+$/, `debugpy's adapter in the container: ${JSON.stringify(adapter)}`);
    await debuggee.pod.exec(`kill -STOP ${adapter}`);
    const lost = await dap.waitForEvent('output', (e) => /went away/.test(e.body.output), beforeFreeze);
    assert.match(lost.body.output, /heartbeat/);
    await debuggee.pod.exec(`kill -CONT ${adapter}`);
    await dap.waitForEvent('output', (e) => /re-attached/.test(e.body.output), beforeFreeze);
    await debuggee.expectStopAtBreakpoint(dap, first, breakpointId);

    // The pod is deleted; the Deployment's new pod takes over and the forward moves to it.
    const beforeReplace = dap.events.length;
    const second = await debuggee.pod.replacePod();
    assert.notEqual(second, first);
    await dap.waitForEvent('output', (e) => /re-attached/.test(e.body.output), beforeReplace);
    assert.equal(debuggee.forwarder.currentPod, second);
    await debuggee.expectStopAtBreakpoint(dap, second, breakpointId);
    assert.ok(!dap.events.some((e) => e.event === 'terminated'), 'the session stayed alive throughout');

    await dap.request('disconnect', {});
    // Disconnecting leaves the service running and answering.
    assert.match(await debuggee.pod.request(), PYTHON_APP.response);
  });
});
