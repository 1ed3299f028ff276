import type { SandpiperConfig, DependencyMode } from '../config/types';
import { SandpiperError, isCancellation } from '../errors';
import { httpCode, type Kube } from '../kube/client';
import { applyAll, applyObject, kubeFailure } from './apply';
import { isManaged } from './metadata';
import { readBaselineDependency } from './baseline';
import { serviceObjectsFor } from './deploy';
import { environmentName } from './naming';
import { objectLabels, planEnvironment, type EnvironmentPlan } from './plan';
import type { ProgressSink } from './progress';
import { waitForNamespace, waitForWorkloads } from './readiness';

export interface CreateEnvironmentOptions {
  service: string;
  owner: string;
  branch: string;
  /** Overrides of the config's dependency modes; dependencies not named keep the config's. */
  modes?: Record<string, DependencyMode>;
  ttlMs?: number;
  /** A namespace name instead of the one derived from owner and branch. */
  namespace?: string;
  image?: string;
  signal?: AbortSignal;
  progress?: ProgressSink;
  timeoutMs?: number;
  now?: () => Date;
}

export interface CreatedEnvironment {
  namespace: string;
  plan: EnvironmentPlan;
}

/**
 * A creation that failed or was cancelled. `namespaceCreated` tells whether this call made the
 * namespace, so the caller can offer keep-for-inspection or delete (deleteEnvironment removes it all).
 */
export class EnvironmentCreateError extends SandpiperError {
  constructor(readonly failure: SandpiperError, readonly namespace: string, readonly namespaceCreated: boolean) {
    super(failure.code, failure.message, failure.hint, failure.details);
  }
}

export function dependencyModes(config: SandpiperConfig, service: string, overrides: Record<string, DependencyMode> = {}): Record<string, DependencyMode> {
  const declared = config.services[service]?.dependencies ?? {};
  const unknown = Object.keys(overrides).filter((d) => !(d in declared));
  if (unknown.length) throw new SandpiperError('unknown-dependency', `"${service}" has no dependency ${unknown.map((d) => `"${d}"`).join(', ')} (it has: ${Object.keys(declared).join(', ') || 'none'}).`, 'Name dependencies listed in sandpiper.yaml.');
  return { ...declared, ...overrides };
}

/** Reads the baseline and the service's manifests and plans the objects; applies nothing. */
export async function planEnvironmentFor(kube: Kube, config: SandpiperConfig, opts: CreateEnvironmentOptions): Promise<EnvironmentPlan> {
  const service = config.services[opts.service];
  if (!service) throw new SandpiperError('unknown-service', `sandpiper.yaml has no service "${opts.service}" (it has: ${Object.keys(config.services).join(', ')}).`, 'Pass one of those with --service.');
  const namespace = opts.namespace ?? environmentName(opts.owner, opts.branch);
  const modes = dependencyModes(config, opts.service, opts.modes);
  opts.progress?.({ step: 'note', name: config.baseline, state: 'info', message: `Reading ${Object.keys(modes).length} dependencies from baseline "${config.baseline}"` });
  const dependencies = await Promise.all(Object.entries(modes).map(async ([name, mode]) => ({
    mode,
    baseline: await readBaselineDependency(kube, config.baseline, name, { withWorkloads: mode === 'copy', copySecrets: config.copySecrets }),
  })));
  const serviceObjects = await serviceObjectsFor(config, service, namespace, objectLabels(opts), opts.image);
  return planEnvironment({
    namespace, owner: opts.owner, branch: opts.branch, service: opts.service, baseline: config.baseline, clusterDomain: config.clusterDomain,
    ttlMs: opts.ttlMs ?? config.ttlMs, now: (opts.now ?? (() => new Date()))(), dependencies, serviceObjects,
  });
}

/** Creates an environment step by step: namespace, each dependency (shared or copied), then the service. */
export async function createEnvironment(kube: Kube, config: SandpiperConfig, opts: CreateEnvironmentOptions): Promise<CreatedEnvironment> {
  const namespace = opts.namespace ?? environmentName(opts.owner, opts.branch);
  const progress = opts.progress ?? (() => undefined);
  let namespaceCreated = false;
  try {
    // The baseline is read first: a missing dependency is reported before anything is made.
    const plan = await planEnvironmentFor(kube, config, { ...opts, namespace, progress });
    for (const w of plan.warnings) progress({ step: 'note', name: namespace, state: 'info', message: w });
    for (const step of plan.steps) {
      const label = step.kind === 'namespace' ? `namespace ${step.name}` : step.kind === 'dependency' ? `dependency ${step.name} (${step.mode})` : `service ${step.name}`;
      progress({ step: step.kind, name: step.name, state: 'started', message: `Creating ${label}` });
      if (step.kind === 'namespace') {
        // Applying over a namespace we do not own would label it ours, and so hand it to the janitor.
        const existing = await kube.core.readNamespace({ name: namespace }).catch((err: unknown) => {
          // Not found: ours to make. Not allowed to look: the apply below says what is refused.
          if (httpCode(err) === 404 || httpCode(err) === 403) return undefined;
          throw kubeFailure(err, `read namespace "${namespace}"`);
        });
        if (existing && !isManaged(existing)) {
          throw new SandpiperError('not-ours', `Namespace "${namespace}" exists and is not a Sandpiper environment; Sandpiper leaves it alone.`, 'Pick another name with --namespace, or let Sandpiper name the environment.');
        }
        await applyObject(kube, step.objects[0], opts.signal);
        // An environment that existed before (created again to update it) is not ours to clean up on failure.
        namespaceCreated = !existing;
        await waitForNamespace(kube, namespace, opts.signal);
      } else {
        const applied = await applyAll(kube, step.objects, opts.signal);
        await waitForWorkloads(kube, applied, opts.signal, opts.timeoutMs);
      }
      progress({ step: step.kind, name: step.name, state: 'ready', message: `Ready: ${label}` });
    }
    return { namespace, plan };
  } catch (err) {
    const cause = err instanceof SandpiperError ? err : isCancellation(err) ? new SandpiperError('cancelled', 'Cancelled.') : new SandpiperError('api', (err as Error).message ?? String(err));
    throw new EnvironmentCreateError(cause, namespace, namespaceCreated);
  }
}
