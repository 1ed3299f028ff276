import type { SandpiperConfig } from '../config/types';
import type { SandpiperSummary } from './body';

/** The environment part of the PR's Sandpiper section: its namespace, the services and how each dependency is provided. */
export function environmentSummary(namespace: string, config?: SandpiperConfig): NonNullable<SandpiperSummary['environment']> {
  const services: Array<{ name: string; detail?: string }> = [];
  const seen = new Set<string>();
  for (const svc of Object.values(config?.services ?? {})) {
    services.push({ name: svc.name, detail: 'deployed from this branch' });
    seen.add(svc.name);
  }
  for (const svc of Object.values(config?.services ?? {})) {
    for (const [dep, mode] of Object.entries(svc.dependencies)) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      services.push({ name: dep, detail: mode === 'copy' ? `copied from ${config!.baseline}` : `shared from ${config!.baseline}` });
    }
  }
  return { name: namespace, services };
}
