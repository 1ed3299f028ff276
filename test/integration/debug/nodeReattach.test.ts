import { strict as assert } from 'node:assert';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { NodeDebugSession } from '../../../src/debugAdapter/node/nodeDebugSession';
import { NODE_APP } from '../../support/debugTarget';
import { requireRealNode } from '../../support/realPods';
import { DapDriver } from './dapDriver';
import { ForwardedDebuggee } from './forwardedDebuggee';

describe('Node debug adapter: the example in a pod, through the apiserver port-forward', function () {
  this.timeout(240_000);
  let debuggee: ForwardedDebuggee;
  let session: NodeDebugSession | undefined;

  before(async function () {
    this.timeout(600_000); // the example's image is built on the first run
    requireRealNode();
    debuggee = await ForwardedDebuggee.start(NODE_APP, 'sp-debug');
  });

  after(async () => {
    session?.dispose();
    await debuggee?.dispose();
  });

  it('stops in tasks.js, then re-attaches after the container restarts and after the pod is replaced, and stops again', async () => {
    const { breakpoint } = NODE_APP;
    session = new NodeDebugSession();
    const dap = new DapDriver(session);
    await dap.request('initialize', {
      adapterID: 'sandpiper',
      linesStartAt1: true,
      columnsStartAt1: true,
      pathFormat: 'path',
    });
    await dap.request('attach', debuggee.attachArguments());
    await dap.waitForEvent('initialized');
    const set = await dap.request<DebugProtocol.SetBreakpointsResponse>('setBreakpoints', {
      source: { path: breakpoint.file },
      breakpoints: [{ line: breakpoint.line }],
    });
    assert.equal(set.body.breakpoints[0].verified, true);
    assert.equal(set.body.breakpoints[0].line, breakpoint.line);
    await dap.request('configurationDone');
    const threads = await dap.request<DebugProtocol.ThreadsResponse>('threads');
    assert.equal(threads.body.threads.length, 1);

    const first = await debuggee.pod.podName();
    assert.equal(debuggee.forwarder.currentPod, first);
    await debuggee.expectStopAtBreakpoint(dap, first);

    // The process ends (SIGTERM to the container's node) and kubelet starts it again in the same pod.
    const beforeRestart = dap.events.length;
    await debuggee.pod.restartContainer();
    await dap.waitForEvent('output', (e) => /re-attached/.test(e.body.output), beforeRestart);
    assert.ok(!dap.events.some((e) => e.event === 'terminated'), 'the session stayed alive');
    assert.equal(await debuggee.pod.podName(), first);
    await debuggee.expectStopAtBreakpoint(dap, first);

    // The pod is deleted; the Deployment's new pod takes over and the forward moves to it.
    const beforeReplace = dap.events.length;
    const second = await debuggee.pod.replacePod();
    assert.notEqual(second, first);
    await dap.waitForEvent('output', (e) => /re-attached/.test(e.body.output), beforeReplace);
    assert.equal(debuggee.forwarder.currentPod, second);
    await debuggee.expectStopAtBreakpoint(dap, second);
    assert.ok(!dap.events.some((e) => e.event === 'terminated'), 'the session stayed alive throughout');
    assert.ok(
      debuggee.events.some((e) => e.kind === 'pod-changed' && e.from === first && e.to === second),
      JSON.stringify(debuggee.events),
    );

    await dap.request('disconnect', {});
    // Disconnecting leaves the service running and answering.
    assert.match(await debuggee.pod.request(), NODE_APP.response);
  });
});
