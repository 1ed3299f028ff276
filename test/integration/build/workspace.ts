// A small workspace for the build tests: a busybox HTTP service built from its own Dockerfile (FROM the testbed's
// sandpiper/busybox), k8s manifests naming an image that exists nowhere, and a sandpiper.yaml with image.build.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { parseConfig } from '../../../src/core/config/loader';
import type { SandpiperConfig } from '../../../src/core/config/types';
import { DockerImageBuilder, type BuildRequest, type ImageBuilder } from '../../../src/core/infra/docker';
import { loadTestbed } from '../../support/testbed';

export const SERVE =
  'FROM sandpiper/busybox:latest\n' +
  'COPY www/ /www/\n' +
  'CMD ["sh", "-c", "trap \'exit 0\' TERM; httpd -f -p 8080 -h /www & wait"]\n';

const deployment = (name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name,
            // Nowhere to pull this from: only the build makes the pod start.
            image: `sandpiper-it/${name}:latest`,
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
          },
        ],
      },
    },
  },
});

const service = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
});

/** The workspace in a temp folder; `id` makes its content (and so its first tag) new to the registry. */
export function buildWorkspace(name: string, id: string, dockerfile = SERVE): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-it-build-'));
  const write = (rel: string, body: string) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), body);
  };
  write('Dockerfile', dockerfile);
  write('.dockerignore', 'notes/\nk8s/\nsandpiper.yaml\n');
  write('www/healthz', 'ok\n');
  write('www/index.html', `hello ${id}\n`);
  write('notes/todo.md', 'ignored by .dockerignore\n');
  write('k8s/app.yaml', [deployment(name), service(name)].map((o) => JSON.stringify(o)).join('\n---\n'));
  write(
    'sandpiper.yaml',
    `baseline: default\nservices:\n  ${name}:\n    manifests: k8s/\n    image: { build: ., name: sp-it-build/${name} }\n    port: 8080\n`,
  );
  return root;
}

export function workspaceConfig(root: string): SandpiperConfig {
  const parsed = parseConfig(fs.readFileSync(path.join(root, 'sandpiper.yaml'), 'utf8'), root);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

export function testbedDocker(): Docker {
  return new Docker({ socketPath: loadTestbed().dockerSocket });
}

/** The product's builder on the testbed's engine, counting its builds. */
export class CountingBuilder implements ImageBuilder {
  readonly builds: string[] = [];
  private readonly inner = new DockerImageBuilder(testbedDocker());
  buildAndPush(req: BuildRequest): Promise<string> {
    this.builds.push(req.ref);
    return this.inner.buildAndPush(req);
  }
}
