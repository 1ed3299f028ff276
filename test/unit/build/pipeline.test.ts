import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../../src/core/config/loader';
import type { SandpiperConfig } from '../../../src/core/config/types';
import { buildServiceImage, buildServiceImages } from '../../../src/core/build/pipeline';
import type { ImageRegistry } from '../../../src/core/build/registry';
import { pinServiceImage } from '../../../src/core/env/deploy';
import type { KubeObject } from '../../../src/core/env/plan';
import { type SandpiperError } from '../../../src/core/errors';
import { ImageBuildError, type BuildRequest, type ImageBuilder } from '../../../src/core/infra/docker';
import { table } from '../../../src/cli/commands/env';

const DIGEST = `sha256:${'b'.repeat(64)}`;

class FakeBuilder implements ImageBuilder {
  readonly requests: BuildRequest[] = [];
  constructor(private readonly fail?: Error) {}
  async buildAndPush(req: BuildRequest): Promise<string> {
    this.requests.push(req);
    req.onProgress?.('Step 1/1 : FROM x');
    if (this.fail) throw this.fail;
    return `${req.ref.replace(/:[^:/]+$/, '')}@${DIGEST}`;
  }
}

class FakeRegistry implements ImageRegistry {
  readonly tags = new Map<string, string>();
  async digestOf(repository: string, tag: string): Promise<string | undefined> {
    return this.tags.get(`${repository}:${tag}`);
  }
}

