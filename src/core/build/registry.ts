import * as fs from 'node:fs';
import type { SandpiperConfig } from '../config/types';
import { SandpiperError, cancelled } from '../errors';

/** Where the registry setting came from, for messages. */
export type RegistrySource = 'sandpiper.yaml' | 'SANDPIPER_REGISTRY' | 'testbed';

/** The testbed's facts Sandpiper can use (testbed.json, named by SANDPIPER_TESTBED_JSON). */
export function testbedFacts(env: NodeJS.ProcessEnv = process.env): { registry?: string; dockerHost?: string } {
  const file = env.SANDPIPER_TESTBED_JSON;
  if (!file) return {};
  try {
    const tb = JSON.parse(fs.readFileSync(file, 'utf8')) as { registry?: unknown; dockerHost?: unknown };
    return {
      registry: typeof tb.registry === 'string' ? tb.registry : undefined,
      dockerHost: typeof tb.dockerHost === 'string' ? tb.dockerHost : undefined,
    };
  } catch {
    return {};
  }
}

/**
 * The registry images are pushed to and pods pull from: sandpiper.yaml's `registry`, else SANDPIPER_REGISTRY,
 * else the testbed's. The same `host[:port][/path]` names the image in the manifests: the testbed's containerd
 * pulls from its registry at 127.0.0.1 over plain HTTP, as the node of a local cluster does.
 */
export function resolveRegistry(
  config: Pick<SandpiperConfig, 'registry'>,
  env: NodeJS.ProcessEnv = process.env,
): { registry: string; source: RegistrySource } {
  const [registry, source]: [string | undefined, RegistrySource] = config.registry
    ? [config.registry, 'sandpiper.yaml']
    : env.SANDPIPER_REGISTRY
      ? [env.SANDPIPER_REGISTRY, 'SANDPIPER_REGISTRY']
      : [testbedFacts(env).registry, 'testbed'];
  if (!registry?.trim())
    throw new SandpiperError(
      'no-registry',
      'No image registry is configured, so the images of sandpiper.yaml cannot be built and pushed.',
      'Set "registry" in sandpiper.yaml (e.g. registry: ghcr.io/your-org) or the SANDPIPER_REGISTRY environment ' +
        'variable, or give the service a fixed image (image: name:tag).',
    );
  return {
    registry: registry
      .trim()
      .replace(/^[a-z]+:\/\//i, '')
      .replace(/\/+$/, ''),
    source,
  };
}

/** Tells whether a tag is in a registry, and its digest. */
export interface ImageRegistry {
  /** The manifest digest of `repository:tag`, or undefined when the registry does not have it (or will not say). */
  digestOf(repository: string, tag: string, signal?: AbortSignal): Promise<string | undefined>;
}

const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/** A loopback registry is spoken to over plain HTTP, as Docker and containerd do by default. */
function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '');
  return name === 'localhost' || /^127\./.test(name) || name === '[::1]';
}

/** Registry HTTP API v2: `HEAD /v2/<name>/manifests/<tag>`, with an anonymous bearer token when one is asked for. */
export class HttpRegistry implements ImageRegistry {
  constructor(
    private readonly timeoutMs = 15_000,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async digestOf(repository: string, tag: string, signal?: AbortSignal): Promise<string | undefined> {
    const slash = repository.indexOf('/');
    let host = repository.slice(0, slash);
    const name = repository.slice(slash + 1);
    if (host === 'docker.io' || host === 'index.docker.io') host = 'registry-1.docker.io';
    const url = `${isLoopback(host) ? 'http' : 'https'}://${host}/v2/${name}/manifests/${encodeURIComponent(tag)}`;
    const ask = (auth?: string) =>
      this.request(
        url,
        { method: 'HEAD', headers: { Accept: MANIFEST_TYPES, ...(auth ? { Authorization: auth } : {}) } },
        host,
        signal,
      );
    let res = await ask();
    if (res.status === 401) {
      const token = await this.anonymousToken(res.headers.get('www-authenticate'), host, signal);
      if (token) res = await ask(`Bearer ${token}`);
    }
    if (res.status === 200) return res.headers.get('docker-content-digest') ?? undefined;
    // 404: not there. 401/403: private and no credentials here; the engine's push has its own, so build and push.
    return undefined;
  }

  private async request(url: string, init: RequestInit, host: string, signal?: AbortSignal): Promise<Response> {
    if (signal?.aborted) throw cancelled();
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      return await this.fetchImpl(url, { ...init, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    } catch (err) {
      if (signal?.aborted) throw cancelled();
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new SandpiperError(
        'image-failed',
        `The image registry ${host} does not answer (${timeout.aborted ? `no answer in ${this.timeoutMs / 1000} s` : (cause?.code ?? cause?.message ?? (err as Error).message)}).`,
        'Start the registry, or fix "registry" in sandpiper.yaml or SANDPIPER_REGISTRY.',
      );
    }
  }

  /** The token flow of Docker Hub, GHCR and others for anonymous pulls; undefined when there is none. */
  private async anonymousToken(
    challenge: string | null,
    host: string,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const params = Object.fromEntries(
      [...(challenge ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1].toLowerCase(), m[2]]),
    );
    if (!/^bearer/i.test(challenge ?? '') || !params.realm) return undefined;
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    if (params.scope) url.searchParams.set('scope', params.scope);
    const res = await this.request(url.toString(), {}, host, signal);
    if (!res.ok) return undefined;
    const body = (await res.json().catch(() => ({}))) as { token?: string; access_token?: string };
    return body.token ?? body.access_token;
  }
}
