import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import { type FeatureContext, pickService, workspaceConfig, workspaceConfigs } from '../shared/context';
import { PortForwarder, type PortForwardEvent } from '../../core/portforward/portForwarder';
import { showError } from '../shared/commands';
import {
  bindDebugAdapterDescriptorFactory,
  bindDebugConfigurationLister,
  bindDebugConfigurationProvider,
} from '../shared/lazy';
import { environmentFor } from '../logs';
import {
  FORWARD_KEY,
  debugTargetOf,
  dynamicConfigurations,
  listedConfigurations,
  namedService,
  nodeConfiguration,
  pythonConfiguration,
  type DebugTarget,
  type PythonConfiguration,
} from './configurations';

/**
 * The `sandpiper` debug type. For Node it resolves to a js-debug `node` attach on a forward of the inspector port
 * (source maps, exception breakpoints, logpoints… are js-debug's); for Python to Sandpiper's debugpy relay.
 */
export function registerDebug(ctx: FeatureContext): void {
  const forwards = new Forwards(ctx);
  const factory = new PythonAdapterFactory(ctx, forwards);
  ctx.extension.subscriptions.push(
    forwards,
    bindDebugConfigurationProvider('sandpiper', new SandpiperDebugConfigurationProvider(ctx, forwards)),
    bindDebugAdapterDescriptorFactory('sandpiper', factory),
    bindDebugConfigurationLister('sandpiper', (folder, kind) => listConfigurations(ctx, folder, kind)),
  );
}

/** One configuration per service with a debug section: in the active environment, or asked for when started. */
async function listConfigurations(
  ctx: FeatureContext,
  folder: vscode.WorkspaceFolder | undefined,
  kind: vscode.DebugConfigurationProviderTriggerKind,
): Promise<vscode.DebugConfiguration[]> {
  const dynamic = kind === vscode.DebugConfigurationProviderTriggerKind.Dynamic;
  // The dynamic list is asked for again with no folder (workspace file, user settings): the folders' lists have it.
  if (dynamic && !folder) return [];
  let listed: vscode.DebugConfiguration[] = [];
  try {
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    // launch.json keeps no environment: environments come and go, the active one is used when it starts.
    listed = (await workspaceConfigs()).flatMap((config) =>
      dynamic
        ? dynamicConfigurations(config, folder?.uri.fsPath, folders, ctx.environments.current?.namespace)
        : listedConfigurations(config),
    );
  } catch (err) {
    ctx.log.warn(`debug configurations: ${(err as Error).message}`);
  }
  // A new launch.json gets something to fill in even before sandpiper.yaml has a debug section.
  if (!listed.length && !dynamic)
    return [{ type: 'sandpiper', request: 'attach', name: 'Sandpiper: Attach to service', service: 'service' }];
  return listed;
}

/** Fills a `sandpiper` configuration from sandpiper.yaml and the environment, or says what is missing. */
export class SandpiperDebugConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(
    private readonly ctx: FeatureContext,
    private readonly forwards: Forwards,
  ) {}

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

  private async resolve(config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration | undefined> {
    const sandpiper = await workspaceConfig({
      service: typeof config.service === 'string' ? config.service : undefined,
      title: 'Sandpiper: attach to a service of which folder?',
    });
    const service = namedService(sandpiper, config) ?? (await pickService(sandpiper, 'Sandpiper: Attach to service'));
    if (!service) return undefined;
    const target = debugTargetOf(sandpiper, service, config);
    const kube = this.ctx.environments.current?.kube ?? this.ctx.cluster.kube();
    const env = await environmentFor(
      config.env,
      this.ctx.environments.current?.namespace,
      kube,
      `Sandpiper: Attach to ${service.name} in…`,
    );
    if (!env) return undefined;
    if (target.runtime === 'python') return pythonConfiguration(config, target, env);
    // VS Code follows the type change: js-debug resolves and runs the `node` attach on the forward.
    const { id, localPort } = await this.forwards.open(target, env);
    return nodeConfiguration(target, env, localPort, config.name, id);
  }
}

