import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';
import type { SandpiperConfig, ServiceConfig } from '../config/types';
import { SandpiperError, cancelled, isCancellation } from '../errors';
import { DockerImageBuilder, ImageBuildError, type ImageBuilder } from '../infra/docker';
import { contentTag, contextFiles, contextHash } from './context';
import { HttpRegistry, resolveRegistry, testbedFacts, type ImageRegistry } from './registry';

/** One service's image, ready to run. */
export interface BuiltImage {
  service: string;
  /** `<registry>/<repo>@sha256:…`: what the manifests run, so every pod runs exactly this build. */
  ref: string;
  /** `<registry>/<repo>:sp-<hash12>`: the content-addressed tag. */
  tagged: string;
  /** False when the tag was in the registry already and nothing was built. */
  built: boolean;
}

export interface ImagePipelineOptions {
  builder?: ImageBuilder;
  registry?: ImageRegistry;
  /** Where SANDPIPER_REGISTRY, SANDPIPER_TESTBED_JSON and DOCKER_HOST are read; default process.env. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Each progress line of the build and push, with the service it is about. */
  onProgress?: (service: string, line: string) => void;
}

/** The services whose image Sandpiper builds (those with `image.build`). */
export function servicesToBuild(services: ServiceConfig[]): ServiceConfig[] {
  return services.filter((s) => s.image?.build);
}

/** The engine of DOCKER_HOST, else the testbed's (when SANDPIPER_TESTBED_JSON names one), else the local socket. */
export function defaultBuilder(env: NodeJS.ProcessEnv = process.env): ImageBuilder {
  const testbedHost = env.DOCKER_HOST ? undefined : testbedFacts(env).dockerHost;
  const socketPath = testbedHost?.startsWith('unix://') ? testbedHost.slice('unix://'.length) : undefined;
  return new DockerImageBuilder(socketPath ? new Docker({ socketPath }) : new Docker());
}

/**
 * Builds every service's image one after the other (all of them before the caller applies anything), each skipped
 * when its content tag is in the registry already. Resolves to the digest refs by service name.
 */
export async function buildServiceImages(
  config: SandpiperConfig,
  services: ServiceConfig[],
  opts: ImagePipelineOptions = {},
): Promise<Map<string, BuiltImage>> {
  const builder = opts.builder ?? defaultBuilder(opts.env);
  const built = new Map<string, BuiltImage>();
  for (const s of servicesToBuild(services))
    built.set(s.name, await buildServiceImage(config, s, { ...opts, builder }));
  return built;
}

/** Tags the service's build context by its content hash; builds and pushes it unless the registry has that tag. */
export async function buildServiceImage(
  config: SandpiperConfig,
  service: ServiceConfig,
  opts: ImagePipelineOptions = {},
): Promise<BuiltImage> {
  const build = service.image?.build;
  if (!build)
    throw new SandpiperError(
      'no-image-build',
      `Service "${service.name}" uses a fixed image, so Sandpiper has nothing to build.`,
      'Give the service image: { build: . } in sandpiper.yaml, or name the image to run.',
    );
  const say = (line: string) => opts.onProgress?.(service.name, line);
  const { registry, source } = resolveRegistry(config, opts.env);
  const contextDir = path.resolve(config.root, build.context);
  const dockerfile = path.resolve(contextDir, build.dockerfile);
  const shown = (p: string) => path.relative(config.root, p) || '.';
  if (!fs.statSync(contextDir, { throwIfNoEntry: false })?.isDirectory())
    throw new SandpiperError(
      'invalid',
      `The build context of service "${service.name}" (${shown(contextDir)}) is not a folder.`,
      'Fix image.build in sandpiper.yaml: the folder holding the sources the Dockerfile copies.',
    );
  if (!fs.statSync(dockerfile, { throwIfNoEntry: false })?.isFile())
    throw new SandpiperError(
      'invalid',
      `Service "${service.name}" has no Dockerfile at ${shown(dockerfile)}.`,
      'Add the Dockerfile, or set image.dockerfile in sandpiper.yaml.',
    );
  if (opts.signal?.aborted) throw cancelled();
  const files = contextFiles(contextDir, build.dockerfile);
  const repository = `${registry}/${build.name ?? service.name}`;
  const tag = contentTag(contextHash(contextDir, build.dockerfile, files));
  const tagged = `${repository}:${tag}`;
  const registryApi = opts.registry ?? new HttpRegistry();
  const existing = await registryApi.digestOf(repository, tag, opts.signal);
  if (existing) {
    say(`${tagged} is in the registry already: build skipped`);
    return { service: service.name, ref: `${repository}@${existing}`, tagged, built: false };
  }
  say(`building ${tagged} from ${shown(dockerfile)} (${files.length} files in the context)`);
  let pushed: string;
  try {
    pushed = await (opts.builder ?? defaultBuilder(opts.env)).buildAndPush({
      contextDir,
      dockerfile: build.dockerfile,
      ref: tagged,
      files,
      signal: opts.signal,
      onProgress: say,
    });
  } catch (err) {
    if (isCancellation(err) || opts.signal?.aborted) throw cancelled();
    throw buildFailure(err, service.name, shown(dockerfile), registry, source);
  }
  // Pods must run this very build: when the push reported no digest, ask the registry for it.
  const digest = pushed.includes('@') ? undefined : await registryApi.digestOf(repository, tag, opts.signal);
  const ref = digest ? `${repository}@${digest}` : pushed;
  say(`pushed ${ref}`);
  return { service: service.name, ref, tagged, built: true };
}

/** The engine's failure as the user reads it: which service, which Dockerfile step, and what to do. */
function buildFailure(err: unknown, service: string, dockerfile: string, registry: string, source: string): unknown {
  if (!(err instanceof ImageBuildError)) return err;
  if (err.phase === 'push')
    return new SandpiperError(
      'image-failed',
      `The image of service "${service}" was built but not pushed to ${registry} (from ${source}): ${err.engineMessage}`,
      `Check that ${registry} is running and reachable from the Docker engine, or set "registry" in sandpiper.yaml.`,
    );
  const step = err.step?.replace(/^Step (\d+\/\d+) : (.*)$/, 'step $1 ($2)');
  return new SandpiperError(
    'image-failed',
    `The image of service "${service}" did not build${step ? ` at ${step}` : ''}: ${err.engineMessage}`,
    `Fix ${err.step ? 'that step of ' : ''}${dockerfile} and run again; nothing was deployed.`,
  );
}
