import * as vscode from 'vscode';
import type { SandpiperConfig } from '../../core/config/types';
import type { EnvironmentInfo } from '../../core/env/metadata';
import { SandpiperError } from '../../core/errors';
import type { Kube } from '../../core/infra/kube/client';
import { openableServices, ServiceForward } from '../../core/portforward/serviceForward';
import { registerCommand } from '../shared/commands';
import { type FeatureContext, workspaceConfig } from '../shared/context';
import type { EnvironmentNode } from '../environments/tree';

/** What `sandpiper.openInBrowser` is called with besides a tree row (the env-ready notification passes `{ env }`). */
export interface OpenTarget {
  env: string;
  service?: string;
  port?: number;
}

/** The environments the Environments view shows, to stop forwards into the ones that are gone. */
export interface EnvironmentList {
  readonly environments: readonly EnvironmentInfo[];
  /** The last reload failed: an empty list then says nothing about what exists. */
  readonly failed: boolean;
  readonly onDidLoad: vscode.Event<readonly EnvironmentInfo[]>;
  refresh(): Promise<EnvironmentInfo[]>;
}

/**
 * Registers "Open in Browser": one forward per environment/service, kept while the window lives and reused by the
 * next call, opened through `asExternalUri` so it works in code-server and remote windows. Returns the URI opened.
 */
export function registerOpenInBrowser(ctx: FeatureContext, envs: EnvironmentList): void {
  const forwards = new ServiceForwards(ctx);
  ctx.extension.subscriptions.push(
    forwards,
    // A deleted environment (here, elsewhere, or by the janitor) disappears from the list: its forwards stop.
    envs.onDidLoad((list) => {
      if (envs.failed) return;
      try {
        forwards.keepOnly(ctx.cluster.kube().contextName, list);
      } catch {
        // No usable kubeconfig: nothing was listed, and nothing is forwarded through it either.
      }
    }),
    registerCommand(ctx.log, 'sandpiper.openInBrowser', async (target?: unknown) => {
      const wanted = await openTarget(ctx, envs, target);
      if (!wanted) return undefined;
      const kube = await kubeFor(ctx, wanted.env);
      const service = wanted.service ?? (await pickService(kube, wanted.env));
      if (!service) return undefined;
      const forward = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `Opening ${service} of ${wanted.env}` },
        () => forwards.open(kube, wanted.env, service, wanted.port),
      );
      ctx.environments.touch('open');
      const external = await vscode.env.asExternalUri(vscode.Uri.parse(forward.url));
      ctx.log.info(`[open] ${wanted.env}/${service}:${forward.remotePort} at ${forward.url} (${external.toString()})`);
      await vscode.env.openExternal(external);
      return external.toString();
    }),
  );
}

interface Held {
  context: string;
  env: string;
  service: string;
  forward: Promise<ServiceForward>;
}

/** The forwards this window holds, one per context/env/service. */
class ServiceForwards implements vscode.Disposable {
  private readonly held = new Map<string, Held>();

  constructor(private readonly ctx: FeatureContext) {}

  async open(kube: Kube, env: string, service: string, port?: number): Promise<ServiceForward> {
    const context = kube.contextName;
    const key = JSON.stringify([context, env, service]);
    const existing = await this.held.get(key)?.forward.catch(() => undefined);
    if (existing && (port === undefined || port === existing.remotePort)) return existing;
    if (existing) void existing.dispose();
    const configured = await serviceConfig(service);
    const forward = ServiceForward.open({
      kube,
      namespace: env,
      service,
      port: port ?? configured?.port,
      container: configured?.container,
      onEvent: (e) => {
        if (e.kind === 'pod-changed' && e.from) this.ctx.log.info(`[open] ${env}/${service}: now pod ${e.to}`);
        if (e.kind === 'stream-error') this.ctx.log.warn(`[open] ${env}/${service} (${e.pod}): ${e.message}`);
      },
    });
    const entry = { context, env, service, forward };
    this.held.set(key, entry);
    forward.catch(() => this.held.get(key) === entry && this.held.delete(key));
    return forward;
  }

  /** Stops the forwards into environments of `context` that are no longer listed. */
  keepOnly(context: string, envs: readonly EnvironmentInfo[]): void {
    const live = new Set(envs.map((e) => e.name));
    for (const [key, entry] of this.held) {
      if (entry.context !== context || live.has(entry.env)) continue;
      this.held.delete(key);
      this.ctx.log.info(`[open] ${entry.env}/${entry.service}: the environment is gone, forward stopped`);
      void entry.forward.then((f) => f.dispose()).catch(() => undefined);
    }
  }

  dispose(): void {
    for (const entry of this.held.values()) void entry.forward.then((f) => f.dispose()).catch(() => undefined);
    this.held.clear();
  }
}

/** The environment (and service) from a tree row, an `{ env, service?, port? }`, a name, or the active/picked one. */
async function openTarget(
  ctx: FeatureContext,
  envs: EnvironmentList,
  target: unknown,
): Promise<OpenTarget | undefined> {
  if (typeof target === 'string') return { env: target };
  if (target && typeof target === 'object' && 'kind' in target) {
    const node = target as EnvironmentNode;
    if (node.kind === 'environment') return { env: node.env.name };
    if (node.kind === 'part') return { env: node.env.name, service: node.label };
  }
  if (target && typeof target === 'object' && typeof (target as OpenTarget).env === 'string') {
    const { env, service, port } = target as OpenTarget;
    if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
      throw new SandpiperError('invalid', `Port ${String(port)} is not a TCP port.`);
    return { env, service, port };
  }
  if (ctx.environments.current) return { env: ctx.environments.current.namespace };
  const list = envs.environments.length ? envs.environments : await envs.refresh();
  if (!list.length) throw new SandpiperError('no-environment', 'There is no environment to open.', 'Create one first.');
  const pick = await vscode.window.showQuickPick(
    list.map((e) => ({ label: e.name, description: e.service })),
    { title: 'Open in Browser: environment', placeHolder: 'Environment' },
  );
  return pick && { env: pick.label };
}

async function kubeFor(ctx: FeatureContext, env: string): Promise<Kube> {
  const current = ctx.environments.current;
  return current?.namespace === env ? current.kube : ctx.cluster.reachableKube();
}

/** The environment's only service, else the one the user picks (the environment's own first). */
async function pickService(kube: Kube, env: string): Promise<string | undefined> {
  const { services, primary } = await openableServices(kube, env);
  if (!services.length)
    throw new SandpiperError('unknown-service', `Environment "${env}" runs no service yet.`, 'Deploy it first.');
  if (services.length === 1) return services[0];
  const ordered = primary ? [primary, ...services.filter((s) => s !== primary)] : services;
  const pick = await vscode.window.showQuickPick(
    ordered.map((s) => ({ label: s, description: s === primary ? "the environment's service" : undefined })),
    { title: `Open in Browser: service of ${env}`, placeHolder: 'Service' },
  );
  return pick?.label;
}

/** The service's `port` and `container` from the workspace's sandpiper.yaml, when there is one that names it. */
async function serviceConfig(service: string): Promise<SandpiperConfig['services'][string] | undefined> {
  try {
    return (await workspaceConfig({ service, noPrompt: true })).services[service];
  } catch (err) {
    const code = err instanceof SandpiperError ? err.code : undefined;
    if (code === 'config-missing' || code === 'no-workspace') return undefined;
    throw err;
  }
}
