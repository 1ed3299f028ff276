import Docker from 'dockerode';
import { SandpiperError, cancelled } from '../errors';
import * as fs from 'node:fs';
import { packTar } from './tar';
import { contextFiles, type ContextFile } from '../build/context';

export interface BuildRequest {
  contextDir: string;
  dockerfile: string;
  /** Full reference to tag and push, e.g. 127.0.0.1:5000/tasks:sp-1a2b3c. */
  ref: string;
  /** The context's files when the caller listed them already (to hash them); default: listed here. */
  files?: ContextFile[];
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

/** Builds and pushes images; the build pipeline (create, deploy, canary, the sync's rebuild) uses it. */
export interface ImageBuilder {
  /** Resolves to the pushed reference pinned by digest (`<repo>@sha256:…`) when the registry reports one. */
  buildAndPush(req: BuildRequest): Promise<string>;
}

/** A build or push the engine reported as failed; `step` is the Dockerfile step that failed (classic builder). */
export class ImageBuildError extends SandpiperError {
  constructor(
    readonly phase: 'build' | 'push',
    readonly engineMessage: string,
    readonly step?: string,
  ) {
    super(
      'image-failed',
      `The image ${phase} failed${step ? ` at ${step}` : ''}: ${engineMessage}`,
      phase === 'push'
        ? 'Check that the registry is reachable (registry in sandpiper.yaml or SANDPIPER_REGISTRY).'
        : 'Fix the Dockerfile and save again.',
    );
  }
}

interface ProgressEvent {
  stream?: string;
  status?: string;
  progress?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Digest?: string };
}

/** The classic builder announces each instruction as "Step 2/5 : RUN npm ci". */
const STEP_LINE = /^Step \d+\/\d+ : .*/;

/** dockerode against DOCKER_HOST (or the local socket), classic builder: it needs no buildx. */
export class DockerImageBuilder implements ImageBuilder {
  private readonly docker: Docker;

  constructor(docker?: Docker) {
    this.docker = docker ?? new Docker();
  }

  async buildAndPush(req: BuildRequest): Promise<string> {
    const say = req.onProgress ?? (() => undefined);
    if (req.signal?.aborted) throw cancelled();
    const context = await buildContextTar(req.contextDir, req.dockerfile, req.files);
    say(`build context: ${(context.length / 1024).toFixed(0)} KiB`);
    let stream: NodeJS.ReadableStream;
    try {
      // The request carries the signal: aborting closes the connection, and the engine then stops the build
      // (it kills the step's container).
      stream = await this.docker.buildImage(
        context as unknown as NodeJS.ReadableStream,
        {
          t: req.ref,
          dockerfile: req.dockerfile,
          abortSignal: req.signal,
        } as Docker.ImageBuildOptions,
      );
    } catch (err) {
      throw dockerError(err, 'start the image build');
    }
    await this.follow(stream, say, req.signal, 'build');
    if (req.signal?.aborted) throw cancelled();
    const image = this.docker.getImage(req.ref);
    let push: NodeJS.ReadableStream;
    try {
      // The engine wants an X-Registry-Auth header even for a registry without auth; credentials come from
      // the registry's own config when there are any (not handled here yet).
      push = await image.push({ abortSignal: req.signal, authconfig: {} } as unknown as Docker.ImagePushOptions);
    } catch (err) {
      throw dockerError(err, `push ${req.ref}`);
    }
    const digest = await this.follow(push, say, req.signal, 'push');
    return digest ? `${repositoryOf(req.ref)}@${digest}` : req.ref;
  }

  /** Streams progress lines; a build or push that reports an error fails with the engine's message. */
  private follow(
    stream: NodeJS.ReadableStream,
    say: (line: string) => void,
    signal: AbortSignal | undefined,
    phase: 'build' | 'push',
  ): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      let digest: string | undefined;
      let failure: string | undefined;
      let step: string | undefined;
      const onAbort = (): void => {
        (stream as unknown as { destroy?: () => void }).destroy?.();
        reject(cancelled());
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.docker.modem.followProgress(
        stream,
        (err: Error | null) => {
          signal?.removeEventListener('abort', onAbort);
          if (signal?.aborted) return;
          const message = failure ?? err?.message;
          if (message) reject(new ImageBuildError(phase, message.trim(), phase === 'build' ? step : undefined));
          else resolve(digest);
        },
        (ev: ProgressEvent) => {
          if (ev.aux?.Digest) digest = ev.aux.Digest;
          // The engine reports build and push failures as events, not as a stream error.
          if (ev.error) failure = ev.errorDetail?.message ?? ev.error;
          const line = (ev.stream ?? [ev.id, ev.status, ev.progress].filter(Boolean).join(' ')).trimEnd();
          if (STEP_LINE.test(line)) step = line;
          if (line) say(line);
        },
      );
    });
  }
}

/** `registry/repo:tag` → `registry/repo` (a registry's port is not a tag). */
export function repositoryOf(ref: string): string {
  return ref.replace(/@sha256:[0-9a-f]+$/, '').replace(/:[^:/]+$/, '');
}

function dockerError(err: unknown, doing: string): SandpiperError {
  const e = err as NodeJS.ErrnoException & { statusCode?: number; json?: { message?: string } };
  if (e?.name === 'AbortError') return cancelled();
  if (e?.code === 'ENOENT' || e?.code === 'ECONNREFUSED') {
    return new SandpiperError(
      'docker-unreachable',
      `Cannot ${doing}: the Docker engine does not answer (${e.code}).`,
      'Start Docker or set DOCKER_HOST.',
    );
  }
  return new SandpiperError('image-failed', `Cannot ${doing}: ${e?.json?.message ?? e?.message ?? String(err)}`);
}

/** The build context as a tar: the files `contextFiles` lists (what `.dockerignore` leaves in). */
export async function buildContextTar(
  contextDir: string,
  dockerfile: string,
  files: ContextFile[] = contextFiles(contextDir, dockerfile),
): Promise<Buffer> {
  return packTar((p) => {
    for (const f of files) {
      const mtime = fs.lstatSync(f.full).mtime;
      if (f.linkTarget !== undefined)
        p.entry({ name: f.rel, type: 'symlink', linkname: f.linkTarget, mode: f.mode, mtime });
      else p.entry({ name: f.rel, mode: f.mode, mtime }, fs.readFileSync(f.full));
    }
  });
}
