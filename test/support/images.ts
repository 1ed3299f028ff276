// Images for tests on the real node: built with the product's own DockerImageBuilder on the testbed's dockerd and
// pushed to the testbed registry, so pods pull them exactly as a user's cluster would.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { DockerImageBuilder, buildContextTar } from '../../src/core/infra/docker';
import { loadTestbed } from './testbed';

/** The Todo example's tasks service: its own Dockerfile, sources and manifests. */
export const EXAMPLE_DIR = path.resolve(__dirname, '..', '..', 'examples', 'todo');

const built = new Map<string, Promise<string>>();

/**
 * Builds `contextDir` (its Dockerfile) and pushes it as `<registry>/<repo>:<content hash>`; resolves to the
 * pushed reference pinned by digest. Memoised per process and per content, so a suite builds each image once.
 */
export function pushedImage(contextDir: string, repo: string, dockerfile = 'Dockerfile'): Promise<string> {
  const key = `${path.resolve(contextDir)}\0${repo}\0${dockerfile}`;
  let image = built.get(key);
  if (!image) {
    image = build(contextDir, repo, dockerfile);
    built.set(key, image);
    image.catch(() => built.delete(key));
  }
  return image;
}

async function build(contextDir: string, repo: string, dockerfile: string): Promise<string> {
  const tb = loadTestbed();
  const tag = crypto
    .createHash('sha256')
    .update(await buildContextTar(contextDir, dockerfile))
    .digest('hex')
    .slice(0, 16);
  const ref = `${tb.registry}/${repo}:${tag}`;
  const builder = new DockerImageBuilder(new Docker({ socketPath: tb.dockerSocket }));
  const log: string[] = [];
  try {
    return await builder.buildAndPush({ contextDir, dockerfile, ref, onProgress: (l) => log.push(l) });
  } catch (err) {
    throw new Error(
      `building ${repo} from ${contextDir} failed: ${(err as Error).message}\n${log.slice(-20).join('\n')}`,
    );
  }
}

/** The example's own image (examples/todo), as `npm start` and a user would build it. */
export function exampleImage(): Promise<string> {
  return pushedImage(EXAMPLE_DIR, 'sandpiper-example/tasks');
}

/** A throwaway build context in a temp folder: `files` maps relative paths to contents. */
export function contextOf(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-image-'));
  for (const [rel, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), body);
  }
  return dir;
}
