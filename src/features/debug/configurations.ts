// What a `sandpiper` debug configuration means, read against sandpiper.yaml: no VS Code API here, so the unit
// tests check it directly. The provider (./index.ts) asks the user for what is missing and starts the forward.
import * as path from 'node:path';
import { serviceNamed } from '../../core/config/loader';
import type { SandpiperConfig, ServiceConfig } from '../../core/config/types';
import { SandpiperError } from '../../core/errors';
import { nodeAttachConfiguration, type NodeAttachConfiguration } from '../../debugAdapter/node/jsDebug';

/** The fields of a `sandpiper` launch configuration (launch.json, the dynamic list, or empty on F5). */
export interface SandpiperLaunchFields {
  name?: unknown;
  service?: unknown;
  env?: unknown;
  port?: unknown;
  localRoot?: unknown;
  remoteRoot?: unknown;
}

/** What to attach to in the pod: the service's debug section with launch.json's overrides applied. */
export interface DebugTarget {
  service: string;
  runtime: 'node' | 'python';
  /** The debug port in the container. */
  port: number;
  /** Absolute workspace folder matching remoteRoot. */
  localRoot: string;
  remoteRoot: string;
}

/** The service launch.json names; undefined when it names none (the user is asked). */
export function namedService(config: SandpiperConfig, launch: SandpiperLaunchFields): ServiceConfig | undefined {
  if (typeof launch.service !== 'string' || !launch.service) return undefined;
  return serviceNamed(config, launch.service, 'Fix "service" in launch.json.');
}

/** The service's debug target, or an error naming the missing debug section. */
export function debugTargetOf(
  config: SandpiperConfig,
  service: ServiceConfig,
  launch: SandpiperLaunchFields,
): DebugTarget {
  if (!service.debug)
    throw new SandpiperError(
      'no-debug-config',
      `Service "${service.name}" has no debug section in sandpiper.yaml.`,
      'Add `debug: { runtime: node, port: 9229, remoteRoot: /app }` to the service.',
    );
  // launch.json may override the roots (e.g. a monorepo whose image lays files out differently).
  const localRoot = path.resolve(
    config.root,
    typeof launch.localRoot === 'string' ? launch.localRoot : (service.debug.localRoot ?? '.'),
  );
  return {
    service: service.name,
    runtime: service.debug.runtime,
    port: typeof launch.port === 'number' ? launch.port : service.debug.port,
    localRoot,
    remoteRoot: typeof launch.remoteRoot === 'string' ? launch.remoteRoot : service.debug.remoteRoot,
  };
}

/** Marks the js-debug configuration whose session owns a forward (see NodeForwards in ./index.ts). */
export const FORWARD_KEY = '__sandpiperForward';

/** The js-debug attach for a Node target whose inspector is forwarded to 127.0.0.1:`localPort`. */
export function nodeConfiguration(
  target: DebugTarget,
  env: string,
  localPort: number,
  name: unknown,
  forwardId: string,
): NodeAttachConfiguration {
  return {
    ...nodeAttachConfiguration({
      name: typeof name === 'string' && name ? name : `Sandpiper: ${target.service} (${env})`,
      port: localPort,
      localRoot: target.localRoot,
      remoteRoot: target.remoteRoot,
    }),
    [FORWARD_KEY]: forwardId,
  };
}

/** A `sandpiper` configuration that Sandpiper's Python adapter (a relay to debugpy) runs. */
export interface PythonConfiguration extends DebugTarget {
  type: 'sandpiper';
  request: 'attach';
  name: string;
  env: string;
  runtime: 'python';
  /** debugpy reads its path mapping from the attach arguments. */
  pathMappings: Array<{ localRoot: string; remoteRoot: string }>;
  [key: string]: unknown;
}

export function pythonConfiguration(
  launch: SandpiperLaunchFields & Record<string, unknown>,
  target: DebugTarget,
  env: string,
): PythonConfiguration {
  return {
    ...launch,
    ...target,
    type: 'sandpiper',
    request: 'attach',
    name: typeof launch.name === 'string' && launch.name ? launch.name : `Sandpiper: ${target.service}`,
    env,
    runtime: 'python',
    pathMappings: [{ localRoot: target.localRoot, remoteRoot: target.remoteRoot }],
  };
}

/** A configuration in the Run and Debug list: resolving it starts the forward and the attach. */
export interface ListedConfiguration {
  type: 'sandpiper';
  request: 'attach';
  name: string;
  service: string;
  env?: string;
}

/**
 * One configuration per service with a debug section, for the dynamic list (launch.json optional) and "Add
 * Configuration...". With `env` they attach to that environment; without it the environment is asked when started.
 */
export function listedConfigurations(config: SandpiperConfig, env?: string): ListedConfiguration[] {
  return Object.values(config.services)
    .filter((s) => s.debug)
    .map((s) => ({
      type: 'sandpiper',
      request: 'attach',
      name: env ? `Sandpiper: ${s.name} in ${env}` : `Sandpiper: ${s.name}`,
      service: s.name,
      ...(env ? { env } : {}),
    }));
}

/**
 * The dynamic Run and Debug list for one place VS Code asks: each workspace folder, then the workspace file and user
 * settings with no folder. The services are listed once, for the folder holding their sandpiper.yaml (the innermost
 * when folders nest); every other place gets none, or the list shows each service several times.
 */
export function dynamicConfigurations(
  config: SandpiperConfig,
  folder: string | undefined,
  folders: readonly string[],
  env?: string,
): ListedConfiguration[] {
  if (folder === undefined || folder !== holdingFolder(config.root, folders)) return [];
  return listedConfigurations(config, env);
}

function holdingFolder(dir: string, folders: readonly string[]): string | undefined {
  const holding = folders.filter((f) => {
    const rel = path.relative(f, dir);
    return !path.isAbsolute(rel) && rel.split(path.sep)[0] !== '..';
  });
  return holding.sort((a, b) => b.length - a.length)[0];
}