function workspace(yaml: string): SandpiperConfig {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-unit-pipe-'));
  fs.writeFileSync(path.join(root, 'Dockerfile'), 'FROM x\n');
  fs.mkdirSync(path.join(root, 'api'));
  fs.writeFileSync(path.join(root, 'api/Dockerfile'), 'FROM y\n');
  const parsed = parseConfig(yaml, root);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

const YAML = `
baseline: staging
registry: reg.test:5000
services:
  web: { manifests: k8s/, image: { build: . } }
  api: { manifests: k8s/, image: { build: api, name: team/api } }
  db: { manifests: k8s/, image: mongo:7 }
`;

describe('build pipeline (fake engine and registry)', () => {
  it('tags by content, builds and pushes what the registry lacks, and returns digest refs', async () => {
    const config = workspace(YAML);
    const builder = new FakeBuilder();
    const lines: string[] = [];
    const images = await buildServiceImages(config, Object.values(config.services), {
      builder,
      registry: new FakeRegistry(),
      onProgress: (s, l) => lines.push(`${s}: ${l}`),
    });
    assert.deepEqual([...images.keys()], ['web', 'api'], 'a fixed image is not built');
    assert.match(builder.requests[0].ref, /^reg\.test:5000\/web:sp-[0-9a-f]{12}$/);
    assert.match(builder.requests[1].ref, /^reg\.test:5000\/team\/api:sp-[0-9a-f]{12}$/);
    assert.equal(images.get('api')?.ref, `reg.test:5000/team/api@${DIGEST}`);
    assert.equal(images.get('web')?.built, true);
    assert.ok(lines.includes('web: Step 1/1 : FROM x'), lines.join('\n'));
  });

  it('skips the build when the content tag is in the registry, taking its digest', async () => {
    const config = workspace(YAML);
    const registry = new FakeRegistry();
    const first = await buildServiceImage(config, config.services.web, { builder: new FakeBuilder(), registry });
    registry.tags.set(first.tagged, `sha256:${'c'.repeat(64)}`);
    const builder = new FakeBuilder();
    const again = await buildServiceImage(config, config.services.web, { builder, registry });
    assert.equal(builder.requests.length, 0);
    assert.equal(again.built, false);
    assert.equal(again.ref, `reg.test:5000/web@sha256:${'c'.repeat(64)}`);
    assert.equal(again.tagged, first.tagged);
  });

  it('names the service, the failing Dockerfile step and the fix when the build fails', async () => {
    const config = workspace(YAML);
    const fail = new ImageBuildError(
      'build',
      "The command '/bin/sh -c false' returned a non-zero code: 1",
      'Step 2/3 : RUN false',
    );
    await assert.rejects(
      buildServiceImage(config, config.services.api, { builder: new FakeBuilder(fail), registry: new FakeRegistry() }),
      (e: SandpiperError) => {
        assert.equal(e.code, 'image-failed');
        assert.equal(
          e.message,
          `The image of service "api" did not build at step 2/3 (RUN false): The command '/bin/sh -c false' returned a non-zero code: 1`,
        );
        assert.match(e.hint ?? '', /^Fix that step of api\/Dockerfile and run again/);
        return true;
      },
    );
  });

  it('stops before building when aborted', async () => {
    const config = workspace(YAML);
    const abort = new AbortController();
    abort.abort();
    const builder = new FakeBuilder();
    await assert.rejects(
      buildServiceImage(config, config.services.web, { builder, registry: new FakeRegistry(), signal: abort.signal }),
      (e: SandpiperError) => e.code === 'cancelled',
    );
    assert.equal(builder.requests.length, 0);
  });

  it('says which Dockerfile is missing', async () => {
    const config = workspace(YAML.replace('build: api,', 'build: api, dockerfile: Dockerfile.prod,'));
    await assert.rejects(
      buildServiceImage(config, config.services.api, { builder: new FakeBuilder(), registry: new FakeRegistry() }),
      /Service "api" has no Dockerfile at api\/Dockerfile\.prod/,
    );
  });
});

describe('pinning the built image into the manifests', () => {
  const deployment = (name: string, containers: Array<{ name: string; image: string }>): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { template: { spec: { containers } } },
  });
  const images = (o: KubeObject) =>
    (o.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers.map(
      (c) => c.image,
    );
  const config = workspace(YAML);
  const ref = `reg.test:5000/web@${DIGEST}`;

  it('pins the container sandpiper.yaml names', () => {
    const [d] = pinServiceImage(
      [
        deployment('web', [
          { name: 'proxy', image: 'envoy' },
          { name: 'app', image: 'web:latest' },
        ]),
      ],
      { ...config.services.web, container: 'proxy' },
      ref,
    );
    assert.deepEqual(images(d), [ref, 'web:latest']);
  });

  it('else the container whose image has the name being built', () => {
    const [d] = pinServiceImage(
      [
        deployment('web', [
          { name: 'proxy', image: 'envoy' },
          { name: 'app', image: 'example/web:latest' },
        ]),
      ],
      config.services.web,
      ref,
    );
    assert.deepEqual(images(d), ['envoy', ref]);
  });

  it("else the only workload's first container; another workload of other images is left alone", () => {
    assert.deepEqual(
      images(pinServiceImage([deployment('web', [{ name: 'a', image: 'x' }])], config.services.web, ref)[0]),
      [ref],
    );
    const objs = pinServiceImage(
      [deployment('web', [{ name: 'a', image: 'web:1' }]), deployment('cache', [{ name: 'redis', image: 'redis:7' }])],
      config.services.web,
      ref,
    );
    assert.deepEqual(objs.map(images), [[ref], ['redis:7']]);
  });

  it('refuses to guess among several workloads none of which runs the image', () => {
    assert.throws(
      () =>
        pinServiceImage(
          [deployment('a', [{ name: 'a', image: 'x' }]), deployment('b', [{ name: 'b', image: 'y' }])],
          config.services.web,
          ref,
        ),
      (e: SandpiperError) => /runs its image/.test(e.message) && /Set `container`/.test(e.hint ?? ''),
    );
  });
});

describe('env list table', () => {
  it('has a header row and padded columns', () => {
    assert.equal(
      table(['NAME', 'OWNER', 'EXPIRES'], [['sp-ada-x', 'ada@example.com', 'expires in 2h']]),
      'NAME      OWNER            EXPIRES\nsp-ada-x  ada@example.com  expires in 2h\n',
    );
  });
});
