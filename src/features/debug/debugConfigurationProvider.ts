import * as path from 'node:path';
import type * as vscode from 'vscode';
import { SandpiperError } from '../../core/errors';
import { showError } from '../shared/commands';
import type { FeatureContext } from '../shared/featureContext';
import { pickService, workspaceConfig } from '../shared/workspaceConfig';
import { environmentFor } from '../logs/environmentTarget';

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

  async resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration | undefined> {
    try {
      return await this.resolve(config);
    } catch (err) {
      void showError(this.ctx.log, err);
      return undefined;
    }
  }

  private async resolve(config: vscode.DebugConfiguration): Promise<ResolvedSandpiperConfiguration | undefined> {
    const sandpiper = await workspaceConfig();
    const service = typeof config.service === 'string' && config.service ? sandpiper.services[config.service] : await pickService(sandpiper, 'Sandpiper: Attach to service');
    if (!service) {
      if (!config.service) return undefined;
      throw new SandpiperError('unknown-service', `sandpiper.yaml has no service "${config.service}" (it has: ${Object.keys(sandpiper.services).join(', ')}).`, 'Fix "service" in launch.json.');
    }
    if (!service.debug) {
      throw new SandpiperError('no-debug-config', `Service "${service.name}" has no debug section in sandpiper.yaml.`, 'Add `debug: { runtime: node, port: 9229, remoteRoot: /app }` to the service.');
    }
    const kube = this.ctx.environments.current?.kube ?? this.ctx.cluster.kube();
    const env = await environmentFor(config.env, this.ctx.environments.current?.namespace, kube, `Sandpiper: Attach to ${service.name} in…`);
    if (!env) return undefined;
    // launch.json may override the roots (e.g. a monorepo whose image lays files out differently).
    const localRoot = path.resolve(sandpiper.root, typeof config.localRoot === 'string' ? config.localRoot : (service.debug.localRoot ?? '.'));
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
