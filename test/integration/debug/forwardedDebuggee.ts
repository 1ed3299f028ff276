import { strict as assert } from 'node:assert';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { Kube } from '../../../src/core/infra/kube/client';
import { PortForwarder, type PortForwardEvent } from '../../../src/core/portforward/portForwarder';
import { PodDebuggee, type DebuggeeApp } from '../../support/debugTarget';
import { kubeConfig } from '../../support/testbed';
import type { DapDriver } from './dapDriver';

/**
 * A debuggee reached the way the extension reaches one: the app's Deployment in a fresh namespace on the real
 * node, and Sandpiper's PortForwarder through the apiserver to the Service's pod on the debug port.
 */
export class ForwardedDebuggee {
  readonly events: PortForwardEvent[] = [];

  private constructor(
    readonly pod: PodDebuggee,
    readonly forwarder: PortForwarder,
  ) {
    forwarder.onEvent((e) => this.events.push(e));
  }

  /** Everything is up on return; on a failure what was made is removed before the error is thrown. */
  static async start(app: DebuggeeApp, namespacePrefix: string): Promise<ForwardedDebuggee> {
    const pod = await PodDebuggee.deploy(app, namespacePrefix);
    const forwarder = new PortForwarder({
      kube: new Kube(kubeConfig()),
      namespace: pod.namespace,
      service: app.service,
      remotePort: app.debugPort,
    });
    try {
      await forwarder.start();
    } catch (err) {
      await pod.dispose();
      throw err;
    }
    return new ForwardedDebuggee(pod, forwarder);
  }

  get app(): DebuggeeApp {
    return this.pod.app;
  }

  get namespace(): string {
    return this.pod.namespace;
  }

  /** The attach arguments the extension would pass: the forward's local port and the roots. */
  attachArguments(): { host: string; port: number; localRoot: string; remoteRoot: string } {
    return {
      host: '127.0.0.1',
      port: this.forwarder.localPort!,
      localRoot: this.app.localRoot,
      remoteRoot: this.app.remoteRoot,
    };
  }

  /**
   * Sends the app's request and expects the session to stop at the breakpoint in the workspace's file, inside
   * `pod`: reads the handler's local and the pod's name from the frame, continues, and the request is answered.
   */
  async expectStopAtBreakpoint(dap: DapDriver, pod: string, breakpointId?: number): Promise<void> {
    const { breakpoint, podNameExpression, response } = this.app;
    const from = dap.events.length;
    const request = this.pod.request();
    const stopped = await dap.waitForEvent('stopped', () => true, from);
    assert.equal(stopped.body.reason, 'breakpoint');
    if (breakpointId !== undefined) assert.deepEqual(stopped.body.hitBreakpointIds, [breakpointId]);
    const threadId = stopped.body.threadId ?? 1;
    const trace = await dap.request<DebugProtocol.StackTraceResponse>('stackTrace', { threadId });
    const top = trace.body.stackFrames[0];
    assert.equal(top.source?.path, breakpoint.file);
    assert.equal(top.line, breakpoint.line);
    assert.equal(top.name, breakpoint.functionName);
    const scopes = await dap.request<DebugProtocol.ScopesResponse>('scopes', { frameId: top.id });
    const locals = await dap.request<DebugProtocol.VariablesResponse>('variables', {
      variablesReference: scopes.body.scopes[0].variablesReference,
    });
    assert.ok(
      locals.body.variables.some((v) => v.name === breakpoint.local),
      `locals: ${locals.body.variables.map((v) => v.name)}`,
    );
    const where = await dap.request<DebugProtocol.EvaluateResponse>('evaluate', {
      expression: podNameExpression,
      frameId: top.id,
      context: 'repl',
    });
    assert.equal(where.body.result.replace(/^['"]|['"]$/g, ''), pod, 'stopped in the expected pod');
    await dap.request('continue', { threadId });
    assert.match(await request, response);
  }

  async dispose(): Promise<void> {
    await this.forwarder.dispose();
    await this.pod.dispose();
  }
}
