import * as path from 'node:path';
import type { SandpiperConfig, ServiceConfig } from '../config/types';
import { buildServiceImage } from '../build/pipeline';
import type { ImageRegistry } from '../build/registry';
import { SandpiperError, cancelled } from '../errors';
import type { ImageBuilder } from '../infra/docker';
import { type Kube } from '../infra/kube/client';
import { httpCode, kubeError } from '../infra/kube/errors';
import type { ServiceWorkload } from './syncSession';
import ignore from 'ignore';
import type { Ignore } from 'ignore';

export interface RedeployRequest {
  kube: Kube;
  config: SandpiperConfig;
  service: ServiceConfig;
  workload: ServiceWorkload;
  builder: ImageBuilder;
  /** Where the pipeline asks whether the content tag exists; default the registry's HTTP API. */
  registry?: ImageRegistry;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
  /** How long to wait for the rollout; default 5 minutes. */
  rolloutTimeoutMs?: number;
}

/**
 * Rebuilds the service's image through the build pipeline (content tag, skipped when the registry has it), points
 * the Deployment's container at its digest and waits for the rollout.
 */
export async function rebuildAndRollOut(req: RedeployRequest): Promise<string> {
  if (!req.service.image?.build)
    throw new SandpiperError(
      'no-image-build',
      `Service "${req.service.name}" uses a fixed image, so a change to its Dockerfile or dependencies cannot be rebuilt.`,
      'Give the service image: { build: . } in sandpiper.yaml.',
    );
  const say = req.onProgress ?? (() => undefined);
  const { ref } = await buildServiceImage(req.config, req.service, {
    builder: req.builder,
    registry: req.registry,
    signal: req.signal,
    onProgress: (_service, line) => say(line),
  });
  say(`rolling out ${ref} to ${req.workload.deployment}`);
  await setContainerImage(req.kube, req.workload, ref);
  await waitForRollout(req.kube, req.workload, req.signal, req.rolloutTimeoutMs ?? 300_000, say);
  return ref;
}

async function setContainerImage(kube: Kube, w: ServiceWorkload, image: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const d = await kube.apps.readNamespacedDeployment({ name: w.deployment, namespace: w.namespace });
      const c = d.spec?.template?.spec?.containers?.find((x) => x.name === w.container);
      if (!c)
        throw new SandpiperError('sync-no-container', `Deployment ${w.deployment} has no container ${w.container}.`);
      c.image = image;
      await kube.apps.replaceNamespacedDeployment({ name: w.deployment, namespace: w.namespace, body: d });
      return;
    } catch (err) {
      // Someone else wrote the Deployment between our read and write: read it again.
      if (httpCode(err) === 409 && attempt < 5) continue;
      throw kubeError(err, `set the image of Deployment ${w.namespace}/${w.deployment}`);
    }
  }
}

/** Waits as `kubectl rollout status` does: the new generation observed, every replica updated and available. */
export async function waitForRollout(
  kube: Kube,
  w: ServiceWorkload,
  signal: AbortSignal | undefined,
  timeoutMs: number,
  say: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (signal?.aborted) throw cancelled();
    const d = await kube.apps
      .readNamespacedDeployment({ name: w.deployment, namespace: w.namespace })
      .catch((e: unknown) => {
        throw kubeError(e, `read Deployment ${w.namespace}/${w.deployment}`);
      });
    const want = d.spec?.replicas ?? 1;
    const s = d.status ?? {};
    const line = `${s.updatedReplicas ?? 0}/${want} updated, ${s.availableReplicas ?? 0} available`;
    if (line !== last) say((last = line));
    if (
      (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
      (s.updatedReplicas ?? 0) === want &&
      (s.availableReplicas ?? 0) === want &&
      (s.replicas ?? 0) === want
    )
      return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new SandpiperError(
    'rollout-timeout',
    `Deployment ${w.deployment} did not finish rolling out in ${Math.round(timeoutMs / 1000)} s.`,
    'Look at its pods (sandpiper logs) for ImagePullBackOff or crashes.',
  );
}

/** Files whose change the sync cannot carry: the image must be rebuilt (lockfiles and dependency manifests). */
const DEPENDENCY_FILES = [
  'package.json',
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'requirements.txt',
  'poetry.lock',
  'Pipfile.lock',
  'pyproject.toml',
  'go.mod',
  'go.sum',
  'Gemfile.lock',
  'Cargo.lock',
  'pom.xml',
  'build.gradle',
  'build.gradle.kts',
];

/** Decides whether a changed file outside the sync paths means "rebuild the image". */
export class RebuildTrigger {
  private readonly globs: Ignore;
  private readonly dockerfile?: string;
  private readonly context?: string;

  constructor(
    private readonly configRoot: string,
    service: ServiceConfig,
  ) {
    this.globs = ignore().add(service.sync?.rebuildOn ?? []);
    const build = service.image?.build;
    if (build) {
      this.context = path.resolve(configRoot, build.context);
      this.dockerfile = path.resolve(this.context, build.dockerfile);
    }
  }

  /** Whether the service builds its image here at all (a fixed image ref cannot be rebuilt). */
  get canRebuild(): boolean {
    return this.context !== undefined;
  }

  matches(localFile: string): boolean {
    const abs = path.resolve(localFile);
    const rel = path.relative(this.configRoot, abs);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel) && this.globs.ignores(rel.split(path.sep).join('/')))
      return true;
    if (!this.context) return false;
    if (abs === this.dockerfile || abs === path.join(this.context, '.dockerignore')) return true;
    // Dependency manifests at the build context's root (where a Dockerfile COPYs them from).
    return path.dirname(abs) === this.context && DEPENDENCY_FILES.includes(path.basename(abs));
  }
}
