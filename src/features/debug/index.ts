import * as vscode from 'vscode';
import { type FeatureContext, pickService, workspaceConfig } from '../shared/context';
import { PortForwarder, type PortForwardEvent } from '../../core/portforward/portForwarder';
import { showError } from '../shared/commands';
import { bindDebugAdapterDescriptorFactory, bindDebugConfigurationProvider } from '../shared/lazy';
import * as path from 'node:path';
import { SandpiperError } from '../../core/errors';
import { environmentFor } from '../logs';

/** Registers the `sandpiper` debug type: configuration resolving and the adapter behind a port-forward. */
export function registerDebug(ctx: FeatureContext): void {
  const factory = new SandpiperDebugAdapterFactory(ctx);
  ctx.extension.subscriptions.push(
    bindDebugConfigurationProvider('sandpiper', new SandpiperDebugConfigurationProvider(ctx)),
    bindDebugAdapterDescriptorFactory('sandpiper', factory),
    factory,
  );
}

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
      // The adapters (and @vscode/debugadapter under them) load with the first debug session, not at activation.
      const adapter =
        c.runtime === 'python'
          ? new (await import('../../debugAdapter/python/pythonDebugSession')).PythonDebugSession(target)
          : new (await import('../../debugAdapter/node/nodeDebugSession')).NodeDebugSession(target);
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

/** A `sandpiper` attach configuration after resolving: everything the adapter factory needs. */
export interface ResolvedSandpiperConfiguration extends vscode.DebugConfiguration {
  service: string;
  env: string;
  port: number;
  runtime: 'node' | 'python';
  localRoot: string;
  remoteRoot: string;
}

/** Fills a `sandpiper` configuration from sandpiper.yaml and the active environment, or says what is missing. */
export class SandpiperDebugConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly ctx: FeatureContext) {}

  async resolveDebugConfiguration(
    _folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): Promise<vscode.DebugConfiguration | undefined> {
    try {
      return await this.resolve(config);
    } catch (err) {
      void showError(this.ctx.log, err);
      return undefined;
    }
  }

  private async resolve(config: vscode.DebugConfiguration): Promise<ResolvedSandpiperConfiguration | undefined> {
    const sandpiper = await workspaceConfig();
    const service =
      typeof config.service === 'string' && config.service
        ? sandpiper.services[config.service]
        : await pickService(sandpiper, 'Sandpiper: Attach to service');
    if (!service) {
      if (!config.service) return undefined;
      throw new SandpiperError(
        'unknown-service',
        `sandpiper.yaml has no service "${config.service}" (it has: ${Object.keys(sandpiper.services).join(', ')}).`,
        'Fix "service" in launch.json.',
      );
    }
    if (!service.debug) {
      throw new SandpiperError(
        'no-debug-config',
        `Service "${service.name}" has no debug section in sandpiper.yaml.`,
        'Add `debug: { runtime: node, port: 9229, remoteRoot: /app }` to the service.',
      );
    }
    const kube = this.ctx.environments.current?.kube ?? this.ctx.cluster.kube();
    const env = await environmentFor(
      config.env,
      this.ctx.environments.current?.namespace,
      kube,
      `Sandpiper: Attach to ${service.name} in…`,
    );
    if (!env) return undefined;
    // launch.json may override the roots (e.g. a monorepo whose image lays files out differently).
    const localRoot = path.resolve(
      sandpiper.root,
      typeof config.localRoot === 'string' ? config.localRoot : (service.debug.localRoot ?? '.'),
    );
    const remoteRoot = typeof config.remoteRoot === 'string' ? config.remoteRoot : service.debug.remoteRoot;
    return {
      ...config,
      // debugpy reads its path mapping from the attach arguments; the Node adapter reads localRoot/remoteRoot.
      ...(service.debug.runtime === 'python' ? { pathMappings: [{ localRoot, remoteRoot }] } : {}),
      type: 'sandpiper',
      request: 'attach',
      name: config.name ?? `Sandpiper: ${service.name}`,
      service: service.name,
      env,
      port: typeof config.port === 'number' ? config.port : service.debug.port,
      runtime: service.debug.runtime,
      localRoot,
      remoteRoot,
    };
  }
}
