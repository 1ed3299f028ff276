import type { Command } from 'commander';
import { findConfigRoot, loadConfig } from '../core/config/loader';
import type { SandpiperConfig } from '../core/config/types';
import { SandpiperError } from '../core/errors';
import { loadKube, type Kube } from '../core/kube/client';

export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  dir?: string;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function kubeFor(cmd: Command): Kube {
  const o = globals(cmd);
  return loadKube({ kubeconfig: o.kubeconfig, context: o.context });
}

export async function configFor(cmd: Command): Promise<SandpiperConfig> {
  const o = globals(cmd);
  const root = o.dir ?? (await findConfigRoot(process.cwd()));
  if (!root) throw new SandpiperError('config-missing', 'No sandpiper.yaml in this folder or above it.', 'Run from the service folder or pass --dir.');
  return loadConfig(root);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
