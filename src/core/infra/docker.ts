import Docker from 'dockerode';
import { SandpiperError, cancelled } from '../errors';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ignore from 'ignore';
import { packTar } from './tar';

export interface BuildRequest {
  contextDir: string;
  dockerfile: string;
  /** Full reference to tag and push, e.g. 127.0.0.1:5000/tasks:sp-1a2b3c. */
  ref: string;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

/** Builds and pushes images; the sync's fallback and the deploy flow use it. */
export interface ImageBuilder {
  buildAndPush(req: BuildRequest): Promise<string>;
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

/** dockerode against DOCKER_HOST (or the local socket), classic builder: it needs no buildx. */
export class DockerImageBuilder implements ImageBuilder {
  private readonly docker: Docker;

  constructor(docker?: Docker) {
    this.docker = docker ?? new Docker();
  }

  async buildAndPush(req: BuildRequest): Promise<string> {
    const say = req.onProgress ?? (() => undefined);
    const context = await buildContextTar(req.contextDir, req.dockerfile);
    say(`build context: ${(context.length / 1024).toFixed(0)} KiB`);
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.buildImage(
        context as unknown as NodeJS.ReadableStream,
        { t: req.ref, dockerfile: req.dockerfile, abortSignal: req.signal } as Docker.ImageBuildOptions,
      );
    } catch (err) {
      throw dockerError(err, 'start the image build');
    }
    await this.follow(stream, say, req.signal, 'build');
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
    return digest ? `${req.ref.replace(/:[^:/]+$/, '')}@${digest}` : req.ref;
  }

  /** Streams progress lines; a build or push that reports an error fails with the engine's message. */
  private follow(
    stream: NodeJS.ReadableStream,
    say: (line: string) => void,
    signal: AbortSignal | undefined,
    what: string,
  ): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      let digest: string | undefined;
      let failure: string | undefined;
      const onAbort = (): void => {
        (stream as unknown as { destroy?: () => void }).destroy?.();
        reject(cancelled());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.docker.modem.followProgress(
        stream,
        (err: Error | null) => {
          signal?.removeEventListener('abort', onAbort);
          if (signal?.aborted) return;
          if (!err && failure) err = new Error(failure);
          if (err)
            reject(
              new SandpiperError(
                'image-failed',
                `The image ${what} failed: ${err.message}`,
                what === 'push'
                  ? 'Check that the registry is reachable (registry in sandpiper.yaml or SANDPIPER_REGISTRY).'
                  : 'Fix the Dockerfile and save again.',
              ),
            );
          else resolve(digest);
        },
        (ev: ProgressEvent) => {
          if (ev.aux?.Digest) digest = ev.aux.Digest;
          // The engine reports build and push failures as events, not as a stream error.
          if (ev.error) failure = ev.errorDetail?.message ?? ev.error;
          const line = (ev.stream ?? [ev.id, ev.status, ev.progress].filter(Boolean).join(' ')).trimEnd();
          if (line) say(line);
        },
      );
    });
  }
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

/**
 * The build context as a tar, leaving out what `.dockerignore` names (the `ignore` package follows the same
 * gitignore-style patterns closely enough for the common cases). The Dockerfile always goes in.
 */
export async function buildContextTar(contextDir: string, dockerfile: string): Promise<Buffer> {
  const ig = ignore();
  const dockerignore = path.join(contextDir, '.dockerignore');
  if (fs.existsSync(dockerignore)) ig.add(fs.readFileSync(dockerignore, 'utf8'));
  const dockerfileRel = path.relative(contextDir, path.resolve(contextDir, dockerfile)).split(path.sep).join('/');
  return packTar((p) => {
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        const rel = path.relative(contextDir, full).split(path.sep).join('/');
        if (e.isDirectory()) {
          if (!ig.ignores(rel + '/')) walk(full);
        } else if (e.isFile() && (rel === dockerfileRel || !ig.ignores(rel))) {
          const st = fs.statSync(full);
          p.entry({ name: rel, mode: st.mode & 0o777, mtime: st.mtime }, fs.readFileSync(full));
        }
      }
    };
    walk(contextDir);
  });
}