/** The debugpy relay behind a forward of debugpy's port, for `sandpiper` sessions of a Python service. */
class PythonAdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(
    private readonly ctx: FeatureContext,
    private readonly forwards: Forwards,
  ) {}

  async createDebugAdapterDescriptor(session: vscode.DebugSession): Promise<vscode.DebugAdapterDescriptor> {
    const c = session.configuration as PythonConfiguration;
    try {
      const { id, localPort } = await this.forwards.open(c, c.env);
      this.forwards.ownedBy(id, session);
      const target = { host: '127.0.0.1', port: localPort, localRoot: c.localRoot, remoteRoot: c.remoteRoot };
      // The adapter (and @vscode/debugadapter under it) loads with the first Python session, not at activation.
      const { PythonDebugSession } = await import('../../debugAdapter/python/pythonDebugSession');
      return new vscode.DebugAdapterInlineImplementation(new PythonDebugSession(target));
    } catch (err) {
      void showError(this.ctx.log, err);
      throw err;
    }
  }
}

/** How long a forward waits for the debug session it was opened for (js-debug may still refuse the config). */
const UNCLAIMED_MS = 60_000;

/**
 * The port-forwards of debug sessions. The forward follows the service to a replacement pod (the forwarder re-picks
 * it), and lives as long as the session that owns it: for Node the top js-debug session carrying FORWARD_KEY (its
 * child sessions come and go as js-debug re-attaches after a restart), for Python the `sandpiper` session.
 */
class Forwards implements vscode.Disposable {
  private readonly byId = new Map<string, { forwarder: PortForwarder; owner?: string; timer?: NodeJS.Timeout }>();
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly ctx: FeatureContext) {
    this.subscriptions = [
      vscode.debug.onDidStartDebugSession((s) => {
        const id = forwardOf(s);
        if (id && !forwardOf(s.parentSession)) this.ownedBy(id, s);
      }),
      vscode.debug.onDidTerminateDebugSession((s) => {
        for (const [id, f] of this.byId) if (f.owner === s.id) void this.release(id);
      }),
    ];
  }

  async open(target: DebugTarget, env: string): Promise<{ id: string; localPort: number }> {
    const kube = this.ctx.environments.current?.kube ?? (await this.ctx.cluster.reachableKube());
    const forwarder = new PortForwarder({ kube, namespace: env, service: target.service, remotePort: target.port });
    forwarder.onEvent((e) => this.ctx.log.info(`debug ${target.service}@${env}: ${describe(e)}`));
    const localPort = await forwarder.start();
    const id = crypto.randomUUID();
    const timer = setTimeout(() => {
      this.ctx.log.warn(`debug ${target.service}@${env}: no debug session started; forward closed`);
      void this.release(id);
    }, UNCLAIMED_MS);
    this.byId.set(id, { forwarder, timer });
    const active = this.ctx.environments.current;
    // Selecting another environment (or deleting this one) ends its forwards.
    if (active?.namespace === env) active.session.add({ dispose: () => void this.release(id) });
    this.ctx.environments.touch('debug');
    return { id, localPort };
  }

  ownedBy(id: string, session: vscode.DebugSession): void {
    const f = this.byId.get(id);
    if (!f) return;
    clearTimeout(f.timer);
    f.owner = session.id;
  }

  private async release(id: string): Promise<void> {
    const f = this.byId.get(id);
    this.byId.delete(id);
    clearTimeout(f?.timer);
    await f?.forwarder.dispose();
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
    for (const id of [...this.byId.keys()]) void this.release(id);
  }
}

function forwardOf(session: vscode.DebugSession | undefined): string | undefined {
  const id = (session?.configuration as Record<string, unknown> | undefined)?.[FORWARD_KEY];
  return typeof id === 'string' ? id : undefined;
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
