import * as vscode from 'vscode';
import { NodeDebugSession } from '../../adapters/debug/nodeDebugSession';
import { PythonDebugSession } from '../../adapters/debug/pythonDebugSession';
import { PortForwarder, type PortForwardEvent } from '../../core/portforward/portForwarder';
import { showError } from '../shared/commands';
import type { FeatureContext } from '../shared/featureContext';
import type { ResolvedSandpiperConfiguration } from './debugConfigurationProvider';

/**
 * Port-forwards to the service's debug port and hands VS Code Sandpiper's inline adapter for the runtime:
 * the Node one (DAP→inspector) or the Python one (a proxy to debugpy's DAP server); both re-attach.
 */
export class SandpiperDebugAdapterFactory implements vscode.DebugAdapterDescriptorFactory, vscode.Disposable {
  private readonly forwards = new Map<string, PortForwarder>();
  private readonly subscription: vscode.Disposable;

  constructor(private readonly ctx: FeatureContext) {
    this.subscription = vscode.debug.onDidTerminateDebugSession((s) => void this.release(s.id));
  }

  async createDebugAdapterDescriptor(session: vscode.DebugSession): Promise<vscode.DebugAdapterDescriptor | undefined> {
    const c = session.configuration as ResolvedSandpiperConfiguration;
    try {
      const kube = this.ctx.environments.current?.kube ?? (await this.ctx.cluster.reachableKube());
      const forwarder = new PortForwarder({ kube, namespace: c.env, service: c.service, remotePort: c.port });
      forwarder.onEvent((e) => this.ctx.log.info(`debug ${c.service}@${c.env}: ${describe(e)}`));
      const localPort = await forwarder.start();
      this.forwards.set(session.id, forwarder);
      const env = this.ctx.environments.current;
      if (env?.namespace === c.env) env.session.add({ dispose: () => void this.release(session.id) });
      this.ctx.environments.touch('debug');
      const target = { host: '127.0.0.1', port: localPort, localRoot: c.localRoot, remoteRoot: c.remoteRoot };
      const adapter = c.runtime === 'python' ? new PythonDebugSession(target) : new NodeDebugSession(target);
      return new vscode.DebugAdapterInlineImplementation(adapter);
    } catch (err) {
      void showError(this.ctx.log, err);
      throw err;
    }
  }

  private async release(sessionId: string): Promise<void> {
    const forwarder = this.forwards.get(sessionId);
    this.forwards.delete(sessionId);
    await forwarder?.dispose();
  }

  dispose(): void {
    this.subscription.dispose();
    for (const id of [...this.forwards.keys()]) void this.release(id);
  }
}

function describe(e: PortForwardEvent): string {
  switch (e.kind) {
    case 'listening':
      return `forwarding 127.0.0.1:${e.localPort}`;
    case 'connected':
      return `connection to pod ${e.pod} (${e.connections} open)`;
    case 'closed':
      return `connection to pod ${e.pod} closed`;
    case 'stream-error':
      return `stream to pod ${e.pod} failed: ${e.message}`;
    case 'pod-changed':
      return `now forwarding to pod ${e.to}${e.from ? ` (was ${e.from})` : ''}`;
  }
}
